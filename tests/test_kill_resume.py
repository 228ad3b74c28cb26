"""SIGKILL of real `evalkit` processes — halfway through a run, and at chosen moments of `run`, `grade import`
and `report` — then resume: every sample exactly once, no half-written file, no stale summary."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_mcq

PLUGIN = '''
"""A slow test adapter, registered from an --include folder."""
import asyncio
from evalkit.adapters import adapters
from evalkit.adapters.base import Adapter
from evalkit.types import Response

class Slow(Adapter):
    scheme = "slow"
    cacheable = False
    async def generate(self, request):
        await asyncio.sleep(0.02)
        s = request.sample
        # deterministic: right on even-numbered ids, wrong on odd ones
        letter = s.target if int(s.id[1:]) % 2 == 0 else ("B" if s.target == "A" else "A")
        return Response(text=f"故选{letter}")

adapters.add("slow", Slow, replace=True)
'''


def _cmd(tmp: Path, task: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "evalkit.cli", "run", "--include", str(tmp / "plug"), "--task", str(task),
            "--model", "slow", "--output", str(out), "--concurrency", "4", "--no-report", "-q"]


def _lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def test_sigkill_halfway_then_resume(tmp_path: Path) -> None:
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "slow_adapter.py").write_text(PLUGIN)
    task = write_mcq(tmp_path / "s.jsonl", 300)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}

    full = tmp_path / "full"
    subprocess.run(_cmd(tmp_path, task, full), check=True, env=env, capture_output=True, timeout=120)

    out = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(tmp_path, task, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = out / "samples.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if samples.exists() and samples.read_text().count("\n") >= 120:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(_lines(samples))
    assert 100 <= written < 300, "the run must be killed halfway"

    subprocess.run(_cmd(tmp_path, task, out), check=True, env=env, capture_output=True, timeout=120)
    resumed = _lines(samples)
    ids = [r["id"] for r in resumed]
    assert len(ids) == len(set(ids)) == 300
    reference = {r["id"]: r["score"]["value"] for r in _lines(full / "samples.jsonl")}
    assert {r["id"]: r["score"]["value"] for r in resumed} == reference
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["accuracy"] == 0.5
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished" and record["resumed"]


# -- SIGKILL at chosen moments of `run`, `grade import` and `report`: no half-written file ------------------
# The launcher runs the real CLI in a child process and SIGKILLs it at one moment: just before or just after
# the file named by EVALKIT_TEST_KILL_AT ("before:summary.json", "after:samples.jsonl") is put in place. A
# writer that replaces files atomically is killed before or after the rename; one that writes in place
# (Path.write_text) is killed halfway through its write, as a kill or a full disk would leave it.
KILLER = '''
import os, pathlib, signal, sys

kind, _, name = os.environ["EVALKIT_TEST_KILL_AT"].partition(":")


def die():
    os.kill(os.getpid(), signal.SIGKILL)


real_replace = os.replace


def replace(src, dst, *args, **kwargs):
    if kind == "before" and os.path.basename(os.fspath(dst)) == name:
        die()
    real_replace(src, dst, *args, **kwargs)
    if kind == "after" and os.path.basename(os.fspath(dst)) == name:
        die()


real_write_text = pathlib.Path.write_text


def write_text(self, data, *args, **kwargs):
    if kind == "before" and self.name == name:
        with open(self, "w", encoding="utf-8") as fh:
            fh.write(data[: len(data) // 2])
        die()
    return real_write_text(self, data, *args, **kwargs)


os.replace = replace
pathlib.Path.write_text = write_text
sys.argv[0] = "evalkit"
from evalkit.cli import main

main()
'''
REPO = Path(__file__).resolve().parent.parent


def _evalkit(tmp: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"}
    argv = [sys.executable, "-m", "evalkit.cli", *args]
    if kill_at is not None:
        (tmp / "killer.py").write_text(KILLER)
        env["EVALKIT_TEST_KILL_AT"] = kill_at
        argv = [sys.executable, str(tmp / "killer.py"), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)


def _assert_whole(folder: Path) -> None:
    """Every output file under ``folder`` reads whole: JSON parses, JSONL lines end and parse, HTML closes."""
    for path in folder.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".jsonl":
            assert text.endswith("\n") or not text, f"{path} ends in a torn line"
            for line in text.splitlines():
                json.loads(line)
        elif path.suffix == ".html":
            assert text.rstrip().endswith("</html>"), f"{path} is cut short"
        elif path.suffix == ".md":
            assert text.endswith("\n"), f"{path} is cut short"


def _assert_summary_current(run: Path) -> None:
    """What every reader sees as the run's summary is the summary of the samples on disk."""
    from evalkit.grading.metrics import summarize
    from evalkit.results import load_run

    loaded = load_run(run)
    fresh = summarize(loaded.results, loaded.record["task"]["metrics"])
    assert loaded.summary["counts"] == fresh["counts"]
    assert loaded.summary["metrics"]["points"] == fresh["metrics"]["points"], "summary.json is stale"


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("paper")
    out = tmp / "run"
    done = _evalkit(tmp, "run", "--task", "gaokao-math", "--model", "reference", "--output", str(out),
                    "--no-report", "-q")
    assert done.returncode == 0, done.stderr
    return out


def _teachers_sheet(run: Path, path: Path) -> Path:
    rows = ["id,mark,marker"]
    for line in (run / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["metadata"].get("type") == "solution":
            rows.append(f"{rec['id']},0,王老师")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("moment", ["before:samples.jsonl", "after:samples.jsonl", "before:summary.json",
                                    "after:summary.json", "before:run.json"])
def test_sigkill_during_grade_import_leaves_whole_files_and_a_current_summary(
        paper_run: Path, tmp_path: Path, moment: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(paper_run, run)
    sheet = _teachers_sheet(run, tmp_path / "marks.csv")
    killed = _evalkit(tmp_path, "grade", "import", str(run), str(sheet), kill_at=moment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_whole(run)
    _assert_summary_current(run)
    # importing again finishes the job: the teachers' zeros decide every solution (150 - 77 points)
    done = _evalkit(tmp_path, "grade", "import", str(run), str(sheet))
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "summary.json").read_text())["metrics"]["points"] == 73
    _assert_summary_current(run)
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")], "temporary files left behind"


@pytest.mark.parametrize("moment", ["before:board.json", "after:board.json", "before:board.md",
                                    "before:report.html"])
def test_sigkill_during_report_leaves_the_previous_or_the_new_files_whole(
        paper_run: Path, tmp_path: Path, moment: str) -> None:
    results = tmp_path / "results"
    shutil.copytree(paper_run, results / "a")
    outs = ["--json", str(tmp_path / "board.json"), "--markdown", str(tmp_path / "board.md"),
            "--html", str(tmp_path / "report.html"), "-q"]
    assert _evalkit(tmp_path, "report", str(results), *outs).returncode == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("board.*")}
    shutil.copytree(paper_run, results / "b")  # a second run: the next report differs
    killed = _evalkit(tmp_path, "report", str(results), *outs, kill_at=moment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_whole(tmp_path)
    assert _evalkit(tmp_path, "report", str(results), *outs).returncode == 0
    after = {p.name: p.read_bytes() for p in tmp_path.glob("board.*")}
    assert before != after
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "temporary files left behind"


@pytest.mark.parametrize("moment", ["before:run.json", "after:summary.json"])
def test_sigkill_as_a_run_starts_or_finishes_then_resume(tmp_path: Path, moment: str) -> None:
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "slow_adapter.py").write_text(PLUGIN)
    task = write_mcq(tmp_path / "s.jsonl", 40)
    out = tmp_path / "run"
    args = _cmd(tmp_path, task, out)[3:]
    killed = _evalkit(tmp_path, *args, kill_at=moment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if out.exists():
        _assert_whole(out)
    done = _evalkit(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    _assert_whole(out)
    ids = [r["id"] for r in _lines(out / "samples.jsonl")]
    assert len(ids) == len(set(ids)) == 40
    assert json.loads((out / "summary.json").read_text())["metrics"]["accuracy"] == 0.5
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
