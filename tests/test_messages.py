"""Issue 10 item 15: what went wrong is one sentence naming the file, row or field — never a traceback,
a Python type error, or an object's memory address."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_evalkit, write_mcq

from evalkit.report.synthetic import binary_results, gaokao_results, write_run


def _one_sentence(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def _evalkit_on_a_full_disk(max_file_bytes: int, *args: str) -> subprocess.CompletedProcess[str]:
    """evalkit with a real file-size limit: a write past it fails with EFBIG, as on a full disk."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, preexec_fn=limit)


def test_a_full_disk_mid_run_is_one_sentence_and_the_run_resumes(tmp_path: Path) -> None:
    rows = [{"id": f"q{i:03d}", "input": f"Question {i}: " + "x" * 300, "target": "A"} for i in range(40)]
    task = tmp_path / "long.jsonl"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    args = ("run", "--task", str(task), "--model", "reference", "--output", str(out), "--no-report", "-q")
    done = _evalkit_on_a_full_disk(8000, *args)
    line = _one_sentence(done)
    assert f"cannot write {out / 'samples.jsonl'}" in line and "kept" in line and "resume" in line
    assert done.returncode == 2
    again = run_evalkit(*args)
    assert again.returncode == 0, again.stderr
    ids = [json.loads(x)["id"] for x in (out / "samples.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(r["id"] for r in rows)


def test_an_output_folder_that_cannot_be_written_is_one_sentence(tmp_path: Path) -> None:
    unwritable = Path("/sys/evalkit-cannot-write-here")
    if not Path("/sys").is_dir():
        pytest.skip("no /sys to stand in for a read-only folder")
    task = write_mcq(tmp_path / "mcq.jsonl", 3)
    done = run_evalkit("run", "--task", str(task), "--model", "reference", "--output", str(unwritable), "--no-report")
    assert f"cannot write {unwritable}" in _one_sentence(done)
    write_run(tmp_path / "results" / "a", binary_results([True, False]), model="m", task="t")
    done = run_evalkit("report", str(tmp_path / "results"), "--json", str(unwritable / "board.json"), "--no-html", "-q")
    assert f"cannot write {unwritable}" in _one_sentence(done)


def test_invalid_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "latin1.jsonl"
    data.write_bytes(b'{"id": "1", "input": "ok", "target": "A"}\n{"id": "2", "input": "caf\xe9?", "target": "A"}\n')
    done = run_evalkit("run", "--task", str(data), "--model", "reference", "--results-dir", str(tmp_path / "r"))
    line = _one_sentence(done)
    assert str(data) in line and "line 2" in line and "0xe9" in line and "UTF-8" in line
    task = tmp_path / "task.yaml"
    task.write_bytes(b"name: t\ndescription: caf\xe9\ndataset: {path: latin1.jsonl}\n")
    line = _one_sentence(run_evalkit("run", "--task", str(task), "--model", "reference"))
    assert str(task) in line and "line 2" in line


@pytest.mark.parametrize("row,field", [
    ({"id": "1", "input": "Which?", "choices": 7, "target": "A"}, "choices"),
    ({"id": "1", "input": 5, "target": "A"}, "input"),
    ({"id": {"nested": 1}, "input": "Which?", "target": "A"}, "id"),
    ({"id": "1", "input": "Which?", "target": {"a": 1}}, "target"),
    ({"id": "1", "input": "Which?", "target": "A", "metadata": [1]}, "metadata"),
])
def test_a_field_of_the_wrong_type_names_the_row_and_field(row: dict, field: str, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "0", "input": "fine", "target": "A"}) + "\n" + json.dumps(row) + "\n")
    line = _one_sentence(run_evalkit("run", "--task", str(data), "--model", "reference"))
    assert f"row 2: field '{field}' must be" in line and "object is not" not in line, line


@pytest.mark.parametrize("part", [{"type": "image", "url": "file:///etc/hostname"}, {"type": "picture", "path": "a.png"},
                                  {"type": "text"}])
def test_an_input_part_of_an_unknown_shape_names_the_row_and_part(part: dict, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "1", "input": [{"type": "text", "text": "Look:"}, part], "target": "A"}) + "\n")
    line = _one_sentence(run_evalkit("run", "--task", str(data), "--model", "reference"))
    assert "row 1: input part 2 must be {'type': 'text', 'text': …} or {'type': 'image', 'path': …}" in line, line
    assert "NoneType" not in line


def test_generation_values_are_checked(tmp_path: Path) -> None:
    write_mcq(tmp_path / "mcq.jsonl", 2)
    task = tmp_path / "task.yaml"
    for generation, says in ((("max_tokens", "lots"), "max_tokens must be a whole number"),
                             (("temperature", -1), "temperature must be a number, 0 or more"),
                             (("top_p", 3), "top_p must be a number above 0 and at most 1")):
        task.write_text(json.dumps({"name": "t", "dataset": {"path": "mcq.jsonl"}, "grader": "choice",
                                    "generation": dict([generation])}))
        line = _one_sentence(run_evalkit("run", "--task", str(task), "--model", "reference", "--results-dir",
                                         str(tmp_path / "r")))
        assert str(task) in line and "generation" in line and says in line, line


def test_an_image_that_is_no_image_is_named_without_an_object_address(tmp_path: Path) -> None:
    from evalkit.images import ImageError, encode_image
    from evalkit.types import Image

    (tmp_path / "fake.png").write_bytes(b"not a png at all")
    for image in (Image(str(tmp_path / "fake.png")), Image(b"just bytes", label="image 2")):
        with pytest.raises(ImageError) as info:
            encode_image(image)
        assert "object at 0x" not in str(info.value) and "no image format PIL can read" in str(info.value)
    assert "image 2" in str(info.value)


def test_duplicate_and_fractional_marks_are_refused(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", gaokao_results(0.5), model="m", task="gaokao-math", metrics=("gaokao_paper",))
    sid = "2024-new-I-15"
    sheet = tmp_path / "marks.csv"
    sheet.write_text(f"id,mark,marker\n{sid},10,王老师\n2024-new-I-16,3,王老师\n{sid},12,李老师\n", encoding="utf-8")
    before = (run / "samples.jsonl").read_bytes()
    line = _one_sentence(run_evalkit("grade", "import", str(run), str(sheet)))
    assert "2 and 4" in line and sid in line
    sheet.write_text(f"id,mark\n{sid},7.5\n", encoding="utf-8")
    line = _one_sentence(run_evalkit("grade", "import", str(run), str(sheet)))
    assert "7.5" in line and sid in line
    assert (run / "samples.jsonl").read_bytes() == before


def test_the_markdown_leaderboard_escapes_html_in_a_group_note(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script>"
    root = tmp_path / "results"
    write_run(root / "a1", binary_results([True, False] * 5), model="ma", task=f"t{hostile}")
    write_run(root / "a2", binary_results([True] * 10), model="ma", task="other")
    write_run(root / "b2", binary_results([True] * 10), model="mb", task="other")  # mb lacks the hostile task
    md = tmp_path / "board.md"
    done = run_evalkit("report", str(root), "--markdown", str(md), "--no-html", "-q", "--group",
                       f"g=t{hostile}:1,other:1")
    assert done.returncode == 0, done.stderr
    text = md.read_text(encoding="utf-8")
    assert "missing" in text and "<script>" not in text and "&lt;script&gt;" in text
