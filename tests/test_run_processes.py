"""Issue 10 items 5 and 10: a run owns its folder while it lives, and leaves nothing running when it ends.

5: two ``evalkit run`` on one ``--output`` both wrote (1,200 lines for 600 ids, double requests).
10: after SIGKILL or SIGTERM of ``evalkit run``, the forked grading worker kept running with the pipe,
the results file and the cache open, so ``evalkit run … | cat`` never ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, write_mcq

PLUGIN = '''
"""A slow adapter and a slow scorer, registered from an --include folder."""
import asyncio
import time

from evalkit.adapters import adapters
from evalkit.adapters.base import Adapter
from evalkit.grading import scorer_registry
from evalkit.grading.scorers import choice
from evalkit.types import Response


class Slow(Adapter):
    scheme = "slow"
    cacheable = False

    async def generate(self, request):
        await asyncio.sleep(0.01)
        return Response(text=f"故选{request.sample.target}")


def slow_grade(sample, output, *, sleep: float = 0.0):
    time.sleep(float(sleep))
    return choice(sample, output)


adapters.add("slow", Slow, replace=True)
scorer_registry.add("slow_grade", slow_grade, replace=True)
'''


def _setup(tmp: Path, n: int, sleep: float) -> tuple[list[str], dict[str, str]]:
    (tmp / "plug").mkdir(exist_ok=True)
    (tmp / "plug" / "slow_plugin.py").write_text(PLUGIN)
    rows = write_mcq(tmp / "s.jsonl", n)
    task = tmp / "task.yaml"
    task.write_text(json.dumps({"name": "slow-mcq", "dataset": {"path": str(rows.name)},
                                "grader": {"name": "slow_grade", "options": {"sleep": sleep}}}))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return ["--include", str(tmp / "plug"), "--task", str(task), "--model", "slow", "--no-report", "-q",
            "--grade-timeout", "120"], env


def _evalkit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "evalkit.cli", "run", *args]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line mentions ``text`` (the test's own folder: nobody else's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _wait_for(predicate, timeout: float) -> bool:  # noqa: ANN001 - a small polling helper
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_second_run_on_the_same_folder_is_refused_naming_the_first(tmp_path: Path) -> None:
    args, env = _setup(tmp_path, 300, sleep=0.005)
    out = tmp_path / "run"
    first = subprocess.Popen(_evalkit_cmd(*args, "--output", str(out), "-c", "4"), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: (out / "samples.jsonl").exists() and (out / "samples.jsonl").stat().st_size > 0, 60)
        second = subprocess.run(_evalkit_cmd(*args, "--output", str(out)), env=env, capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 2
        line = second.stderr.strip()
        assert line.count("\n") == 0 and "is in use by process" in line and str(first.pid) in line, line
        assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    finally:
        if first.poll() is None:
            first.kill()
    ids = [r["id"] for r in _lines(out / "samples.jsonl")]
    assert len(ids) == len(set(ids)) == 300
    # the folder is free again once the run has ended
    again = subprocess.run(_evalkit_cmd(*args, "--output", str(out)), env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell script's `evalkit run … &` starts


def _start_piped(tmp_path: Path, background: bool = False) -> tuple[subprocess.Popen[bytes], Path]:
    """``evalkit run … | cat``: stdout is a pipe; the scorer sleeps so a worker is mid-grade when killed."""
    args, env = _setup(tmp_path, 40, sleep=20)
    out = tmp_path / "run"
    proc = subprocess.Popen(_evalkit_cmd(*args, "--output", str(out), "-c", "2"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=_ignore_sigint if background else None)
    # wait until a grading worker (a fork: same command line) is busy grading
    assert _wait_for(lambda: len(_processes_mentioning(str(out))) >= 2, 60), "no grading worker started"
    time.sleep(0.5)
    return proc, out


def _pipe_closes(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Whether everyone holding the write end of the pipe is gone within ``timeout`` (EOF arrives)."""
    import selectors

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=max(0.0, deadline - time.monotonic())) and not os.read(proc.stdout.fileno(), 65536):
            return True
    return False


def test_sigkill_of_a_run_leaves_no_grading_worker_and_ends_the_pipeline(tmp_path: Path) -> None:
    proc, out = _start_piped(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    try:
        assert _pipe_closes(proc, 5), "a leftover process still holds `evalkit run | cat`'s pipe"
        assert _wait_for(lambda: not _processes_mentioning(str(out)), 5), "the grading worker outlived the run"
    finally:
        for pid in _processes_mentioning(str(out)):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background-job"])
def test_sigterm_ends_a_run_like_ctrl_c(tmp_path: Path, background: bool) -> None:
    # a script's background job starts with Ctrl-C ignored: a kill must still end the run
    proc, out = _start_piped(tmp_path, background)
    proc.send_signal(signal.SIGTERM)
    try:
        assert _pipe_closes(proc, 10), "the run (or its worker) did not end on SIGTERM"
        assert proc.wait(timeout=10) == 130
        assert _wait_for(lambda: not _processes_mentioning(str(out)), 5)
        assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    finally:
        for pid in _processes_mentioning(str(out)):
            os.kill(pid, signal.SIGKILL)
