"""Regrading: a finished run's stored answers scored again by today's graders, without asking any model.

This module owns ``evalkit regrade``. It reads a run folder, finds the samples of its task (the same
questions: every stored target must still be the task's), grades every stored response again in the
grading pool (one worker per core, batched), and writes a new run folder beside the old one — or, with
``in_place``, puts the new folder in the old one's place in one atomic exchange. The new run.json says
who graded it (``regraded``: from which run, when, the grader and its options, evalkit's version and
revision and a digest of the grading code) and what moved.

What is not graded again stays as it was: a sample whose model call failed stays failed (it is never
scored as a wrong answer), a skipped sample stays skipped, and teachers' (and post-run judges') marks
stay the mark: they are laid over the new machine mark as :func:`evalkit.grading.gaokao.with_marks` does.

The original folder is only read (or, in place, exchanged whole at the end): a regrade killed at any
moment leaves it as it was, and leaves nothing a report would read (the new folder is built under a
hidden name whose run.json is written last).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.grading import GraderSpec, needs_judge
from evalkit.types import Sample, SampleResult, Score, Usage

EXAMPLES = 3  # examples kept per kind of move
WINDOW = 4096  # answers in the grading pool at once
CORE_FILES = ("run.json", "samples.jsonl", "summary.json")
NOT_COPIED = (*CORE_FILES, "report.html", ".lock")  # a stale report is not carried into the new folder
AFTER_RUN_MARKS = ("human", "arbiter", "judge")  # marks added to a run after it was graded (grade import/judge)


class RegradeError(EvalkitError, ValueError):
    """A run that cannot be regraded (not finished, its task or data gone or changed); one sentence."""


@dataclass
class Move:
    """One sample whose verdict moved: its score before and after, and what the model answered."""

    id: str
    before: dict[str, Any]
    after: dict[str, Any]
    response: str

    @property
    def kind(self) -> tuple[str, str]:
        return str(self.before.get("status")), str(self.after.get("status"))


@dataclass
class RegradeOutcome:
    """What a regrade did: where from and to, how many samples were graded again, what moved."""

    source: Path
    path: Path
    spec: GraderSpec
    in_place: bool
    graded: int = 0
    kept: int = 0  # failed or skipped samples, kept as they were
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[Move]] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)  # the old summary
    after: dict[str, Any] = field(default_factory=dict)  # the new summary
    wall_s: float = 0.0

    @property
    def moved(self) -> int:
        return sum(self.moves.values())

    def note(self, move: Move, keep: int) -> None:
        self.moves[move.kind] += 1
        kept = self.examples.setdefault(move.kind, [])
        if len(kept) < keep:
            kept.append(move)


def grading_code_digest() -> str:
    """A digest of the grading room's source (every ``evalkit/grading/*.py``): which graders graded."""
    h = hashlib.sha256()
    for path in sorted((Path(__file__).parent / "grading").glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


# -- finding the run's task and grader ---------------------------------------------------------------
def _task_for(record: dict[str, Any], source: Path, task: str | None, data: str | None,
              task_options: dict[str, Any] | None) -> Any:
    from evalkit.tasks import get_task

    rec = record.get("task") or {}
    name = str(rec.get("name") or "")
    origin = str(rec.get("source") or "")
    options = {**{str(k): v for k, v in (rec.get("options") or {}).items()}, **(task_options or {})}
    if task is None:
        task = origin if origin.endswith((".yaml", ".yml", ".jsonl")) and Path(origin).is_file() else name
    if not task:
        raise RegradeError(f"{source / 'run.json'}: names no task; give it with --task")
    if task.endswith(".jsonl"):
        options = {k: v for k, v in options.items() if k == "grader"}
    try:
        found = get_task(task, data=data, options=options)
    except EvalkitError as exc:
        raise RegradeError(f"{source}: its task cannot be loaded today ({exc}); give it with --task/--data") from None
    if name and found.name != name:
        raise RegradeError(f"{source} is a run of task {name!r}, and --task {task} is task {found.name!r}")
    return found


def _grader_for(record: dict[str, Any], source: Path, overrides: dict[str, Any] | None) -> GraderSpec:
    raw = (record.get("task") or {}).get("grader") or {}
    if not isinstance(raw, dict) or not raw.get("name"):
        raise RegradeError(f"{source / 'run.json'}: records no grader (task.grader)")
    spec = GraderSpec(str(raw["name"]), dict(raw.get("options") or {}))
    spec = spec.with_options(overrides or {}, "--grader-option")
    spec.check(f"{source}: the run's grader")
    if needs_judge(spec):
        raise RegradeError(f"{source}: its grader {spec.name!r} asks an LLM judge, and regrade asks no model; "
                           "run it again, or mark it with evalkit grade judge")
    return spec


def _same_target(stored: Any, target: Any) -> bool:
    if stored == target:
        return True
    return bool(json.loads(json.dumps(target, default=str)) == stored)


# -- grading -------------------------------------------------------------------------------------------
def _regradable(rec: dict[str, Any]) -> bool:
    """A sample the model answered (a failed call stays failed; a skipped one stays skipped)."""
    score = rec.get("score") or {}
    return rec.get("response") is not None and rec.get("error") is None and score.get("status") != "skipped"


def _after_run_marks(old: dict[str, Any]) -> list[Any]:
    marks = [m for m in (old.get("details") or {}).get("marks", []) if m.get("grader") in AFTER_RUN_MARKS]
    if not marks:
        return []
    from evalkit.grading.gaokao import Mark

    return [Mark.from_dict(m, float(old.get("max_points", 1.0))) for m in marks]


def _with_old_marks(new: Score, old: dict[str, Any], metadata: dict[str, Any], spec: GraderSpec) -> Score:
    """The new machine score with the teachers' (and post-run judges') marks of the old one laid over it."""
    marks = _after_run_marks(old)
    if not marks:
        return new
    from evalkit.grading.gaokao import threshold_for, with_marks

    return with_marks(new, marks, threshold_for(metadata, spec.options.get("threshold"), None))


def _light(rec: dict[str, Any], score: Score) -> SampleResult:
    """What the metrics read of a sample (no prompt, no response), to keep a big run's summary small."""
    u = rec.get("usage") or {}
    return SampleResult(str(rec["id"]), [], rec.get("target"), None, score,
                        usage=Usage(int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))),
                        latency_s=float(rec.get("latency_s") or 0.0), error=rec.get("error"),
                        cached=bool(rec.get("cached")), attempts=int(rec.get("attempts", 1)),
                        metadata=rec.get("metadata") or {})


def _moved(old: dict[str, Any], new: Score) -> bool:
    return old.get("status") != new.status or float(old.get("points", 0.0)) != new.points


async def _grade_into(records: Iterator[dict[str, Any]], samples: dict[str, Sample], spec: GraderSpec,
                      out: Any, outcome: RegradeOutcome, results: list[SampleResult], *, workers: int | None,
                      time_limit: float, task_name: str, examples: int) -> None:
    from collections import deque

    from evalkit.fileio import json_line
    from evalkit.pool import GradePool

    pool = GradePool(workers, time_limit)
    window: deque[tuple[dict[str, Any], asyncio.Future[Score] | None]] = deque()

    def settle(rec: dict[str, Any], fut: asyncio.Future[Score] | None) -> None:
        old = rec.get("score") or {}
        if fut is None:
            outcome.kept += 1
            results.append(_light(rec, Score.from_dict(old)))
            out.write(json_line(rec))
            return
        score = _with_old_marks(fut.result(), old, rec.get("metadata") or {}, spec)
        outcome.graded += 1
        new = score.to_dict()
        if _moved(old, score):
            outcome.note(Move(str(rec["id"]), old, new, str(rec.get("response"))[:2000]), examples)
        rec["score"] = new
        results.append(_light(rec, score))
        out.write(json_line(rec))

    try:
        for rec in records:
            sid = str(rec.get("id"))
            sample = samples.get(sid)
            if sample is None:
                raise RegradeError(f"{outcome.source}: sample {sid!r} is not in task {task_name!r} today; "
                                   "regrade grades the same questions (give --task/--data for the run's data)")
            if not _same_target(rec.get("target"), sample.target):
                raise RegradeError(f"{outcome.source}: sample {sid!r} has target {sample.target!r} in task "
                                   f"{task_name!r} today, {rec.get('target')!r} in the run; the task's data "
                                   "changed — regrade grades the same questions")
            fut = pool.submit(sample, str(rec["response"]), spec) if _regradable(rec) else None
            window.append((rec, fut))
            if len(window) >= WINDOW:
                rec0, fut0 = window.popleft()
                if fut0 is not None:
                    await fut0
                settle(rec0, fut0)
        while window:
            rec0, fut0 = window.popleft()
            if fut0 is not None:
                await fut0
            settle(rec0, fut0)
    finally:
        pool.close()


_ID = re.compile(r'\{"id": ("(?:[^"\\]|\\.)*"|-?\d+)[,}]')


def _line_id(line: str) -> str | None:
    """The id of a samples.jsonl line: read from its start as evalkit writes it, else by parsing it all."""
    m = _ID.match(line)
    if m:
        return str(json.loads(m.group(1)))
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    return str(rec["id"]) if isinstance(rec, dict) and "id" in rec else None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            if not line.endswith("\n"):
                return  # a torn last line of a killed writer
            yield i, line


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The run's sample records, streamed, each id once: a later line of an id replaces an earlier one
    (found in a first pass that reads only ids)."""
    latest: dict[str, int] = {}
    for i, line in _lines(path):
        sid = _line_id(line)
        if sid is not None:
            latest[sid] = i
    last = set(latest.values())
    for i, line in _lines(path):
        if i not in last:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("score"), dict):
            yield rec


# -- folders -------------------------------------------------------------------------------------------
def _new_folder(source: Path, output: Path | None) -> Path:
    if output is not None:
        if output.exists() and any(output.iterdir()):
            raise RegradeError(f"--output {output}: the folder exists and is not empty; choose a new one")
        return output
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = source.with_name(f"{source.name}-regraded-{stamp}")
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _copy_extras(source: Path, dest: Path) -> None:
    """Everything else the run folder holds (marking sheets, images...), but a report that is now stale."""
    for item in source.iterdir():
        if item.name in NOT_COPIED or item.name.startswith("."):
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.copytree(item, dest / item.name, symlinks=True)
        else:
            shutil.copy2(item, dest / item.name, follow_symlinks=False)


def _remove_stale_builds(source: Path) -> None:
    """Hidden folders left by regrades of this run that were killed (their process is gone)."""
    from evalkit.fileio import process_alive

    for stale in source.parent.glob(f".{source.name}*.regrade-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)) and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


# -- the whole regrade -----------------------------------------------------------------------------------
def regrade_run(source: str | Path, *, grader_options: dict[str, Any] | None = None, output: Path | None = None,
                in_place: bool = False, workers: int | None = None, time_limit: float = 30.0,
                task: str | None = None, data: str | None = None, task_options: dict[str, Any] | None = None,
                examples: int = EXAMPLES) -> RegradeOutcome:
    """Grade a finished run's stored responses again with today's graders (see the module's docstring).

    ``grader_options`` are laid over the grader options the run recorded; ``task``/``data``/``task_options``
    point at the run's task when it cannot be found as recorded. Returns what moved; the new folder is
    ``outcome.path`` (the source itself with ``in_place``). The run folder is locked meanwhile.
    """
    from evalkit.results import RUN_FILE, RunLock, load_run

    started = time.perf_counter()
    source = Path(source)
    if in_place and output is not None:
        raise RegradeError("--in-place and --output: choose one (in place rewrites the run folder itself)")
    if not (source / RUN_FILE).exists():
        load_run(source)  # says what is wrong with the folder
    lock = RunLock(source, "this regrade")
    try:
        run = load_run(source)
        status = run.record.get("status")
        if status != "finished":
            raise RegradeError(f"{source}: the run is {status or 'not finished'}; regrade re-scores finished "
                               f"runs (finish it first: evalkit run ... --output {source})")
        spec = _grader_for(run.record, source, grader_options)
        the_task = _task_for(run.record, source, task, data, task_options)
        the_task.grader = spec
        final = source if in_place else _new_folder(source, output)
        outcome = RegradeOutcome(source, final, spec, in_place, before=dict(run.summary))
        _remove_stale_builds(source)
        build = final.with_name(f".{final.name}.regrade-{os.getpid()}")
        try:
            _build(build, run, the_task, spec, outcome, workers=workers, time_limit=time_limit,
                   examples=examples, started=started)
            _publish(build, source, final, in_place)
        finally:
            if build.exists():
                shutil.rmtree(build, ignore_errors=True)
    finally:
        lock.release()
    return outcome


def _build(build: Path, run: Any, task: Any, spec: GraderSpec, outcome: RegradeOutcome, *, workers: int | None,
           time_limit: float, examples: int, started: float) -> None:
    """The whole new run folder under the hidden name ``build``: samples, summary, the rest, run.json last."""
    from evalkit.grading.metrics import summarize
    from evalkit.results import RUN_FILE, SAMPLES_FILE, environment_record, write_json_atomic, write_summary

    samples = {s.id: s for s in task.samples}
    results: list[SampleResult] = []
    build.mkdir(parents=True)
    with (build / SAMPLES_FILE).open("wb") as out:
        asyncio.run(_grade_into(_records(run.path / SAMPLES_FILE), samples, spec, out, outcome, results,
                                workers=workers, time_limit=time_limit, task_name=task.name, examples=examples))
        out.flush()
        os.fsync(out.fileno())
    _copy_extras(run.path, build)
    metrics = list(run.record.get("task", {}).get("metrics") or task.metrics)
    after = {**{k: v for k, v in run.summary.items() if k in ("task", "model", "timing")},
             **summarize(results, metrics)}
    after.setdefault("task", run.task)
    after.setdefault("model", run.model)
    outcome.wall_s = time.perf_counter() - started
    after["regraded"] = {"wall_s": round(outcome.wall_s, 3), "samples": outcome.graded, "moved": outcome.moved}
    write_summary(build, after)
    outcome.after = after
    write_json_atomic(build / RUN_FILE, _new_record(run.record, outcome.path, run.path, spec, outcome,
                                                    environment_record(), datetime.now(UTC).isoformat()))


def _publish(build: Path, source: Path, final: Path, in_place: bool) -> None:
    """Put the finished folder where it belongs: renamed into place, or exchanged with the original."""
    from evalkit.fileio import exchange_folders
    from evalkit.results import RUN_FILE, RunLock

    if not in_place:
        build.rename(final)
        return
    lock = RunLock(build, "this regrade")  # the new folder is locked too as it takes the old one's place
    try:
        exchange_folders(build, source)  # the old folder is now at `build`
        (build / RUN_FILE).unlink(missing_ok=True)  # nothing a report would read, even before it is removed
    finally:
        lock.release()


def _new_record(old: dict[str, Any], path: Path, source: Path, spec: GraderSpec, outcome: RegradeOutcome,
                env: dict[str, Any], at: str) -> dict[str, Any]:
    record = json.loads(json.dumps(old))
    task = record.setdefault("task", {})
    changed = task.get("grader") != spec.to_dict()
    task["grader"] = spec.to_dict()
    if changed:  # another grader is another definition: the report never pools it with the old runs
        task["hash"] = hashlib.sha256(json.dumps([task.get("hash"), spec.to_dict()], sort_keys=True,
                                                 default=str).encode()).hexdigest()[:16]
    record["id"] = path.name
    record["status"] = "finished"
    record["counts"] = {**record.get("counts", {}), **outcome.after.get("counts", {})}
    entry = {
        "from": old.get("id") or source.name, "from_path": str(source), "at": at, "in_place": outcome.in_place,
        "grader": spec.to_dict(), "grader_changed": changed, "grading_code": grading_code_digest(),
        "evalkit_version": env.get("evalkit_version"), "git_revision": env.get("git_revision"),
        "argv": env.get("argv"), "samples": outcome.graded, "kept": outcome.kept, "moved": outcome.moved,
        "moves": {f"{a} → {b}": n for (a, b), n in sorted(outcome.moves.items())},
    }
    record["regraded"] = [*old.get("regraded", []), entry]
    return record
