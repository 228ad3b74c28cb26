"""The one table of multi-select rules."""

from __future__ import annotations

import pytest

from evalkit.grading.multi_rules import EXAM_RULES, MULTI_SELECT_RULES, rule_for_year


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
    assert set(EXAM_RULES) == {"gaokao-2024", "gaokao-legacy"}
