"""Rows: the report's tables as plain lists of dicts, and the few operations on them the report needs.

A row is one thing a headline adds up (a sample, or a paper's unit) with its columns as keys
(``id``, ``status``, ``value``, ``points``, ``max_points``, ``meta.<field>``, ...). A key a row lacks,
``None`` and NaN are all *missing* (what a table would hold as NaN). Means, sums and maxima skip
missing values. This is all the report does with
tables, so a report needs neither pandas nor its import time and memory (about 0.7 s and 100 MB,
more than the whole report of a 2,000-sample run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

Row = dict[str, Any]


def present(value: Any) -> bool:
    """Whether a cell holds a value (not ``None``, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def numbers(rows: Iterable[Row], key: str) -> list[float]:
    """The column's values that are present, as floats."""
    return [float(v) for r in rows if present(v := r.get(key))]


def mean(rows: Iterable[Row], key: str) -> float:
    """The mean of the column's present values (NaN when none), summed as a column of a table always was
    (numpy's pairwise sum, missing values as 0), so reports keep their numbers to the last digit."""
    xs = [float(v) if present(v := r.get(key)) else math.nan for r in rows]
    given = sum(1 for x in xs if not math.isnan(x))
    return _column_sum(xs) / given if given else math.nan


def total(rows: Iterable[Row], key: str) -> float:
    """The sum of the column's present values (0 when none), summed as :func:`mean` sums."""
    return _column_sum([float(v) if present(v := r.get(key)) else math.nan for r in rows])


def group_mean(rows: Iterable[Row], key: str) -> float:
    """The mean of a group's present values, exactly rounded (as grouped means always were, compensated)."""
    xs = numbers(rows, key)
    return math.fsum(xs) / len(xs) if xs else math.nan


def _column_sum(xs: list[float]) -> float:
    import numpy as np

    arr = np.asarray(xs, dtype=float)
    return float(np.where(np.isnan(arr), 0.0, arr).sum()) if arr.size else 0.0


def maximum(rows: Iterable[Row], key: str) -> float:
    """The largest of the column's present values (NaN when none)."""
    xs = numbers(rows, key)
    return max(xs) if xs else math.nan


def group(rows: Iterable[Row], key: Callable[[Row], Hashable]) -> dict[Any, list[Row]]:
    """Rows by ``key(row)``, groups in order of first appearance."""
    out: dict[Any, list[Row]] = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def mode(values: Iterable[Any]) -> Any:
    """The most frequent present value (the smallest among equally frequent ones); ``""`` when none."""
    counts: dict[Any, int] = {}
    for v in values:
        if present(v):
            counts[v] = counts.get(v, 0) + 1
    if not counts:
        return ""
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def columns(rows: Iterable[Row]) -> list[str]:
    """Every key of the rows, in order of first appearance."""
    return list(dict.fromkeys(k for r in rows for k in r))


def text_form(rows: Sequence[Row], key: str) -> Callable[[Any], str]:
    """How a column's values read as text, as they always have in reports: numbers in a column where some
    are fractional or missing read as floats ("2.0"), everything else as ``str`` would write it."""
    values = [r.get(key) for r in rows]
    nums = [v for v in values if present(v)]
    if nums and all(isinstance(v, int | float) and not isinstance(v, bool) for v in nums) \
            and (len(nums) < len(values) or any(isinstance(v, float) for v in nums)):
        return lambda v: str(float(v)) if present(v) else "nan"
    return lambda v: str(v) if present(v) else ("None" if v is None else "nan")
