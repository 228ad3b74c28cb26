"""The one reader of teachers' marks files, and the graders that use it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evalkit.errors import MarksError
from evalkit.grading import GraderSpec, grade
from evalkit.grading.gaokao import equivalent, human_mark, statements
from evalkit.grading.marks import csv_cell, read_marks
from evalkit.types import Sample


def test_csv_with_marks_markers_and_escaped_cells(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text(f"id,mark,marker\nq1,7,李老师\n{csv_cell('-q2')},,\n,,\nq3,4.5,{csv_cell('=evil')}\n",
                    encoding="utf-8-sig")
    rows = read_marks(path)
    assert (rows["q1"].mark, rows["q1"].marker, rows["q1"].row) == (7.0, "李老师", 2)
    assert rows["-q2"].mark is None  # not marked yet
    assert (rows["q3"].mark, rows["q3"].marker) == (4.5, "=evil")


def test_a_points_column_and_json_layouts_read_the_same(tmp_path: Path) -> None:
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("id,points\nq1,12\nq2,0\n", encoding="utf-8")
    obj = tmp_path / "o.json"
    obj.write_text(json.dumps({"q1": 12, "q2": {"mark": 0, "marker": "赵老师"}}, ensure_ascii=False), encoding="utf-8")
    rows = tmp_path / "r.json"
    rows.write_text(json.dumps([{"id": "q1", "points": 12}, {"id": "q2", "mark": "0"}]), encoding="utf-8")
    for path in (csv_file, obj, rows):
        read = read_marks(path)
        assert (read["q1"].mark, read["q2"].mark) == (12.0, 0.0), path
    assert read_marks(obj)["q2"].marker == "赵老师"


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.csv", "id,score\nq1,3\n", "needs the columns 'id' and 'mark'"),
    ("bad.csv", "id,mark\nq1,3\nq2,lots\n", r"row 3 \(q2\): mark 'lots' is not a number"),
    ("bad.json", '{"q1": 3', "not valid JSON at line 1"),
    ("bad.json", "[1, 2]", "maps sample ids to marks"),
])
def test_bad_marks_files_are_one_sentence_naming_the_file(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MarksError, match=message) as info:
        read_marks(path)
    assert str(path) in str(info.value)
    with pytest.raises(MarksError, match="not found"):
        read_marks(tmp_path / "missing.csv")


def test_one_item_marked_twice_in_one_sheet_is_an_error_not_the_later_row(tmp_path: Path) -> None:
    """QA: a sheet with a row per marker (赵 then 李) kept only 李's marks, silently: 25 points, not the double mark."""
    path = tmp_path / "m.csv"
    path.write_text("id,mark,marker\nq1,6,赵老师\nq2,3,赵老师\nq1,8,李老师\n", encoding="utf-8")
    with pytest.raises(MarksError, match=r"rows 2 and 4 both mark q1 \(6 by 赵老师 and 8 by 李老师\); one row per item"):
        read_marks(path)
    path.write_text("id,mark\nq1,6\nq1,8\n", encoding="utf-8")
    with pytest.raises(MarksError, match=r"rows 2 and 3 both mark q1 \(6 and 8\)"):
        read_marks(path)
    path.write_text("id,mark,marker\nq1,6,赵老师\nq1,6,赵老师\nq2,,\nq2,4,\nq1,,\n", encoding="utf-8")
    rows = read_marks(path)  # a row pasted twice, a blank row then its mark, a blank after a mark
    assert (rows["q1"].mark, rows["q1"].row, rows["q2"].mark) == (6.0, 2, 4.0)


def test_a_sheet_saved_by_a_chinese_spreadsheet_or_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("id,mark,marker\r\n模拟-16,9,李老师\r\n".encode("gbk"))
    rows = read_marks(path)
    assert (rows["模拟-16"].mark, rows["模拟-16"].marker) == (9.0, "李老师")
    book = tmp_path / "marks.xlsx"
    book.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    with pytest.raises(MarksError, match=r"marks.xlsx: this is a spreadsheet workbook, not a CSV; save it as 'CSV UTF-8'"):
        read_marks(book)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,mark\nq1,3\n", encoding="utf-8")
    assert read_marks(path)["q1"].mark == 3.0
    path.write_text("id,mark\nq1,10\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))
    assert read_marks(path)["q1"].mark == 10.0


def test_the_human_scorer_and_the_gaokao_human_grader_read_one_file(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text("id,mark,marker\nq1,9,李老师\nq2,,\n", encoding="utf-8")
    sample = Sample("q1", "", "", metadata={"points": 12, "type": "solution"})
    score = grade(sample, "", GraderSpec("human", {"marks_file": str(path)}))
    assert (score.status, score.points) == ("partial", 9.0)
    mark = human_mark(sample, str(path))
    assert (mark.points, mark.marker, mark.status) == (9.0, "李老师", "graded")
    assert human_mark(Sample("q2", "", "", metadata={"points": 12}), str(path)).status == "pending"


def test_key_results_use_the_one_splitter_and_math_equal() -> None:
    chains = statements("所以 $\\langle a,b\\rangle=\\frac{\\pi}{3}$，且 $x\\in(0,1)$")
    assert any("⟨a,b⟩" in elems for elems, _ in chains)
    assert any(elems[-1] == "(0,1)" for elems, _ in chains)
    assert equivalent("\\frac{1}{2}", "0.5") and not equivalent("\\frac{1}{2}", "\\frac{1}{3}")
    assert equivalent("θ=π", "\\theta=\\pi")  # Unicode math reads as the equivalence room reads it
