"""Sweeps: models × tasks (× seeds) planned into units, run by an executor, written by one driver.

This room owns the sweep file (YAML) and its validation, planning a sweep into run folders (one
per task × model × seed, exactly what ``evalkit run`` writes, resumed like it) and units (a shard
of one run's unfinished samples), and the :class:`Ledger`: the driver's record of the sweep and the
only writer of run folders. It writes each graded sample once (a second copy of a sample, e.g. from
a retried unit, is dropped), finishes a run folder when its last unit is in, and counts failed
units. Where units run is the executors' business (:mod:`evalkit.executors`); how a sample is
evaluated is the runner's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evalkit.adapters import Adapter, make_adapter
from evalkit.errors import EvalkitError
from evalkit.fileio import read_text, safe_name
from evalkit.progress import SweepProgress, SweepStats
from evalkit.results import RUN_FILE, SAMPLES_FILE
from evalkit.runner import RunConfig, RunFolder, Runner, default_run_dir, load_finished
from evalkit.tasks import Task
from evalkit.types import GenerationConfig, Sample, SampleResult

EXECUTORS = ("local", "ray")


class SweepError(EvalkitError, ValueError):
    """A sweep file or flag that cannot be run; the message names the file and field or the flag."""


# -- what a sweep is ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    """One model of a sweep: its adapter URI and ``-M`` options, plus how Ray should place it.

    ``gpus`` (default 1 for an adapter that ``needs_gpu``), ``replicas`` and ``resources`` only
    matter on Ray, where a local model is served by ``replicas`` actors each asking for ``gpus``
    GPUs and the custom ``resources``.
    """

    uri: str
    options: dict[str, Any] = field(default_factory=dict)
    gpus: float | None = None
    replicas: int = 1
    resources: dict[str, float] = field(default_factory=dict)

    def build(self) -> Adapter:
        return make_adapter(self.uri, dict(self.options))


@dataclass
class SweepTask:
    """One task of a sweep, loaded, with the slice of its samples to run."""

    task: Task
    limit: int | None = None
    ids: list[str] | None = None


@dataclass
class Sweep:
    """Models × tasks × seeds, with the run settings they share.

    ``config`` is the template of every run's :class:`~evalkit.runner.RunConfig`; its
    ``concurrency`` is the default limit of requests in flight per endpoint (``endpoints`` sets
    others, keyed by base URL or model URI). ``output`` is the sweep folder holding one run folder
    per task × model × seed; without it (``evalkit run`` with several models) each run gets a new
    timestamped folder under ``config.results_root``.
    """

    tasks: list[SweepTask]
    models: list[ModelSpec]
    config: RunConfig = field(default_factory=RunConfig)
    seeds: list[int | None] = field(default_factory=lambda: [None])
    name: str = "sweep"
    output: Path | None = None
    endpoints: dict[str, int] = field(default_factory=dict)
    shard_size: int = 100
    max_attempts: int = 3
    executor: str = "local"
    address: str | None = None
    judge: ModelSpec | None = None

    def limit_for(self, endpoint: str, uri: str) -> int:
        return int(self.endpoints.get(endpoint) or self.endpoints.get(uri) or self.config.concurrency)


# -- the sweep file -----------------------------------------------------------------------------------

TOP_KEYS = {"name", "output", "include", "tasks", "models", "seeds", "repeats", "concurrency", "endpoints",
            "shard_size", "max_attempts", "executor", "address", "judge", "run", "generation"}
TASK_KEYS = {"name", "data", "options", "grader_options", "limit", "ids"}
MODEL_KEYS = {"uri", "options", "gpus", "replicas", "resources"}
RUN_KEYS = {"limit", "ids", "seed", "max_retries", "timeout", "grade_timeout", "cache", "images", "results_dir"}


def _where(path: Path | None, key: str) -> str:
    return f"{path}: field '{key}'" if path else f"sweep field '{key}'"


def _mapping(value: Any, path: Path | None, key: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        where = _where(path, key) if key else f"{path or 'the sweep'}:"
        raise SweepError(f"{where} must be a mapping, not {type(value).__name__}")
    if allowed is not None:
        for k in value:
            if k not in allowed:
                raise SweepError(f"{_where(path, f'{key}.{k}' if key else str(k))} is not allowed here; "
                                 f"allowed: {', '.join(sorted(allowed))}")
    return value


def _int(value: Any, path: Path | None, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SweepError(f"{_where(path, key)} must be an integer of at least {minimum}, not {value!r}")
    return value


def _options(value: Any, path: Path | None, key: str) -> dict[str, Any]:
    """``-M``/``-T`` options as the CLI would give them (values as strings, mappings as they are)."""
    raw = _mapping(value, path, key)
    return {str(k): v if isinstance(v, dict | list) else ("" if v is None else str(v)) for k, v in raw.items()}


def model_spec(raw: Any, path: Path | None = None, key: str = "models") -> ModelSpec:
    """A model entry: a URI string, or ``{uri, options, gpus, replicas, resources}``."""
    if isinstance(raw, str):
        return ModelSpec(raw)
    entry = _mapping(raw, path, key, MODEL_KEYS)
    if not isinstance(entry.get("uri"), str) or not entry["uri"]:
        raise SweepError(f"{_where(path, key + '.uri')} is required: the model's adapter URI, e.g. openai:qwen2.5-7b")
    gpus = entry.get("gpus")
    if gpus is not None and (isinstance(gpus, bool) or not isinstance(gpus, int | float) or gpus < 0):
        raise SweepError(f"{_where(path, key + '.gpus')} must be a number of GPUs (0 or more), not {gpus!r}")
    resources = _mapping(entry.get("resources"), path, key + ".resources")
    for name, amount in resources.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
            raise SweepError(f"{_where(path, f'{key}.resources.{name}')} must be a non-negative number")
    return ModelSpec(entry["uri"], _options(entry.get("options"), path, key + ".options"), gpus,
                     _int(entry.get("replicas", 1), path, key + ".replicas"),
                     {str(k): float(v) for k, v in resources.items()})


def resolve_task(name: str, *, data: str | None = None, options: dict[str, Any] | None = None,
                 grader_options: dict[str, Any] | None = None, judge: bool = False,
                 grader_where: str = "--grader-option") -> Task:
    """Load a task as ``evalkit run --task`` does, with grader overrides; a judge task needs ``judge``.

    The overrides are checked against the scorer's declaration here, before any model is asked;
    ``grader_where`` names where they came from (the flag, or the sweep file's field).
    """
    from evalkit.grading import needs_judge
    from evalkit.tasks import get_task

    task = get_task(name, data=data, options=options)
    if grader_options:
        task.grader = task.grader.with_options(grader_options, f"{grader_where} (task {task.name!r})")
    if needs_judge(task.grader) and not judge:
        raise SweepError(f"task {task.name!r} marks answers with an LLM judge; give one with --judge URI")
    return task


def _task_entry(raw: Any, path: Path | None, key: str, judge: bool) -> SweepTask:
    entry = _mapping({"name": raw} if isinstance(raw, str) else raw, path, key, TASK_KEYS)
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        raise SweepError(f"{_where(path, key + '.name')} is required: a task name, task YAML or JSONL of samples")
    name = entry["name"]
    if path is not None and not Path(name).is_absolute() and (path.parent / name).is_file():
        name = str(path.parent / name)  # a task file named relative to the sweep file
    ids = entry.get("ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str | int) for i in ids)):
        raise SweepError(f"{_where(path, key + '.ids')} must be a list of sample ids")
    task = resolve_task(name, data=entry.get("data"), options=_options(entry.get("options"), path, key + ".options"),
                        grader_options=_mapping(entry.get("grader_options"), path, key + ".grader_options"),
                        judge=judge, grader_where=_where(path, key + ".grader_options"))
    limit = entry.get("limit")
    return SweepTask(task, _int(limit, path, key + ".limit") if limit is not None else None,
                     [str(i) for i in ids] if ids is not None else None)


def _config_from_yaml(raw: dict[str, Any], generation: dict[str, Any], concurrency: int, path: Path | None) -> RunConfig:
    run = _mapping(raw, path, "run", RUN_KEYS)
    images = run.get("images", "send")
    if images not in ("send", "skip", "text"):
        raise SweepError(f"{_where(path, 'run.images')} must be send, skip or text, not {images!r}")
    try:
        gen = GenerationConfig.from_dict(_mapping(generation, path, "generation"))
    except (TypeError, ValueError) as exc:
        raise SweepError(f"{_where(path, 'generation')}: {exc}") from None
    timeout = run.get("timeout", 120.0)
    grade_timeout = run.get("grade_timeout", 30.0)
    for key, value in (("timeout", timeout), ("grade_timeout", grade_timeout)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SweepError(f"{_where(path, 'run.' + key)} must be a number of seconds, not {value!r}")
    cache = run.get("cache", True)
    if not isinstance(cache, bool):
        raise SweepError(f"{_where(path, 'run.cache')} must be true or false, not {cache!r}")
    seed = run.get("seed")
    return RunConfig(
        concurrency=concurrency,
        max_retries=_int(run.get("max_retries", 3), path, "run.max_retries", 0),
        timeout_s=float(timeout), grade_time_limit_s=float(grade_timeout),
        limit=_int(run["limit"], path, "run.limit") if run.get("limit") is not None else None,
        ids=[str(i) for i in run["ids"]] if run.get("ids") else None,
        seed=_int(seed, path, "run.seed", 0) if seed is not None else None,
        results_root=Path(str(run.get("results_dir", "results"))),
        use_cache=cache, images=images, generation=gen, progress=False,
    )


def load_sweep(path: Path) -> Sweep:
    """Read and validate a sweep file; every mistake is one sentence naming the file and field."""
    import yaml

    from evalkit.tasks import include

    try:
        data = yaml.safe_load(read_text(path))
    except OSError as exc:
        raise SweepError(f"{path}: cannot read the sweep file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SweepError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    top = _mapping(data, path, "", TOP_KEYS)
    for folder in top.get("include") or []:
        folder_path = Path(str(folder))
        include(folder_path if folder_path.is_absolute() else path.parent / folder_path)
    judge = model_spec(top["judge"], path, "judge") if top.get("judge") else None
    for key in ("tasks", "models"):
        if not isinstance(top.get(key), list) or not top[key]:
            raise SweepError(f"{_where(path, key)} must be a non-empty list")
    tasks = [_task_entry(t, path, f"tasks[{i}]", judge is not None) for i, t in enumerate(top["tasks"])]
    models = [model_spec(m, path, f"models[{i}]") for i, m in enumerate(top["models"])]
    concurrency = _int(top.get("concurrency", 32), path, "concurrency")
    config = _config_from_yaml(top.get("run") or {}, top.get("generation") or {}, concurrency, path)
    endpoints = {str(k): _int(v, path, f"endpoints.{k}") for k, v in _mapping(top.get("endpoints"), path, "endpoints").items()}
    executor = top.get("executor", "local")
    if executor not in EXECUTORS:
        raise SweepError(f"{_where(path, 'executor')} must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    name = str(top.get("name") or path.stem)
    output = Path(str(top["output"])) if top.get("output") else config.results_root / safe_name(name)
    return Sweep(
        tasks=tasks, models=models, config=config, seeds=_seeds(top, path, config.seed), name=name, output=output,
        endpoints=endpoints, shard_size=_int(top.get("shard_size", 100), path, "shard_size"),
        max_attempts=_int(top.get("max_attempts", 3), path, "max_attempts"), executor=executor,
        address=str(top["address"]) if top.get("address") else None, judge=judge,
    )


def _seeds(top: dict[str, Any], path: Path | None, base: int | None) -> list[int | None]:
    if top.get("seeds") is not None and top.get("repeats") is not None:
        raise SweepError(f"{_where(path, 'repeats')}: give seeds or repeats, not both")
    if top.get("seeds") is not None:
        seeds = top["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise SweepError(f"{_where(path, 'seeds')} must be a non-empty list of integers")
        if len(set(seeds)) != len(seeds):
            raise SweepError(f"{_where(path, 'seeds')} lists a seed twice")
        return list(seeds)
    if top.get("repeats") is not None:
        n = _int(top["repeats"], path, "repeats")
        start = base if base is not None else 1
        return [start + i for i in range(n)] if n > 1 else [base]
    return [base]


# -- planning -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """A shard of one run's unfinished samples: what an executor hands to one worker at a time."""

    run: int  # index into the ledger's runs
    index: int  # shard number within the run
    samples: tuple[Sample, ...]

    @property
    def name(self) -> str:
        return f"{self.run}.{self.index}"


@dataclass
class SweepRun:
    """One run folder of the sweep: its runner (whose evaluators the executors build) and, on the
    driver, the folder opened for writing (None only in a dry-run plan, which writes nothing)."""

    index: int
    model: ModelSpec
    adapter: Adapter
    runner: Runner
    seed: int | None
    path: Path
    todo: dict[str, Sample]  # id → sample not yet written, in the task's order
    planned: int  # samples to run when the sweep started
    folder: RunFolder | None = None
    units_left: int = 0
    failures: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    @property
    def opened(self) -> RunFolder:
        """The run folder open for writing (a plan made with ``dry_run`` has none and is not run)."""
        if self.folder is None:
            raise RuntimeError(f"{self.label}: a dry-run plan has no open run folder")
        return self.folder

    @property
    def label(self) -> str:
        seed = f" seed {self.seed}" if self.seed is not None else ""
        return f"{self.runner.task.name} × {self.adapter.label}{seed}"

    @property
    def endpoint(self) -> str:
        return self.adapter.endpoint_key


def run_folder(sweep: Sweep, task: Task, adapter: Adapter, seed: int | None) -> Path:
    """The run folder of task × model × seed: fixed under the sweep folder, so a re-run resumes it."""
    if sweep.output is None:
        return default_run_dir(sweep.config.results_root, task, adapter)
    name = f"{safe_name(task.name)}__{safe_name(adapter.label)}"
    if len(sweep.seeds) > 1:
        name += f"__seed{seed}"
    return sweep.output / name


def _shards(samples: list[Sample], size: int) -> Iterator[tuple[Sample, ...]]:
    for start in range(0, len(samples), size):
        yield tuple(samples[start:start + size])


class Ledger:
    """The driver's record of a sweep: its runs, its units, what is written, what failed.

    Executors call :meth:`started`, :meth:`record` (one graded sample), :meth:`done` (a unit all
    of whose samples were recorded), :meth:`retried` and :meth:`failed`; the ledger writes run
    folders through each run's runner and keeps the progress view's counters.
    """

    def __init__(self, sweep: Sweep, runs: list[SweepRun], units: list[Unit], judge: Adapter | None) -> None:
        self.sweep = sweep
        self.runs = runs
        self.units = units
        self.judge = judge
        self.stats = SweepStats(units_total=len(units), samples_total=sum(len(u.samples) for u in units),
                                runs_total=len(runs))
        self.view: SweepProgress | None = None
        self.duplicates = 0
        self.nodes: set[str] = set()
        self._started: set[str] = set()
        self._closed = False

    # -- what executors need to know --------------------------------------------------------------
    def run_of(self, unit: Unit) -> SweepRun:
        return self.runs[unit.run]

    def limit(self, run: SweepRun) -> int:
        return self.sweep.limit_for(run.endpoint, run.model.uri)

    def adapters(self) -> list[Adapter]:
        """Every distinct adapter instance of the sweep (one per model), the judge last."""
        seen: dict[int, Adapter] = {}
        for run in self.runs:
            seen.setdefault(id(run.adapter), run.adapter)
        return [*seen.values(), *([self.judge] if self.judge is not None else [])]

    # -- what executors report --------------------------------------------------------------------
    def started(self, unit: Unit) -> None:
        if unit.name not in self._started:
            self._started.add(unit.name)
            self.stats.units_running += 1
            self._show()

    def record(self, unit: Unit, result: SampleResult) -> bool:
        """Write one graded sample of ``unit``; a sample already written (or not the unit's) is dropped."""
        run = self.run_of(unit)
        if run.todo.pop(result.id, None) is None:
            self.duplicates += 1
            return False
        run.opened.write(result)
        self.stats.add_sample(result.score.status, result.error)
        self._show()
        return True

    def done(self, unit: Unit, node: str | None = None) -> None:
        """A unit came back whole; a sample it did not return makes it a failed unit instead."""
        if node:
            self.nodes.add(node)
        run = self.run_of(unit)
        missing = [s.id for s in unit.samples if s.id in run.todo]
        if missing:
            self.failed(unit, f"the unit returned no result for {len(missing)} sample(s), e.g. {missing[0]}")
            return
        self._end(unit)
        self.stats.units_done += 1
        self._show()

    def retried(self, unit: Unit, reason: str) -> None:
        self.stats.units_retried += 1
        self.stats.note(f"unit {unit.name} of {self.run_of(unit).label} retried: {reason}")
        self._show()

    def failed(self, unit: Unit, reason: str) -> None:
        run = self.run_of(unit)
        run.failures.append(reason)
        self._end(unit)
        self.stats.units_failed += 1
        self.stats.note(f"unit {unit.name} of {run.label} failed: {reason}")
        self._show()

    def _end(self, unit: Unit) -> None:
        if unit.name in self._started:
            self.stats.units_running -= 1
        run = self.run_of(unit)
        run.units_left -= 1
        if run.units_left == 0 and not run.failures:
            self._finish(run)

    def _finish(self, run: SweepRun) -> None:
        run.summary = run.opened.finish()
        run.opened.release()
        self.stats.runs_done += 1

    def finish_idle_runs(self) -> None:
        """Summarise the runs that have nothing left to run (a sweep re-run after it finished)."""
        for run in self.runs:
            if run.units_left == 0 and run.summary is None and not run.failures:
                self._finish(run)

    def tick(self) -> None:
        """Let the progress view print its periodic line while nothing arrives."""
        self._show()

    def _show(self) -> None:
        if self.view is not None:
            self.view.update()

    def close(self, interrupted: bool = False) -> None:
        """Close every run folder's writer; a run not finished says in its run.json why (``interrupted``, or
        ``unfinished`` with its failed units' reasons), and stays to be resumed."""
        if self._closed:
            return
        self._closed = True
        for run in self.runs:
            if run.folder is None:
                continue
            run.folder.close()
            if run.summary is None and (interrupted or run.failures):
                run.folder.mark("interrupted" if interrupted else "unfinished",
                                None if interrupted else "; ".join(sorted(set(run.failures))))
            run.folder.release()

    def outcome(self) -> SweepOutcome:
        return SweepOutcome(self.sweep, self.runs, self.stats, self.duplicates, sorted(self.nodes))


@dataclass
class SweepOutcome:
    sweep: Sweep
    runs: list[SweepRun]
    stats: SweepStats
    duplicates: int
    nodes: list[str]

    @property
    def failed_runs(self) -> list[SweepRun]:
        return [r for r in self.runs if r.summary is None]

    @property
    def ok(self) -> bool:
        return not self.failed_runs


def _run_config(sweep: Sweep, entry: SweepTask, seed: int | None, path: Path, limit: int, judge: Adapter | None) -> RunConfig:
    return replace(sweep.config, concurrency=limit, output=path, seed=seed,
                   limit=entry.limit if entry.limit is not None else sweep.config.limit,
                   ids=entry.ids if entry.ids is not None else sweep.config.ids, judge=judge, progress=False)


def plan(sweep: Sweep, *, dry_run: bool = False) -> Ledger:
    """Prepare every run folder (resuming what is there) and cut the unfinished samples into units.

    With ``dry_run`` nothing is written: the ledger only says what would run.
    """
    if not sweep.tasks or not sweep.models:
        raise SweepError("a sweep needs at least one --task and one --model")
    adapters = [m.build() for m in sweep.models]
    judge = sweep.judge.build() if sweep.judge else None
    planned: list[tuple[ModelSpec, Adapter, int | None, Path, Runner]] = []
    seen: dict[Path, str] = {}
    for entry in sweep.tasks:
        task_check = None
        for model, adapter in zip(sweep.models, adapters, strict=True):
            for seed in sweep.seeds:
                path = run_folder(sweep, entry.task, adapter, seed)
                label = f"{entry.task.name} × {adapter.label}"
                if path in seen:
                    raise SweepError(f"{label} and {seen[path]} would share the run folder {path}; "
                                     "give the models distinct URIs")
                seen[path] = label
                limit = sweep.limit_for(adapter.endpoint_key, model.uri)
                runner = Runner(entry.task, adapter, _run_config(sweep, entry, seed, path, limit, judge))
                task_check = runner.check(task_check)  # every run is checked before any folder is written
                planned.append((model, adapter, seed, path, runner))
    runs: list[SweepRun] = []
    units: list[Unit] = []
    for model, adapter, seed, path, runner in planned:
        folder = None if dry_run else runner.open_folder()
        todo = folder.todo if folder is not None else _todo_preview(runner, path)
        run = SweepRun(len(runs), model, adapter, runner, seed, path, {s.id: s for s in todo}, len(todo), folder)
        shards = list(_shards(todo, sweep.shard_size))
        run.units_left = len(shards)
        units.extend(Unit(run.index, i, shard) for i, shard in enumerate(shards))
        runs.append(run)
    return Ledger(sweep, runs, units, judge)


def _todo_preview(runner: Runner, path: Path) -> list[Sample]:
    """What a run would still have to do, read without touching its folder (a dry run)."""
    finished = load_finished(path) if (path / SAMPLES_FILE).exists() and (path / RUN_FILE).exists() else {}
    return [s for s in runner.check().samples if s.id not in finished]
