"""The Gaokao paper end to end: `evalkit run` score cards, the judge over HTTP, grade export/import."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from evalkit.adapters import make_adapter
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.testing.server import ModelServer


def evalkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=180)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("ref") / "run"
    done = evalkit("run", "--task", "gaokao-math", "--model", "reference", "--output", str(out), "--no-report", "-q")
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def _samples(run: Path) -> dict[str, dict]:
    return {json.loads(line)["id"]: json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()}


def test_reference_scores_150_of_150_with_a_score_card(reference_run: tuple[Path, str]) -> None:
    run, stdout = reference_run
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    assert (metrics["points"], metrics["max_points"]) == (150, 150)
    assert {k: v["points"] for k, v in metrics["sections"].items()} == {"single": 40, "multi": 18, "fill": 15,
                                                                          "solution": 77}
    assert "Gaokao score card" in stdout and "150 / 150" in stdout and "解答题" in stdout
    graders = {s["metadata"]["number"]: s["score"]["grader"] for s in _samples(run).values()}
    assert graders[15] == "answer" and graders[1] == "choice"


def test_random_gives_a_chance_level_card(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = evalkit("run", "--task", "gaokao-math", "--model", "random:1", "--output", str(out), "--no-report", "-q")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "summary.json").read_text())["metrics"]
    assert metrics["max_points"] == 150 and metrics["points"] <= 45
    assert metrics["sections"]["solution"]["points"] == 0
    assert "Gaokao score card" in done.stdout
    assert "Gaokao score card" in evalkit("show", str(out)).stdout


def test_grade_export_import_round_trip(reference_run: tuple[Path, str], tmp_path: Path) -> None:
    src, _ = reference_run
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(src), str(run)], check=True)
    before = _samples(run)
    done = evalkit("grade", "export", str(run))
    assert done.returncode == 0, done.stderr
    sheet = run / "grading" / "marks.csv"
    html = (run / "grading" / "marking.html").read_text(encoding="utf-8")
    assert "评分细则" in html and "考生作答" in html
    with sheet.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["number"] for r in rows] == ["15", "16", "17", "18", "19"] and all(r["mark"] == "" for r in rows)
    assert rows[0]["rubric"] and rows[0]["response"] and rows[0]["reference"]
    rows[0]["mark"], rows[0]["marker"] = "13", "王老师"
    rows[1]["mark"] = "10"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = evalkit("grade", "import", str(run), str(sheet))
    assert done.returncode == 0, done.stderr
    after = _samples(run)
    assert set(after) == set(before)
    untouched = [sid for sid in before if before[sid]["metadata"]["number"] not in (15, 16)]
    assert all(after[sid] == before[sid] for sid in untouched)
    q15, q16 = (next(s for s in after.values() if s["metadata"]["number"] == n) for n in (15, 16))
    assert q15["score"]["points"] == 13 and q15["score"]["grader"] == "human"
    # the teacher's 10 decides; the machine's 15 stays beside it, never averaged in
    assert q16["score"]["points"] == 10 and "arbitration" not in q16["score"]["details"]
    assert [(m["grader"], m["points"]) for m in q16["score"]["details"]["marks"]] == [("answer", 15), ("human", 10)]
    assert json.loads((run / "summary.json").read_text())["metrics"]["points"] == 145
    # importing again replaces the teacher's mark, never duplicates it; an arbiter's mark is final
    evalkit("grade", "import", str(run), str(sheet))
    assert len(_samples(run)[q16["id"]]["score"]["details"]["marks"]) == 2
    arb = tmp_path / "arbiter.csv"
    arb.write_text(f"id,mark\n{q16['id']},11\n", encoding="utf-8")
    assert evalkit("grade", "import", str(run), str(arb), "--grader", "arbiter").returncode == 0
    assert _samples(run)[q16["id"]]["score"]["points"] == 11
    assert _samples(run)[q16["id"]]["score"]["grader"] == "arbiter"
    # the next export shows the marks already there
    evalkit("grade", "export", str(run))
    with sheet.open(encoding="utf-8-sig", newline="") as fh:
        again = {r["number"]: r for r in csv.DictReader(fh)}
    assert again["15"]["mark"] == "13" and again["15"]["marker"] == "王老师" and again["17"]["mark"] == ""
    record = json.loads((run / "run.json").read_text())
    assert len(record["grading"]) == 3


def test_bad_marks_are_one_sentence(reference_run: tuple[Path, str], tmp_path: Path) -> None:
    run, _ = reference_run
    sid = next(s for s in _samples(run).values() if s["metadata"]["number"] == 15)["id"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"id,mark\n{sid},14\n", encoding="utf-8")
    done = evalkit("grade", "import", str(run), str(bad))
    assert done.returncode == 2 and "row 2" in done.stderr and "outside 0–13" in done.stderr
    bad.write_text("id,mark\nnope,3\n", encoding="utf-8")
    done = evalkit("grade", "import", str(run), str(bad))
    assert done.returncode == 2 and "'nope' is not a sample of this run" in done.stderr


def test_judge_marks_solutions_over_http(tmp_path: Path) -> None:
    def student(body: dict) -> str:
        return "第一问 $\\cos A=\\frac{1}{2}$，$A=\\frac{\\pi}{3}$。第二问不会。故选A"

    def teacher(body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        text = prompt if isinstance(prompt, str) else "".join(p.get("text", "") for p in prompt)
        assert "【评分细则】" in text and "【考生作答】" in text
        return "【总分】6分"

    task = get_task("gaokao-math-judge")
    with ModelServer(student) as model_srv, ModelServer(teacher) as judge_srv:
        adapter = make_adapter("openai:student", {"base_url": model_srv.url})
        judge = make_adapter("openai:teacher", {"base_url": judge_srv.url})
        cfg = RunConfig(output=tmp_path / "run", judge=judge, progress=False, use_cache=False,
                        ids=["evalkit-模拟-新课标-01", "evalkit-模拟-新课标-15", "evalkit-模拟-新课标-19"])
        outcome = run_sync(task, adapter, cfg)
        assert judge_srv.requests == 2  # the two solutions, never the choice item
    by_number = {s["metadata"]["number"]: s["score"] for s in _samples(tmp_path / "run").values()}
    assert by_number[1]["points"] == 5
    assert by_number[15]["points"] == 6 and by_number[15]["grader"] == "judge"
    assert by_number[19]["points"] == 6
    assert outcome.summary["metrics"]["points"] == 17


def test_import_accepts_a_json_of_marks(reference_run: tuple[Path, str], tmp_path: Path) -> None:
    src, _ = reference_run
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(src), str(run)], check=True)
    q19 = next(s for s in _samples(run).values() if s["metadata"]["number"] == 19)
    marks = tmp_path / "marks.json"
    marks.write_text(json.dumps({q19["id"]: {"mark": 16, "marker": "赵老师"}}, ensure_ascii=False), encoding="utf-8")
    done = evalkit("grade", "import", str(run), str(marks))
    assert done.returncode == 0, done.stderr
    score = _samples(run)[q19["id"]]["score"]
    assert score["points"] == 16 and score["details"]["marks"][-1]["marker"] == "赵老师"


def test_grade_judge_adds_marks_to_a_finished_run(reference_run: tuple[Path, str], tmp_path: Path) -> None:
    src, _ = reference_run
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(src), str(run)], check=True)
    with ModelServer("【步骤得分】无\n【总分】11分") as srv:
        done = evalkit("grade", "judge", str(run), "--judge", "openai:teacher", "--base-url", srv.url)
        assert done.returncode == 0, done.stderr
        assert srv.requests == 5 and "judged 5 solutions" in done.stdout
        again = evalkit("grade", "judge", str(run), "--judge", "openai:teacher", "--base-url", srv.url)
        assert srv.requests == 5 and "judged 0 solutions" in again.stdout  # already judged: not asked again
    q15 = next(s for s in _samples(run).values() if s["metadata"]["number"] == 15)["score"]
    assert [m["grader"] for m in q15["details"]["marks"]] == ["answer", "judge"]
    assert q15["points"] == 12 and q15["grader"] == "answer+judge"  # mean of 13 and 11
    with ModelServer("我给 11 分") as srv:
        done = evalkit("grade", "judge", str(run), "--judge", "openai:teacher", "--base-url", srv.url, "--again")
    assert "5 unparsed or failed" in done.stdout
    q15 = next(s for s in _samples(run).values() if s["metadata"]["number"] == 15)["score"]
    assert q15["points"] == 13 and q15["details"]["marks"][-1]["status"] == "unparsed"


# -- human marks are the mark (issue 15, item 1) ---------------------------------------------------------
TEACHERS = {1: 5, 2: 5, 3: 5, 4: 0, 5: 5, 6: 5, 7: 0, 8: 5, 9: 4, 10: 6, 11: 2, 12: 5, 13: 2, 14: 0,
            15: 13, 16: 6, 17: 3, 18: 2, 19: 0}  # 73 points


def _copy(src: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    subprocess.run(["cp", "-r", str(src), str(run)], check=True)
    return run


def _sheet(path: Path, run: Path, marks: dict[int, float], marker: str = "") -> Path:
    ids = {s["metadata"]["number"]: sid for sid, s in _samples(run).items()}
    lines = ["id,mark,marker"] + [f"{ids[n]},{v:g},{marker}" for n, v in marks.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_teachers_marks_on_every_item_give_exactly_the_teachers_total(reference_run, tmp_path: Path) -> None:
    run = _copy(reference_run[0], tmp_path)  # machine-marked 150 / 150
    done = evalkit("grade", "import", str(run), str(_sheet(tmp_path / "t.csv", run, TEACHERS, "王老师")))
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    assert metrics["points"] == sum(TEACHERS.values()) == 73 and metrics["arbitration"] == []
    assert "73 / 150" in done.stdout and "flagged" not in done.stdout
    scores = [s["score"] for s in _samples(run).values()]
    assert {s["grader"] for s in scores} == {"human"}
    assert all(s["details"]["marks"][0]["grader"] in ("answer", "choice", "multi_select", "fill_in") for s in scores)


def test_a_full_mark_stays_full_over_a_machine_zero(tmp_path: Path) -> None:
    run = tmp_path / "random"
    assert evalkit("run", "--task", "gaokao-math", "--model", "random:1", "--output", str(run), "--no-report",
                   "-q").returncode == 0
    done = evalkit("grade", "import", str(run), str(_sheet(tmp_path / "t.csv", run, {16: 15})))
    assert done.returncode == 0, done.stderr
    q16 = next(s["score"] for s in _samples(run).values() if s["metadata"]["number"] == 16)
    assert (q16["points"], q16["status"], q16["grader"]) == (15, "correct", "human")
    assert q16["details"]["marks"][0] == {"grader": "answer", "points": 0, "status": "graded", "steps": ANY_STEPS}
    assert "flagged" not in done.stdout


class _AnySteps:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, list)


ANY_STEPS = _AnySteps()


def test_a_mark_the_item_cannot_give_is_refused_in_one_sentence(reference_run, tmp_path: Path) -> None:
    run = _copy(reference_run[0], tmp_path)
    before = (run / "samples.jsonl").read_text(encoding="utf-8")
    done = evalkit("grade", "import", str(run), str(_sheet(tmp_path / "t.csv", run, {15: 13, 9: 1.5})))
    assert done.returncode == 2
    err = done.stderr.strip()
    assert err.count("\n") == 0 and "row 3" in err and "mark 1.5 is not a mark question 9 can give" in err
    assert "0, 2, 4 or 6" in err
    assert (run / "samples.jsonl").read_text(encoding="utf-8") == before  # nothing imported
    done = evalkit("grade", "import", str(run), str(_sheet(tmp_path / "t.csv", run, {15: 12.5})))
    assert done.returncode == 2 and "whole points from 0 to 13" in done.stderr


def test_the_report_labels_teacher_decided_cells_h(reference_run, tmp_path: Path) -> None:
    run = _copy(reference_run[0], tmp_path)
    assert evalkit("grade", "import", str(run), str(_sheet(tmp_path / "t.csv", run, {15: 13, 16: 10}))).returncode == 0
    assert evalkit("grade", "import", str(run), str(_sheet(tmp_path / "a.csv", run, {17: 12})),
                   "--grader", "arbiter").returncode == 0
    md = tmp_path / "board.md"
    done = evalkit("report", str(run), "--no-html", "--markdown", str(md), "-q")
    assert done.returncode == 0, done.stderr
    row = [line for line in md.read_text(encoding="utf-8").splitlines() if line.startswith("| reference")][-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-5:-2] == ["13 H", "10 H", "12 H"] and cells[-2:] == ["17 A", "17 A"]
