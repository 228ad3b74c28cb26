"""Run-level metrics computed from graded sample results (registered by name)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from evalkit.registry import Registry
from evalkit.types import STATUSES, SampleResult

Metric = Callable[[Sequence[SampleResult]], dict[str, Any]]
metrics: Registry[Metric] = Registry("metric", "evalkit.metrics")
metrics.add("gaokao_paper", "evalkit.grading.gaokao:paper_metric")


def _graded(results: Sequence[SampleResult]) -> list[SampleResult]:
    return [r for r in results if r.score.status not in ("error", "skipped")]


@metrics.register("accuracy")
def accuracy(results: Sequence[SampleResult]) -> dict[str, Any]:
    """Mean score over all samples (errors count as 0), and over graded samples only."""
    n = len(results)
    graded = _graded(results)
    total = sum(r.score.value for r in results)
    return {
        "accuracy": total / n if n else 0.0,
        "accuracy_graded": (sum(r.score.value for r in graded) / len(graded)) if graded else 0.0,
    }


@metrics.register("points")
def points(results: Sequence[SampleResult]) -> dict[str, Any]:
    """Points earned against points possible (a Gaokao paper: out of 150)."""
    earned = sum(r.score.points for r in results)
    possible = sum(r.score.max_points for r in results)
    return {"points": earned, "max_points": possible, "points_rate": earned / possible if possible else 0.0}


def counts(results: Sequence[SampleResult]) -> dict[str, Any]:
    c = Counter(r.score.status for r in results)
    out: dict[str, Any] = {"n": len(results)}
    out.update({s: c.get(s, 0) for s in STATUSES})
    out["prompt_tokens"] = sum(r.usage.prompt_tokens for r in results)
    out["completion_tokens"] = sum(r.usage.completion_tokens for r in results)
    out["cached"] = sum(1 for r in results if r.cached)
    return out


def summarize(results: Sequence[SampleResult], names: Sequence[str]) -> dict[str, Any]:
    """Counts plus every named metric; the first metric name is the primary one."""
    out: dict[str, Any] = {"counts": counts(results), "metrics": {}}
    for name in names:
        out["metrics"].update(metrics.get(name)(results))
    primary = names[0] if names else "accuracy"
    out["primary"] = primary if primary in out["metrics"] else next(iter(out["metrics"]), primary)
    return out
