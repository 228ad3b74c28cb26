"""The multi-select rules: how many points a set of chosen options earns, one table by name.

Every rule shares the exam's frame: no option chosen, or any wrong option chosen, earns nothing;
exactly the correct options earn the item's full points. A rule says only what a correct strict
subset (some right options, none wrong) earns. ``years`` marks the rules the national papers used
(first and last year, ``None`` for open-ended): a paper item may name those (``docs/gaokao.md``), and
:func:`rule_for_year` picks one for an item that names none. The others are for any task's
``multi_select`` grader.

A new rule is one more entry in :data:`MULTI_SELECT_RULES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# what a correct strict subset earns: (options chosen, options correct, full points) -> (points, reason)
SubsetPoints = Callable[[int, int, float], tuple[float, str]]


@dataclass(frozen=True)
class MultiSelectRule:
    """One named rule: its summary for people, and the points of a correct strict subset."""

    name: str
    summary: str
    subset: SubsetPoints
    years: tuple[int | None, int | None] | None = None  # the national papers that used it: (first, last)

    def used_in(self, year: int) -> bool:
        if self.years is None:
            return False
        first, last = self.years
        return (first is None or year >= first) and (last is None or year <= last)

    def points(self, chosen: Sequence[str], correct: Sequence[str], full: float) -> tuple[float, str]:
        """Points for the options ``chosen`` when ``correct`` are right, scaled so an exact answer gets ``full``."""
        c, k = set(chosen), set(correct)
        if not c:
            return 0.0, "no option chosen"
        if c - k:
            return 0.0, f"wrong option(s) {''.join(sorted(c - k))} chosen"
        if c == k:
            return full, "exactly the correct options"
        return self.subset(len(c), len(k), full)


def _in_proportion(chosen: int, correct: int, full: float) -> tuple[float, str]:
    return full * chosen / correct, f"{chosen} of {correct} correct options, none wrong"


def _two_of_five(chosen: int, correct: int, full: float) -> tuple[float, str]:
    return full * 2 / 5, "a correct subset, none wrong (partial credit)"


def _nothing(chosen: int, correct: int, full: float) -> tuple[float, str]:
    return 0.0, "missing correct option(s)"


MULTI_SELECT_RULES: dict[str, MultiSelectRule] = {rule.name: rule for rule in (
    MultiSelectRule("gaokao-2024", "exact: 6; no wrong option: 6 × chosen/correct (2, 3 or 4); else 0",
                    _in_proportion, years=(2024, None)),
    MultiSelectRule("gaokao-legacy", "exact: 5; a correct strict subset with no wrong option: 2; else 0",
                    _two_of_five, years=(None, 2023)),
    MultiSelectRule("all-or-nothing", "exact: full points; else 0", _nothing),
)}
DEFAULT_MULTI_RULE = "gaokao-2024"
EXAM_RULES: tuple[str, ...] = tuple(name for name, rule in MULTI_SELECT_RULES.items() if rule.years is not None)


def rule_for_year(year: str | int | None) -> str:
    """The rule the national papers of ``year`` used (the default when the year is not a number)."""
    try:
        number = int(str(year)[:4])
    except ValueError:
        return DEFAULT_MULTI_RULE
    return next((rule.name for rule in MULTI_SELECT_RULES.values() if rule.used_in(number)), DEFAULT_MULTI_RULE)
