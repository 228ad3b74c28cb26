"""Data formats a user brings (issue 15 item 4): images in a plain JSONL, mixed question kinds, a paper
file as a task, a built-in task named after the data it is pointed at, and a model's display name."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from evalkit.testing.server import ModelServer


def evalkit(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    import os

    from evalkit.cli import app

    here = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(here)
    return result.exit_code, result.stdout, result.stderr


def png(path: Path, colour: str = "red") -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path)
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_images_in_a_plain_jsonl_are_sent_and_resolved_next_to_the_file(tmp_path: Path) -> None:
    from evalkit.tasks import get_task

    png(tmp_path / "data" / "figs" / "a.png")
    png(tmp_path / "data" / "figs" / "b.png", "blue")
    task_file = write_jsonl(tmp_path / "data" / "s.jsonl", [
        {"id": "1", "input": "What colour is it?", "images": ["figs/a.png"], "target": "red"},
        {"id": "2", "input": [{"type": "text", "text": "And this?"}, {"type": "image", "path": "figs/b.png"}],
         "target": "blue"},
    ])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    task = get_task(str(task_file))
    assert task.modality == "image"
    assert [im.path for s in task.samples for im in s.images] == [
        str(tmp_path / "data" / "figs" / "a.png"), str(tmp_path / "data" / "figs" / "b.png")]
    with ModelServer("red") as srv:
        code, _, err = evalkit("run", "--task", str(task_file), "--model", "openai:vl", "--base-url", srv.url,
                               "--results-dir", str(tmp_path / "res"), "--no-report", "-q", cwd=elsewhere)
        bodies = srv.bodies
    assert code == 0, err
    sent = [part for body in bodies for m in body["messages"] for part in (m["content"] if isinstance(m["content"], list) else [])
            if part.get("type") == "image_url"]
    assert len(sent) == 2 and all(p["image_url"]["url"].startswith("data:image/") for p in sent)


def test_a_field_the_sample_format_does_not_have_is_an_error(tmp_path: Path) -> None:
    task_file = write_jsonl(tmp_path / "s.jsonl", [{"id": "1", "input": "?", "image": "a.png", "target": "x"}])
    code, _, err = evalkit("run", "--task", str(task_file), "--model", "reference", "--dry-run")
    assert code == 2 and "field 'image' is not a sample field (did you mean 'images'?)" in err


def test_a_jsonl_that_mixes_choice_and_free_answers_grades_each_by_its_kind(tmp_path: Path) -> None:
    task_file = write_jsonl(tmp_path / "mixed.jsonl", [
        {"id": "c", "input": "Which is prime?", "choices": ["4", "6", "7", "9"], "target": "C"},
        {"id": "f", "input": "What is 1/2 + 1/4?", "target": "3/4"},
    ])
    outputs = write_jsonl(tmp_path / "out.jsonl", [{"id": "c", "output": "The answer is C."},
                                                   {"id": "f", "output": "So the sum is \\boxed{0.75}."}])
    run = tmp_path / "r"
    code, _, err = evalkit("run", "--task", str(task_file), "--model", f"replay:{outputs}", "--output", str(run),
                           "--no-report", "-q")
    assert code == 0, err
    rows = {r["id"]: r for r in map(json.loads, (run / "samples.jsonl").read_text().splitlines())}
    assert rows["c"]["score"]["status"] == "correct" and rows["f"]["score"]["status"] == "correct"
    assert json.loads((run / "run.json").read_text())["task"]["grader"]["name"] == "by_type"


PAPER = {
    "paper": "2023-全国甲-理数", "title": "2023 年全国甲卷理科数学（节选）",
    "items": [
        {"number": 1, "type": "single", "points": 5, "question": "设集合 $A=\\{1,2\\}$，则 $1\\in A$ 吗？",
         "options": {"A": "是", "B": "否", "C": "不一定", "D": "无法判断"}, "answer": "A"},
        {"number": 2, "type": "fill", "points": 5, "question": "$1+1=$____。", "answer": ["2"]},
    ],
}


def test_a_paper_file_is_a_task_named_after_the_paper(tmp_path: Path) -> None:
    paper = tmp_path / "paper.yaml"
    paper.write_text(yaml.safe_dump(PAPER, allow_unicode=True), encoding="utf-8")
    results = tmp_path / "res"
    code, out, err = evalkit("run", "--task", str(paper), "--model", "reference", "--results-dir", str(results),
                             "--no-report", "-q")
    assert code == 0, err
    (folder,) = results.iterdir()
    assert folder.name.startswith("2023-全国甲-理数__reference__")
    record = json.loads((folder / "run.json").read_text())
    assert record["task"]["name"] == "2023-全国甲-理数" and record["task"]["description"] == PAPER["title"]
    records = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    first = min(records, key=lambda r: r["metadata"]["number"])  # samples are written as they finish
    assert "单项选择题" in json.dumps(first["prompt"], ensure_ascii=False)  # the built-in Gaokao prompts
    assert "10 / 10" in out or "10/10" in out.replace(" ", "")

    # the built-in paper task pointed at this paper with --data is named after it too
    code, out, err = evalkit("run", "--task", "gaokao-math", "--data", str(paper), "--model", "reference",
                             "--dry-run")
    assert code == 0 and "dry run: 2023-全国甲-理数 × reference" in out, err


def test_a_model_carries_a_display_name(tmp_path: Path) -> None:
    task_file = write_jsonl(tmp_path / "t.jsonl", [{"id": "1", "input": "1+1?", "target": "2"}])
    outputs = write_jsonl(tmp_path / "some" / "deep" / "gpt4o-outputs.jsonl", [{"id": "1", "output": "2"}])
    results = tmp_path / "res"
    code, out, err = evalkit("run", "--task", str(task_file), "--model", f"replay:{outputs}", "--model-name", "GPT-4o",
                             "--results-dir", str(results), "-q")
    assert code == 0, err
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert folder.name.startswith("t__GPT-4o__")
    assert json.loads((folder / "summary.json").read_text())["model"] == "GPT-4o"
    record = json.loads((folder / "run.json").read_text())
    assert record["adapter"]["name"] == "GPT-4o" and record["adapter"]["uri"] == f"replay:{outputs}"
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "GPT-4o" in report and str(outputs) not in report.split("<body", 1)[-1].split("Reproducibility")[0]
    code, out, err = evalkit("run", "--task", str(task_file), "--model", f"replay:{outputs}", "-M", "name=Mine",
                             "--results-dir", str(results), "--no-report", "-q")
    assert code == 0 and "t × Mine" in out, err
    code, _, err = evalkit("run", "--task", str(task_file), "--model", "reference", "--model", "random:1",
                           "--model-name", "only-one")
    assert code == 2 and "--model-name was given 1 time(s) for 2 --model(s)" in err


def test_modality_comes_from_the_data_in_the_task_list(tmp_path: Path) -> None:
    folder = tmp_path / "tasks" / "pics"
    png(folder / "a.png")
    write_jsonl(folder / "data.jsonl", [
        {"id": "1", "input": "What colour is it?", "images": ["a.png"], "target": "red"},
        {"id": "2", "input": "1+1?", "target": "2"},
    ])
    (folder / "task.yaml").write_text(yaml.safe_dump({"name": "pics", "dataset": {"path": "data.jsonl"}}))
    code, out, err = evalkit("list", "tasks", "--include", str(tmp_path / "tasks"))
    assert code == 0, err
    row = next(line for line in out.splitlines() if "pics" in line)
    assert "mixed" in row and " text " not in row
