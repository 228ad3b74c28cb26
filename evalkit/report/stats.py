"""Statistics for reports: seeded bootstrap intervals, paired tests and rank-with-ties.

Every resampling here is exact but cheap: a bootstrap of a mean (or a sum) over ``n`` items only
depends on how often each *distinct* value is drawn, so we draw multinomial counts over the
distinct values instead of ``n`` indices. Scores take few distinct values (0, 1, partial credit,
points), so 1,000 resamples of 100,000 samples cost microseconds and are reproducible by seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


def json_number(x: float | None) -> float | None:
    """A statistic as JSON writes it: rounded to 6 places, and no number (NaN) as null."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), 6)


def label_key(x: str) -> tuple[int, float, str]:
    """Sort labels as numbers where they are numbers ("2" before "10"), the rest after them by name."""
    try:
        return (0, float(x), x)
    except ValueError:
        return (1, 0.0, x)


def bootstrap_replicates(values: Sequence[float] | np.ndarray, *, statistic: str = "mean",
                         resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``resamples`` bootstrap replicates of the mean (or sum) of ``values``, seeded."""
    arr = np.asarray(values, dtype=float)
    n = arr.size
    if n == 0:
        return np.full(resamples, np.nan)
    distinct, counts = np.unique(arr, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=resamples)
    sums = draws @ distinct
    return sums / n if statistic == "mean" else sums


def ratio_replicates(numerators: Sequence[float] | np.ndarray, denominators: Sequence[float] | np.ndarray, *,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Bootstrap replicates of ``sum(num) / sum(den) * sum(den)`` resampling (num, den) pairs.

    This is the interval of a paper's total: resampling questions of different sizes and
    rescaling to the paper's total keeps every replicate between 0 and the total.
    """
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    n = num.size
    if n == 0 or den.sum() <= 0:
        return np.full(resamples, np.nan)
    pairs, counts = np.unique(np.stack([num, den], axis=1), axis=0, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=resamples)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (draws @ pairs[:, 0]) / (draws @ pairs[:, 1]) * den.sum()


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap replicates."""
    reps = replicates[~np.isnan(replicates)]
    if reps.size == 0:
        return (math.nan, math.nan)
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(reps, [tail, 100.0 - tail])
    return (float(lo), float(hi))


def bootstrap_ci(values: Sequence[float] | np.ndarray, *, statistic: str = "mean", level: float = 0.95,
                 resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """A seeded percentile bootstrap interval for the mean (or sum) of ``values``."""
    return percentile_interval(bootstrap_replicates(values, statistic=statistic, resamples=resamples,
                                                    seed=seed), level)


@dataclass(frozen=True)
class PairedResult:
    """A paired comparison of two score vectors on the same items (current minus baseline)."""

    n: int
    delta: float  # mean (or summed) difference, in the statistic's units
    ci: tuple[float, float]  # bootstrap interval of the difference
    p_worse: float  # one-sided p-value for "current is worse"
    p_better: float  # one-sided p-value for "current is better"
    test: str  # "mcnemar" (exact, both vectors 0/1) or "bootstrap" (paired, over items)
    discordant: tuple[int, int] | None = None  # (baseline right & current wrong, baseline wrong & current right)


def paired_test(baseline: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray, *,
                statistic: str = "mean", level: float = 0.95, resamples: int = 10_000,
                seed: int = DEFAULT_SEED, max_points: Sequence[float] | np.ndarray | None = None) -> PairedResult:
    """Compare ``current`` with ``baseline`` item by item (same order).

    With ``statistic="sum"`` and ``max_points`` (each item's size), the interval of the summed
    difference is a ratio estimate rescaled to the total, so it stays within ±total.

    Right/wrong vectors use the exact one-sided McNemar test on the discordant pairs; partial
    credit and points use a one-sided paired bootstrap of the mean (or summed) difference. The
    interval of the difference is always the paired bootstrap's.
    """
    base = np.asarray(baseline, dtype=float)
    cur = np.asarray(current, dtype=float)
    if base.shape != cur.shape:
        raise ValueError(f"paired vectors differ in length ({base.size} vs {cur.size})")
    diff = cur - base
    n = diff.size
    delta = float(diff.mean() if statistic == "mean" else diff.sum()) if n else 0.0
    if statistic == "sum" and max_points is not None and n:
        reps = ratio_replicates(diff, max_points, resamples=resamples, seed=seed)
    else:
        reps = bootstrap_replicates(diff, statistic=statistic, resamples=resamples, seed=seed)
    ci = percentile_interval(reps, level)
    if n and np.isin(base, (0.0, 1.0)).all() and np.isin(cur, (0.0, 1.0)).all():
        b = int(np.sum((base == 1) & (cur == 0)))
        c = int(np.sum((base == 0) & (cur == 1)))
        return PairedResult(n, delta, ci, binomial_tail(b, b + c), binomial_tail(c, b + c), "mcnemar", (b, c))
    p_worse = float((1 + np.sum(reps >= 0)) / (resamples + 1))
    p_better = float((1 + np.sum(reps <= 0)) / (resamples + 1))
    return PairedResult(n, delta, ci, min(p_worse, 1.0), min(p_better, 1.0), "bootstrap")


def binomial_tail(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): the exact one-sided McNemar p-value."""
    if n == 0 or k <= 0:
        return 1.0
    if n > 1000:  # normal approximation with continuity correction (exact sums overflow floats)
        z = (k - 0.5 - n / 2.0) / math.sqrt(n / 4.0)
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    return min(1.0, sum(math.comb(n, i) for i in range(k, n + 1)) / 2.0**n)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts ``b`` and ``c``."""
    return min(1.0, 2.0 * binomial_tail(max(b, c), b + c)) if b + c else 1.0


def ranks_with_ties(values: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> list[tuple[int, bool]]:
    """Rank items (higher is better): 1 + how many are clearly better (their low above my high).

    Returns ``(rank, tied)`` per item, where ``tied`` says another item's interval overlaps this
    one's so their order is not established. Items with no value (NaN) get rank 0.
    """
    out: list[tuple[int, bool]] = []
    for i, v in enumerate(values):
        if v is None or math.isnan(v):
            out.append((0, False))
            continue
        lo_i = lows[i] if not math.isnan(lows[i]) else v
        hi_i = highs[i] if not math.isnan(highs[i]) else v
        better, tied = 0, False
        for j, w in enumerate(values):
            if j == i or w is None or math.isnan(w):
                continue
            lo_j = lows[j] if not math.isnan(lows[j]) else w
            hi_j = highs[j] if not math.isnan(highs[j]) else w
            if lo_j > hi_i:
                better += 1
            elif not (hi_j < lo_i):
                tied = True
        out.append((1 + better, tied))
    return out
