"""The async engine: render → (cache | adapter.generate with retries) → grade off-loop → stream to disk.

One sample travels one way and is written once. The runner knows nothing of how a task scores
or how an adapter talks: it only orchestrates concurrency, retries, timeouts, the cache,
resume, the grading pool and progress.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from evalkit.adapters import Adapter
from evalkit.cache import ResponseCache, request_key
from evalkit.errors import EvalkitError
from evalkit.fileio import safe_name
from evalkit.grading import GraderSpec, grade_async, needs_judge
from evalkit.grading.metrics import summarize
from evalkit.grading.offload import OFFLOAD
from evalkit.pool import GradePool, GradeTimeout, timeout_score
from evalkit.preflight import TaskCheck
from evalkit.progress import Progress, RunStats
from evalkit.results import (
    RUN_FILE,
    SAMPLES_FILE,
    RunLock,
    SampleWriter,
    compact_samples,
    environment_record,
    iter_sample_lines,
    now_iso,
    write_json_atomic,
    write_summary,
)
from evalkit.tasks import Task
from evalkit.types import GenerationConfig, Message, Request, Response, Sample, SampleResult, Score, Text

ImagePolicy = Literal["send", "skip", "text"]


class RunError(EvalkitError, ValueError):
    """A run that cannot start (bad output folder, nothing to do); one sentence for the user."""


@dataclass
class RunConfig:
    concurrency: int = 32
    max_retries: int = 3
    timeout_s: float = 120.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    limit: int | None = None
    ids: list[str] | None = None
    seed: int | None = None
    output: Path | None = None
    results_root: Path = Path("results")
    use_cache: bool = True
    cache_path: Path | None = None
    grade_workers: int | None = None  # grading processes; None: one per core
    grade_time_limit_s: float = 30.0
    images: ImagePolicy = "send"
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    judge: Adapter | None = None
    progress: bool = True


@dataclass
class RunOutcome:
    """How a run ended: its folder, its summary (``None`` when it stopped early) and why it stopped."""

    path: Path
    summary: dict[str, Any] | None
    stats: RunStats
    stopped: str | None = None  # the one sentence saying why the endpoint cannot serve the run
    # every record of the folder's samples.jsonl as the summary read it (latest per id, in the file's order),
    # when that is the whole file (reading the folder back gives the same): the report at the end reuses it
    results: list[SampleResult] | None = field(default=None, repr=False)

    @property
    def not_sent(self) -> int:
        return self.stats.total - self.stats.done


UNUSABLE_AFTER = 3  # samples in a row whose endpoint said it cannot serve the run, before the run stops


class EndpointGuard:
    """Stops a run (or a sweep's endpoint) when the endpoint itself is unusable.

    Every sample's final response is observed; ``UNUSABLE_AFTER`` in a row whose failure says the
    endpoint cannot serve the run (:attr:`~evalkit.types.Response.unusable`: the key refused, the model
    unknown, no server at the base URL) set :attr:`stopped` to that sentence. Any other outcome breaks
    the streak. Samples not yet sent stay unsent, so re-running resumes them.
    """

    def __init__(self, after: int = UNUSABLE_AFTER) -> None:
        self.after = after
        self.streak = 0
        self.stopped: str | None = None

    def observe(self, response: Response) -> None:
        if response.unusable is None:
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= self.after and self.stopped is None:
            self.stopped = response.unusable


def default_run_dir(root: Path, task: Task, adapter: Adapter) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = root / f"{safe_name(task.name)}__{safe_name(adapter.label)}__{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def select_samples(task: Task, cfg: RunConfig) -> list[Sample]:
    samples = task.samples
    if cfg.ids:
        wanted = set(cfg.ids)
        missing = wanted - {s.id for s in samples}
        if missing:
            raise RunError(f"--ids: no sample(s) {', '.join(sorted(missing)[:5])} in task {task.name!r}")
        samples = [s for s in samples if s.id in wanted]
    if cfg.limit is not None:
        samples = samples[: cfg.limit]
    return samples


def _old_record(path: Path) -> dict[str, Any] | None:
    """The run.json already in a folder (read once), or None when there is none or it cannot be read."""
    try:
        record = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def _check_resumable(path: Path, old: dict[str, Any] | None, task: Task, adapter: Adapter,
                     cfg: RunConfig | None = None) -> None:
    """A folder may be resumed only by the run it holds: the same task and model, and (with ``cfg``) the
    same settings — whatever changes an answer or its grade. Otherwise one sentence says what differs."""
    if old is None:
        raise RunError(f"{path}: has a samples file but no readable {RUN_FILE}; choose another --output")
    old_task = old.get("task", {}).get("name")
    old_model = old.get("adapter", {}).get("uri")
    if old_task != task.name or old_model != adapter.uri:
        raise RunError(
            f"--output {path} holds a run of task {old_task!r} with model {old_model!r}, not {task.name!r} "
            f"with {adapter.uri!r}; choose another folder"
        )
    if cfg is None:
        return
    differences = settings_differences(old, _settings(task, adapter, cfg), adapter.transport_options)
    if differences:
        raise RunError(f"--output {path} holds a run made with other settings ({'; '.join(differences)}); "
                       "resume it with the same settings, or give another --output for a new run")


# where the endpoint is and how we talk to it are not settings of the answers (a server may move)
_NOT_SETTINGS = frozenset({"base_url", "api_key_env"})


def _settings(task: Task, adapter: Adapter, cfg: RunConfig) -> dict[str, Any]:
    """What a resumed run must share with the run it continues, as run.json records it."""
    return {
        "generation": run_generation(task, cfg).to_dict(),
        "prompt": task.prompt_hash,
        "version": task.version,
        "grader": task.grader.to_dict(),
        "dataset": task.dataset_fingerprint(),
        "model options": adapter.identity().get("options", {}),
        "images": cfg.images,
        "judge": cfg.judge.identity().get("uri") if cfg.judge else None,
    }


def settings_differences(old: dict[str, Any], now: dict[str, Any], transport: frozenset[str] = frozenset()) -> list[str]:
    """What differs between a run.json and the settings of a run about to resume it, each as ``what: X
    there, Y now``. A field the old record lacks is not compared; transport options are never compared."""
    task = old.get("task", {})
    before = {
        "generation": old.get("generation"),
        "prompt": task.get("prompt_hash"),
        "version": task.get("version"),
        "grader": task.get("grader"),
        "dataset": task.get("dataset_fingerprint"),
        "model options": (old.get("adapter") or {}).get("options"),
        "images": (old.get("config") or {}).get("images"),
        "judge": (old.get("judge") or {}).get("uri") if "judge" in old else now["judge"],
    }
    out: list[str] = []
    for key, value in now.items():
        was = before[key]
        if key == "model options" and isinstance(was, dict):
            skip = transport | _NOT_SETTINGS
            was = {k: v for k, v in was.items() if k not in skip}
            value = {k: v for k, v in value.items() if k not in skip}
        if was == value or (was is None and key != "judge"):
            continue
        if key in ("generation", "model options") and isinstance(was, dict):
            label = "generation " if key == "generation" else "-M "
            out += [f"{label}{k}: {_shown(was.get(k))} there, {_shown(value.get(k))} now"
                    for k in sorted(set(was) | set(value)) if was.get(k) != value.get(k)]
        elif key == "prompt":
            out.append("the prompt template or system prompt changed")
        elif key == "dataset":
            out.append("the task's samples changed (dataset fingerprint)")
        else:
            out.append(f"{key}: {_shown(was)} there, {_shown(value)} now")
    return out


def _shown(value: Any) -> str:
    return "unset" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def load_finished(path: Path) -> dict[str, dict[str, Any]]:
    """Finished samples already in a run folder (errors are not finished: they are tried again)."""
    done: dict[str, dict[str, Any]] = {}
    for rec in iter_sample_lines(path / SAMPLES_FILE):
        if "id" in rec and "score" in rec:
            done[str(rec["id"])] = rec
    return {k: v for k, v in done.items() if v["score"].get("status") != "error"}


class SampleEvaluator:
    """One sample from prompt to score, in memory: render, ask (the cache, else the adapter with
    retries and a timeout), grade (the pool, or the judge). Everything it uses is handed in when it
    is built, so it can run anywhere a sample can: in a run, a sweep's worker, a remote actor.
    """

    def __init__(self, task: Task, adapter: Adapter, cfg: RunConfig, *, pool: GradePool,
                 cache: ResponseCache | None = None, stats: RunStats | None = None,
                 guard: EndpointGuard | None = None) -> None:
        self.task = task
        self.adapter = adapter
        self.cfg = cfg
        self.generation = run_generation(task, cfg)
        self.pool = pool
        self.cache = cache if adapter.cacheable else None
        self.stats = stats if stats is not None else RunStats()
        self.guard = guard if guard is not None else EndpointGuard()  # a sweep shares one per endpoint
        self._cache_identity = adapter.cache_identity()
        self._judge_fn = _judge_fn(cfg.judge) if cfg.judge else None

    def _messages(self, sample: Sample) -> tuple[tuple[Message, ...] | None, tuple[Message, ...], dict[str, Any]]:
        """What to send (None: skip the sample), what the results show, and what the image policy did."""
        messages = self.task.render(sample)
        if not sample.images or not (self.adapter.text_only or self.cfg.images != "send"):
            return messages, messages, {}
        if self.cfg.images == "skip" or (self.adapter.text_only and self.cfg.images == "send"):
            return None, messages, {"images": "skipped"}
        stripped = tuple(Message(m.role, tuple(p for p in m.content if isinstance(p, Text))) for m in messages)
        return stripped, stripped, {"images": "text_only"}

    async def _generate(self, request: Request) -> tuple[Response, int, bool]:
        key = None
        if self.cache is not None:
            key = request_key(self._cache_identity, request)
            hit = self.cache.get(key)
            if hit is not None:
                return self.adapter.finish(hit), 0, True
        cfg = self.cfg
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and self.guard.stopped:
                break  # the endpoint is unusable: no more tries
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(cfg.timeout_s):  # in this task: no task and loop turns per call
                    resp = await self.adapter.respond(request)
            except TimeoutError:
                resp = Response(error=f"no answer within {cfg.timeout_s:g}s", retryable=True)
            except Exception as exc:  # an adapter bug is an error on this sample, not a crash
                resp = Response(error=f"{type(exc).__name__}: {exc}")
            if not resp.latency_s:
                resp = replace(resp, latency_s=time.perf_counter() - t0)
            if resp.ok or not resp.retryable or attempt > cfg.max_retries:
                break
            self.stats.retries += 1
            delay = resp.retry_after
            if delay is None:
                delay = min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** (attempt - 1)) * (0.5 + random.random())
            await asyncio.sleep(min(delay, cfg.backoff_max_s))
        if key is not None and resp.ok and self.cache is not None:
            self.cache.put(key, resp)
        return resp, attempt, False

    async def _grade(self, sample: Sample, text: str) -> Score:
        spec: GraderSpec = self.task.grader
        if not needs_judge(spec):
            return await self.pool.grade(sample, text, spec)
        # judge mode: only the judge call runs on this loop; the scorer's deterministic marking goes
        # through the grading pool (evalkit.grading.offload), under the same time limit as every grade
        token = OFFLOAD.set(self.pool.call)
        try:
            return await grade_async(sample, text, spec, self._judge_fn)
        except GradeTimeout:
            return timeout_score(sample, spec, self.pool.time_limit)
        except RuntimeError as exc:  # the marking raised, or its worker died
            return Score.error(str(exc), sample.max_points)
        finally:
            OFFLOAD.reset(token)

    async def run_one(self, sample: Sample) -> SampleResult:
        sent, shown, extra_meta = self._messages(sample)
        prompt = [m.to_dict() for m in shown]
        meta = {**sample.metadata, **extra_meta}
        meta.pop("reference_response", None)
        question = question_text(sample)
        if sent is None:
            score = Score(0.0, "skipped", 0.0, sample.max_points, stage="skipped",
                          reason="image question skipped for a text-only model")
            return SampleResult(sample.id, prompt, sample.target, None, score, metadata=meta, attempts=0,
                                question=question)
        request = Request(sent, self.generation, sample)
        resp, attempts, cached = await self._generate(request)
        self.guard.observe(resp)
        if not resp.ok:
            score = Score.error(resp.error or "error", sample.max_points)
        else:
            score = await self._grade(sample, resp.text)
        return SampleResult(sample.id, prompt, sample.target, resp.text if resp.ok else None, score,
                            usage=resp.usage, latency_s=resp.latency_s, error=resp.error,
                            reasoning=resp.reasoning, cached=cached, attempts=attempts, metadata=meta,
                            question=question)


def question_text(sample: Sample) -> str:
    """The sample's question as a person reads it: its text, then its options (``A. …``), no template."""
    from evalkit.tasks.prompt import format_options

    options = format_options(sample.choices)
    return f"{sample.text}\n{options}" if options else sample.text


class RunFolder:
    """A run folder opened for this run: its record (run.json), the samples left to run, and
    ``samples.jsonl`` open for appending. :meth:`open` makes all of them at once (resuming what the
    folder holds), so a RunFolder can always be written to until it is closed.
    """

    def __init__(self, task: Task, model: str, cfg: RunConfig, path: Path, record: dict[str, Any],
                 todo: list[Sample], stats: RunStats, on_result: Callable[[SampleResult], None] | None = None) -> None:
        self.task = task
        self.model = model
        self.cfg = cfg
        self.path = path
        self.record = record
        self.todo = todo
        self.stats = stats
        self.on_result = on_result
        self.writer = SampleWriter(path / SAMPLES_FILE)
        self.lock: RunLock | None = None  # the folder's lock, held until release()
        self.results: list[SampleResult] | None = None  # what finish() read, when it is the whole file

    @classmethod
    def open(cls, task: Task, adapter: Adapter, cfg: RunConfig, stats: RunStats,
             on_result: Callable[[SampleResult], None] | None = None, *,
             old: dict[str, Any] | None | bool = False) -> RunFolder:
        """Create (or resume) the folder, write its run.json, and open it for the samples left. ``old`` is
        the folder's run.json when the caller already read it (None: there is none), else it is read here."""
        path = cfg.output or default_run_dir(cfg.results_root, task, adapter)
        samples = select_samples(task, cfg)
        lock = RunLock.take(path, "this run (--output)")  # one writer per folder, for the run's lifetime
        if old is False:
            old = _old_record(path) if (path / RUN_FILE).exists() else None
        assert not isinstance(old, bool)
        finished: dict[str, dict[str, Any]] = {}
        if (path / SAMPLES_FILE).exists():
            _check_resumable(path, old, task, adapter, cfg)
            finished = load_finished(path)
            compact_samples(path / SAMPLES_FILE, finished)
        path.mkdir(parents=True, exist_ok=True)
        todo = [s for s in samples if s.id not in finished]
        stats.total = len(todo)
        stats.resumed = len(samples) - len(todo)
        record = _record(path, task, adapter, cfg, old or {}, len(samples), len(finished))
        write_json_atomic(path / RUN_FILE, record)
        folder = cls(task, adapter.label, cfg, path, record, todo, stats, on_result)
        folder.lock = lock
        return folder

    def write(self, result: SampleResult) -> None:
        """Append a finished sample to ``samples.jsonl`` and count it."""
        self.writer.write(result)
        s = self.stats
        s.done += 1
        status = result.score.status
        if status == "error":
            s.errors += 1
        elif status == "skipped":
            s.skipped += 1
        else:
            s.graded += 1
            s.value_sum += result.score.value
        if self.on_result:
            self.on_result(result)

    def close(self) -> None:
        self.writer.close()

    def release(self) -> None:
        """Let go of the folder's lock (after the last write; the process's exit does it too)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def mark(self, status: str, reason: str | None = None) -> None:
        """Record in run.json that the run ended without finishing (``stopped``, ``interrupted``, ``unfinished``)."""
        self.record.update(status=status, ended=now_iso(),
                           counts={**self.record["counts"], "sent": self.stats.done,
                                   "not_sent": self.stats.total - self.stats.done})
        if reason:
            self.record["stop_reason"] = reason
        write_json_atomic(self.path / RUN_FILE, self.record)

    def finish(self) -> dict[str, Any]:
        """Close the samples file, summarise it into summary.json and mark run.json finished."""
        self.close()
        wanted = {s.id for s in select_samples(self.task, self.cfg)}
        latest: dict[str, SampleResult] = {}
        whole = True  # every line is a record of this run's selection
        for rec in iter_sample_lines(self.path / SAMPLES_FILE):
            if str(rec.get("id")) in wanted:
                latest[str(rec["id"])] = SampleResult.from_dict(rec)
            else:
                whole = False
        results = list(latest.values())
        self.results = results if whole else None
        summary = summarize(results, self.task.metrics)
        summary["task"] = self.task.name
        summary["model"] = self.model
        summary["timing"] = {
            "wall_s": round(time.perf_counter() - self.stats.started, 3),
            "samples_per_s": round(self.stats.rate, 2),
            "retries": self.stats.retries,
            "grading_timeouts": sum(1 for r in results if r.score.stage == "timeout"),
        }
        write_summary(self.path, summary)
        self.record.update(status="finished", finished=now_iso(), counts={**self.record["counts"], **summary["counts"]})
        write_json_atomic(self.path / RUN_FILE, self.record)
        return summary


def run_generation(task: Task, cfg: RunConfig) -> GenerationConfig:
    """The generation settings of a run: the task's, overridden by the run's, with the run's seed."""
    generation = task.generation.merged(cfg.generation)
    if cfg.seed is not None and generation.seed is None:
        generation = replace(generation, seed=cfg.seed)
    return generation


def _record(path: Path, task: Task, adapter: Adapter, cfg: RunConfig, old: dict[str, Any],
            n_samples: int, n_resumed: int) -> dict[str, Any]:
    t = task
    return {
        "id": path.name,
        "status": "running",
        "task": {
            "name": t.name, "version": t.version, "description": t.description, "source": t.source,
            "hash": t.definition_hash, "prompt_hash": t.prompt_hash,
            "dataset": t.dataset.describe() if t.dataset else t.source,
            "dataset_fingerprint": t.dataset_fingerprint(),
            "grader": t.grader.to_dict(), "metrics": t.metrics, "modality": t.modality,
            "options": {k: str(v) for k, v in t.options.items()},
        },
        "adapter": {**adapter.identity(), "name": adapter.label},
        "judge": cfg.judge.identity() if cfg.judge else None,
        "generation": run_generation(task, cfg).to_dict(),
        "config": {
            "concurrency": cfg.concurrency, "max_retries": cfg.max_retries,
            "timeout_s": cfg.timeout_s, "limit": cfg.limit, "ids": cfg.ids,
            "seed": cfg.seed, "cache": cfg.use_cache, "images": cfg.images,
            "grade_time_limit_s": cfg.grade_time_limit_s,
        },
        "env": environment_record(),
        "started": old.get("started") or now_iso(),
        "resumed": [*old.get("resumed", []), now_iso()] if n_resumed else old.get("resumed", []),
        "finished": None,
        "counts": {"samples": n_samples, "task_samples": len(task.samples), "already_done": n_resumed},
    }


def _judge_fn(judge: Adapter) -> Callable[[str], Any]:
    async def ask(prompt: str) -> str:
        resp = await judge.respond(Request((Message("user", (Text(prompt),)),), GenerationConfig(temperature=0.0)))
        if not resp.ok:
            raise RuntimeError(f"judge {judge.uri} failed: {resp.error}")
        return resp.text

    return ask


class Runner:
    """Runs one task against one adapter into one run folder.

    :meth:`run` does it all in this process. A sweep splits the same run in two: its driver opens the
    folder (:meth:`open_folder`) and writes what comes back; its workers evaluate samples with
    :meth:`evaluator`, built with the cache and grading pool they own.
    """

    def __init__(self, task: Task, adapter: Adapter, cfg: RunConfig,
                 on_result: Callable[[SampleResult], None] | None = None) -> None:
        self.task = task
        self.adapter = adapter
        self.path = cfg.output or default_run_dir(cfg.results_root, task, adapter)  # the run folder, fixed now
        self.cfg = replace(cfg, output=self.path)
        self.stats = RunStats()
        self.on_result = on_result
        self.checked: TaskCheck | None = None  # what the checks before the first call found
        self._old: dict[str, Any] | None = None  # the folder's run.json, read once by check()

    def check(self, task_check: TaskCheck | None = None) -> TaskCheck:
        """Every check before the first model call (:mod:`evalkit.preflight`): the task, its samples, every
        prompt and image, the adapters, the folder to resume. ``task_check`` is the task's check already
        done for another model of a sweep. Nothing is written."""
        if self.checked is None:
            from evalkit import preflight

            if task_check is None:
                samples = select_samples(self.task, self.cfg)
                task_check = preflight.check_task(self.task, samples, judge=self.cfg.judge is not None)
            preflight.check_adapter(self.adapter)
            if self.cfg.judge is not None:
                preflight.check_adapter(self.cfg.judge, "--judge")
            self._old = _old_record(self.path) if (self.path / RUN_FILE).exists() else None
            if (self.path / SAMPLES_FILE).exists():
                _check_resumable(self.path, self._old, self.task, self.adapter, self.cfg)
            self.checked = task_check
        return self.checked

    def finished_before(self) -> int:
        """Samples of this run already finished in its folder (what a resume skips)."""
        if not (self.path / SAMPLES_FILE).exists():
            return 0
        wanted = {s.id for s in self.check().samples}
        return sum(1 for sid in load_finished(self.path) if sid in wanted)

    def open_folder(self) -> RunFolder:
        """Check everything (:meth:`check`), then create or resume the run folder."""
        self.check()
        return RunFolder.open(self.task, self.adapter, self.cfg, self.stats, self.on_result, old=self._old)

    def evaluator(self, cache: ResponseCache | None, pool: GradePool,
                  guard: EndpointGuard | None = None) -> SampleEvaluator:
        return SampleEvaluator(self.task, self.adapter, self.cfg, pool=pool, cache=cache, stats=self.stats,
                               guard=guard)

    async def run(self) -> RunOutcome:
        folder = self.open_folder()
        try:
            return await self._run(folder)
        finally:
            folder.release()

    async def _run(self, folder: RunFolder) -> RunOutcome:
        cfg = self.cfg
        guard = EndpointGuard()
        try:
            cache = ResponseCache(cfg.cache_path) if cfg.use_cache and self.adapter.cacheable else None
            pool = GradePool(cfg.grade_workers, cfg.grade_time_limit_s)
            try:
                await self._evaluate(folder, self.evaluator(cache, pool, guard))
            finally:
                if cache is not None:
                    cache.close()
                pool.close()
        except (asyncio.CancelledError, KeyboardInterrupt):
            folder.mark("interrupted")
            raise
        finally:
            folder.close()
            await self.adapter.aclose()
            if cfg.judge is not None:
                await cfg.judge.aclose()
        if guard.stopped:
            folder.mark("stopped", guard.stopped)
            return RunOutcome(folder.path, None, self.stats, stopped=guard.stopped)
        summary = folder.finish()
        return RunOutcome(folder.path, summary, self.stats, results=folder.results)

    async def _evaluate(self, folder: RunFolder, evaluator: SampleEvaluator) -> None:
        pending = iter(folder.todo)  # shared by the workers: next() never awaits, so each sample is taken once
        label = f"{self.task.name} × {self.adapter.label}"
        with Progress(label, self.stats, enabled=self.cfg.progress) as progress:
            async def worker() -> None:
                for sample in pending:
                    if evaluator.guard.stopped:
                        break  # the rest stay unsent, to be resumed
                    folder.write(await evaluator.run_one(sample))
                    progress.update()

            n_workers = max(1, min(self.cfg.concurrency, len(folder.todo)))
            await asyncio.gather(*(worker() for _ in range(n_workers)))


def run_sync(task: Task, adapter: Adapter, cfg: RunConfig) -> RunOutcome:
    """Run a task to completion from synchronous code; Ctrl-C raises :class:`~evalkit.verdict.Interrupted`
    naming the run folder (whose run.json then says ``interrupted``)."""
    from evalkit.verdict import Interrupted

    runner = Runner(task, adapter, cfg)
    try:
        return asyncio.run(runner.run())
    except KeyboardInterrupt:
        raise Interrupted([runner.path] if (runner.path / RUN_FILE).exists() else []) from None
