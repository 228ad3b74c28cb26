"""A real `evalkit run` process killed with SIGKILL halfway, then resumed: every sample exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
