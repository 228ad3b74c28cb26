"""One way to make a Score from points, and a sample's points read strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.grading import GraderSpec, grade
from evalkit.tasks import TaskError, get_task
from evalkit.types import Sample, SampleError, Score, status_for


@pytest.mark.parametrize(("points", "status", "value"), [(6, "correct", 1.0), (4, "partial", 4 / 6), (0, "wrong", 0.0)])
def test_from_points_derives_value_and_status(points: float, status: str, value: float) -> None:
    s = Score.from_points(points, 6.0, stage="judge", reason="r")
    assert (s.status, s.points, s.max_points, s.stage, s.reason) == (status, points, 6.0, "judge", "r")
    assert s.value == pytest.approx(value)
    assert status_for(points, 6.0) == status


def test_right_is_all_or_nothing() -> None:
    assert (Score.right(True, 5.0).value, Score.right(True, 5.0).points) == (1.0, 5.0)
    assert (Score.right(False, 5.0).status, Score.right(False, 5.0).points) == ("wrong", 0.0)


def test_ungraded_scores_earn_nothing() -> None:
    s = Score.ungraded("unparsed", 5.0, stage="extract", reason="no answer")
    assert (s.value, s.status, s.points, s.max_points) == (0.0, "unparsed", 0.0, 5.0)


CASES = [
    ("choice", "C", "故选C", {}), ("choice", "C", "故选B", {}), ("multi_select", ["A", "C", "D"], "所以选 AD", {}),
    ("fill_in", ["1", "2"], "答案依次为 1，3", {}), ("math_answer", "\\frac12", "\\boxed{0.5}", {}),
    ("exact", "Paris", "Paris", {}), ("human", "", "", {"marks": {"q": 4}}),
]


@pytest.mark.parametrize(("scorer", "target", "output", "options"), CASES)
def test_every_scorer_keeps_value_and_points_consistent(scorer: str, target: object, output: str,
                                                          options: dict) -> None:
    s = grade(Sample("q", "question", target, metadata={"points": 6}), output, GraderSpec(scorer, options))
    assert s.value == pytest.approx(s.points / s.max_points)
    assert s.status == status_for(s.points, s.max_points)


def test_points_default_to_one_and_lists_sum() -> None:
    assert Sample("a", "", "x").max_points == 1.0
    assert Sample("a", "", "x", metadata={"points": None}).max_points == 1.0
    assert Sample("a", "", "x", metadata={"points": [2, 3]}).max_points == 5.0
    assert Sample("a", "", "x", metadata={"points": "4"}).max_points == 4.0


@pytest.mark.parametrize("bad", ["five", -1, 0, [], [2, "x"], [2, 0], True, float("nan"), {"a": 1}])
def test_a_bad_points_value_is_an_error_naming_the_sample(bad: object) -> None:
    with pytest.raises(SampleError, match="sample 'q7'.*points") as info:
        _ = Sample("q7", "", "x", metadata={"points": bad}).max_points
    assert isinstance(info.value, EvalkitError)


def test_a_task_with_bad_points_fails_when_it_loads(tmp_path: Path) -> None:
    rows = [{"id": "ok", "input": "1+1?", "target": "2"},
            {"id": "bad", "input": "2+2?", "target": "4", "metadata": {"points": "five"}}]
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    with pytest.raises(TaskError, match=r"samples\.jsonl.*sample 'bad'.*'five'"):
        _ = get_task(str(path)).samples
