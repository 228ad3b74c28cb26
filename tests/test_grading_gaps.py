"""Answers as real models wrote them that the grader misread (issue 16): one test per gap."""

from __future__ import annotations

import pytest

from evalkit.grading import GraderSpec, grade
from evalkit.grading.equivalence import math_equal
from evalkit.grading.extract import extract_blanks, extract_final_answer
from evalkit.types import Sample


def answer(gold: str, response: str) -> str:
    return grade(Sample("q", "", gold), response, GraderSpec("math_answer")).status


@pytest.mark.parametrize(("response", "found"), [
    ("所以最大值为\\sqrt2。", "\\sqrt2"),
    ("因此 \\frac{\\sqrt2}{2}。", "\\frac{\\sqrt2}{2}"),
    ("最小值是 2\\sqrt2 - 1", "2\\sqrt2 - 1"),
])
def test_sqrt_without_braces_in_prose_is_read_whole(response: str, found: str) -> None:
    assert extract_final_answer(response) == found
    assert answer(found.replace("\\sqrt2", "\\sqrt{2}"), response) == "correct"


def test_a_fraction_in_prose_without_dollars_is_not_its_denominator() -> None:
    assert extract_final_answer("所以概率为 \\frac{63}{400}") == "\\frac{63}{400}"
    assert answer("\\frac{63}{400}", "所以概率为 \\frac{63}{400}") == "correct"
    assert answer("400", "所以概率为 \\frac{63}{400}") == "wrong"


@pytest.mark.parametrize("response", ["所以 f(0)=−1；单调递增区间为 (0,+∞)", "由上可知，f(0)=-1，单调递增区间为(0,+∞)。"])
def test_two_blanks_stated_in_prose_without_boxes(response: str) -> None:
    blanks = extract_blanks(response, 2)
    assert blanks is not None and blanks[1] == "(0,+∞)"
    sample = Sample("q", "", ["-1", "(0,+\\infty)"], metadata={"points": [2, 3]})
    assert grade(sample, response, GraderSpec("fill_in")).status == "correct"


@pytest.mark.parametrize(("gold", "response"), [
    ("1", "所以 $\\lim_{x\\to 0}\\frac{\\sin x}{x} = 1$"),
    ("2", "故 $2^{100} \\bmod 7 = 2$"),
])
def test_an_expression_equal_to_its_value_answers_with_the_value(gold: str, response: str) -> None:
    assert answer(gold, response) == "correct"
    assert answer("3", response) == "wrong"


def test_a_ratio_with_a_colon_is_the_fraction() -> None:
    assert math_equal("\\frac{\\sqrt6}{4}", "\\sqrt6:4").equal
    assert answer("\\frac{\\sqrt{6}}{4}", "所以比值为 \\sqrt6:4") == "correct"
    assert not math_equal("\\frac{1}{30}", "1:30").equal  # a time, not a ratio


def test_approx_inside_a_chain_of_relations() -> None:
    assert answer("\\frac{1}{3}", "所以 $P = \\frac{1}{3} \\approx 0.33$") == "correct"
    assert answer("4.69", "所以 $d = \\sqrt{22} \\approx 4.69$") == "correct"


@pytest.mark.parametrize("pred", ["2\\text{e}", "2\\mathrm{e}", "2{\\rm e}"])
def test_text_e_is_eulers_number(pred: str) -> None:
    assert math_equal("2e", pred).equal
    assert not math_equal("2", pred).equal


def test_a_prime_written_with_a_unicode_mark() -> None:
    assert extract_final_answer("所以 f′(x)=2x+1") == "f′(x)=2x+1"
    assert answer("2x+1", "所以 f′(x)=2x+1") == "correct"
    assert math_equal("f'(x)=3x^2", "f′(x)=3x^2").equal


def test_an_exact_key_is_not_earned_by_a_decimal_approximation_under_the_exact_key_policy() -> None:
    strict = math_equal("\\frac{1}{3}", "0.33", tolerance="exact-key")
    assert not strict.equal and "not accepted" in strict.policy
    assert math_equal("\\frac{1}{3}", "0.33").equal  # the default policy (conformance corpora) still accepts it
    assert math_equal("0.33", "\\frac13", tolerance="exact-key").equal  # a decimal key takes its exact value
    assert not math_equal("2\\pi", "6.28", tolerance="exact-key").equal
    assert math_equal("3", "3.0", tolerance="exact-key").equal


def test_an_exact_value_followed_by_a_wrong_decimal_earns_nothing() -> None:
    wrong = math_equal("\\sqrt{22}", "d = \\sqrt{22} \\approx 19.44", tolerance="exact-key")
    assert not wrong.equal and "19.44" in wrong.reason
    assert math_equal("\\sqrt{22}", "d = \\sqrt{22} \\approx 4.69", tolerance="exact-key").equal
    assert math_equal("\\frac{13}{27}", "P=\\frac{13}{27}\\approx 48\\%", tolerance="exact-key").equal


def test_a_gaokao_fill_in_needs_the_exact_value_unless_it_asks_for_an_approximation() -> None:
    fill = Sample("q", "求概率。", ["\\frac{1}{3}"], metadata={"type": "fill", "points": 5})
    strict = grade(fill, "计算得概率约为 0.33", GraderSpec("gaokao"))
    assert strict.status == "wrong" and strict.details["tolerance"] == "exact-key"
    assert "not accepted" in strict.details["blanks"][0]["policy"]
    asked = Sample("q", "求概率（精确到 0.01）。", ["\\frac{1}{3}"], metadata={"type": "fill", "points": 5})
    loose = grade(asked, "计算得概率约为 0.33", GraderSpec("gaokao"))
    assert loose.status == "correct" and loose.details["tolerance"] == "auto"
    flagged = Sample("q", "求概率。", ["\\frac{1}{3}"], metadata={"type": "fill", "points": 5, "approximate": True})
    assert grade(flagged, "0.33", GraderSpec("gaokao")).status == "correct"
    assert grade(fill, "0.33", GraderSpec("gaokao", {"tolerance": "auto"})).status == "correct"
    assert grade(fill, "所以概率为 \\frac13", GraderSpec("gaokao")).status == "correct"


def test_key_results_of_a_solution_step() -> None:
    from evalkit.grading.gaokao import found, statements

    assert found("d=\\sqrt{22}", statements("所以 $d = \\sqrt{22} \\approx 4.69$"))  # \\approx in a chain
    assert found("S=4.69", statements("$S = \\sqrt{22} \\approx 4.69$"))
    assert not found("d=\\sqrt{22}", statements("所以 $d=\\sqrt{22}\\approx 19.44$"))  # a wrong decimal: no step
    assert found("f'(x)=2x+1", statements("求导得 $f′(x)=2x+1$"))  # a prime written ′
    assert found("a=e", statements("所以 $a=\\text{e}$"))  # Euler's number
    assert found("|AB|=\\frac{\\sqrt{6}}{4}", statements("$|AB|=\\sqrt6:4$"))  # a ratio with a colon
