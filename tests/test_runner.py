"""The runner end to end through the library: scores, cache, retries, errors, grading limits, resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from evalkit.adapters import make_adapter
from evalkit.adapters.base import Adapter
from evalkit.grading import scorer_registry
from evalkit.results import load_run
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.types import Request, Response, Sample, Score


def cfg(tmp_path: Path, **kw: Any) -> RunConfig:
    kw.setdefault("output", tmp_path / "run")
    kw.setdefault("progress", False)
    kw.setdefault("backoff_base_s", 0.001)
    return RunConfig(**kw)


def test_reference_scores_everything_and_writes_the_run_folder(tmp_path: Path, mcq_file: Path) -> None:
    out = run_sync(get_task(str(mcq_file)), make_adapter("reference"), cfg(tmp_path))
    assert out.summary["metrics"]["accuracy"] == 1.0
    run = load_run(out.path)
    assert run.record["status"] == "finished"
    assert run.record["task"]["dataset_fingerprint"]
    assert run.record["env"]["python"]
    assert len(run.results) == 40
    first = next(r for r in run.results if r.id == "q00000")  # samples are written as they finish
    assert first.score.stage and first.score.grader == "choice"
    assert first.prompt[0]["content"][0]["text"].startswith("Question 0")
    frame = run.samples_frame()
    assert set(frame["status"]) == {"correct"}


def test_random_baseline_is_near_chance(tmp_path: Path) -> None:
    from conftest import write_mcq

    path = write_mcq(tmp_path / "many.jsonl", 800)
    out = run_sync(get_task(str(path)), make_adapter("random:5"), cfg(tmp_path))
    assert 0.18 < out.summary["metrics"]["accuracy"] < 0.32


class Flaky(Adapter):
    """Fails with a retryable error on the first ``fail_first`` calls per sample, then answers."""

    scheme = "flaky"
    calls: dict[str, int]

    def __init__(self, target: str = "", fail_first: int = 2, permanent: bool = False) -> None:
        super().__init__(target)
        self.calls = {}
        self.fail_first = fail_first
        self.permanent = permanent

    async def generate(self, request: Request) -> Response:
        assert request.sample is not None
        n = self.calls[request.sample.id] = self.calls.get(request.sample.id, 0) + 1
        if self.permanent:
            return Response(error="HTTP 401: bad key", retryable=False)
        if n <= self.fail_first:
            return Response(error="HTTP 429", retryable=True, retry_after=0.001)
        return Response(text=f"故选{request.sample.target}")


def test_retryable_errors_are_retried_then_answered(tmp_path: Path, mcq_file: Path) -> None:
    adapter = Flaky(fail_first=2)
    out = run_sync(get_task(str(mcq_file)), adapter, cfg(tmp_path, max_retries=3))
    assert out.summary["metrics"]["accuracy"] == 1.0
    assert out.stats.retries == 80
    assert all(r.attempts == 3 for r in load_run(out.path).results)


def test_errors_are_counted_apart_from_wrong_answers(tmp_path: Path, mcq_file: Path) -> None:
    out = run_sync(get_task(str(mcq_file)), Flaky(permanent=True), cfg(tmp_path))
    counts = out.summary["counts"]
    assert counts["error"] == 40 and counts["wrong"] == 0
    res = load_run(out.path).results[0]
    assert res.score.status == "error" and "401" in (res.error or "")


def test_exhausted_retries_end_as_an_error_with_the_reason(tmp_path: Path, mcq_file: Path) -> None:
    out = run_sync(get_task(str(mcq_file)), Flaky(fail_first=99), cfg(tmp_path, max_retries=2))
    assert out.summary["counts"]["error"] == 40
    assert load_run(out.path).results[0].attempts == 3


class Hanging(Adapter):
    scheme = "hanging"

    async def generate(self, request: Request) -> Response:
        await asyncio.sleep(3600)
        return Response(text="never")


def test_request_timeout_is_an_error_not_a_hang(tmp_path: Path, mcq_file: Path) -> None:
    out = run_sync(get_task(str(mcq_file)), Hanging(),
                   cfg(tmp_path, timeout_s=0.05, max_retries=0, limit=5))
    assert out.summary["counts"]["error"] == 5
    assert "no answer within" in (load_run(out.path).results[0].error or "")


class Counting(Adapter):
    scheme = "counting"
    cacheable = True

    def __init__(self, target: str = "") -> None:
        super().__init__(target)
        self.n = 0

    async def generate(self, request: Request) -> Response:
        self.n += 1
        return Response(text=f"故选{request.sample.target if request.sample else 'A'}")


def test_response_cache_serves_a_repeated_run(tmp_path: Path, mcq_file: Path) -> None:
    task = get_task(str(mcq_file))
    first = Counting("m")
    run_sync(task, first, cfg(tmp_path, output=tmp_path / "a"))
    second = Counting("m")
    out = run_sync(task, second, cfg(tmp_path, output=tmp_path / "b"))
    assert first.n == 40 and second.n == 0
    assert out.summary["counts"]["cached"] == 40
    third = Counting("m")
    run_sync(task, third, cfg(tmp_path, output=tmp_path / "c", use_cache=False))
    assert third.n == 40


def _slow_scorer(sample: Sample, output: str, **_: Any) -> Score:
    if sample.id == "q00003":
        while True:
            pass
    return Score(1.0, "correct", 1.0, 1.0, stage="test")


def test_a_grader_that_hangs_costs_one_sample_its_time_limit(tmp_path: Path, mcq_file: Path) -> None:
    scorer_registry.add("hangs_on_q3", _slow_scorer, replace=True)
    task = get_task(str(mcq_file), options={"grader": "hangs_on_q3"})
    out = run_sync(task, make_adapter("reference"), cfg(tmp_path, grade_time_limit_s=0.5, limit=8))
    results = {r.id: r for r in load_run(out.path).results}
    assert results["q00003"].score.stage == "timeout"
    assert results["q00003"].score.status == "wrong"
    assert sum(r.score.status == "correct" for r in results.values()) == 7


def test_resume_finishes_only_what_is_missing_and_retries_errors(tmp_path: Path, mcq_file: Path) -> None:
    task = get_task(str(mcq_file))
    run_dir = tmp_path / "run"
    run_sync(task, Flaky(permanent=True), cfg(tmp_path, limit=10, output=run_dir))
    # a torn last line from a killed writer must be ignored
    with (run_dir / "samples.jsonl").open("a") as fh:
        fh.write('{"id": "q00011", "prom')
    counting = Counting()
    counting.scheme = "flaky"  # same adapter identity as the first run
    out = run_sync(task, counting, cfg(tmp_path, output=run_dir))
    assert counting.n == 40  # 10 errors retried + 30 never tried
    lines = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert sorted(rec["id"] for rec in lines) == sorted(s.id for s in task.samples)
    assert out.summary["metrics"]["accuracy"] == 1.0


def test_resuming_into_another_runs_folder_is_refused(tmp_path: Path, mcq_file: Path) -> None:
    import pytest

    from evalkit.runner import RunError

    task = get_task(str(mcq_file))
    run_sync(task, make_adapter("reference"), cfg(tmp_path, limit=2))
    with pytest.raises(RunError, match="holds a run of task"):
        run_sync(task, make_adapter("random:1"), cfg(tmp_path, limit=2))


class TextOnly(Adapter):
    scheme = "textonly"
    text_only = True

    def __init__(self, target: str = "") -> None:
        super().__init__(target)
        self.seen: list[Request] = []

    async def generate(self, request: Request) -> Response:
        self.seen.append(request)
        return Response(text=f"故选{request.sample.target if request.sample else 'A'}")


def _image_task(tmp_path: Path) -> Path:
    from PIL import Image as PILImage

    PILImage.new("RGB", (8, 8), "blue").save(tmp_path / "blue.png")
    lines = []
    for i in range(6):
        inp: Any = f"text question {i}"
        if i % 2:
            inp = [{"type": "text", "text": f"What colour is <image 1>? ({i})"},
                   {"type": "image", "path": str(tmp_path / "blue.png")}]
        lines.append(json.dumps({"id": f"s{i}", "input": inp, "choices": ["blue", "red"], "target": "A"}))
    (tmp_path / "img.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "img.jsonl"


def test_text_only_models_skip_image_questions_or_get_the_text_alone(tmp_path: Path) -> None:
    task = get_task(str(_image_task(tmp_path)))
    skipping = TextOnly()
    out = run_sync(task, skipping, cfg(tmp_path, output=tmp_path / "skip", images="skip"))
    assert out.summary["counts"]["skipped"] == 3 and len(skipping.seen) == 3
    assert out.summary["metrics"]["accuracy_graded"] == 1.0

    texting = TextOnly()
    out = run_sync(task, texting, cfg(tmp_path, output=tmp_path / "text", images="text", use_cache=False))
    assert len(texting.seen) == 6 and not any(r.messages[-1].images for r in texting.seen)
    marked = [r for r in load_run(out.path).results if r.metadata.get("images") == "text_only"]
    assert len(marked) == 3
    # the record keeps the image by content hash, never its bytes
    skipped = next(r for r in load_run(tmp_path / "skip").results if r.score.status == "skipped")
    image_part = skipped.prompt[0]["content"][1]
    assert image_part["type"] == "image" and len(image_part["sha256"]) == 64


def test_an_evaluator_is_whole_when_built_and_renders_each_sample_once(tmp_path: Path) -> None:
    """A sample evaluator needs no folder and no later setup; a skipped image question is rendered once."""
    from evalkit.pool import GradePool
    from evalkit.runner import SampleEvaluator

    task = get_task(str(_image_task(tmp_path)))
    renders: list[str] = []
    render = task.render

    def counted(sample: Sample) -> Any:
        renders.append(sample.id)
        return render(sample)

    task.render = counted  # type: ignore[method-assign]
    pool = GradePool(1, 30.0)
    try:
        evaluator = SampleEvaluator(task, TextOnly(), cfg(tmp_path, images="skip"), pool=pool)

        async def each() -> list[Any]:
            return [await evaluator.run_one(s) for s in task.samples]

        results = asyncio.run(each())
    finally:
        pool.close()
    assert [r.score.status for r in results] == ["correct", "skipped"] * 3
    assert sorted(renders) == sorted(s.id for s in task.samples)  # once each, skipped ones too
    assert results[1].prompt[0]["content"][1]["type"] == "image"
    assert not (tmp_path / "run").exists()  # evaluating writes nothing


def test_resuming_reads_the_old_record_once_and_keeps_when_it_started(tmp_path: Path, mcq_file: Path,
                                                                      monkeypatch: Any) -> None:
    import evalkit.runner as runner_mod

    task = get_task(str(mcq_file))
    run_sync(task, make_adapter("reference"), cfg(tmp_path, limit=5))
    started = load_run(tmp_path / "run").record["started"]
    reads: list[Path] = []
    old_record = runner_mod._old_record

    def counted(path: Path) -> Any:
        reads.append(path)
        return old_record(path)

    monkeypatch.setattr(runner_mod, "_old_record", counted)
    run_sync(task, make_adapter("reference"), cfg(tmp_path, limit=10))
    record = load_run(tmp_path / "run").record
    assert reads == [tmp_path / "run"]
    assert record["started"] == started and len(record["resumed"]) == 1 and record["counts"]["already_done"] == 5
