"""The metric table `evalkit run` / `evalkit show` print: fractions as percentages, everything else as is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evalkit.cli import print_summary


def _table(capsys: pytest.CaptureFixture[str], metrics: dict[str, float]) -> dict[str, str]:
    print_summary(Path("results/x"), {"task": "t", "model": "m", "metrics": metrics, "counts": {"n": 40}})
    rows = re.findall(r"│ (\S+) +│ +(\S+) │", capsys.readouterr().out)
    return dict(rows)


def test_gaokao_hs_rates_and_their_bounds_and_balanced_mean_print_as_percentages(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _table(capsys, {"hs_accuracy": 0.2391, "hs_accuracy_ci_low": 0.226, "hs_accuracy_ci_high": 0.254,
                            "hs_points_rate": 0.2371, "hs_points_rate_ci_low": 0.223195,
                            "hs_points_rate_ci_high": 0.251, "hs_subject_balanced": 0.232901, "hs_items": 3590,
                            "hs_skipped_items": 0})
    assert shown == {"hs_accuracy": "23.9%", "hs_accuracy_ci_low": "22.6%", "hs_accuracy_ci_high": "25.4%",
                     "hs_points_rate": "23.7%", "hs_points_rate_ci_low": "22.3%", "hs_points_rate_ci_high": "25.1%",
                     "hs_subject_balanced": "23.3%", "hs_items": "3590", "hs_skipped_items": "0", "n": "40"}


def test_points_counts_and_the_ci_level_stay_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _table(capsys, {"accuracy": 0.5, "accuracy_ci_low": 0.35, "accuracy_ci_high": 0.65, "ci_level": 0.95,
                            "points": 39, "max_points": 150, "points_rate": 0.26, "unparsed_rate": 0.025,
                            "circular_accuracy": 0.25, "circular_questions": 10})
    assert shown == {"accuracy": "50.0%", "accuracy_ci_low": "35.0%", "accuracy_ci_high": "65.0%", "ci_level": "0.95",
                     "points": "39", "max_points": "150", "points_rate": "26.0%", "unparsed_rate": "2.5%",
                     "circular_accuracy": "25.0%", "circular_questions": "10", "n": "40"}
