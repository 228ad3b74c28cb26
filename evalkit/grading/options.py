"""Option types that several scorers share, as their signatures declare them.

A scorer's options are its keyword-only parameters (:mod:`evalkit.grading.protocol`); the types
here say what a value may be, so every scorer that takes, say, ``tolerance`` checks it the same way.
This module is light on purpose (no parser, no sympy): declarations are read when a task loads.
"""

from __future__ import annotations

from typing import Annotated, Literal

from evalkit.grading.multi_rules import MULTI_SELECT_RULES
from evalkit.grading.protocol import Check


def _known_rule(rule: str) -> str | None:
    return None if rule in MULTI_SELECT_RULES else f"allowed: {', '.join(MULTI_SELECT_RULES)}"


def _tolerance_value(value: str | float) -> str | None:
    if value in ("auto", "exact", "exact-key"):
        return None
    try:
        ok = float(value) >= 0
    except ValueError:
        ok = False
    return None if ok else "use auto, exact, exact-key, or a relative tolerance such as 0.01"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be above 0"


Extract = Literal["default", "last_capital"]  # how option letters are read (last_capital: GAOKAO-Bench's rule)
# a paper's objective items: also gaokao-bench, GAOKAO-Bench's own reading and scoring of each item
PaperExtract = Literal["default", "last_capital", "gaokao-bench"]
Rule = Annotated[str, Check(_known_rule, " | ".join(MULTI_SELECT_RULES))]  # a rule of MULTI_SELECT_RULES
Tolerance = Annotated[str | float, Check(_tolerance_value, "auto | exact | exact-key | a relative tolerance such as 0.01")]
Seconds = Annotated[float, Check(_positive, "seconds (a number above 0)")]
Sets = Literal["strict", "lenient"]  # whether a bare condition ("x>1") answers a gold set or interval
