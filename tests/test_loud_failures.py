"""Failures are loud (issue 15 item 2): a run that failed says why, in the terminal and in its exit code.

Every run here goes through the real ``evalkit`` command in a subprocess against the project's local
model server on 127.0.0.1: a refused key and a server that is down stop the run after a few requests
with one sentence; failed samples are listed by reason (also by ``evalkit show`` and in summary.json)
and make the exit code non-zero unless ``--max-errors`` tolerates them; Ctrl-C names the folder to resume.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, write_mcq

from evalkit.testing.server import Fault, ModelServer


def evalkit(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=full, timeout=120)


def error_lines(out: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("error:")]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_key_stops_the_run_after_a_few_requests_and_names_the_variable(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 40)
    run_dir = tmp_path / "r"
    with ModelServer("The answer is A.", api_key="right-key") as srv:
        out = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "-c", "4",
                      "--output", str(run_dir), "--no-report", "-q", env={"OPENAI_API_KEY": "wrong-key"})
        assert out.returncode == 4, out.stderr
        assert srv.requests <= 8, srv.stats()  # not all 40 requests: it stopped once the key was refused
        lines = error_lines(out)
        assert len(lines) == 1 and "refused the API key (HTTP 401)" in lines[0] and "$OPENAI_API_KEY" in lines[0]
        assert f"--output {run_dir}" in lines[0] and "not sent" in lines[0]
        assert "Traceback" not in out.stderr
        record = json.loads((run_dir / "run.json").read_text())
        assert record["status"] == "stopped" and "$OPENAI_API_KEY" in record["stop_reason"]
        assert not (run_dir / "summary.json").exists()  # no number that does not hold
        shown = evalkit("show", str(run_dir))
        assert "run stopped" in shown.stdout and "refused the API key" in shown.stdout

        # a key named with --api-key-env is the variable the sentence names
        named = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "-c", "2",
                        "--api-key-env", "MY_KEY", "--no-report", "-q", "--results-dir", str(tmp_path / "res"),
                        env={"MY_KEY": "also-wrong"})
        assert named.returncode == 4 and "$MY_KEY" in named.stderr

        # the samples not sent were kept for later: with the right key the same folder finishes
        done = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "-c", "4",
                       "--output", str(run_dir), "--no-report", "-q", env={"OPENAI_API_KEY": "right-key"})
    assert done.returncode == 0, done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["counts"]["n"] == 40 and summary["counts"]["error"] == 0


def test_a_server_that_is_down_stops_the_run_with_one_sentence(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 30)
    url = f"http://127.0.0.1:{closed_port()}/v1"
    out = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", url, "-c", "4",
                  "--output", str(tmp_path / "r"), "--no-report", "-q")
    assert out.returncode == 4, out.stderr
    lines = error_lines(out)
    assert len(lines) == 1 and f"no model server answers at {url}" in lines[0] and "connection refused" in lines[0]
    samples = (tmp_path / "r" / "samples.jsonl").read_text().splitlines()
    assert 3 <= len(samples) < 30  # stopped after a few: the rest were never tried


def test_failed_samples_are_listed_by_reason_and_fail_the_run_unless_tolerated(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 40)
    faults = [Fault("status", match="Question 3: which", status=400),
              Fault("status", match="Question 13: which", status=400)]
    with ModelServer("The answer is A.", faults=faults) as srv:
        out = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                      "--output", str(tmp_path / "r"), "--no-report", "-q")
        assert out.returncode == 3, out.stderr
        assert "errors: 2 of 40 samples failed" in out.stdout
        assert f"2× HTTP 400 from {srv.url}: injected HTTP 400  (q00003, q00013)" in out.stdout
        lines = error_lines(out)
        assert len(lines) == 1 and "2 of 40 samples failed" in lines[0] and "--max-errors" in lines[0]
        summary = json.loads((tmp_path / "r" / "summary.json").read_text())
        assert summary["errors"] == [{"reason": f"HTTP 400 from {srv.url}: injected HTTP 400", "count": 2,
                                      "ids": ["q00003", "q00013"]}]
        shown = evalkit("show", str(tmp_path / "r"))
        assert f"2× HTTP 400 from {srv.url}" in shown.stdout

        tolerated = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                            "--output", str(tmp_path / "r2"), "--no-report", "-q", "--max-errors", "5%")
        assert tolerated.returncode == 0, tolerated.stderr
        assert "errors: 2 of 40 samples failed" in tolerated.stdout  # tolerated, still shown
        strict = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                         "--output", str(tmp_path / "r3"), "--no-report", "-q", "--max-errors", "1")
        assert strict.returncode == 3 and "--max-errors 1 allows 1" in strict.stderr
    bad = evalkit("run", "--task", str(task), "--model", "reference", "--max-errors", "five")
    assert bad.returncode == 2 and "--max-errors 'five'" in bad.stderr


def test_several_runs_each_end_loudly_in_run_and_in_sweep(tmp_path: Path) -> None:
    """`evalkit run` with two models is a sweep: the run whose endpoint refuses the key does not finish (4);
    `evalkit sweep` says the same, and a run with failed samples makes it 3."""
    task = write_mcq(tmp_path / "mcq.jsonl", 20)
    with ModelServer("The answer is A.", api_key="k") as locked:
        out = evalkit("run", "--task", str(task), "--model", "reference", "--model", "openai:m",
                      "--base-url", locked.url, "-c", "4", "--results-dir", str(tmp_path / "res"), "--no-report", "-q",
                      env={"OPENAI_API_KEY": "nope"})
        assert out.returncode == 4, out.stderr
        assert "refused the API key" in out.stderr and "not sent" in out.stderr
        assert locked.requests < 20
        records = [json.loads(p.read_text()) for p in (tmp_path / "res").glob("*/run.json")]
        assert sorted(r["status"] for r in records) == ["finished", "unfinished"]
    with ModelServer("The answer is A.", faults=[Fault("status", match="Question 3: which", status=400)]) as srv:
        swept = evalkit("sweep", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                        "-o", str(tmp_path / "sw"), "--no-report", "-q")
        assert swept.returncode == 3, swept.stderr
        assert "1× HTTP 400" in swept.stdout and "re-run the same sweep" in swept.stderr
        tolerated = evalkit("sweep", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                            "-o", str(tmp_path / "sw2"), "--no-report", "-q", "--max-errors", "5%")
        assert tolerated.returncode == 0, tolerated.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_an_interrupted_run_names_its_folder_and_its_run_json_says_so(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 40)
    run_dir = tmp_path / "r"
    with ModelServer("The answer is A.", latency=0.3) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalkit.cli", "run", "--task", str(task), "--model", "openai:m",
             "--base-url", srv.url, "-c", "2", "--output", str(run_dir), "--no-report", "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
            # as a terminal's foreground command has it, even when this suite runs as a background job
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        samples = run_dir / "samples.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (samples.exists() and samples.read_text().count("\n") >= 2):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"--output {run_dir}" in err and "Traceback" not in err
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and record["counts"]["not_sent"] > 0


def test_the_error_budget_and_the_verdict() -> None:
    from evalkit.verdict import ErrorBudget, RunEnd, verdict

    assert ErrorBudget.parse(None).allows(0, 10) and not ErrorBudget.parse(None).allows(1, 10)
    assert ErrorBudget.parse("5%").allows(2, 40) and not ErrorBudget.parse("5%").allows(3, 40)
    assert ErrorBudget.parse("3").allows(3, 1000) and not ErrorBudget.parse("3").allows(4, 1000)
    full = {"counts": {"n": 10, "error": 0}}
    failed = {"counts": {"n": 10, "error": 2}}
    assert verdict([RunEnd("t × m", Path("r"), full)], ErrorBudget()) == (0, [])
    code, lines = verdict([RunEnd("t × m", Path("r"), failed)], ErrorBudget())
    assert code == 3 and "2 of 10 samples failed" in lines[0]
    code, lines = verdict([RunEnd("a", Path("r1"), failed), RunEnd("b", Path("r2"), None, "key refused", 7)],
                          ErrorBudget())
    assert code == 4 and len(lines) == 2 and "key refused; 7 sample(s) were not sent" in lines[1]
