"""The local model server as a program: ready line, statistics over HTTP, stops when its stdin closes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from conftest import write_mcq

from evalkit.testing import fetch_stats

REPO = Path(__file__).resolve().parent.parent


def test_server_program_serves_counts_and_stops_with_its_parent() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "evalkit.testing.server", "--answer", "B", "--lifetime", "60"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
        req = urllib.request.Request(f"{url}/chat/completions", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = json.loads(resp.read())
        assert answer["choices"][0]["message"]["content"] == "B"
        stats = fetch_stats(url, reset=True)
        assert stats["requests"] == 1 and stats["max_in_flight"] == 1 and stats["statuses"] == {"200": 1}
        assert fetch_stats(url)["requests"] == 0
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        assert proc.wait(10) == 0
        assert "Warning" not in proc.stderr.read()  # type: ignore[union-attr]


def test_server_program_with_an_api_key_lets_a_user_see_a_refused_key_stop_a_run(tmp_path: Path) -> None:
    """What the README promises about a 401, tried by hand against the server program (``--api-key``)."""
    task = write_mcq(tmp_path / "mcq.jsonl", 30)
    proc = subprocess.Popen([sys.executable, "-m", "evalkit.testing.server", "--api-key", "right-key", "--lifetime", "60"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[1]  # type: ignore[union-attr]

        def run(key: str, out: str) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": key}
            return subprocess.run([sys.executable, "-m", "evalkit.cli", "run", "--task", str(task), "--model", "openai:m",
                                   "--base-url", url, "--output", str(tmp_path / out), "--no-report", "-q"],
                                  capture_output=True, text=True, env=env, timeout=120)

        refused = run("wrong-key", "a")
        assert refused.returncode == 4, refused.stderr
        assert "refused the API key (HTTP 401)" in refused.stderr and "$OPENAI_API_KEY" in refused.stderr
        assert fetch_stats(url)["statuses"] == {"401": fetch_stats(url)["requests"]}
        assert run("right-key", "b").returncode == 0
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        assert proc.wait(10) == 0


def test_throughput_benchmark_runs_end_to_end() -> None:
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "throughput.py"), "--n", "60",
                          "--concurrency", "8", "--latency", "0", "--repeat", "1"], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "start-up: default" in out.stdout and "start-up: no-report" in out.stdout
    assert "N = 60" in out.stdout  # every command graded all 60 (the benchmark stops otherwise)
    for row in ("reference", "default", "no-report"):
        assert f"  {row} " in out.stdout
    assert "default command <= 2.5x the bare client" in out.stdout
