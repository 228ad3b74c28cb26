"""Gaokao papers: validation that names the item, the gaokao scorer, solution graders, the paper metric."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from evalkit.grading import GraderSpec, grade, needs_judge
from evalkit.grading.gaokao import (
    Mark,
    answer_mark,
    found,
    judge_prompt,
    mark_problem,
    paper_metric,
    parse_judge_reply,
    reconcile,
    statements,
    threshold_for,
    with_marks,
)
from evalkit.tasks import get_task
from evalkit.tasks.gaokao import PaperError, read_paper
from evalkit.types import SampleResult, Score

PAPER = REPO / "tasks" / "gaokao-math" / "paper.yaml"
SPEC = GraderSpec("gaokao", {"graders": ["answer"]})


@pytest.fixture(scope="module")
def samples() -> dict[int, object]:
    return {s.metadata["number"]: s for s in get_task("gaokao-math").samples}


def _raw() -> dict:
    return yaml.safe_load(PAPER.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "paper.json"
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return p


# -- the paper model ----------------------------------------------------------------------------------
def test_builtin_paper_has_the_2024_layout_and_150_points() -> None:
    paper = read_paper(PAPER)
    assert [i.number for i in paper.items] == list(range(1, 20))
    assert paper.max_points == 150
    kinds = [(i.type, i.max_points) for i in paper.items]
    assert kinds[:8] == [("single", 5)] * 8 and kinds[8:11] == [("multi", 6)] * 3
    assert [p for _, p in kinds[14:]] == [13, 15, 15, 17, 17]
    assert any(isinstance(i.points, tuple) for i in paper.items if i.type == "fill")  # a blank-split item


def test_points_that_do_not_add_up_name_the_total(tmp_path: Path) -> None:
    data = _raw()
    data["total"] = 149
    with pytest.raises(PaperError, match="add up to 150 points but 'total' is 149"):
        read_paper(_write(tmp_path, data))


def test_paper_says_how_teachers_mark_halves_and_threshold(tmp_path: Path) -> None:
    data = _raw()
    data["half_marks"], data["threshold"] = True, 3
    data["items"][15]["threshold"] = 1
    items = {i.number: i.to_sample().metadata for i in read_paper(_write(tmp_path, data)).items}
    assert items[15]["half_marks"] is True and items[15]["threshold"] == 3 and items[16]["threshold"] == 1
    assert threshold_for(items[16], 2) == 1 and threshold_for(items[15], 2, override=4) == 4
    assert threshold_for({}, None) == 2
    data["threshold"] = "two"
    with pytest.raises(PaperError, match="'threshold' .* must be a number >= 0, got 'two'"):
        read_paper(_write(tmp_path, data))


def test_layout_names_the_question_that_is_off(tmp_path: Path) -> None:
    data = _raw()
    data["layout"] = "新课标"
    data["items"][9]["points"] = 5
    with pytest.raises(PaperError, match="question 10 is a multi worth 5 points; the 新课标 layout has a multi worth 6"):
        read_paper(_write(tmp_path, data))


@pytest.mark.parametrize(("index", "change", "message"), [
    (0, {"type": "choice"}, r"item 1 \(question 1\): 'type' is 'choice'"),
    (0, {"answer": "E"}, r"question 1\): a single-choice answer must be one of"),
    (12, {"points": [2, 2, 1]}, r"question 13\): 3 blank points but 2 answers"),
    (14, {"points": 12}, r"question 15\): the rubric steps add up to 13 points but the item is worth 12"),
    (3, {"points": [5]}, r"question 4\): 'points' is a list, which only a fill-in or group item may have"),
])
def test_item_mistakes_name_the_item(tmp_path: Path, index: int, change: dict, message: str) -> None:
    data = _raw()
    data.pop("total")
    data["items"][index].update(change)
    with pytest.raises(PaperError, match=message):
        read_paper(_write(tmp_path, data))


def test_sample_metadata_carries_what_reports_need(samples: dict) -> None:
    s13, s15 = samples[13], samples[15]
    assert s13.metadata["points"] == [2, 3] and s13.target == ["\\frac{1}{4}", "8"]
    for key in ("paper", "number", "type", "section", "points", "rubric", "reference_response"):
        assert key in s15.metadata
    assert [st["cumulative"] for st in s15.metadata["rubric"]] == [4, 6, 10, 13]
    assert samples[9].metadata["rule"] == "gaokao-2024" and samples[9].metadata["n_choices"] == 4


# -- the answer grader --------------------------------------------------------------------------------
def test_answer_grader_awards_the_steps_it_finds(samples: dict) -> None:
    s = samples[16]
    partial = "当 $n=1$ 时 $a_1=2$，所以 $a_n=2^n$。第二问不会。"
    mark = answer_mark(s, partial)
    assert mark.points == 5 and [st["points"] for st in mark.steps] == [2, 0, 3, 0, 0]
    score = grade(s, partial, SPEC)
    assert (score.points, score.max_points, score.status, score.grader) == (5, 15, "partial", "answer")


def test_answer_grader_uses_math_equivalence_not_spelling(samples: dict) -> None:
    s = samples[15]
    text = r"所以 $\cos A = 0.5$，$A=60^\circ$ 不算；$bc = 3$，面积 $S=\dfrac{3}{4}\sqrt{3}$。"
    pts = [st["points"] for st in answer_mark(s, text).steps]
    assert pts[0] == 4 and pts[2] == 4 and pts[3] == 3


def test_answer_grader_needs_the_named_quantity_not_a_stray_number(samples: dict) -> None:
    s = samples[18]
    assert answer_mark(s, "计算得 4 和 3，直线为 1").points == 0
    assert answer_mark(s, "$a^2=1=2=3=4$，$b^2=1$ 或 $b^2=2$").points == 0  # guessing earns nothing
    assert answer_mark(s, r"$m^2=1$，所以 $l:x-y-1=0$ 或 $x+y-1=0$").points == 4


def test_relations_in_a_chain() -> None:
    chains = statements(r"$\ln(1+x) = \ln 2 < 1$，且 $1 > \ln 2$")
    assert found(r"\ln(1+x) < 1", chains)
    assert not found(r"\ln(1+x) > 1", chains)
    assert found(r"\ln 2 < 1", chains)  # read backwards from "1 > ln 2"


def test_reference_solutions_earn_full_marks_and_blank_earns_zero(samples: dict) -> None:
    for n in range(15, 20):
        s = samples[n]
        assert grade(s, s.metadata["reference_response"], SPEC).points == s.max_points, n
        assert grade(s, "", SPEC).points == 0


# -- judge, human, reconciliation ---------------------------------------------------------------------
def test_judge_prompt_speaks_the_teachers_terms(samples: dict) -> None:
    prompt = judge_prompt(samples[15], "我的解答")
    for words in ("阅卷", "评分细则", "满分13分", "【考生作答】", "累计13分", "【总分】"):
        assert words in prompt


@pytest.mark.parametrize(("reply", "status", "points"), [
    ("【步骤得分】1:4，2:2，3:4，4:0\n【总分】10分", "graded", 10),
    ("【总分】13分", "graded", 13),
    ("【总分】20分", "graded", 13),  # clipped to the item
    ("我觉得可以给 10 分", "unparsed", 0),
    ("【总分】10分 …… 【总分】11分", "unparsed", 0),
    ("【总分】9.5分", "unparsed", 0),
    ("【步骤得分】1:4，2:2，3:4，4:1\n【总分】10分", "unparsed", 0),  # steps do not add up
    ("【步骤得分】1:5，2:2，3:3，4:0\n【总分】10分", "unparsed", 0),  # step above its points
])
def test_judge_reply_is_parsed_strictly(samples: dict, reply: str, status: str, points: int) -> None:
    mark = parse_judge_reply(reply, samples[15])
    assert (mark.status, mark.points) == (status, points)


def test_judge_runs_through_the_async_scorer(samples: dict) -> None:
    spec = GraderSpec("gaokao", {"graders": "answer+judge"})
    assert needs_judge(spec) and not needs_judge(SPEC)
    prompts: list[str] = []

    async def judge(prompt: str) -> str:
        prompts.append(prompt)
        return "【步骤得分】1:4，2:2，3:4，4:3\n【总分】13分"

    from evalkit.grading import grade_async

    s = samples[15]
    score = asyncio.run(grade_async(s, "只写了 $\\cos A=\\frac12$", spec, judge))
    assert [m["grader"] for m in score.details["marks"]] == ["answer", "judge"]
    assert score.points == (4 + 13) / 2 and score.details["arbitration"] is True
    assert score.grader == "answer+judge" and len(prompts) == 1
    # a choice item never calls the judge, even on the async path
    assert asyncio.run(grade_async(samples[1], "故选A", spec, judge)).points == 5 and len(prompts) == 1
    # asking for a judge without one is an error, not a zero
    assert grade(s, "x", spec).status == "error"


def test_machine_marks_reconcile_among_themselves() -> None:
    close = reconcile([Mark("answer", 10, 13), Mark("judge", 11, 13)], 13, threshold=2)
    assert close.points == 10.5 and close.details["arbitration"] is False and close.status == "partial"
    far = reconcile([Mark("answer", 5, 13), Mark("judge", 12, 13)], 13, threshold=2)
    assert far.details["arbitration"] is True and far.grader == "answer+judge"
    pending = reconcile([Mark("human", 0, 13, "pending", reason="awaiting a teacher's mark")], 13)
    assert pending.status == "skipped" and pending.points == 0


def test_a_teachers_mark_decides_and_machine_marks_stay_beside_it() -> None:
    score = reconcile([Mark("answer", 0, 15), Mark("judge", 4, 15), Mark("human", 15, 15, marker="王")], 15)
    assert (score.points, score.status, score.grader) == (15, "correct", "human")
    assert "arbitration" not in score.details and score.details["decided_by"] == "human"
    assert [m["grader"] for m in score.details["marks"]] == ["answer", "judge", "human"]


def test_double_marking_within_beyond_threshold_and_arbitration() -> None:
    first = reconcile([Mark("answer", 13, 13), Mark("human", 10, 13, marker="a")], 13, threshold=2)
    within = with_marks(first, [Mark("human", 11, 13, marker="b")], threshold=2)
    assert within.points == 10.5 and within.details["arbitration"] is False and within.grader == "human"
    beyond = with_marks(first, [Mark("human", 5, 13, marker="b")], threshold=2)
    assert beyond.points == 7.5 and beyond.details["arbitration"] is True  # counts as the mean meanwhile
    settled = with_marks(beyond, [Mark("arbiter", 9, 13, marker="leader")], threshold=2)
    assert (settled.points, settled.grader) == (9, "arbiter") and settled.details["arbitration"] is False
    assert len(settled.details["marks"]) == 4
    # a marker re-marking replaces their own mark, never adds a second one
    again = with_marks(within, [Mark("human", 12, 13, marker="b")], threshold=2)
    assert again.points == 11 and len(again.details["marks"]) == 3
    # a third marker (三评) pairs with the nearer of the first two
    third = with_marks(beyond, [Mark("human", 6, 13, marker="c")], threshold=2)
    assert third.points == 5.5 and third.details["arbitration"] is False


@pytest.mark.parametrize(("number", "value", "ok"), [
    (1, 5, True), (1, 2, False), (9, 4, True), (9, 3, False), (9, 1.5, False), (13, 2, True), (13, 4, False),
    (15, 12, True), (15, 12.5, False), (15, 14, False),
])
def test_marks_are_checked_against_what_the_item_can_give(samples: dict, number: int, value: float, ok: bool) -> None:
    s = samples[number]
    problem = mark_problem(s.metadata, s.target, s.max_points, value)
    assert (problem is None) == ok, problem


def test_half_marks_when_the_paper_allows_them(samples: dict) -> None:
    s = samples[15]
    assert mark_problem({**s.metadata, "half_marks": True}, s.target, 13, 12.5) is None
    assert "whole points from 0 to 13" in (mark_problem(s.metadata, s.target, 13, 12.5) or "")


def test_human_grader_reads_a_marks_file(tmp_path: Path, samples: dict) -> None:
    s = samples[17]
    marks = tmp_path / "marks.csv"
    marks.write_text(f"id,mark,marker\n{s.id},12,李老师\n", encoding="utf-8")
    score = grade(s, "anything", GraderSpec("gaokao", {"graders": ["human"], "marks": str(marks)}))
    assert score.points == 12 and score.grader == "human"
    assert score.details["marks"][0]["marker"] == "李老师"
    other = grade(samples[16], "x", GraderSpec("gaokao", {"graders": ["human"], "marks": str(marks)}))
    assert other.status == "skipped"


# -- the paper metric ---------------------------------------------------------------------------------
def _result(sid: str, meta: dict, points: float, mx: float) -> SampleResult:
    status = "correct" if points == mx else ("partial" if points else "wrong")
    return SampleResult(sid, [], None, "", Score(points / mx, status, points, mx), metadata=meta)  # type: ignore[arg-type]


def test_paper_metric_sections_questions_and_elective_best_of_two() -> None:
    p = {"paper": "2015-新课标I", "year": "2015"}
    results = [
        _result("q1", {**p, "number": 1, "type": "single", "section": "single"}, 5, 5),
        _result("q13", {**p, "number": 13, "type": "fill", "section": "fill"}, 0, 5),
        _result("q17", {**p, "number": 17, "type": "solution", "section": "solution"}, 7, 12),
        _result("q22", {**p, "number": 22, "type": "solution", "section": "solution", "elective": "e"}, 4, 10),
        _result("q23", {**p, "number": 23, "type": "solution", "section": "solution", "elective": "e"}, 9, 10),
    ]
    m = paper_metric(results)
    assert (m["points"], m["max_points"]) == (21, 32)
    assert m["sections"]["solution"] == {"points": 16, "max_points": 22, "rate": round(16 / 22, 4)}
    assert list(m["sections"]) == ["single", "fill", "solution"]
    counted = {q["number"]: q["counted"] for q in m["questions"]}
    assert counted[22] is False and counted[23] is True
    assert m["paper"] == "2015-新课标I" and m["years"]["2015"]["single"] == 1.0


def test_answer_grader_reads_other_notations(samples: dict) -> None:
    text = r"""(1) 由题意 e=c/a=1/2，故 $a^2=4$，$b^2=3$，椭圆 C: 3x^2+4y^2=12。
(2) 设 l: x=my+1，联立得 (3m^2+4)y^2+6my-9=0，
\[ y_1+y_2=\frac{-6m}{3m^2+4},\quad y_1 y_2=\frac{-9}{3m^2+4} \]
\begin{aligned} |AB| &= \sqrt{1+m^2}\,|y_1-y_2| \\ &= \frac{12(1+m^2)}{4+3m^2} \end{aligned}
解得 m^2=1，所以 l 为 x-y-1=0 或 x+y-1=0。"""
    mark = answer_mark(samples[18], text)
    assert mark.points == 17, mark.steps
    wrong = text.replace("m^2=1", "m^2=2").replace("x-y-1=0 或 x+y-1=0", "y=\\sqrt{2}(x-1)")
    assert answer_mark(samples[18], wrong).points == 13


def test_items_awaiting_marks_stay_out_of_the_total() -> None:
    p = {"paper": "P"}
    waiting = SampleResult("q17", [], None, "", Score(0.0, "skipped", 0.0, 12.0), metadata={**p, "number": 17,
                                                                                         "type": "solution"})
    m = paper_metric([_result("q1", {**p, "number": 1, "type": "single"}, 5, 5), waiting])
    assert (m["points"], m["max_points"]) == (5, 5) and m["pending"] == {"n": 1, "max_points": 12.0}


def _legacy_paper(elective: bool = True) -> dict:
    items = []
    for n in range(1, 24):
        if n <= 12:
            items.append({"number": n, "type": "single", "points": 5, "question": f"第{n}题", "options": ["1", "2", "3", "4"],
                          "answer": "A"})
        elif n <= 16:
            items.append({"number": n, "type": "fill", "points": 5, "question": f"第{n}题", "answer": ["1"]})
        else:
            pts = 12 if n <= 21 else 10
            item = {"number": n, "type": "solution", "points": pts, "question": f"第{n}题",
                    "rubric": [{"step": "答案", "result": f"x_{{{n}}}=1", "points": pts}]}
            if n >= 22 and elective:
                item["elective"] = "选考"
            items.append(item)
    return {"paper": "2019-全国卷-模拟", "layout": "全国卷", "total": 150, "items": items}


def test_legacy_layout_counts_one_elective(tmp_path: Path) -> None:
    paper = read_paper(_write(tmp_path, _legacy_paper()))
    assert len(paper.items) == 23 and paper.max_points == 150
    results = []
    for item in paper.items:
        s = item.to_sample()
        out = f"$x_{{{item.number}}}=1$" if item.number != 22 else "不会"
        if item.type == "single":
            out = "故选A"
        elif item.type == "fill":
            out = "$\\boxed{1}$"
        results.append(SampleResult(s.id, [], s.target, out, grade(s, out, SPEC), metadata=s.metadata))
    m = paper_metric(results)
    assert (m["points"], m["max_points"]) == (150, 150)  # 23 answered, 22 blank: the better one counts
    with pytest.raises(PaperError, match="elective pair"):
        read_paper(_write(tmp_path, _legacy_paper(elective=False)))


@pytest.mark.parametrize(("key", "text", "hit"), [
    (r"T_n=(2n-3)2^{n+1}+6", r"所以 $T_n=(2n-3)\cdot 2^{n+1}+6$", True),
    (r"-T_n=(3-2n)2^{n+1}-6", r"$-T_n=-6-(2n-3)2^{n+1}$", True),
    (r"S=\frac{3\sqrt{3}}{4}", r"面积为 $S=\frac{3}{4}\sqrt 3$", True),
    (r"f'(x)=e^x-a", r"$f'(x)=\mathrm{e}^{x}-a$", True),
    (r"e^x\ge x+1", r"$e^x \geqslant 1+x$", True),
    (r"\ln\left(1+\frac{1}{k}\right)<\frac{1}{k}", r"$\ln(1+\frac1k)<\frac1k$", True),
    (r"a_n=2^n", r"$a_n=2\cdot 2^{n-1}$", True),
    (r"T_n=(2n-3)2^{n+1}+6", r"$T_n=(2n-3)2^{n}+6$", False),
    (r"e^x\ge x+1", r"$e^x \le x+1$", False),
])
def test_key_results_in_other_spellings(key: str, text: str, hit: bool) -> None:
    assert found(key, statements(text)) is hit


def test_item_images_resolve_next_to_the_paper(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    PILImage.new("RGB", (8, 8), "white").save(tmp_path / "fig1.png")
    data = {"paper": "图", "items": [{"number": 1, "type": "single", "points": 5, "question": "如图，<image 1> 中…",
                                      "images": ["fig1.png"], "options": ["1", "2", "3", "4"], "answer": "B"}]}
    sample = read_paper(_write(tmp_path, data)).items[0].to_sample()
    assert [Path(img.path) for img in sample.images] == [tmp_path / "fig1.png"]
    assert sample.images[0].sha256 and sample.metadata["n_choices"] == 4
