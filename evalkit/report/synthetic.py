"""Synthetic run folders with the documented shapes, for tests, benchmarks and report demos.

They are written with the same writers the runner uses (:class:`~evalkit.results.SampleWriter`,
:func:`~evalkit.results.write_json_atomic`) and summarised with the grading room's metrics, so a
report built from them exercises exactly the reading path of real runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.grading.metrics import summarize
from evalkit.results import (
    RUN_FILE,
    SAMPLES_FILE,
    SUMMARY_FILE,
    SampleWriter,
    environment_record,
    write_json_atomic,
)
from evalkit.types import STATUSES, SampleResult, Score, Usage, status_for

# The 2024 new-curriculum paper: 8 single choice, 3 multi-select, 3 fill-in, 5 solutions = 150 points.
GAOKAO_2024_LAYOUT: tuple[tuple[int, str, float], ...] = tuple(
    [(i, "single", 5.0) for i in range(1, 9)]
    + [(i, "multi", 6.0) for i in range(9, 12)]
    + [(i, "fill", 5.0) for i in range(12, 15)]
    + list(zip(range(15, 20), ["solution"] * 5, [13.0, 15.0, 15.0, 17.0, 17.0], strict=True))
)


def make_result(sample_id: str, status: str, *, value: float | None = None, points: float | None = None,
                max_points: float = 1.0, question: str = "", target: Any = None, response: str | None = "",
                grader: str = "exact", stage: str = "string", extracted: Any = None, reason: str | None = None,
                metadata: dict[str, Any] | None = None, images: Sequence[dict[str, Any]] = (),
                tokens: tuple[int, int] = (50, 20), latency_s: float = 0.5) -> SampleResult:
    """One sample result; ``value`` defaults from ``status`` (correct 1, partial 0.5, else 0)."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    if value is None:
        value = {"correct": 1.0, "partial": 0.5}.get(status, 0.0)
    if points is None:
        points = value * max_points
    content: list[dict[str, Any]] = [{"type": "text", "text": question or f"Question {sample_id}"}, *images]
    error = "synthetic adapter error" if status == "error" else None
    score = Score(value, status, points, max_points, stage="error" if error else stage, grader=grader,  # type: ignore[arg-type]
                  extracted=extracted, reason=reason or error)
    return SampleResult(id=sample_id, prompt=[{"role": "user", "content": content}], target=target,
                        response=None if error else response, score=score, usage=Usage(*tokens),
                        latency_s=latency_s, error=error, metadata=dict(metadata or {}))


def write_run(out: Path, results: Iterable[SampleResult], *, model: str, task: str, task_version: str = "1",
              metrics: Sequence[str] = ("accuracy",), seconds: float = 60.0,
              started: datetime | None = None) -> Path:
    """Write a complete run folder (run.json, samples.jsonl, summary.json) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    results = list(results)
    start = started or datetime(2026, 1, 1, tzinfo=UTC)
    ids = "\n".join(r.id for r in results).encode()
    record = {
        "status": "finished",
        "task": {"name": task, "version": task_version, "hash": hashlib.sha256(task.encode() + ids).hexdigest()[:16],
                 "metrics": list(metrics)},
        "adapter": {"uri": model, "options": {}},
        "generation": {"temperature": 0.0},
        "started": start.isoformat(timespec="seconds"),
        "finished": (start + timedelta(seconds=seconds)).isoformat(timespec="seconds"),
        "counts": {"n": len(results), "samples": len(results)},
        "env": environment_record(),
    }
    write_json_atomic(out / RUN_FILE, record)
    (out / SAMPLES_FILE).unlink(missing_ok=True)
    writer = SampleWriter(out / SAMPLES_FILE)
    try:
        for r in results:
            writer.write(r)
    finally:
        writer.close()
    write_json_atomic(out / SUMMARY_FILE, summarize(results, list(metrics)))
    return out


def binary_results(correct: Sequence[bool], *, prefix: str = "q", question: str = "What is {i} + {i}?",
                   response_len: int = 40) -> list[SampleResult]:
    """Right/wrong results for ids ``{prefix}0000``…, with short deterministic texts."""
    out = []
    for i, ok in enumerate(correct):
        answer = str(2 * i) if ok else str(2 * i + 1)
        text = (f"Let me add {i} and {i}. " * max(1, response_len // 24))[:response_len] + f" The answer is {answer}."
        out.append(make_result(f"{prefix}{i:05d}", "correct" if ok else "wrong", question=question.format(i=i),
                               target=str(2 * i), response=text, extracted=answer,
                               reason=None if ok else f"{answer} != {2 * i}"))
    return out


def random_results(n: int, accuracy: float, *, seed: int = 0, prefix: str = "q", unparsed: float = 0.02,
                   errors: float = 0.01, response_len: int = 200) -> list[SampleResult]:
    """``n`` results with the given expected accuracy and a few unparsed and error items."""
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    out = []
    for i in range(n):
        if u[i] < errors:
            status = "error"
        elif u[i] < errors + unparsed:
            status = "unparsed"
        else:
            status = "correct" if rng.random() < accuracy / (1 - errors - unparsed) else "wrong"
        body = (f"Step {i}: we reason about the item carefully. " * (response_len // 44 + 1))[:response_len]
        out.append(make_result(f"{prefix}{i:06d}", status, question=f"Item {i}: compute f({i}).", target=str(i),
                               response=body + f" Answer: {i if status == 'correct' else i + 1}",
                               extracted=None if status in ("unparsed", "error") else str(i if status == "correct" else i + 1),
                               tokens=(int(rng.integers(50, 500)), int(rng.integers(20, 400))),
                               latency_s=float(rng.random() * 3)))
    return out


def gaokao_results(skill: float, *, seed: int = 0, paper: str = "2024-new-I",
                   judge_solutions: bool = True) -> list[SampleResult]:
    """A Gaokao paper's 19 questions marked for a model of the given skill (0..1)."""
    rng = np.random.default_rng(seed)
    out = []
    for number, qtype, maxp in GAOKAO_2024_LAYOUT:
        frac = float(rng.random() < skill) if qtype in ("single", "fill") else min(1.0, max(0.0, rng.normal(skill, 0.3)))
        if qtype == "multi":
            frac = [0.0, 1 / 3, 2 / 3, 1.0][int(round(frac * 3))]
        elif qtype == "solution":
            frac = round(frac * maxp) / maxp
        points = frac * maxp
        status = status_for(frac, 1.0)
        grader = "judge" if (qtype == "solution" and judge_solutions) else "answer"
        meta = {"paper": paper, "number": number, "type": qtype, "section": qtype, "points": maxp}
        answer = 2 + number if status != "wrong" else 3 + number
        out.append(make_result(f"{paper}-{number:02d}", status, value=frac, points=points, max_points=maxp,
                               question=f"第{number}题 ({qtype}, {maxp:g}分): 设 $f(x)=x^2+{number}x$，求 $f'(1)$。",
                               target=str(2 + number), response=f"解：$f'(x)=2x+{number}$，所以答案是 \\boxed{{{answer}}}。",
                               grader=grader, stage="judge" if grader == "judge" else "boxed+numeric",
                               extracted=str(answer), metadata=meta,
                               reason=None if status == "correct" else "steps incomplete"))
    return out
