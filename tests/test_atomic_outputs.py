"""Issue 10 item 6: every output file is replaced whole or not at all.

``report --json/--markdown``, ``check --junit/--md`` and ``marks.csv`` used to be written in place: on a
full disk a valid ``board.json`` became an invalid file. Here the disk "fills up" for real: the child
process runs with a file-size limit (``RLIMIT_FSIZE``, SIGXFSZ ignored), so a write past it fails with
EFBIG exactly as ENOSPC would, and the previous file must still be there, whole, with no temp file left.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from evalkit.report.synthetic import binary_results, gaokao_results, write_run


def evalkit(*args: str, max_file_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True, env=env,
                          timeout=180, preexec_fn=limit if max_file_bytes is not None else None)


def _no_temps(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")], "temporary files left behind"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    write_run(root / "a", binary_results([True, False] * 20), model="m-a", task="t")
    return root


@pytest.mark.parametrize("flag,name", [("--json", "board.json"), ("--markdown", "board.md")])
def test_report_outputs_survive_a_full_disk(results: Path, tmp_path: Path, flag: str, name: str) -> None:
    out = tmp_path / name
    assert evalkit("report", str(results), flag, str(out), "--no-html", "-q").returncode == 0
    old = out.read_bytes()
    write_run(results / "b", binary_results([True] * 40, prefix="q"), model="m-b-with-a-long-name", task="t")
    evalkit("report", str(results), flag, str(out), "--no-html", "-q", max_file_bytes=len(old) // 2)
    assert out.read_bytes() == old, f"{name} was replaced by a truncated file"
    if name.endswith(".json"):
        json.loads(out.read_text(encoding="utf-8"))
    _no_temps(tmp_path)


@pytest.mark.parametrize("flag,name", [("--junit", "check.xml"), ("--md", "check.md")])
def test_check_outputs_survive_a_full_disk(tmp_path: Path, flag: str, name: str) -> None:
    base = write_run(tmp_path / "base", binary_results([True] * 40), model="m", task="t")
    cur = write_run(tmp_path / "cur", binary_results([True] * 30 + [False] * 10), model="m", task="t")
    out = tmp_path / name
    out.write_text("previous verdict, kept whole\n" * 20, encoding="utf-8")
    old = out.read_bytes()
    evalkit("check", "--baseline", str(base), "--current", str(cur), flag, str(out), max_file_bytes=64)
    assert out.read_bytes() == old
    _no_temps(tmp_path)


def test_the_marking_sheet_survives_a_full_disk(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", gaokao_results(0.5), model="m", task="gaokao-math",
                    metrics=("gaokao_paper",))
    assert evalkit("grade", "export", str(run)).returncode == 0
    sheet = run / "grading" / "marks.csv"
    old = sheet.read_bytes()
    evalkit("grade", "export", str(run), "--all", max_file_bytes=len(old) // 2)
    assert sheet.read_bytes() == old
    _no_temps(run / "grading")
