"""What the sweep tests share: tasks on disk, a model server's scripted answers, reading run folders."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from conftest import write_mcq


def answer(req: dict[str, Any]) -> str:
    """Right or wrong by model and question, so that every model has its own per-sample scores."""
    content = req["messages"][-1]["content"]
    text = content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)
    i = int(re.search(r"Question (\d+)", text).group(1))  # type: ignore[union-attr]
    right = i % 4
    pick = right if (i + sum(map(ord, req.get("model", "")))) % 3 else (right + 1) % 4
    return f"故选{'ABCD'[pick]}"


def write_tasks(folder: Path, sizes: dict[str, int]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_mcq(folder / f"{name}.jsonl", n) for name, n in sizes.items()]


def lines(run_dir: Path) -> list[dict[str, Any]]:
    out = []
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def scores(run_dir: Path) -> dict[str, tuple[float, str | None]]:
    """id → (score value, response) of a run folder; asserts that no id is written twice."""
    recs = lines(run_dir)
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids)), f"{run_dir}: a sample written twice"
    return {r["id"]: (r["score"]["value"], r["response"]) for r in recs}


def sweep_scores(root: Path) -> dict[str, dict[str, tuple[float, str | None]]]:
    """Run folder name → its scores, for every run folder under a sweep folder."""
    return {p.parent.name: scores(p.parent) for p in sorted(root.glob("*/run.json"))}


def written(root: Path) -> int:
    """Samples written so far in every run folder under a sweep folder (a torn line does not count)."""
    return sum(len(lines(p.parent)) for p in root.glob("*/samples.jsonl"))


def kill_when_written(proc: subprocess.Popen[bytes], root: Path, n: int, timeout: float = 90) -> int:
    """SIGKILL a sweep's driver once ``n`` samples are written under ``root``; the samples written then."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and written(root) < n:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return written(root)
