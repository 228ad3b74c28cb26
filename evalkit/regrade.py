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


# What a pool worker hands back for one record, as a plain tuple (cheap to pickle):
# (new samples.jsonl line, kept as it was, new score dict, old score dict if the verdict moved else None,
#  the answer's tail if it moved, the fields the metrics read (see _light), why the record is not the task's
#  question today or None)
Regraded = tuple[bytes, bool, dict[str, Any], dict[str, Any] | None, str, tuple[Any, ...], str | None]


def _metric_fields(rec: dict[str, Any], sample: Sample) -> tuple[Any, ...]:
    """What the metrics read of a record besides its score; its metadata only where it is not the sample's
    (the main process holds the samples: a big run's summary then costs no second copy of them)."""
    u = rec.get("usage") or {}
    meta = rec.get("metadata") or {}
    return (int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0)), float(rec.get("latency_s") or 0.0),
            rec.get("error"), bool(rec.get("cached")), int(rec.get("attempts", 1)),
            None if meta == sample.metadata else meta)


def _light(sample: Sample, fields: tuple[Any, ...], score: dict[str, Any]) -> SampleResult:
    """What the metrics read of a sample (no prompt, no response), to keep a big run's summary small."""
    prompt_tokens, completion_tokens, latency, error, cached, attempts, metadata = fields
    return SampleResult(sample.id, [], sample.target, None, Score.from_dict(score),
                        usage=Usage(prompt_tokens, completion_tokens), latency_s=latency, error=error, cached=cached,
                        attempts=attempts, metadata=sample.metadata if metadata is None else metadata)


def _moved(old: dict[str, Any], new: Score) -> bool:
    return old.get("status") != new.status or float(old.get("points", 0.0)) != new.points


def _with_score(line: str, rec: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> bytes:
    """The record's line with its new score: the old score's text replaced where evalkit wrote it (the rest
    of the line is then byte for byte what re-writing the whole record gives), else the record written anew."""
    from evalkit.fileio import encode_text, json_line

    old_text = '"score": ' + json.dumps(old, ensure_ascii=False, default=str)
    at = line.rfind(old_text)
    if at < 0 or line.find(old_text) != at:
        return json_line(rec)
    new_text = '"score": ' + json.dumps(new, ensure_ascii=False, default=str)
    return encode_text(line[:at] + new_text + line[at + len(old_text):])


# The task's samples, by id, while a regrade runs: the pool's workers are forked after it is set, so a job
# names its sample by id instead of sending it through the pipe.
_SAMPLES: dict[str, Sample] = {}


def regrade_line(line: str, sid: str, spec: GraderSpec) -> Regraded:
    """Grade one stored record again. A pool job: parsing, grading and writing the line all happen in the
    worker, so every core shares them."""
    from evalkit.fileio import json_line
    from evalkit.pool import grade_job

    sample = _SAMPLES[sid]
    rec = json.loads(line)
    old = rec["score"]
    fields = _metric_fields(rec, sample)
    if not _same_target(rec.get("target"), sample.target):
        return (b"", False, old, None, "", fields, f"sample {sample.id!r} has target {sample.target!r} in the "
                f"task today, {rec.get('target')!r} in the run")
    if not _regradable(rec):
        return json_line(rec), True, old, None, "", fields, None
    score = _with_old_marks(grade_job(sample, str(rec["response"]), spec), old, rec.get("metadata") or {}, spec)
    new = score.to_dict()
    rec["score"] = new
    moved = _moved(old, score)
    return (_with_score(line, rec, old, new), False, new, old if moved else None,
            str(rec.get("response"))[-2000:] if moved else "", fields, None)


def _failed_job(line: str, sample: Sample, spec: GraderSpec, exc: BaseException, limit: float) -> Regraded | None:
    """A record whose job ran past the time limit or whose worker died: graded ``timeout`` / ``error``
    here, as the runner would have; ``None`` for a line that is not a record."""
    from evalkit.fileio import json_line
    from evalkit.pool import GradeTimeout, timeout_score

    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    old = rec["score"]
    if not _regradable(rec):
        return json_line(rec), True, old, None, "", _metric_fields(rec, sample), None
    score = (timeout_score(sample, spec, limit) if isinstance(exc, GradeTimeout)
             else Score.error(str(exc), sample.max_points))
    rec["score"] = new = score.to_dict()
    return (json_line(rec), False, new, old if _moved(old, score) else None, str(rec.get("response"))[-2000:],
            _metric_fields(rec, sample), None)


async def _grade_into(lines: Iterator[tuple[str, str]], samples: dict[str, Sample], spec: GraderSpec,
                      out: Any, outcome: RegradeOutcome, results: list[SampleResult], *, workers: int | None,
                      time_limit: float, task_name: str, examples: int) -> None:
    from collections import deque

    from evalkit.pool import GradePool

    _SAMPLES.clear()
    _SAMPLES.update(samples)  # before the pool forks its workers
    pool = GradePool(workers, time_limit)
    window: deque[tuple[str, Sample, asyncio.Future[Regraded]]] = deque()

    def settle(line: str, sample: Sample, fut: asyncio.Future[Regraded]) -> None:
        exc = fut.exception()
        done = fut.result() if exc is None else _failed_job(line, sample, spec, exc, time_limit)
        if done is None:
            return
        new_line, kept, score, before, response, fields, changed = done
        if changed:
            raise RegradeError(f"{outcome.source}: {changed}; the data of task {task_name!r} changed — "
                               "regrade grades the same questions")
        if kept:
            outcome.kept += 1
        else:
            outcome.graded += 1
        if before is not None:
            outcome.note(Move(sample.id, before, score, response), examples)
        results.append(_light(sample, fields, score))
        out.write(new_line)

    try:
        for n, (sid, line) in enumerate(lines, 1):
            sample = samples.get(sid)
            if sample is None:
                raise RegradeError(f"{outcome.source}: sample {sid!r} is not in task {task_name!r} today; "
                                   "regrade grades the same questions (give --task/--data for the run's data)")
            window.append((line, sample, pool.submit_call(regrade_line, line, sid, spec)))
            if n % 32 == 0:
                await asyncio.sleep(0)  # a turn of the loop: finished batches come in, idle workers get more
            if len(window) >= WINDOW:
                line0, sample0, fut0 = window.popleft()
                if not fut0.done():  # most are: they come back a batch at a time
                    await asyncio.wait([fut0])
                settle(line0, sample0, fut0)
        while window:
            line0, sample0, fut0 = window.popleft()
            if not fut0.done():
                await asyncio.wait([fut0])
            settle(line0, sample0, fut0)
    finally:
        pool.close()
        _SAMPLES.clear()


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


def _records(path: Path) -> Iterator[tuple[str, str]]:
    """The run's sample lines with their ids, streamed, each id once: a later line of an id replaces an
    earlier one (found in a first pass that reads only ids)."""
    latest: dict[str, int] = {}
    for i, line in _lines(path):
        sid = _line_id(line)
        if sid is not None:
            latest[sid] = i
    wanted = {i: sid for sid, i in latest.items()}
    for i, line in _lines(path):
        sid = wanted.get(i)
        if sid is not None:
            yield sid, line


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
