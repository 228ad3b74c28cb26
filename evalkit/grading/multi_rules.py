"""The multi-select rules: how many points a set of chosen options earns, one table by name.

Every rule shares the exam's frame: no option chosen, or any wrong option chosen, earns nothing;
exactly the correct options earn the item's full points. A rule says only what a correct strict
subset (some right options, none wrong) earns. ``years`` and ``subjects`` mark the rules the national
papers used (first and last year, ``None`` for open-ended; the subjects whose papers used them): a paper
item may name those (``docs/gaokao.md``), and :func:`rule_for` picks one for an item that names none
from its year and subject. The others are for any task's ``multi_select`` grader.

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
    subjects: tuple[str, ...] = ("math",)  # the subjects whose papers used it (lower-case English names)

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


def _half(chosen: int, correct: int, full: float) -> tuple[float, str]:
    return full / 2, "a correct subset, none wrong (half the points)"


def _nothing(chosen: int, correct: int, full: float) -> tuple[float, str]:
    return 0.0, "missing correct option(s)"


MULTI_SELECT_RULES: dict[str, MultiSelectRule] = {rule.name: rule for rule in (
    MultiSelectRule("gaokao-2024", "exact: 6; no wrong option: 6 × chosen/correct (2, 3 or 4); else 0",
                    _in_proportion, years=(2024, None)),
    MultiSelectRule("gaokao-legacy", "exact: 5; a correct strict subset with no wrong option: 2; else 0",
                    _two_of_five, years=(None, 2023)),
    MultiSelectRule("physics-legacy", "national physics papers (理综): exact: 6; a correct strict subset with no "
                    "wrong option: 3; else 0", _half, years=(None, 2023), subjects=("physics",)),
    MultiSelectRule("all-or-nothing", "exact: full points; else 0", _nothing),
)}
DEFAULT_MULTI_RULE = "gaokao-2024"
EXAM_RULES: tuple[str, ...] = tuple(name for name, rule in MULTI_SELECT_RULES.items() if rule.years is not None)


def rule_for(year: str | int | None, subject: str | None = None) -> str:
    """The rule the national ``subject`` papers of ``year`` used (math's when the subject has no rule of its own).

    A year past the subject's known rules takes its nearest one (a 2024 physics item: ``physics-legacy``);
    a year that is not a number takes the subject's latest rule (math: the default).
    """
    subject = (subject or "math").lower()
    rules = [r for r in MULTI_SELECT_RULES.values() if r.years is not None and subject in r.subjects]
    if not rules:
        rules = [r for r in MULTI_SELECT_RULES.values() if r.years is not None and "math" in r.subjects]
    try:
        number = int(str(year)[:4])
    except ValueError:
        return DEFAULT_MULTI_RULE if subject == "math" or not rules else max(rules, key=_last_year).name
    used = [r for r in rules if r.used_in(number)]
    return (used[0] if used else min(rules, key=lambda r: _distance(r, number))).name


def _last_year(rule: MultiSelectRule) -> int:
    last = rule.years[1] if rule.years else None
    return 10**4 if last is None else last


def _distance(rule: MultiSelectRule, year: int) -> int:
    first, last = rule.years or (None, None)
    if first is not None and year < first:
        return first - year
    return 0 if last is None else max(0, year - last)


def rule_for_year(year: str | int | None) -> str:
    """The rule the national math papers of ``year`` used (the default when the year is not a number)."""
    return rule_for(year, "math")
