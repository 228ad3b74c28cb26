"""One marking round over run folders: what markers see, and the marks going back into the runs.

A round is the answers of one or more run folders (several models' answers to the same paper are
marked together, shuffled and anonymised), the store that holds its state, and a writer thread that
puts every settled answer's teachers' marks into its run folder with :func:`evalkit.marking.write_marks`,
the code ``evalkit grade import`` uses — atomically, as marking proceeds, and again at start for any
mark the previous process committed but did not write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.serve.store import MODES, Answer, AnswerSpec, Store
from evalkit.types import SampleResult


class RoundError(EvalkitError):
    """The runs given to ``evalkit grade serve`` cannot form a marking round (one sentence)."""


@dataclass(frozen=True)
class Item:
    """What a marker sees of one answer (never the model's name or run)."""

    question: str
    figures: tuple[str, ...]
    reference: str
    rubric: tuple[dict[str, Any], ...]
    response: str
    machine: tuple[dict[str, Any], ...]
    type: str
    number: str
    paper: str
    max_points: float
    metadata: dict[str, Any] = field(default_factory=dict)
    target: Any = None


def default_db(run_dirs: list[Path]) -> Path:
    """``marking-<hash of the runs>.sqlite`` in the runs' common folder: one round per set of runs."""
    resolved = sorted(str(p.resolve()) for p in run_dirs)
    parents = [Path(p).parent for p in resolved]
    common = parents[0]
    while not all(p == common or common in p.parents for p in parents):
        common = common.parent
    digest = hashlib.sha256("\n".join(resolved).encode()).hexdigest()[:10]
    return common / f"marking-{digest}.sqlite"


def _figures(result: SampleResult, run_dir: Path) -> tuple[str, ...]:
    out = []
    for msg in result.prompt:
        parts = msg.get("content")
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and part.get("type") == "image" and part.get("path"):
                path = Path(str(part["path"]))
                out.append(str(path if path.is_absolute() or path.exists() else run_dir / path))
    return tuple(out)


def make_item(result: SampleResult, run_dir: Path) -> Item:
    from evalkit.marking import question_text, reference_text

    meta = result.metadata
    return Item(
        question=question_text(result), figures=_figures(result, run_dir), reference=reference_text(result),
        rubric=tuple(meta.get("rubric") or ()), response=result.response or "",
        machine=tuple(m for m in result.score.details.get("marks", []) if m.get("grader") not in ("human", "arbiter"))
        or ({"grader": result.score.grader, "points": result.score.points, "status": result.score.status},),
        type=str(meta.get("type") or ""), number=str(meta.get("number") or ""), paper=str(meta.get("paper") or ""),
        max_points=result.score.max_points, metadata=dict(meta), target=result.target,
    )


class Round:
    """The answers of the runs, the store, and the writer that keeps the run folders up to date."""

    def __init__(self, run_dirs: list[Path], db_path: Path | None = None, *, include_all: bool = False,
                 threshold: float | None = None, markers: int = 2, mode: str = "arbiter") -> None:
        from evalkit.grading.gaokao import threshold_for
        from evalkit.results import ResultsError, load_run

        if not run_dirs:
            raise RoundError("give at least one run folder to mark")
        if mode not in MODES:
            raise RoundError(f"--mode {mode!r}: allowed: {', '.join(MODES)}")
        try:
            runs = [load_run(p) for p in run_dirs]
        except ResultsError as exc:
            raise RoundError(str(exc)) from None
        self.db_path = Path(db_path) if db_path else default_db(run_dirs)
        self.store = Store(self.db_path)
        if self.store.setting("markers") is None:
            self.store.set_setting("markers", markers)
            self.store.set_setting("mode", mode)
        self.items: dict[tuple[str, str], Item] = {}
        specs = []
        for run in runs:
            path = str(run.path.resolve())
            task_default = run.record.get("task", {}).get("grader", {}).get("options", {}).get("threshold")
            for r in run.results:
                if r.response is None or (not include_all and r.metadata.get("type") != "solution"):
                    continue
                self.items[(path, r.id)] = make_item(r, run.path)
                question = f"{r.metadata.get('paper', run.task)}#{r.metadata.get('number', r.id)}"
                specs.append(AnswerSpec(path, run.model, r.id, question, str(r.metadata.get("paper") or run.task),
                                        str(r.metadata.get("number") or r.id), str(r.metadata.get("type") or ""),
                                        r.score.max_points, threshold_for(r.metadata, task_default, threshold)))
        if not specs:
            raise RoundError("these runs have no answers to mark (solutions with a response; --all marks every item)")
        self.store.add_answers(specs)
        self.runs = self.store.runs()
        self._process: Any = None
        self._stop_flag: Any = None

    def item(self, answer: Answer) -> Item:
        return self.items[(self.runs[answer.run_id][0], answer.sample_id)]

    # -- the run-folder writer ----------------------------------------------------------------------------
    def start_writer(self) -> None:
        """Write what the last process committed but did not write, then keep the runs up to date from a
        process of its own (rewriting big run folders must not slow the teachers' screens)."""
        import multiprocessing

        self.flush()
        ctx = multiprocessing.get_context("spawn")
        reader, self._stop_flag = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=flush_forever, args=(str(self.db_path), reader, os.getpid()),
                                    name="evalkit-run-writer", daemon=True)
        self._process.start()
        reader.close()

    def stop_writer(self) -> None:
        """Tell the run-folder writer to finish (closing our end of its pipe), wait, and write what is left."""
        if self._process is not None:
            self._stop_flag.close()
            self._process.join(timeout=120)
        self.flush()

    def flush(self) -> int:
        """Write every settled answer whose marks changed into its run folder; returns how many answers."""
        return flush_round(self.db_path)


def flush_forever(db_path: str, stop: Any, parent: int, interval: float = 0.1) -> None:
    """The run-folder writer's process: poll for changed answers and write them, until the server closes
    its end of ``stop`` (or is gone), then once more, so nothing committed is left unwritten.

    Ctrl+C in a terminal reaches the whole process group: this process ignores it and lets the server
    decide when it ends.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(5)  # the teachers' requests come first; the runs catch up
    wait = interval
    while os.getppid() == parent and not stop.poll(wait):  # poll: True once the server closed its end
        started = time.monotonic()
        wrote = flush_round(Path(db_path))
        checkpoint(Path(db_path))
        # rewriting run folders may take at most a third of a core: under heavy marking the runs lag a
        # little more, and the teachers' screens stay quick
        wait = interval if not wrote else max(interval, 2 * (time.monotonic() - started))
    flush_round(Path(db_path))


def checkpoint(db_path: Path) -> None:
    """Fold the write-ahead log into the database when it has grown (the request path never does)."""
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 4 << 20:
        conn = sqlite3.connect(db_path, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()


def flush_round(db_path: Path) -> int:
    """Write every settled answer whose marks changed into its run folder (through ``write_marks``).

    One writer at a time per round (a file lock beside the database): a writer left over from a killed
    server finishing its last pass never interleaves its read-modify-write of a run with the new one's.
    """
    import fcntl

    with open(db_path.with_name(db_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store = Store(db_path)  # this caller's own connection
        try:
            return _flush(store, db_path)
        finally:
            store.close()


def _flush(store: Store, db_path: Path) -> int:
    from evalkit.grading.gaokao import Mark
    from evalkit.marking import write_marks
    from evalkit.results import FolderInUse

    dirty = store.dirty()
    if not dirty:
        return 0
    runs = store.runs()
    by_run: dict[int, list[tuple[Answer, int]]] = defaultdict(list)
    for ans, version in dirty:
        by_run[ans.run_id].append((ans, version))
    written = 0
    for run_id, answers in by_run.items():
        marks: dict[str, list[Mark]] = {}
        thresholds: dict[str, float] = {}
        for ans, _ in answers:
            if ans.state == "open":
                continue  # not settled yet: the run keeps what it had
            rows = store.marks_of(ans.id)
            marks[ans.sample_id] = [
                Mark("arbiter" if m["role"] == "arbiter" else "human", float(m["points"]), ans.max_points,
                     marker=m["name"], steps=_steps(m["steps"])) for m in rows]
            thresholds[ans.sample_id] = ans.threshold
        if marks:
            path = runs[run_id][0]
            try:
                write_marks(Path(path), marks, thresholds, {"round": str(db_path), "grader": "marking room"})
            except FolderInUse:
                continue  # a run or an import holds the folder: these answers stay dirty, tried next pass
            written += len(marks)
        store.mark_written({ans.id: version for ans, version in answers},
                           [ans.id for ans, _ in answers if ans.sample_id in marks])
    return written


def _steps(raw: str) -> list[dict[str, Any]]:
    import json

    try:
        data = json.loads(raw or "[]")
    except ValueError:
        return []
    return data if isinstance(data, list) else []
