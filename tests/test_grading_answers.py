"""The shape of a short answer: typed nodes read from cleaned text."""

from __future__ import annotations

import dataclasses

import pytest

from evalkit.grading.answers import (
    Builder,
    EmptySet,
    Equation,
    Expr,
    Interval,
    ListOf,
    Member,
    Ratio,
    Relation,
    SetOf,
    Text,
    TupleOf,
    UnionOf,
    split_top,
    structure,
)


def test_intervals_keep_their_brackets() -> None:
    node = structure("(1, 2]")
    assert isinstance(node, Interval) and (node.left, node.right) == ("(", "]") and not node.is_open
    assert isinstance(node.lo, Expr) and node.lo.text == "1" and node.hi.text == "2"
    assert structure("(1, 2)").is_open


def test_lists_sets_tuples_and_unions() -> None:
    listed = structure("x=1 或 x=2")
    assert isinstance(listed, ListOf) and all(isinstance(x, Equation) for x in listed.items)
    assert [x.texts for x in listed.items] == [("x", "1"), ("x", "2")]
    assert isinstance(structure("\\{1, 2\\}"), SetOf)
    triple = structure("[1, 2, 3]")
    assert isinstance(triple, TupleOf) and triple.bracket == "[" and len(triple.items) == 3
    cases = structure("\\begin{cases} x=1 \\\\ y=2 \\end{cases}")
    assert isinstance(cases, TupleOf) and cases.bracket == "cases"
    union = structure("(-\\infty, 1) \\cup (2, +\\infty)")
    assert isinstance(union, UnionOf) and all(isinstance(x, Interval) for x in union.parts)


def test_conditions_and_membership() -> None:
    builder = structure("\\{x \\mid x > 1\\}")
    assert isinstance(builder, Builder) and builder.var == "x" and isinstance(builder.condition, Relation)
    chain = structure("1 < x \\le 3")
    assert isinstance(chain, Relation) and chain.ops == ("<", "\\le") and chain.texts == ("1", "x", "3")
    member = structure("x \\in [0, 1]")
    assert isinstance(member, Member) and member.name == "x" and isinstance(member.set, Interval)
    assert isinstance(structure("\\emptyset"), EmptySet)


def test_ratios_expressions_and_text() -> None:
    ratio = structure("20:34")
    assert isinstance(ratio, Ratio) and ratio.texts == ("20", "34")
    expr = structure("\\frac{1}{2}")
    assert isinstance(expr, Expr) and expr.ast[0] == "div"
    assert structure("题目有误") == Text("题目有误")  # not readable as mathematics
    assert structure("") == Text("")


def test_nodes_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        structure("(1, 2]").left = "["  # type: ignore[misc]


def test_split_top_keeps_brackets_whole() -> None:
    assert split_top("(0,1), [2,3)", [","]) == ["(0,1)", "[2,3)"]
    assert split_top("a and b, sand", [" and ", ","]) == ["a", "b", "sand"]
