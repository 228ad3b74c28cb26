"""The ``evalkit sweep`` command (registered on the main app by ``register``).

Thin: parse the flags into :class:`SweepFlags`, which reads the sweep file or the repeated
``--task``/``--model`` flags into a :class:`~evalkit.sweep.Sweep` and lets flags override the
file; run it with the chosen executor, print one row per run and the failed samples by reason,
write the report, and exit as :mod:`evalkit.verdict` says (3 samples failed, 4 a run unfinished;
re-running resumes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from evalkit.sweep import Sweep, SweepOutcome
    from evalkit.types import GenerationConfig
    from evalkit.verdict import ErrorBudget, RunEnd


def sweep(
    file: Annotated[Path | None, typer.Argument(help="A sweep file (YAML): tasks, models, seeds and settings.")] = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="Task name, task YAML, or JSONL of samples (repeatable).")] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Adapter URI (repeatable).")] = None,
    executor: Annotated[str | None, typer.Option("--executor", help="Where units run: local (this process, default) or ray.")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster to join: auto, or ray://HOST:PORT (with --executor ray).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The sweep folder: one run folder per task × model (× seed); re-running resumes it.")] = None,
    include: Annotated[list[Path] | None, typer.Option("--include", help="Add a folder of task definitions (repeatable).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Point the task(s) at a local copy of their data.")] = None,
    task_opt: Annotated[list[str] | None, typer.Option("-T", "--task-option", help="Task option KEY=VALUE (repeatable).")] = None,
    model_opt: Annotated[list[str] | None, typer.Option("-M", "--model-option", help="Adapter option KEY=VALUE (repeatable).")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Endpoint of an OpenAI-compatible server.")] = None,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Name of the environment variable that holds the API key.")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Adapter URI of the LLM judge for rubric-graded items.")] = None,
    judge_opt: Annotated[list[str] | None, typer.Option("-J", "--judge-option", help="Judge adapter option KEY=VALUE.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", "-c", min=1, help="Requests in flight per endpoint, shared by every unit (default 32).")] = None,
    shard_size: Annotated[int | None, typer.Option("--shard-size", min=1, help="Samples per unit (default 100).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N samples of each task.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed sent to the model and recorded.")] = None,
    repeats: Annotated[int | None, typer.Option("--repeats", min=1, help="Run every task × model N times, with seeds SEED..SEED+N-1.")] = None,
    gpus: Annotated[float | None, typer.Option("--gpus-per-model", min=0, help="Ray: GPUs of each actor serving a local model (default 1).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")] = False,
    max_retries: Annotated[int | None, typer.Option("--max-retries", min=0, help="Retries per request on 429/5xx/timeouts.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds per request before it counts as failed.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Generation: maximum new tokens.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Generation: temperature.")] = None,
    max_errors: Annotated[str | None, typer.Option("--max-errors", help="Failed samples each run may have and still exit 0: a count (5) or a share (5%). Default 0.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (runs, samples left, units) and stop.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report of the sweep at the end.")] = True,
) -> None:
    """Run a sweep (models × tasks × seeds) into one run folder per task × model, then the report.

    Examples:\n
      evalkit sweep nightly.yaml\n
      evalkit sweep nightly.yaml --executor ray --address auto\n
      evalkit sweep --task gaokao-math --task mmlu --model openai:a --model openai:b --base-url http://host:8000/v1 -o results/ab\n
      (re-run the same command to resume: finished samples are skipped)
    """
    from evalkit.cli_common import command_outcome, endpoint_options, generation, parse_pairs
    from evalkit.verdict import ErrorBudget

    flags = SweepFlags(
        file=file, tasks=tuple(task or ()), models=tuple(model or ()), executor=executor, address=address,
        output=output, include=tuple(include or ()), data=data, task_options=parse_pairs(task_opt, "-T"),
        adapter_options=endpoint_options(model_opt, base_url, api_key_env), judge=judge, judge_options=parse_pairs(judge_opt, "-J"),
        concurrency=concurrency, shard_size=shard_size, limit=limit, seed=seed, repeats=repeats, gpus=gpus,
        use_cache=not no_cache, max_retries=max_retries, timeout_s=timeout,
        generation=generation(max_tokens, temperature, None, None, None),
    )
    with command_outcome("sweep", "interrupted: finished samples are saved; re-run the same sweep to resume."):
        budget = ErrorBudget.parse(max_errors)
        spec = flags.sweep()
        if dry_run:
            _print_plan(spec)
            return
        _run(spec, quiet=quiet, report=report, budget=budget)


@dataclass(frozen=True)
class SweepFlags:
    """What ``evalkit sweep`` was asked on its command line: a sweep file, or tasks and models, and
    the settings that override the file's."""

    file: Path | None
    generation: GenerationConfig
    tasks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    executor: str | None = None
    address: str | None = None
    output: Path | None = None
    include: tuple[Path, ...] = ()
    data: str | None = None
    task_options: dict[str, Any] = field(default_factory=dict)
    adapter_options: dict[str, Any] = field(default_factory=dict)  # -M, --base-url, --api-key-env
    judge: str | None = None
    judge_options: dict[str, Any] = field(default_factory=dict)
    concurrency: int | None = None
    shard_size: int | None = None
    limit: int | None = None
    seed: int | None = None
    repeats: int | None = None
    gpus: float | None = None
    use_cache: bool = True
    max_retries: int | None = None
    timeout_s: float | None = None

    def sweep(self) -> Sweep:
        """The sweep these flags name: the file's (with the flags over it) or one made of the flags."""
        from evalkit.sweep import ModelSpec, SweepError, load_sweep
        from evalkit.tasks import include

        for folder in self.include:
            include(folder)
        if self.file is not None:
            if self.tasks or self.models:
                raise SweepError(f"{self.file}: give tasks and models in the sweep file or with --task/--model, not both")
            spec = load_sweep(self.file)
        else:
            spec = self._from_flags()
        if self.judge:
            spec.judge = ModelSpec(self.judge, self.judge_options)
        self._override(spec)
        if spec.address and spec.executor != "ray":
            raise SweepError("--address names a Ray cluster; use it with --executor ray")
        return spec

    def _from_flags(self) -> Sweep:
        from evalkit.cli_common import adapter_options_for
        from evalkit.sweep import ModelSpec, Sweep, SweepError, SweepTask, resolve_task

        if not self.tasks or not self.models:
            raise SweepError("evalkit sweep needs a sweep file, or at least one --task and one --model")
        tasks = [SweepTask(resolve_task(t, data=self.data, options=self.task_options, judge=bool(self.judge)))
                 for t in self.tasks]
        models = [ModelSpec(uri, adapter_options_for(uri, self.adapter_options)) for uri in self.models]
        return Sweep(tasks=tasks, models=models, name="sweep", output=Path("results") / "sweep")

    def _override(self, spec: Sweep) -> None:
        from evalkit.sweep import EXECUTORS, SweepError

        cfg = spec.config
        spec.config = replace(
            cfg,
            concurrency=self.concurrency or cfg.concurrency,
            limit=self.limit or cfg.limit,
            seed=self.seed if self.seed is not None else cfg.seed,
            use_cache=cfg.use_cache and self.use_cache,
            max_retries=self.max_retries if self.max_retries is not None else cfg.max_retries,
            timeout_s=self.timeout_s or cfg.timeout_s,
            generation=cfg.generation.merged(self.generation),
            progress=False,
        )
        if self.repeats:
            start = spec.config.seed if spec.config.seed is not None else 1
            spec.seeds = [start + i for i in range(self.repeats)] if self.repeats > 1 else [spec.config.seed]
        elif self.seed is not None:
            spec.seeds = [self.seed]
        if self.gpus is not None:
            spec.models = [replace(m, gpus=self.gpus) for m in spec.models]
        for key in ("executor", "address", "output", "shard_size"):
            if getattr(self, key) is not None:
                setattr(spec, key, getattr(self, key))
        if spec.executor not in EXECUTORS:
            raise SweepError(f"--executor {spec.executor!r}: choose one of {', '.join(EXECUTORS)}")


def _print_plan(spec: Sweep) -> None:
    from rich.console import Console
    from rich.table import Table

    from evalkit.sweep import plan

    ledger = plan(spec, dry_run=True)
    table = Table(title=f"sweep {spec.name}: {len(ledger.runs)} runs, {len(ledger.units)} units "
                        f"of up to {spec.shard_size} samples, executor {spec.executor}")
    for col in ("task", "model", "seed", "samples left", "units", "endpoint (limit)", "run folder"):
        table.add_column(col)
    for run in ledger.runs:
        units = sum(1 for u in ledger.units if u.run == run.index)
        table.add_row(run.runner.task.name, run.model.uri, "-" if run.seed is None else str(run.seed),
                      str(run.planned), str(units), f"{run.endpoint} ({ledger.limit(run)})", str(run.path))
    Console(width=200).print(table)


def run_ends(outcome: SweepOutcome) -> list[RunEnd]:
    """How each run of a sweep ended: its summary, or why it did not finish and how many samples were not sent."""
    from evalkit.verdict import RunEnd

    return [RunEnd(run.label, run.path, run.summary, "; ".join(sorted(set(run.failures))) or None, len(run.todo))
            for run in outcome.runs]


def _run(spec: Sweep, *, quiet: bool, report: bool, budget: ErrorBudget) -> None:
    from rich.console import Console

    from evalkit.cli_common import echo_error, print_errors
    from evalkit.executors import run_sweep
    from evalkit.verdict import verdict

    outcome = run_sweep(spec, progress=not quiet)
    _print_outcome(outcome)
    console = Console()
    for run in outcome.runs:
        if run.summary and run.summary.get("errors"):
            console.print(f"{run.label}:", markup=False, highlight=False)
            print_errors(run.summary, console)
    if report:
        paths = [r.path for r in outcome.runs if r.summary is not None]
        if paths:
            from evalkit.fileio import ensure_folder
            from evalkit.report import write_report

            root = ensure_folder(spec.output or spec.config.results_root)
            typer.echo(f"report: {write_report(paths, root / 'report.html')}")
    code, lines = verdict(run_ends(outcome), budget, command="sweep")
    for line in lines:
        echo_error(line)
    if code:
        raise typer.Exit(code)


def _print_outcome(outcome: SweepOutcome) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sweep {outcome.sweep.name}: {len(outcome.runs)} runs", show_header=True)
    for col in ("task", "model", "seed", "primary", "n", "error", "status", "run folder"):
        table.add_column(col)
    for run in outcome.runs:
        summary = run.summary or {}
        counts = summary.get("counts", {})
        primary = summary.get("primary")
        value = summary.get("metrics", {}).get(primary) if primary else None
        shown = f"{primary} {value:.1%}" if isinstance(value, int | float) and value <= 1 else (
            f"{primary} {value:g}" if isinstance(value, int | float) else "-")
        table.add_row(run.runner.task.name, run.model.uri, "-" if run.seed is None else str(run.seed), shown,
                      str(counts.get("n", "-")), str(counts.get("error", "-")),
                      "finished" if run.summary is not None else "unfinished", str(run.path))
    Console(width=200).print(table)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the ``evalkit`` app."""
    app.command("sweep")(sweep)
