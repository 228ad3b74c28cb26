"""The ``hs_accuracy`` metric of ``gaokao-hs``: item accuracy and points rate with 95% intervals, and the
subject × modality grid and per-benchmark figures behind them.

An *item* is what the benchmarks count as one question: a sample holding a cloze passage with twenty
blanks is twenty items (``metadata["items"]``). A sample's score value is the share of its credit earned,
so it holds ``value × items`` right items: a blank each for a passage, half an item for a physics
multi-select answered with a correct subset (as GAOKAO-MM's own script counts it).

Two headlines, printed in this order:

* **sample-balanced** (``hs_accuracy``): right items over all items. Printed first because it is the
  statistic both benchmarks publish (GAOKAO-MM's overall accuracy, GAOKAO-Bench's overall counts), so the
  number can be set beside their tables, and because "x% of the questions" means exactly this.
* **subject-balanced** (``hs_subject_balanced``): the mean of the per-subject accuracies, every subject
  counting once. English alone is more than a third of the items (its cloze and reading passages); this
  headline keeps one strong or weak subject from carrying the claim.

Intervals are percentile bootstraps (seeded) over samples, a passage's items resampled together, since
they share one text. Skipped samples (``--images skip``) are left out of every figure and counted; errors
count as wrong, and are counted too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.types import SampleResult

SUBJECT_ORDER = ("chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography", "politics")
SUBJECT_ZH = {"chinese": "语文", "math": "数学", "english": "英语", "physics": "物理", "chemistry": "化学",
              "biology": "生物", "history": "历史", "geography": "地理", "politics": "政治"}
MODALITIES = ("text", "image")
BOOTSTRAP = 2000


def _cell() -> dict[str, float]:
    return {"items": 0.0, "right": 0.0, "points": 0.0, "max_points": 0.0, "samples": 0.0}


def _add(cell: dict[str, float], items: float, right: float, points: float, max_points: float) -> None:
    cell["items"] += items
    cell["right"] += right
    cell["points"] += points
    cell["max_points"] += max_points
    cell["samples"] += 1


def _finish(cell: dict[str, float]) -> dict[str, float]:
    out = dict(cell)
    out["accuracy"] = cell["right"] / cell["items"] if cell["items"] else 0.0
    out["points_rate"] = cell["points"] / cell["max_points"] if cell["max_points"] else 0.0
    return out


def _interval(num: Any, den: Any, seed: int) -> tuple[float, float]:
    """Percentile bootstrap of sum(num)/sum(den) over samples."""
    import numpy as np

    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if num.size == 0 or den.sum() == 0:
        return 0.0, 0.0
    from evalkit.grading.metrics import bootstrap_draws

    ratios = np.empty(BOOTSTRAP)
    for rows, idx in bootstrap_draws(num.size, BOOTSTRAP, seed):
        sums = den[idx].sum(axis=1)
        ratios[rows] = np.divide(num[idx].sum(axis=1), sums, out=np.zeros(len(sums)), where=sums > 0)
    low, high = np.quantile(ratios, [0.025, 0.975])
    return float(low), float(high)


def hs_accuracy(results: Sequence[SampleResult]) -> dict[str, Any]:
    """Headlines with intervals (flat numbers) and the ``gaokao_hs`` view (grid, per benchmark, image policy)."""
    grid: dict[str, dict[str, dict[str, float]]] = {}
    benchmarks: dict[str, dict[str, dict[str, float]]] = {}
    total = _cell()
    right_items, items, points, max_points = [], [], [], []
    skipped = {"samples": 0, "items": 0}
    counts = {"error": 0, "unparsed": 0, "text_only": 0}
    for r in results:
        meta = r.metadata
        n = float(meta.get("items") or 1)
        if r.score.status == "skipped":
            skipped["samples"] += 1
            skipped["items"] += int(n)
            continue
        counts["error"] += r.score.status == "error"
        counts["unparsed"] += r.score.status == "unparsed"
        counts["text_only"] += meta.get("images") == "text_only"
        right = max(0.0, min(1.0, float(r.score.value))) * n
        subject, modality = str(meta.get("subject") or "?"), str(meta.get("modality") or "?")
        bench = str(meta.get("benchmark") or "?")
        for cell in (grid.setdefault(subject, {}).setdefault(modality, _cell()),
                     grid[subject].setdefault("all", _cell()),
                     grid.setdefault("all", {}).setdefault(modality, _cell()),
                     grid["all"].setdefault("all", _cell()),
                     benchmarks.setdefault(bench, {}).setdefault(subject, _cell()),
                     benchmarks[bench].setdefault("all", _cell())):
            _add(cell, n, right, r.score.points, r.score.max_points)
        _add(total, n, right, r.score.points, r.score.max_points)
        right_items.append(right)
        items.append(n)
        points.append(r.score.points)
        max_points.append(r.score.max_points)
    acc_low, acc_high = _interval(right_items, items, seed=0)
    pts_low, pts_high = _interval(points, max_points, seed=1)
    per_subject = [_finish(grid[s]["all"])["accuracy"] for s in grid if s != "all" and grid[s]["all"]["items"]]
    done = _finish(total)
    view = {
        "grid": {s: {m: _finish(c) for m, c in row.items()} for s, row in grid.items()},
        "benchmarks": {b: {s: _finish(c) for s, c in row.items()} for b, row in benchmarks.items()},
        "subjects": [s for s in SUBJECT_ORDER if s in grid] + sorted(s for s in grid if s not in SUBJECT_ORDER + ("all",)),
        "skipped": skipped, "counts": counts, "order": ["sample-balanced", "subject-balanced"],
    }
    return {
        "hs_accuracy": done["accuracy"], "hs_accuracy_ci_low": acc_low, "hs_accuracy_ci_high": acc_high,
        "hs_points_rate": done["points_rate"], "hs_points_rate_ci_low": pts_low, "hs_points_rate_ci_high": pts_high,
        "hs_subject_balanced": sum(per_subject) / len(per_subject) if per_subject else 0.0,
        "hs_items": done["items"], "hs_skipped_items": skipped["items"],
        "gaokao_hs": view,
    }
