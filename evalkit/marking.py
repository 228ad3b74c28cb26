"""A run folder's marks: what a marker reads of a sample, and adding marks to the folder.

Both ways teachers mark a run — ``evalkit grade import`` (a sheet filled by hand, a judge's marks) and the
marking room (``evalkit grade serve``) — read each answer's question and reference here, and put marks
into the run folder through :func:`write_marks`: each mark joins the marks a sample already has, the
exam's reconciliation runs again, and ``samples.jsonl``, ``summary.json`` and the grading log in
``run.json`` are rewritten, one writer at a time per folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.types import SampleResult


def question_text(result: SampleResult) -> str:
    """The question teachers read: the sample's own (runs since it was recorded), else the prompt's user text."""
    if result.question:
        return result.question
    users = [m for m in result.prompt if m.get("role") == "user"]
    parts = users[-1].get("content", []) if users else []
    if isinstance(parts, str):
        return parts
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict) and p.get("type") == "text")


def reference_text(result: SampleResult) -> str:
    """The reference teachers mark against: the solution, else the analysis, else the target."""
    meta = result.metadata
    ref = meta.get("solution") or meta.get("analysis") or result.target
    return ref if isinstance(ref, str) else json.dumps(ref, ensure_ascii=False)


def write_marks(run: Any, marks: dict[str, Any], threshold: float | dict[str, float] | None,
                log: dict[str, Any]) -> None:  # run: a loaded Run, or its folder
    """Add marks (one, or a list, per sample) to a run, reconcile, and rewrite samples, summary and the log.

    ``threshold`` overrides the item's (one number, or one per sample id). A log entry with a ``round``
    replaces the earlier entry of the same round (the marking room writes as marking proceeds). One
    writer at a time per run folder (a lock file in it): an import by hand while the marking room writes
    the same run waits its turn and starts from what the other wrote.
    """
    from evalkit.results import RunLock, load_run

    # one writer at a time per run folder (its .lock): a run appending, an import by hand, the marking room;
    # an import waits a little for another import, and is refused with one sentence while a run writes
    path = Path(getattr(run, "path", run))  # a loaded run or its folder: it is read again under the lock
    lock = RunLock(path, "the marks", wait_s=10.0)
    try:
        _write_marks(load_run(path), marks, threshold, log)
    finally:
        lock.release()


def _write_marks(run: Any, marks: dict[str, Any], threshold: float | dict[str, float] | None,
                 log: dict[str, Any]) -> None:
    from evalkit.grading.gaokao import threshold_for, with_marks
    from evalkit.grading.metrics import summarize
    from evalkit.results import (
        RUN_FILE,
        SAMPLES_FILE,
        compact_samples,
        iter_sample_lines,
        now_iso,
        write_json_atomic,
        write_summary,
    )

    task_default = run.record.get("task", {}).get("grader", {}).get("options", {}).get("threshold")
    records: dict[str, dict[str, Any]] = {str(rec.get("id")): rec for rec in iter_sample_lines(run.path / SAMPLES_FILE)}
    for sid, mark in marks.items():
        res = SampleResult.from_dict(records[sid])
        limit = threshold.get(sid) if isinstance(threshold, dict) else threshold
        new = list(mark) if isinstance(mark, list | tuple) else [mark]
        res.score = with_marks(res.score, new, threshold_for(res.metadata, task_default, limit))
        records[sid] = {**records[sid], "score": res.score.to_dict()}
    compact_samples(run.path / SAMPLES_FILE, records)
    results = [SampleResult.from_dict(r) for r in records.values()]
    summary = dict(run.summary)
    summary.update(summarize(results, run.record.get("task", {}).get("metrics") or ["accuracy"]))
    summary.setdefault("task", run.task)
    summary.setdefault("model", run.model)
    write_summary(run.path, summary)
    record = dict(run.record)
    entries = [e for e in record.get("grading", []) if not (log.get("round") and e.get("round") == log["round"])]
    record["grading"] = [*entries, {"marks": len(marks), **log, "at": now_iso()}]
    write_json_atomic(run.path / RUN_FILE, record)
