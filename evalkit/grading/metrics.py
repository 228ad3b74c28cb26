"""Run-level metrics computed from graded sample results (registered by name), and how each aggregates.

A metric declares its headline number (``key``, one of the numbers it returns) and how that number
pools over samples and runs (:class:`Aggregation`, after lm-evaluation-harness's ``aggregation`` and
``higher_is_better``). ``summarize`` writes the primary metric's declaration into ``summary.json``, so
a report reads how to pool a run from the run itself instead of guessing from the metric's name.
A plug-in metric may be a plain function (entry-point group ``evalkit.metrics``): its numbers are
then shown as each run reported them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evalkit.registry import Registry, load_object
from evalkit.types import STATUSES, SampleResult

MetricFn = Callable[..., dict[str, Any]]
AggregationKind = Literal["mean", "points", "summary"]


@dataclass(frozen=True)
class Aggregation:
    """How a metric's headline number pools over samples and runs, and which way is better.

    ``mean``: the mean of the samples' scores (0..1; several runs average each sample first);
    ``points``: the sum of the samples' points out of the sum of their maxima (a paper's total);
    ``summary``: each run's number as reported (no pooling over samples, no interval).
    """

    kind: AggregationKind = "summary"
    higher_is_better: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "higher_is_better": self.higher_is_better}


MEAN, POINTS, AS_REPORTED = Aggregation("mean"), Aggregation("points"), Aggregation("summary")


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function (or a lazy ``"module:attr"``), its headline key, its aggregation."""

    fn: MetricFn | str
    key: str | None = None  # the headline number among those it returns (None: the first)
    aggregation: Aggregation = AS_REPORTED
    # what the headline adds up when that is not one sample each (a paper: items, an elective pair once):
    # ``"module:attr"`` of ``units(results) -> [unit]``, each unit with id, points, max_points, value,
    # status, grader, pending and metadata. Reports and checks pool these units instead of the samples.
    units: str | None = None

    def __call__(self, results: Sequence[SampleResult], **kwargs: Any) -> dict[str, Any]:
        fn = load_object(self.fn) if isinstance(self.fn, str) else self.fn
        return fn(results, **kwargs)


def units_of(metric_name: str | None) -> Callable[[Sequence[SampleResult]], Sequence[Any]] | None:
    """The units function the named metric declares (None: each sample is a unit, or an unknown metric)."""
    if not metric_name or metric_name not in metrics:
        return None
    declared = metrics.get(metric_name)
    return load_object(declared.units) if isinstance(declared, Metric) and declared.units else None


metrics: Registry[Metric | MetricFn] = Registry("metric", "evalkit.metrics")
_BY_KEY: dict[str, Aggregation] = {}  # headline key → aggregation, of the metrics declared here


def add_metric(name: str, declared: Metric) -> Metric:
    """Register a declared metric (a plug-in may register a plain function instead)."""
    metrics.add(name, declared, replace=True)
    if declared.key:
        _BY_KEY.setdefault(declared.key, declared.aggregation)
    return declared


def metric(name: str, *, key: str | None = None, aggregation: Aggregation = AS_REPORTED) -> Callable[[MetricFn], Metric]:
    """Decorator: register a metric function under ``name`` with its headline ``key`` and :class:`Aggregation`."""

    def deco(fn: MetricFn) -> Metric:
        return add_metric(name, Metric(fn, key, aggregation))

    return deco


add_metric("gaokao_paper", Metric("evalkit.grading.gaokao:paper_metric", key="points", aggregation=POINTS,
                                  units="evalkit.grading.gaokao:paper_units"))
add_metric("hs_accuracy", Metric("evalkit.grading.gaokao_hs:hs_accuracy", key="hs_accuracy"))  # item-weighted: as reported


def _graded(results: Sequence[SampleResult]) -> list[SampleResult]:
    return [r for r in results if r.score.status not in ("error", "skipped")]


@metric("accuracy", key="accuracy", aggregation=MEAN)
def accuracy(results: Sequence[SampleResult]) -> dict[str, Any]:
    """Mean score over all samples (errors count as 0), and over graded samples only."""
    n = len(results)
    graded = _graded(results)
    total = sum(r.score.value for r in results)
    return {
        "accuracy": total / n if n else 0.0,
        "accuracy_graded": (sum(r.score.value for r in graded) / len(graded)) if graded else 0.0,
    }


@metric("points", key="points", aggregation=POINTS)
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


ERROR_IDS_SHOWN = 5


def error_reason(message: str | None, sample_id: str | None = None) -> str:
    """The countable reason of a failed sample: the first line of its error, durations and the sample's own
    quoted id masked, at most 200 characters (so that 'no answer within 120s' and 'within 118.5s', or 'no
    output for sample 'q1'' and '... 'q2'', are one reason)."""
    text = re.sub(r"\b\d+(\.\d+)?\s?s\b", "…s", (message or "").strip() or "unknown error")
    if sample_id:
        text = text.replace(f"'{sample_id}'", "<id>").replace(f'"{sample_id}"', "<id>")
    return text.split("\n", 1)[0][:200]


def error_groups(results: Sequence[SampleResult]) -> list[dict[str, Any]]:
    """The samples in ``error`` grouped by reason, most frequent first: ``{"reason", "count", "ids"}``
    (the first few ids of each group), so that a run says why it failed without opening samples.jsonl."""
    groups: dict[str, list[str]] = {}
    for r in results:
        if r.score.status == "error":
            groups.setdefault(error_reason(r.error or r.score.reason, r.id), []).append(r.id)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [{"reason": reason, "count": len(ids), "ids": ids[:ERROR_IDS_SHOWN]} for reason, ids in ordered]


def summarize(results: Sequence[SampleResult], names: Sequence[str]) -> dict[str, Any]:
    """Counts, the failed samples grouped by reason, and every named metric; the first metric is the
    primary one: its headline key is ``primary`` and its declared aggregation ``aggregation``."""
    out: dict[str, Any] = {"counts": counts(results), "errors": error_groups(results), "metrics": {}}
    for name in names:
        out["metrics"].update(metrics.get(name)(results))
    first = metrics.get(names[0]) if names else None
    key = first.key if isinstance(first, Metric) and first.key else (names[0] if names else "accuracy")
    out["primary"] = key if key in out["metrics"] else next(iter(out["metrics"]), key)
    declared = first.aggregation if isinstance(first, Metric) and out["primary"] == key else AS_REPORTED
    out["aggregation"] = declared.to_dict()
    return out


def aggregation_of(summary: Mapping[str, Any]) -> Aggregation:
    """How a run's primary number pools, as its summary declares; a summary written before metrics
    declared it is read by the built-in metric whose headline key is its primary (else as reported)."""
    declared = summary.get("aggregation")
    if isinstance(declared, Mapping) and declared.get("kind") in ("mean", "points", "summary"):
        return Aggregation(declared["kind"], bool(declared.get("higher_is_better", True)))
    return _BY_KEY.get(str(summary.get("primary") or "accuracy"), AS_REPORTED)


def bootstrap_draws(size: int, n_boot: int, seed: int) -> Iterator[tuple[slice, Any]]:
    """Seeded bootstrap resamples of ``size`` items, as (rows of the ``n_boot`` replicates, index array),
    drawn in chunks of at most two million indices so memory stays bounded."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 2_000_000 // size))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        yield slice(start, stop), rng.integers(0, size, size=(stop - start, size))


@metric("bootstrap_ci")
def bootstrap_ci(results: Sequence[SampleResult], n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> dict[str, Any]:
    """Percentile bootstrap interval of the mean score (errors count as 0); seeded, so reproducible."""
    import numpy as np

    values = np.array([r.score.value for r in results], dtype=float)
    if values.size == 0:
        return {"accuracy_ci_low": 0.0, "accuracy_ci_high": 0.0, "ci_level": level}
    means = np.empty(n_boot)
    for rows, idx in bootstrap_draws(values.size, n_boot, seed):
        means[rows] = values[idx].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return {"accuracy_ci_low": float(low), "accuracy_ci_high": float(high), "ci_level": level}


@metric("unparsed_rate", key="unparsed_rate", aggregation=Aggregation("summary", higher_is_better=False))
def unparsed_rate(results: Sequence[SampleResult]) -> dict[str, Any]:
    """Share of responses from which no answer could be read (kept apart from wrong answers)."""
    n = len(results)
    unparsed = sum(1 for r in results if r.score.status == "unparsed")
    return {"unparsed_rate": unparsed / n if n else 0.0}


@metric("circular_accuracy", key="circular_accuracy")
def circular_accuracy(results: Sequence[SampleResult]) -> dict[str, Any]:
    """MMBench's CircularEval: a question counts only when every rotation of its options is right.

    Rows of one question share ``metadata["circular_group"]``; a result without one is its own group.
    """
    groups: dict[str, bool] = {}
    for r in results:
        key = str(r.metadata.get("circular_group") or f"id:{r.id}")
        groups[key] = groups.get(key, True) and r.score.value >= 1.0
    n = len(groups)
    return {"circular_accuracy": sum(groups.values()) / n if n else 0.0, "circular_questions": n}
