"""The one table of multi-select rules."""

from __future__ import annotations

import pytest

from evalkit.grading.multi_rules import EXAM_RULES, MULTI_SELECT_RULES, rule_for, rule_for_year


@pytest.mark.parametrize("name", list(MULTI_SELECT_RULES))
def test_every_rule_shares_the_exam_frame(name: str) -> None:
    rule = MULTI_SELECT_RULES[name]
    assert rule.points(["A", "C"], ["A", "C"], 6.0)[0] == 6.0
    assert rule.points(["A", "B"], ["A", "C"], 6.0) == (0.0, "wrong option(s) B chosen")
    assert rule.points([], ["A", "C"], 6.0)[0] == 0.0


def test_the_national_papers_rule_by_year() -> None:
    assert rule_for_year(2024) == rule_for_year("2025") == "gaokao-2024"
    assert rule_for_year(2023) == rule_for_year("2010") == "gaokao-legacy"
    assert rule_for_year(None) == "gaokao-2024"
    assert set(EXAM_RULES) == {"gaokao-2024", "gaokao-legacy", "physics-legacy"}


def test_the_rule_of_a_subject_and_year() -> None:
    assert rule_for(2012, "physics") == rule_for("2023", "Physics") == "physics-legacy"
    assert rule_for(2024, "physics") == "physics-legacy"  # past the known years: the subject's nearest rule
    assert rule_for(2021, "math") == "gaokao-legacy" and rule_for(2024, "math") == "gaokao-2024"
    assert rule_for(2019, "chinese") == "gaokao-legacy"  # a subject without rules of its own takes math's
    physics = MULTI_SELECT_RULES["physics-legacy"]
    assert physics.points(["A"], ["A", "C"], 6.0)[0] == 3.0
    assert physics.points(["A", "B"], ["A", "C", "D"], 6.0)[0] == 0.0
