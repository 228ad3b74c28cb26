"""Math equivalence rules, each pinned with cases written for this project."""

from __future__ import annotations

import pytest

from evalkit.grading.equivalence import math_equal


def eq(gold: str, pred: str, **kw) -> bool:
    return math_equal(gold, pred, **kw).equal


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        ("12345", "12,345"),  # thousands separators
        ("2500000", "2 500 000"),
        ("3.25", "3,25"),  # decimal comma where it cannot be a thousands separator
        ("0.125", "0,125"),
        ("0.7", ".7"),
        ("7", "7.00"),
        ("0.00042", "4.2e-4"),  # scientific notation
        ("0.00042", "4.2\\times 10^{-4}"),
        ("35\\%", "35"),  # percent sign dropped
        ("35\\%", "0.35"),  # or written as a fraction
        ("0.35", "35\\%"),
        ("\\frac{7}{4}", "7/4"),
        ("\\dfrac{7}{4}", "1.75"),
        ("-\\frac{2}{3}", "\\frac{-2}{3}"),
        ("\\frac{2}{-3}", "-2/3"),
        ("2\\sqrt{3}", "\\sqrt{12}"),
        ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt2}"),
        ("\\sqrt[3]{27}", "3"),
        ("\\frac{3\\pi}{4}", "0.75\\pi"),
        ("\\mathrm{e}^{2}", "e^2"),
        ("2+3i", "i(3-2i)"),
        ("\\sin\\frac{\\pi}{6}", "\\frac12"),
        ("\\tan 45^{\\circ}", "1"),
        ("60^\\circ", "60"),  # degree sign dropped
        ("60^\\circ", "\\frac{\\pi}{3}"),  # or given in radians
        ("3\\frac{1}{4}", "3.25"),  # mixed number
        ("pi/2", "\\frac{\\pi}{2}"),  # programming notation
        ("\\sqrt{5}", "sqrt(5)"),
        ("e", "exp(1)"),
        ("x^2-1", "(x-1)(x+1)"),
        ("\\frac{x+1}{2}", "\\frac{x}{2}+\\frac12"),
        ("\\sin^2 t+\\cos^2 t", "1"),
        ("15", "15\\text{ cm}"),  # units stripped
        ("8", "8 km^2"),
        ("40", "40个"),  # Chinese counters
        ("12", "12元"),
        ("\\$45", "45"),  # currency
        ("1010_2", "10"),  # number bases
    ],
)
def test_equal_values(gold: str, pred: str) -> None:
    assert eq(gold, pred), (gold, pred)


@pytest.mark.parametrize(
    ("gold", "pred"),
    [
        ("7", "7.001"),
        ("7.001", "7"),
        ("\\frac{1}{2^{80}}", "\\frac{1}{2^{81}}"),  # tiny values are compared exactly
        ("\\frac{1}{300!}", "\\frac{1}{301!}"),
        ("2\\sqrt{3}", "3\\sqrt{2}"),
        ("x^2+1", "x^2-1"),
        ("\\pm 3", "3"),
        ("15cm", "15"),  # glued letters are a product, not a unit
        ("odd", "even"),
        ("\\sin x", "\\cos x"),
    ],
)
def test_unequal_values(gold: str, pred: str) -> None:
    assert not eq(gold, pred), (gold, pred)


def test_tolerance_policy_is_explicit() -> None:
    # an exact gold accepts a prediction correctly rounded to at least two decimals
    v = math_equal("\\sqrt{2}", "1.41")
    assert v.equal and "rounded" in v.policy
    assert not eq("\\sqrt{2}", "1.4")  # one decimal is not enough
    assert not eq("\\sqrt{2}", "1.42")  # wrongly rounded
    assert eq("\\frac{2}{3}", "0.6667")
    assert eq("\\frac{2}{3}", "0.6666")  # truncation is accepted too
    # a decimal gold is an approximation: exact forms that round to it are accepted
    v = math_equal("2.24", "\\sqrt{5}")
    assert v.equal and "gold is a decimal" in v.policy
    assert not eq("2.25", "\\sqrt{5}")
    # the exact policy turns all of that off
    assert not eq("\\sqrt{2}", "1.41", tolerance="exact")
    assert eq("100", "100.4", tolerance="0.01")


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("[2,5)", "[2,5)", True),
        ("[2,5)", "(2,5)", False),  # open / closed ends matter
        ("[2,5)", "[2,5]", False),
        ("\\{x\\mid 2\\le x<5\\}", "[2,5)", True),  # set-builder equals the interval
        ("[2,5)", "\\{x \\mid 2 \\leq x < 5\\}", True),
        ("(-\\infty,1)\\cup(3,+\\infty)", "(-\\infty,1)\\cup(3,\\infty)", True),
        ("(-\\infty,1)\\cup(3,+\\infty)", "(3,+\\infty)\\cup(-\\infty,1)", True),
        ("(-\\infty,1)\\cup(3,+\\infty)", "(-\\infty,1]\\cup(3,+\\infty)", False),
        ("\\{2\\}\\cup[3,4]", "\\{2\\}\\cup[3,4]", True),
        ("x>2", "(2,+\\infty)", True),  # a condition in the gold accepts the interval
        ("x\\le -1", "-1\\ge x", True),
        ("-x<3", "x>-3", True),
        ("2< x\\le 7", "x\\in(2,7]", True),
        ("|t|\\le 2", "[-2,2]", True),
        ("x>2", "x<2", False),
        ("(2,+\\infty)", "x>2", False),  # a set gold wants a set, not a condition
    ],
)
def test_intervals_and_inequalities(gold: str, pred: str, expected: bool) -> None:
    assert eq(gold, pred) is expected, (gold, pred)


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("\\{1,2,5\\}", "\\{5,1,2\\}", True),  # sets are order-free
        ("\\{1,2,5\\}", "\\{1,2\\}", False),
        ("-3, 4", "4, -3", True),  # a bare list of solutions is order-free
        ("x=-2 或 x=3", "x=3或x=-2", True),
        ("x=-2 \\text{ or } x=3", "-2, 3", True),
        ("(1,-2)", "(1,-2)", True),
        ("(1,-2)", "(-2,1)", False),  # tuples are ordered
        ("(1,2,3)", "(1,2)", False),
        ("(1,\\frac{1}{2}), (2,3)", "(2,3),(1,0.5)", True),  # a list of points
        ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", True),
        ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", False),
        ("\\begin{pmatrix}2\\\\-1\\end{pmatrix}", "(2,-1)", True),  # a column vector is a tuple
        ("1\\pm\\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2", True),
    ],
)
def test_collections(gold: str, pred: str, expected: bool) -> None:
    assert eq(gold, pred) is expected, (gold, pred)


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("2x-y+1=0", "y=2x+1", True),  # same line
        ("\\frac{x^2}{9}+\\frac{y^2}{4}=1", "4x^2+9y^2=36", True),  # proportional
        ("x+y=1", "x-y=1", False),
        ("a=5", "5", True),  # a label on the gold
        ("5", "m=5", True),  # or on the prediction
        ("f(x)=3x-1", "3x-1", True),
        ("x+y=5", "5", False),  # an equation is not its right-hand side
        ("\\tan\\theta=2", "\\sin\\theta=2", False),
        ("12", "x = 3 \\cdot 4 = 12", True),  # a chain keeps its last side
        ("k=\\frac{1}{2}", "k\\approx 0.5", True),
        ("\\frac{\\sqrt3}{3}", "\\frac{\\sqrt{3}}{3}\\approx 0.577", True),
    ],
)
def test_equations(gold: str, pred: str, expected: bool) -> None:
    assert eq(gold, pred) is expected, (gold, pred)


def test_verdict_records_stage_and_forms() -> None:
    v = math_equal("$\\frac{1}{2}$", "\\frac12")
    assert v.equal and v.stage in ("string", "numeric")
    v = math_equal("\\frac{1}{2}", "0.5")
    assert v.equal and v.stage == "numeric" and v.pred == "0.5"
    v = math_equal("\\{1,2\\}", "\\{2,1\\}")
    assert v.equal and v.stage == "structure"
    ok, stage, normalized = math_equal("3", "3.0")
    assert ok and stage == "numeric" and normalized == ("3", "3.0")


def test_text_answers_compare_as_words() -> None:
    assert eq("\\text{Yes}", "yes")
    assert not eq("\\text{Yes}", "no")
    assert eq("\\text{C}", "C")


def test_symbolic_stage_for_sums_with_symbolic_limits() -> None:
    v = math_equal("\\sum_{k=1}^{n} a_k b_k", "\\sum_{k=1}^{n} b_k a_k")
    assert v.equal and v.stage == "symbolic"
    assert not eq("\\sum_{k=1}^{n} a_k", "\\sum_{k=1}^{n-1} a_k")


def test_odd_input_never_raises() -> None:
    for pred in ["", "}}}{{{", "\\frac{", "x===", "\\begin{pmatrix}1&2\\\\3\\end{pmatrix}", "a" * 6000, "((((((" * 50]:
        v = math_equal("1", pred)
        assert not v.equal


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("(-\\infty,-2)\\cup(4,+\\infty)", "\\{x|x<-2或x>4\\}", True),  # 或 inside a set-builder is a union
        ("\\{x|x>0且x\\neq 1\\}", "(0,1)\\cup(1,+\\infty)", True),  # 且 is an intersection
        ("x<-2或x>4", "(-\\infty,-2)\\cup(4,+\\infty)", True),
        ("x<-2或x>4", "x>4或x<-2", True),
        ("x<-2或x>4", "x<-2或x>5", False),
        ("\\varnothing", "\\emptyset", True),
        ("\\frac{\\pi}{4}+k\\pi,k\\in Z", "k\\pi+\\frac{\\pi}{4}(k\\in\\mathbb{Z})", True),  # parameter qualifiers
        ("[k\\pi-\\frac{\\pi}{3},k\\pi+\\frac{\\pi}{6}](k\\in Z)", "[k\\pi-\\frac{\\pi}{3},k\\pi+\\frac{\\pi}{6}]", True),
    ],
)
def test_gaokao_style_sets(gold: str, pred: str, expected: bool) -> None:
    assert eq(gold, pred) is expected, (gold, pred)


def test_matrix_cells_follow_the_tolerance_policy_one_by_one() -> None:
    assert eq("\\begin{pmatrix}\\frac13\\\\ \\frac15\\end{pmatrix}", "\\begin{pmatrix}0.33\\\\0.2\\end{pmatrix}")
    assert not eq("\\begin{pmatrix}\\frac13\\\\ \\frac15\\end{pmatrix}", "\\begin{pmatrix}0.33\\\\0.21\\end{pmatrix}")


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ("C_6^2", "15", True),  # combinations and arrangements, Chinese notation
        ("A_5^2", "20", True),
        ("\\binom{6}{2}", "C_6^2", True),
        ("2|x|", "|2x|", True),
        ("a>b", "b<a", True),  # inequalities in several variables
        ("a>b", "a<b", False),
        ("x+y\\le 1", "y\\le 1-x", True),
        ("\\overrightarrow{AB}", "\\vec{AB}", True),
        ("\\operatorname{arcsin}\\frac12", "\\frac{\\pi}{6}", True),  # function names in \\operatorname
        ("\\mathrm{ln}2", "\\ln 2", True),
        ("4", "\\text{4 people}", True),
    ],
)
def test_more_notations(gold: str, pred: str, expected: bool) -> None:
    assert eq(gold, pred) is expected, (gold, pred)


def test_variables_are_positive_but_not_only_positive() -> None:
    assert eq("\\sqrt{x}\\sqrt{y}", "\\sqrt{xy}")  # equal on the domain of the gold
    assert eq("\\sqrt{x^2}", "|x|")
    assert not eq("x", "|x|")  # a real disagreement at a negative point counts
    assert not eq("x^3", "|x|^3")


def test_named_values_match_by_name() -> None:
    assert eq("a=1, b=2", "b=2, a=1")
    assert not eq("a=1, b=2", "a=2, b=1")  # same numbers, swapped unknowns
    assert eq("x_1=-2, x_2=3", "x=3或x=-2")  # different names: the set of values


def _random_expr(rng, depth: int = 0) -> tuple[str, str]:
    """The same random expression written in LaTeX and in plain programming notation."""
    if depth > 2 or rng.random() < 0.3:
        kind = rng.choice(["num", "x", "pi", "sqrt"])
        if kind == "num":
            n = rng.randint(1, 9)
            return str(n), str(n)
        if kind == "x":
            return "x", "x"
        if kind == "pi":
            return "\\pi", "pi"
        n = rng.randint(2, 7)
        return f"\\sqrt{{{n}}}", f"sqrt({n})"
    op = rng.choice(["+", "-", "*", "/", "^", "neg", "cos"])
    (a, pa), (b, pb) = _random_expr(rng, depth + 1), _random_expr(rng, depth + 1)
    return {
        "+": (f"{a}+{b}", f"({pa})+({pb})"),
        "-": (f"{a}-\\left({b}\\right)", f"({pa})-({pb})"),
        "*": (f"\\left({a}\\right)\\cdot\\left({b}\\right)", f"({pa})*({pb})"),
        "/": (f"\\frac{{{a}}}{{{b}}}", f"({pa})/({pb})"),
        "^": (f"\\left({a}\\right)^{{2}}", f"({pa})**2"),
        "neg": (f"-\\left({a}\\right)", f"-({pa})"),
        "cos": (f"\\cos\\left({a}\\right)", f"cos({pa})"),
    }[op]


def test_latex_and_plain_notation_agree_on_random_expressions() -> None:
    import random

    rng = random.Random(20240607)
    for _ in range(150):
        latex, plain = _random_expr(rng)
        v = math_equal(latex, plain)
        if "undefined" in v.reason:
            continue
        assert v.equal, (latex, plain, v.reason)
        assert not eq(latex, f"({plain})+1"), (latex, plain)


def test_chinese_lists_and_part_labels() -> None:
    assert eq("圆柱、圆锥、球", "球、圆柱、圆锥")  # 、 separates list items
    assert not eq("圆柱、圆锥、球", "圆柱、圆锥")
    assert eq("(1). $\\frac{1}{4}$ ; (2). $\\ln 3$", "0.25; \\ln 3")  # part labels dropped
    assert eq("1、4、9", "9,4,1")


def test_answer_key_conventions() -> None:
    assert eq("$\\frac{2}{5} \\# \\# 0.4$", "0.4")  # ## separates accepted forms
    assert eq("$\\frac{2}{5} \\# \\# 0.4$", "\\frac{2}{5}")
    assert not eq("$\\frac{2}{5} \\# \\# 0.4$", "0.5")
    assert eq("3（满足 $2<x<4$ 的整数皆可）", "3")  # a marker's note in the key
    assert eq("0. 75.", "0.75")  # a decimal broken by a space
    assert eq("根号5", "\\sqrt{5}")
    assert eq("2 和 7", "7, 2")
    assert eq("\\lambda=\\frac{1}{3}", "λ=1/3")
