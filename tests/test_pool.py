"""The grading pool: batches to worker processes, a per-item time limit, a dead worker costs one item."""

from __future__ import annotations

import asyncio
import os

from evalkit.grading import GraderSpec, scorer_registry
from evalkit.pool import GradePool, default_workers
from evalkit.types import Sample, Score


def _behaves(sample: Sample, output: str) -> Score:
    """Correct, except: output "hang" spins forever, "die" kills its own process, "bug" raises."""
    if output == "hang":
        while True:
            pass
    if output == "die":
        os._exit(3)
    if output == "bug":
        raise KeyError("oops")
    return Score.right(output == sample.target, 1.0, stage="test")


scorer_registry.add("pool_behaves", _behaves, replace=True)
SPEC = GraderSpec("pool_behaves")


def _items(outputs: list[str]) -> list[tuple[Sample, str, GraderSpec]]:
    return [(Sample(f"s{i}", "?", "A"), out, SPEC) for i, out in enumerate(outputs)]


def _grade(pool: GradePool, outputs: list[str]) -> list[Score]:
    async def go() -> list[Score]:
        try:
            return await pool.grade_many(_items(outputs))
        finally:
            pool.close()

    return asyncio.run(go())


def test_many_answers_go_out_in_few_messages_and_come_back_in_order() -> None:
    pool = GradePool(2, 30.0)
    outputs = ["A" if i % 3 else "B" for i in range(300)]
    scores = _grade(pool, outputs)
    assert [s.status for s in scores] == ["correct" if o == "A" else "wrong" for o in outputs]
    assert pool.batches <= 300 // 64 + 4  # batched, not one message per answer


def test_single_grades_from_many_callers_are_batched() -> None:
    pool = GradePool(2, 30.0)

    async def go() -> list[Score]:
        try:
            return list(await asyncio.gather(*(pool.grade(s, o, spec) for s, o, spec in _items(["A"] * 200))))
        finally:
            pool.close()

    scores = asyncio.run(go())
    assert all(s.status == "correct" for s in scores)
    assert pool.batches < 50


def test_an_answer_that_hangs_in_the_middle_of_a_batch_costs_only_itself() -> None:
    pool = GradePool(1, 0.5)
    outputs = ["A"] * 10 + ["hang"] + ["A"] * 10
    scores = _grade(pool, outputs)
    assert scores[10].stage == "timeout" and scores[10].status == "wrong"
    assert [s.status for i, s in enumerate(scores) if i != 10] == ["correct"] * 20
    assert pool.timeouts == 1


def test_a_worker_that_dies_costs_one_answer_and_a_grader_bug_one_answer() -> None:
    pool = GradePool(2, 30.0)
    outputs = ["A"] * 5 + ["die"] + ["A"] * 5 + ["bug"] + ["A"] * 5
    scores = _grade(pool, outputs)
    assert scores[5].status == "error" and "died" in (scores[5].reason or "")
    assert scores[11].status == "error" and "KeyError" in (scores[11].reason or "")
    assert sum(s.status == "correct" for s in scores) == 15


def test_one_worker_per_core_by_default() -> None:
    assert GradePool().size == default_workers() == len(os.sched_getaffinity(0))


def _square(x: int) -> int:
    if x == 7:
        while True:
            pass
    if x == 3:
        raise ValueError("three")
    return x * x


def test_any_function_runs_in_the_pool_under_the_same_time_limit() -> None:
    from evalkit.pool import GradeTimeout

    pool = GradePool(2, 0.5)

    async def go() -> list[object]:
        try:
            return list(await asyncio.gather(*(pool.call(_square, x) for x in range(10)), return_exceptions=True))
        finally:
            pool.close()

    out = asyncio.run(go())
    assert isinstance(out[7], GradeTimeout)
    assert isinstance(out[3], RuntimeError) and "ValueError: three" in str(out[3])
    assert [out[i] for i in (0, 1, 2, 4, 5, 6, 8, 9)] == [0, 1, 4, 16, 25, 36, 64, 81]


def test_a_function_that_cannot_be_handed_over_fails_alone() -> None:
    pool = GradePool(1, 30.0)

    async def go() -> list[object]:
        try:
            jobs = [pool.call(_square, 2), pool.call(lambda: 1), pool.call(_square, 4)]
            return list(await asyncio.gather(*jobs, return_exceptions=True))
        finally:
            pool.close()

    out = asyncio.run(go())
    assert out[0] == 4 and out[2] == 16
    assert isinstance(out[1], RuntimeError) and "cannot hand" in str(out[1])
