"""Answers QA wrote after the grading room was done, in the styles real models and other projects' grader
suites exercise (``tests/heldout_answers.jsonl``; written here, nothing copied), and the misreadings QA found.

The held-out file measures evalkit on answers its authors never tuned on: every case evalkit reads as a
teacher does must keep being read so, and the known misses are pinned by id so that a fix (or a new miss)
shows up here and in the notes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.grading import GraderSpec, grade
from evalkit.grading.equivalence import math_equal
from evalkit.grading.extract import extract_blanks
from evalkit.grading.letters import extract_letters
from evalkit.types import Sample

HELDOUT = Path(__file__).with_name("heldout_answers.jsonl")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "gaokao-bench-full"
# read differently from a teacher today (see /work/notes/qa.md): unparsed rather than wrong points
KNOWN_MISSES = {"QL10", "QL23", "QL24", "QL25", "QL31"}


def load() -> list[dict]:
    return [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]


def _reading(case: dict) -> object:
    if case["kind"] == "letters":
        got = extract_letters(case["response"], case["multi"])
        return sorted(set(got)) if got else None
    meta = {"type": "fill", **({"points": case["points"]} if case["points"] else {})}
    return grade(Sample(case["id"], "", case["gold"], metadata=meta), case["response"], GraderSpec("gaokao")).status


def test_heldout_answers_are_read_as_a_teacher_reads_them() -> None:
    cases = load()
    assert len(cases) >= 50 and len({c["id"] for c in cases}) == len(cases)
    misses = {c["id"]: _reading(c) for c in cases if _reading(c) != c["expected"]}
    assert set(misses) == KNOWN_MISSES, misses


def test_a_cue_followed_by_the_whole_option_list_is_no_choice() -> None:
    """GPT-4-0314, GAOKAO-Bench Political_Science_MCQs:126, copied every option as its answer: it earned 4 points."""
    assert extract_letters("【答案】A. ①② B. ①③ C. ②④ D. ③④ <eoa>") is None
    assert extract_letters("The answer is (A) 1 (B) 2 (C) 3 (D) 4") is None
    assert extract_letters("答案：A. $f(x)$ 是奇函数；C. $f(1)=0$", multi=True) == ["A", "C"]  # the options chosen
    assert extract_letters("【答案】C. ②④ <eoa>") == ["C"]
    sample = Sample("q", "", "A", metadata={"type": "single", "points": 4})
    assert grade(sample, "【答案】A. ①② B. ①③ C. ②④ D. ③④ <eoa>", GraderSpec("gaokao")).points == 0


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/gaokao-bench-full")
def test_the_published_output_that_copied_the_options_earns_nothing() -> None:
    path = SHARED / "Results" / "gpt_4_0314_obj" / "gpt-4-0314_2010-2022_Political_Science_MCQs.json"
    item = next(e for e in json.loads(path.read_text(encoding="utf-8"))["example"] if e["index"] == 126)
    assert item["standard_answer"] == ["A"] and extract_letters(item["model_output"]) is None


def test_struck_out_letters_and_named_distractors_are_not_picks() -> None:
    assert extract_letters("故选 ~~B~~ A、C。", multi=True) == ["A", "C"]
    assert extract_letters("**Answer:** ~~A,~~ B, D", multi=True) == ["B", "D"]
    assert extract_letters("答案：<del>B</del> D") == ["D"]
    assert extract_letters("正确答案：C（而不是常见错误答案 A）") == ["C"]
    assert extract_letters("The answer is C (a common wrong answer is A).") == ["C"]


def test_a_trigonometric_value_answered_with_its_name() -> None:
    for response in ("\\cos\\alpha=\\frac{3}{5}", "\\sin A = \\frac35", "\\cos\\angle BAC=\\frac{3}{5}",
                     "\\tan(A+B)=\\frac35"):
        assert math_equal("\\frac{3}{5}", response).equal, response
    assert not math_equal("-\\frac{3}{5}", "\\cos\\alpha=\\frac{3}{5}").equal
    assert not math_equal("\\sin(x)=\\frac{42}{59}", "\\cos(x)=\\frac{42}{59}").equal  # two equations stay two
    assert not math_equal("\\frac{\\pi}{6}", "\\sin x=\\frac12").equal


def test_numbered_blanks_stated_in_words_give_their_values() -> None:
    blanks = extract_blanks("（1）$f(0)=-1$\n（2）单调递增区间为 $(0,+\\infty)$", 2)
    assert blanks == ["$f(0)=-1$", "$(0,+\\infty)$"]
    assert extract_blanks("第一空：$x=1$ 或 $x=2$；第二空：3", 2) == ["$x=1$ 或 $x=2$", "3"]
    sample = Sample("q", "", ["-1", "(0,+\\infty)"], metadata={"type": "fill", "points": [2, 3]})
    assert grade(sample, "（1）$f(0)=-1$\n（2）单调递增区间为 $(0,+\\infty)$", GraderSpec("gaokao")).points == 5


def test_the_value_before_where_it_is_attained() -> None:
    """QA: "最小值为 $2\\sqrt2$，此时 $x=1$" was read as x=1 and a right answer scored 0."""
    from evalkit.grading.extract import extract_final_answer

    assert extract_final_answer("最小值为 $2\\sqrt{2}$，此时 $x=1$。") == "2\\sqrt{2}"
    assert extract_final_answer("所以最大值为 $3$，当且仅当 $a=b=1$ 时取等号。") == "3"
    assert extract_final_answer("此时 $x=1$，所以最小值为 $2$。") == "2"  # a condition before the value changes nothing
