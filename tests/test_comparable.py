"""The report never compares the incomparable (issue 15 item 6), and one paper scorer serves every view.

Runs pool only over the same task, metric and samples; a limited or unfinished run has its own row,
marked, never ranked against complete runs; counts match n; a chart puts each row on its own scale;
questions awaiting marks are shown as pending and left out of every total with the same numbers as
the score card; an elective pair counts once in the card, the leaderboard, the paper tables, the
intervals, the HTML/Markdown/JSON outputs and ``evalkit check`` — chosen on the final (teachers') marks.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import yaml
from conftest import write_mcq
from typer.testing import CliRunner


def evalkit(*args: str) -> tuple[int, str, str]:
    from evalkit.cli import app

    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def report_json(tmp_path: Path, *paths: Path, name: str = "board") -> dict:
    out = tmp_path / f"{name}.json"
    code, _, err = evalkit("report", *map(str, paths), "--no-html", "--json", str(out), "-q")
    assert code == 0, err
    return json.loads(out.read_text(encoding="utf-8"))


def report_markdown(tmp_path: Path, *paths: Path, name: str = "board") -> str:
    out = tmp_path / f"{name}.md"
    code, _, err = evalkit("report", *map(str, paths), "--no-html", "--markdown", str(out), "-q")
    assert code == 0, err
    return out.read_text(encoding="utf-8")


def replay(path: Path, answers: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in answers.items()))
    return path


def interrupt(run: Path) -> None:
    """What Ctrl-C leaves: run.json says interrupted and there is no summary (see test_loud_failures)."""
    record = json.loads((run / "run.json").read_text())
    record["status"] = "interrupted"
    (run / "run.json").write_text(json.dumps(record))
    (run / "summary.json").unlink()
    lines = (run / "samples.jsonl").read_text().splitlines()
    (run / "samples.jsonl").write_text("\n".join(lines[:7]) + "\n")


def test_limited_and_unfinished_runs_are_neither_pooled_nor_ranked_against_complete_ones(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 40)
    half = replay(tmp_path / "half.jsonl", {f"q{i:05d}": "ABCD"[i % 4] if i % 2 else "Z" for i in range(40)})
    res = tmp_path / "res"
    runs = {"full": res / "full", "limited": res / "limited", "cut": res / "cut"}
    assert evalkit("run", "--task", str(task), "--model", f"replay:{half}", "--model-name", "half", "--output",
                   str(runs["full"]), "--no-report", "-q")[0] == 0
    assert evalkit("run", "--task", str(task), "--model", "reference", "--limit", "10", "--output",
                   str(runs["limited"]), "--no-report", "-q")[0] == 0
    assert evalkit("run", "--task", str(task), "--model", "reference", "--output", str(runs["cut"]),
                   "--no-report", "-q")[0] == 0
    interrupt(runs["cut"])
    board = report_json(tmp_path, res)
    cells = {(c["model"], c["scope"]): c for c in board["leaderboard"]}
    assert set(cells) == {("half", "complete"), ("reference", "limited: 10 of 40 samples"),
                          ("reference", "unfinished (interrupted): 7 of 40 samples")}
    assert cells[("half", "complete")]["rank"] == 1
    assert cells[("reference", "limited: 10 of 40 samples")]["rank"] == 0  # 100 % on 10 samples is not first
    assert cells[("reference", "unfinished (interrupted): 7 of 40 samples")]["rank"] == 0
    for c in board["leaderboard"]:  # n matches the counts
        assert sum(c[s] for s in ("correct", "partial", "wrong", "unparsed", "error", "skipped")) == c["n"] * c["n_runs"]
    assert [c["n"] for c in board["leaderboard"] if c["model"] == "reference"] == [10, 7]
    assert board["groups"] == [] or all(g["model"] != "reference" or g["missing"] for g in board["groups"])
    md = report_markdown(tmp_path, res)
    row = next(line for line in md.splitlines() if "limited: 10 of 40 samples" in line)
    assert row.split("|")[2].strip() == "-"  # no rank


def test_each_row_of_a_chart_is_on_its_own_scale() -> None:
    from evalkit.report.aggregate import Cell
    from evalkit.report.svg import score_chart

    def cell(model: str, value: float, max_points: float, scope: str = "") -> Cell:
        return Cell(model, "bench", "points", "points", value, (math.nan, math.nan), max_points, 10, 1, None,
                    [value], {}, 0, 0, 0.0, [], scope=scope)

    svg = str(score_chart("bench", [cell("small", 120, 130, "limited: 10 of 844 samples"), cell("full", 530, 5708)]))
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    label_w, plot_w = 190, 420
    assert math.isclose(xs[0], label_w + plot_w * 120 / 130, abs_tol=0.1)
    assert math.isclose(xs[1], label_w + plot_w * 530 / 5708, abs_tol=0.1)  # ~9 %, not at the end of the scale


PAPER = {
    "paper": "模拟-全国卷", "title": "选做题的模拟卷",
    "items": [
        {"number": 1, "type": "single", "points": 5, "question": "$1+1=$？",
         "options": {"A": "2", "B": "3", "C": "4", "D": "5"}, "answer": "A"},
        {"number": 13, "type": "fill", "points": 5, "question": "$2+2=$____。", "answer": ["4"]},
        {"number": 17, "type": "solution", "points": 12, "question": "求 $y$。",
         "rubric": [{"step": "求 y", "result": "y=3", "points": 12}], "reference_response": "所以 $y=3$。"},
        {"number": 22, "type": "solution", "points": 10, "elective": "22-23", "question": "［选修4-4］求 $x$。",
         "rubric": [{"step": "求 x", "result": "x=2", "points": 10}], "reference_response": "所以 $x=2$。"},
        {"number": 23, "type": "solution", "points": 10, "elective": "22-23", "question": "［选修4-5］求 $z$。",
         "rubric": [{"step": "求 z", "result": "z=5", "points": 10}], "reference_response": "所以 $z=5$。"},
    ],
}


def paper_run(tmp_path: Path, name: str, *extra: str) -> Path:
    paper = tmp_path / "paper.yaml"
    if not paper.exists():
        paper.write_text(yaml.safe_dump(PAPER, allow_unicode=True), encoding="utf-8")
    run = tmp_path / name
    code, _, err = evalkit("run", "--task", str(paper), "--model", "reference", "--output", str(run),
                           "--no-report", "-q", *extra)
    assert code == 0, err
    return run


def import_marks(run: Path, marks: dict[int, float], tmp_path: Path) -> str:
    ids = {json.loads(line)["metadata"]["number"]: json.loads(line)["id"]
           for line in (run / "samples.jsonl").read_text().splitlines()}
    sheet = tmp_path / f"{run.name}-marks.csv"
    sheet.write_text("id,mark,marker\n" + "".join(f"{ids[n]},{v:g},王老师\n" for n, v in marks.items()), encoding="utf-8")
    code, out, err = evalkit("grade", "import", str(run), str(sheet))
    assert code == 0, err
    return out


def test_an_elective_pair_counts_once_in_every_view_chosen_on_the_teachers_marks(tmp_path: Path) -> None:
    run = paper_run(tmp_path, "run")
    card = json.loads((run / "summary.json").read_text())["metrics"]
    assert (card["points"], card["max_points"]) == (32, 32)  # machine marks: 5 + 5 + 12 + one elective of 10
    # teachers mark every item: 22 gets 6, 23 gets 8, so 23 counts (the machine gave both 10 and picked 22)
    out = import_marks(run, {1: 5, 13: 5, 17: 9, 22: 6, 23: 8}, tmp_path)
    card = json.loads((run / "summary.json").read_text())["metrics"]
    assert (card["points"], card["max_points"]) == (27, 32) and "27 / 32" in out
    code, shown, _ = evalkit("show", str(run))
    assert code == 0 and "27 / 32" in shown

    board = report_json(tmp_path, run)
    (cell,) = board["leaderboard"]
    assert (cell["value"], cell["max_points"]) == (27, 32) and cell["display"].startswith("27 / 32")
    assert cell["ci_high"] <= 32
    (view,) = board["gaokao"]
    assert view["max_total"] == 32 and view["numbers"] == ["1", "13", "17", "22/23"]
    row = view["rows"][0]
    assert (row["total"], row["max_total"]) == (27, 32)
    assert row["questions"]["22/23"]["points"] == 8 and row["questions"]["22/23"]["grader"] == "human"
    assert {q["grader"] for q in row["questions"].values()} == {"human"}  # teachers decided every cell: H
    md = report_markdown(tmp_path, run)
    assert "Total / 32" in md and "27 / 32" in md and "/ 42" not in md
    paper_row = next(line for line in md.splitlines() if line.startswith("| reference") and "H" in line)
    assert paper_row.count(" H") == 4 and "8 H" in paper_row
    html = tmp_path / "r.html"
    assert evalkit("report", str(run), "--html", str(html), "-q")[0] == 0
    page = html.read_text(encoding="utf-8")
    assert "Total / 32" in page and "27 / 32" in page and "Total / 42" not in page


def test_check_adds_the_same_units_as_the_card(tmp_path: Path) -> None:
    base = paper_run(tmp_path, "base")
    import_marks(base, {1: 5, 13: 5, 17: 9, 22: 4, 23: 2}, tmp_path)  # counts 22: 4
    cur = tmp_path / "cur"
    shutil.copytree(base, cur)
    import_marks(cur, {22: 10, 23: 6}, tmp_path)  # counts 22: 10, a real gain of 6 (not 10)
    out = tmp_path / "check.md"
    code, stdout, err = evalkit("check", "--baseline", str(base), "--current", str(cur), "--max-drop", "100",
                                "--markdown", str(out))
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| 模拟-全国卷"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == ["23.00", "29.00", "6.00 points"], cells


def test_questions_awaiting_marks_are_pending_everywhere_with_the_cards_numbers(tmp_path: Path) -> None:
    run = paper_run(tmp_path, "run", "--grader-option", "graders=human")  # solutions wait for teachers
    card = json.loads((run / "summary.json").read_text())["metrics"]
    assert (card["points"], card["max_points"], card["pending"]["max_points"]) == (10, 10, 22)
    code, shown, _ = evalkit("show", str(run))
    assert "10 / 10" in shown and "22 points" in shown
    board = report_json(tmp_path, run)
    (cell,) = board["leaderboard"]
    assert (cell["value"], cell["max_points"], cell["pending_points"]) == (10, 10, 22)
    assert "22 points pending" in cell["display"]
    row = board["gaokao"][0]["rows"][0]
    assert (row["total"], row["max_total"], row["pending"]) == (10, 10, 22)
    md = report_markdown(tmp_path, run)
    grid = next(line for line in md.splitlines() if line.startswith("| reference") and "… pending" in line)
    assert grid.count("… pending") == 2 and " 0 " not in grid  # 17 and 22/23 wait; no red zeros
    totals = next(line for line in md.splitlines() if "10 / 10 (22 points pending)" in line)
    assert totals.rstrip(" |").endswith("…")  # the solution section waits: not a 0
