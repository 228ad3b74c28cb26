"""The built-in scorers through the public ``grade`` / ``grade_async`` entry points."""

from __future__ import annotations

import asyncio
import json

import pytest

from evalkit.grading import GraderSpec, grade, grade_async, needs_judge
from evalkit.grading.scorers import multi_select_points, parse_judge_points
from evalkit.types import Sample


def S(target, **meta) -> Sample:
    return Sample("q1", "question text", target, metadata=meta)


# -- choice ------------------------------------------------------------------------------
def test_choice_correct_wrong_unparsed() -> None:
    spec = GraderSpec("choice")
    s = grade(S("C", points=5), "A is wrong, B is wrong. 故选C", spec)
    assert (s.status, s.points, s.max_points, s.stage, s.extracted) == ("correct", 5.0, 5.0, "letter", "C")
    assert s.grader == "choice"
    s = grade(S("C", points=5), "The answer is (B).", spec)
    assert (s.status, s.points) == ("wrong", 0.0)
    s = grade(S("C"), "I cannot tell.", spec)
    assert s.status == "unparsed" and s.reason


def test_choice_two_letters_is_wrong_not_a_pick() -> None:
    s = grade(S("A"), "故选AB", GraderSpec("choice"))
    assert s.status == "wrong" and "several letters" in s.reason


def test_choice_last_capital_rule_reproduces_gaokao_bench() -> None:
    out = "故选B。A选项错误在于……"
    assert grade(S("B"), out, GraderSpec("choice", {"extract": "default"})).status == "correct"
    assert grade(S("B"), out, GraderSpec("choice", {"extract": "last_capital"})).status == "wrong"


def test_choice_unknown_rule_is_an_error() -> None:
    s = grade(S("B"), "B", GraderSpec("choice", {"extract": "first"}))
    assert s.status == "error" and "first" in s.reason


# -- multi_select --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("chosen", "correct", "points"),
    [
        ("AC", "AC", 6), ("A", "AC", 3), ("A", "ACD", 2), ("AD", "ACD", 4), ("ABC", "AC", 0), ("", "AC", 0),
        ("ACD", "ACD", 6),
    ],
)
def test_gaokao_2024_rule(chosen: str, correct: str, points: float) -> None:
    assert multi_select_points(list(chosen), list(correct), "gaokao-2024", 6)[0] == points


@pytest.mark.parametrize(
    ("chosen", "correct", "points"),
    [("AC", "AC", 5), ("A", "AC", 2), ("AD", "ACD", 2), ("AB", "AC", 0), ("", "AC", 0)],
)
def test_gaokao_legacy_rule(chosen: str, correct: str, points: float) -> None:
    assert multi_select_points(list(chosen), list(correct), "gaokao-legacy", 5)[0] == pytest.approx(points)


def test_multi_select_scales_to_item_points() -> None:
    s = grade(S(["A", "C", "D"], points=6), "所以选 AD", GraderSpec("multi_select", {"rule": "gaokao-2024"}))
    assert (s.status, s.points, s.max_points) == ("partial", 4.0, 6.0)
    assert s.value == pytest.approx(4 / 6)
    s = grade(S(["A", "C"], points=10), "answer: A", GraderSpec("multi_select", {"rule": "gaokao-2024"}))
    assert s.points == pytest.approx(5.0)
    s = grade(S(["A", "C"], points=5), "故选A", GraderSpec("multi_select", {"rule": "gaokao-legacy"}))
    assert s.points == pytest.approx(2.0)
    s = grade(S(["A", "C"], points=6), "故选AB", GraderSpec("multi_select", {}))
    assert s.status == "wrong" and "B" in s.reason
    s = grade(S("AC", points=6), "no idea", GraderSpec("multi_select", {}))
    assert s.status == "unparsed"


def test_multi_select_unknown_rule_is_an_error() -> None:
    s = grade(S(["A"]), "A", GraderSpec("multi_select", {"rule": "generous"}))
    assert s.status == "error" and "generous" in s.reason


# -- fill_in / math_answer -----------------------------------------------------------------
def test_fill_in_per_blank_points() -> None:
    sample = S(["\\frac{1}{2}", "[1,3)"], points=[2, 3])
    spec = GraderSpec("fill_in")
    s = grade(sample, "第一空：0.5；第二空：$\\{x|1\\le x<3\\}$", spec)
    assert (s.status, s.points, s.max_points) == ("correct", 5.0, 5.0)
    s = grade(sample, "答案依次为 1/2，(1,3)", spec)
    assert (s.status, s.points) == ("partial", 2.0)
    assert [b["equal"] for b in s.details["blanks"]] == [True, False]
    s = grade(sample, "I only know the first one: 1/2", spec)
    assert s.status == "unparsed"


def test_fill_in_points_list_must_match_blanks() -> None:
    s = grade(S(["1", "2"], points=[1, 2, 3]), "1; 2", GraderSpec("fill_in"))
    assert s.status == "error" and "3 entries for 2 blanks" in s.reason


def test_math_answer_reports_stage_and_forms() -> None:
    s = grade(S("\\frac{\\sqrt{3}}{2}", points=5), "Hence $\\sin 60^\\circ = \\boxed{\\frac{\\sqrt3}{2}}$.",
              GraderSpec("math_answer"))
    assert (s.status, s.points, s.extracted) == ("correct", 5.0, "\\frac{\\sqrt3}{2}")
    assert s.stage in ("string", "numeric")
    s = grade(S("[2,5)"), "The domain is \\boxed{(2,5)}.", GraderSpec("math_answer"))
    assert s.status == "wrong" and s.stage and s.reason
    s = grade(S("7"), "I give up.", GraderSpec("math_answer"))
    assert s.status == "unparsed"


def test_math_answer_with_a_letter_target_reads_letters() -> None:
    assert grade(S("B"), "B. the others fail", GraderSpec("math_answer")).status == "correct"
    assert grade(S("B"), "The answer is C, not B.", GraderSpec("math_answer")).status == "wrong"


def test_exact_and_regex() -> None:
    assert grade(S("Paris"), "  Paris ", GraderSpec("exact")).status == "correct"
    assert grade(S("Paris"), "paris", GraderSpec("exact")).status == "wrong"
    assert grade(S("Paris"), "paris", GraderSpec("exact", {"case_sensitive": False})).status == "correct"
    spec = GraderSpec("regex", {"pattern": r"ANSWER:\s*(\w+)"})
    assert grade(S("42"), "work... ANSWER: 41 ... ANSWER: 42", spec).status == "correct"
    assert grade(S("42"), "no marker", spec).status == "unparsed"
    assert grade(S("42"), "x", GraderSpec("regex", {"pattern": "("})).status == "error"


# -- rubric --------------------------------------------------------------------------------
RUBRIC = [{"step": "finds the derivative", "points": 2}, {"step": "solves f'(x)=0", "points": 4},
          {"step": "states the maximum", "points": 6}]


def judge_replying(reply: str):
    prompts: list[str] = []

    async def judge(prompt: str) -> str:
        prompts.append(prompt)
        return reply

    return judge, prompts


def test_rubric_needs_a_judge() -> None:
    assert needs_judge(GraderSpec("rubric"))
    assert not needs_judge(GraderSpec("math_answer"))
    s = asyncio.run(grade_async(S("", points=6, rubric=RUBRIC), "work", GraderSpec("rubric"), judge=None))
    assert s.status == "error"


def test_rubric_parses_integer_points_and_clips() -> None:
    judge, prompts = judge_replying("POINTS: 4\nREASON: stops before the maximum")
    s = asyncio.run(grade_async(S("", points=6, rubric=RUBRIC), "f'(x)=..., x=1", GraderSpec("rubric"), judge))
    assert (s.status, s.points, s.max_points, s.stage) == ("partial", 4.0, 6.0, "judge")
    assert "solves f'(x)=0" in prompts[0] and "f'(x)=..., x=1" in prompts[0]
    judge, _ = judge_replying("POINTS: 9\nREASON: excellent")
    s = asyncio.run(grade_async(S("", points=6, rubric=RUBRIC), "...", GraderSpec("rubric"), judge))
    assert s.points == 6.0 and "clipped" in s.reason


@pytest.mark.parametrize("reply", ["Looks good, about 4 points.", "POINTS: 4.5", "POINTS: 2\nPOINTS: 3", ""])
def test_rubric_unparseable_judge_reply_is_an_error_not_zero(reply: str) -> None:
    judge, _ = judge_replying(reply)
    s = asyncio.run(grade_async(S("", points=6, rubric=RUBRIC), "...", GraderSpec("rubric"), judge))
    assert s.status == "error" and s.reason


def test_parse_judge_points() -> None:
    assert parse_judge_points("**POINTS:** 3", 6)[0] == 3
    assert parse_judge_points("POINTS: -2", 6)[0] == 0


# -- human ---------------------------------------------------------------------------------
def test_human_marks_from_options_and_files(tmp_path) -> None:
    spec = GraderSpec("human", {"marks": {"q1": 7}})
    s = grade(S("", points=12), "", spec)
    assert (s.status, s.points, s.stage, s.grader) == ("partial", 7.0, "human", "human")
    csv_file = tmp_path / "marks.csv"
    csv_file.write_text("id,points\nq1,12\nq2,0\n", encoding="utf-8")
    s = grade(S("", points=12), "", GraderSpec("human", {"marks_file": str(csv_file)}))
    assert (s.status, s.points) == ("correct", 12.0)
    json_file = tmp_path / "marks.json"
    json_file.write_text(json.dumps([{"id": "q1", "points": 0}]), encoding="utf-8")
    s = grade(S("", points=12), "", GraderSpec("human", {"marks_file": str(json_file)}))
    assert s.status == "wrong"


def test_human_missing_or_bad_marks_are_errors(tmp_path) -> None:
    s = grade(S("", points=12), "", GraderSpec("human", {"marks": {"other": 3}}))
    assert s.status == "error" and "q1" in s.reason
    s = grade(S("", points=12), "", GraderSpec("human", {"marks": {"q1": 20}}))
    assert s.status == "error" and "outside" in s.reason
    bad = tmp_path / "bad.csv"
    bad.write_text("id,score\nq1,3\n", encoding="utf-8")
    s = grade(S("", points=12), "", GraderSpec("human", {"marks_file": str(bad)}))
    assert s.status == "error" and "points" in s.reason


def test_choice_text_instead_of_letter_uses_sample_choices() -> None:
    sample = Sample("q2", "Capital of France?", "B", choices=("London", "Paris", "Rome"))
    s = grade(sample, "The answer is Paris.", GraderSpec("choice"))
    assert (s.status, s.stage, s.extracted) == ("correct", "choice-text", "B")
    sample = Sample("q3", "Which equals 1/2?", "C", choices=("0.2", "0.25", "0.5"))
    assert grade(sample, "It is \\boxed{\\frac{1}{2}}", GraderSpec("choice")).status == "correct"


def test_bad_targets_are_errors_naming_the_sample() -> None:
    for spec in (GraderSpec("choice"), GraderSpec("multi_select"), GraderSpec("math_answer"), GraderSpec("fill_in")):
        s = grade(S(None), "The answer is A", spec)
        assert s.status == "error" and "q1" in s.reason, spec
    assert grade(S("Paris"), "A", GraderSpec("choice")).status == "error"
    assert grade(S("A、C"), "故选AC", GraderSpec("multi_select")).status == "correct"


def test_sets_option_decides_whether_a_condition_answers_a_set() -> None:
    sample = S("(2,+\\infty)")
    assert grade(sample, "The solution set is $x>2$.", GraderSpec("math_answer")).status == "wrong"
    assert grade(sample, "The solution set is $x>2$.", GraderSpec("math_answer", {"sets": "lenient"})).status \
        == "correct"
