"""Run-level metrics added by the grading room: bootstrap interval and unparsed rate."""

from __future__ import annotations

from evalkit.grading.metrics import metrics, summarize
from evalkit.types import SampleResult, Score


def results(values: list[float], statuses: list[str] | None = None) -> list[SampleResult]:
    statuses = statuses or ["correct" if v == 1 else "wrong" for v in values]
    return [SampleResult(str(i), [], None, "", Score(v, s, v, 1.0)) for i, (v, s) in enumerate(zip(values, statuses, strict=True))]


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible() -> None:
    rs = results([1.0] * 70 + [0.0] * 30)
    a = metrics.get("bootstrap_ci")(rs)
    b = metrics.get("bootstrap_ci")(rs)
    assert a == b
    assert a["accuracy_ci_low"] < 0.7 < a["accuracy_ci_high"]
    assert 0.55 < a["accuracy_ci_low"] and a["accuracy_ci_high"] < 0.85
    assert metrics.get("bootstrap_ci")(results([1.0] * 10))["accuracy_ci_low"] == 1.0
    assert metrics.get("bootstrap_ci")([])["accuracy_ci_high"] == 0.0


def test_unparsed_rate_and_summary() -> None:
    rs = results([1.0, 0.0, 0.0, 0.0], ["correct", "wrong", "unparsed", "unparsed"])
    assert metrics.get("unparsed_rate")(rs)["unparsed_rate"] == 0.5
    summary = summarize(rs, ["accuracy", "unparsed_rate"])
    assert summary["counts"]["unparsed"] == 2 and summary["counts"]["wrong"] == 1
    assert summary["metrics"]["accuracy"] == 0.25
