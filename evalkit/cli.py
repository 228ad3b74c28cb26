"""The ``evalkit`` command: thin parsing and printing over the library.

``run`` evaluates tasks against models, ``list`` shows what is available, ``show`` prints a run's
summary; ``report``/``check`` (``cli_report``), ``grade`` (``cli_grade``) and ``show-task`` (``cli_tasks``) join from their own
modules. Every user mistake (an :class:`~evalkit.errors.EvalkitError`) ends as one sentence and
exit code 2; anything else is evalkit's own bug and shows its traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evalkit import cli_grade, cli_regrade, cli_report, cli_sweep, cli_tasks
from evalkit.cli_common import (
    adapter_options_for,
    command_outcome,
    echo_error,
    endpoint_options,
    fail,
    generation,
    parse_json_pairs,
    parse_pairs,
    print_errors,
)
from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.runner import RunConfig
    from evalkit.types import GenerationConfig, SampleResult
    from evalkit.verdict import RunEnd

app = typer.Typer(
    name="evalkit",
    help=(
        "Evaluate large (multimodal) models on benchmarks, grade them like teachers do, and turn the "
        "graded answers into leaderboards.\n\n"
        "Quick start (no network, no key):  evalkit run --task gaokao-math --model reference\n\n"
        "Then: evalkit show results/<run>  ·  evalkit report results/  ·  evalkit check --baseline A --current B"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
list_app = typer.Typer(help="List built-in and plug-in tasks, adapters, scorers.", no_args_is_help=True)
app.add_typer(list_app, name="list")


def _print_version(value: bool) -> None:
    if value:
        from evalkit import __version__

        typer.echo(f"evalkit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=_print_version,
                                          help="Print evalkit's version and exit.")] = False,
) -> None:
    """Evaluate models, grade them like teachers do, and turn the graded answers into leaderboards."""


@app.command()
def run(
    task: Annotated[list[str], typer.Option("--task", "-t", help="Task name, task YAML, or JSONL of samples (repeatable).")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Adapter URI: reference, random:SEED, replay:PATH, openai:MODEL, ... (repeatable).")],
    include: Annotated[list[Path] | None, typer.Option("--include", help="Add a folder of task definitions (repeatable).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Point the task at a local copy of its data (file or folder).")] = None,
    task_opt: Annotated[list[str] | None, typer.Option("-T", "--task-option", help="Task option KEY=VALUE (repeatable).")] = None,
    model_opt: Annotated[list[str] | None, typer.Option("-M", "--model-option", help="Adapter option KEY=VALUE (repeatable).")] = None,
    model_name: Annotated[list[str] | None, typer.Option("--model-name", help="Display name of each --model, in order (e.g. GPT-4o for replay:gpt4o.jsonl); also -M name=.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Endpoint of an OpenAI-compatible server.")] = None,
    api_key_env: Annotated[str | None, typer.Option("--api-key-env", help="Name of the environment variable that holds the API key.")] = None,
    judge: Annotated[str | None, typer.Option("--judge", help="Adapter URI of the LLM judge for rubric-graded items.")] = None,
    judge_opt: Annotated[list[str] | None, typer.Option("-J", "--judge-option", help="Judge adapter option KEY=VALUE, e.g. -J base_url=http://host:8000/v1.")] = None,
    grader_opt: Annotated[list[str] | None, typer.Option("--grader-option", help="Override a grader option KEY=VALUE, e.g. extract=last_capital.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Requests in flight at once.")] = 32,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N samples.")] = None,
    ids: Annotated[str | None, typer.Option("--ids", help="Only these sample ids (comma-separated).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed sent to the model and recorded.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run folder (re-running into it resumes).")] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Finish an interrupted run folder.")] = None,
    results_dir: Annotated[Path, typer.Option("--results-dir", help="Where new run folders go.")] = Path("results"),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the response cache.")] = False,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0, help="Retries per request on 429/5xx/timeouts.")] = 3,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per request before it counts as failed.")] = 120.0,
    grade_timeout: Annotated[float, typer.Option("--grade-timeout", help="Seconds a grader may spend on one answer.")] = 30.0,
    grade_workers: Annotated[int | None, typer.Option("--grade-workers", min=1, help="Grading processes (default: one per core).")] = None,
    images: Annotated[str, typer.Option("--images", help="Image questions for text-only models: skip or text (send the text alone).")] = "send",
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Generation: maximum new tokens.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Generation: temperature.")] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="Generation: nucleus sampling.")] = None,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="Generation: stop sequence (repeatable).")] = None,
    gen: Annotated[list[str] | None, typer.Option("-G", "--gen", help="Extra generation field KEY=VALUE for the engine.")] = None,
    max_errors: Annotated[str | None, typer.Option("--max-errors", help="Failed samples a run may have and still exit 0: a count (5) or a share (5%). Default 0.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything (task, data, every prompt and image, grader, adapter) and print one prompt and the counts; call no model, write nothing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report of these runs at the end.")] = True,
) -> None:
    """Run TASK(s) against MODEL(s), grade every answer, and write results/<run>/.

    Before the first model call every run is checked (task, metrics, grader, data, every prompt
    and image, the adapter's dependencies); a failed check is one sentence and leaves no folder.

    Exit codes: 0 every sample graded (or failures within --max-errors); 2 a mistake in the command,
    task or data (nothing ran); 3 samples failed beyond --max-errors (listed by reason); 4 a run did
    not finish (its endpoint refused the key, does not know the model or does not answer);
    130 interrupted. Re-running with --output FOLDER resumes or retries.

    Examples:\n
      evalkit run --task gaokao-math --model reference\n
      evalkit run --task gaokao-math --model random:1 --model openai:qwen2.5-7b --base-url http://localhost:8000/v1\n
      evalkit run --task my_samples.jsonl --model replay:outputs.jsonl\n
      evalkit run --task gaokao-math --model openai:m --output results/m1   (re-run the same line to resume)
    """
    from evalkit.verdict import ErrorBudget, verdict

    if images not in ("send", "skip", "text"):
        fail(f"--images {images!r}: choose send, skip or text")
    if resume is not None:
        output = resume
        if not (resume / "run.json").exists():
            fail(f"--resume {resume}: not a run folder (no run.json)")
    if model_name and len(model_name) != len(model):
        fail(f"--model-name was given {len(model_name)} time(s) for {len(model)} --model(s); give one name per model, "
             "in the same order")
    if output is not None and (len(task) > 1 or len(model) > 1):
        fail("--output names one run folder; give one --task and one --model with it")
    options = RunOptions(
        tasks=tuple(task), models=tuple(model), model_names=tuple(model_name or ()), include=tuple(include or ()),
        data=data,
        task_options=parse_pairs(task_opt, "-T"), adapter_options=endpoint_options(model_opt, base_url, api_key_env),
        judge=judge,
        judge_options=parse_pairs(judge_opt, "-J"), grader_options=parse_json_pairs(grader_opt, "--grader-option"),
        concurrency=concurrency, limit=limit, ids=tuple(i.strip() for i in ids.split(",")) if ids else None,
        seed=seed, output=output, results_dir=results_dir, use_cache=not no_cache, max_retries=max_retries,
        timeout_s=timeout, grade_timeout_s=grade_timeout, grade_workers=grade_workers, images=images,
        generation=generation(max_tokens, temperature, top_p, stop, gen), progress=not quiet, report=report,
        dry_run=dry_run,
    )
    with command_outcome("run", "interrupted before any run folder was written."):
        budget = ErrorBudget.parse(max_errors)
        ends = run_all(options)
    code, lines = verdict(ends, budget)
    for line in lines:
        echo_error(line)
    if code:
        raise typer.Exit(code)


@dataclass(frozen=True)
class RunOptions:
    """What ``evalkit run`` was asked, parsed from its flags: every model on every task, then a report."""

    tasks: tuple[str, ...]
    models: tuple[str, ...]
    generation: GenerationConfig
    model_names: tuple[str, ...] = ()  # --model-name, one per --model
    include: tuple[Path, ...] = ()
    data: str | None = None
    task_options: dict[str, Any] = field(default_factory=dict)
    adapter_options: dict[str, Any] = field(default_factory=dict)  # -M, --base-url, --api-key-env
    judge: str | None = None
    judge_options: dict[str, Any] = field(default_factory=dict)
    grader_options: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 32
    limit: int | None = None
    ids: tuple[str, ...] | None = None
    seed: int | None = None
    output: Path | None = None
    results_dir: Path = Path("results")
    use_cache: bool = True
    max_retries: int = 3
    timeout_s: float = 120.0
    grade_timeout_s: float = 30.0
    grade_workers: int | None = None  # None: one per core
    images: str = "send"
    progress: bool = True
    report: bool = True
    dry_run: bool = False

    def model_options(self, i: int) -> dict[str, Any]:
        """The options of the i-th --model: the -M options it declares, and its --model-name."""
        opts = adapter_options_for(self.models[i], self.adapter_options)
        if self.model_names:
            opts["name"] = self.model_names[i]
        return opts

    def run_config(self) -> RunConfig:
        """The configuration every run of this command shares (the judge is added per run)."""
        from evalkit.runner import RunConfig

        return RunConfig(
            concurrency=self.concurrency, max_retries=self.max_retries, timeout_s=self.timeout_s, limit=self.limit,
            ids=list(self.ids) if self.ids else None, seed=self.seed, output=self.output,
            results_root=self.results_dir, use_cache=self.use_cache, grade_time_limit_s=self.grade_timeout_s,
            grade_workers=self.grade_workers,
            images=self.images, generation=self.generation, progress=self.progress,
        )


def run_all(options: RunOptions) -> list[RunEnd]:
    """One run, or several tasks or models as a sweep; print each summary, write the report, and say how
    each run ended."""
    from evalkit.adapters import make_adapter
    from evalkit.runner import run_sync
    from evalkit.sweep import resolve_task
    from evalkit.tasks import include
    from evalkit.verdict import RunEnd

    for folder in options.include:
        include(folder)
    tasks = [resolve_task(t, data=options.data, options=options.task_options, grader_options=options.grader_options,
                          judge=bool(options.judge)) for t in options.tasks]
    cfg = options.run_config()
    if options.dry_run:
        _dry_run(tasks, options, cfg)
        return []
    read: dict[Path, list[SampleResult]] = {}  # samples a run has just read whole, for its report
    if len(tasks) * len(options.models) > 1:
        ends = _run_as_sweep(tasks, options, cfg)
    else:
        uri = options.models[0]
        adapter = make_adapter(uri, options.model_options(0))
        judge = make_adapter(options.judge, options.judge_options) if options.judge else None
        outcome = run_sync(tasks[0], adapter, replace(cfg, judge=judge))
        if outcome.summary is not None:
            print_summary(outcome.path, outcome.summary)
        ends = [RunEnd(f"{tasks[0].name} × {adapter.label}", outcome.path, outcome.summary, outcome.stopped,
                       outcome.not_sent)]
        if outcome.results is not None:
            read[outcome.path] = outcome.results
    paths = [end.path for end in ends if end.summary is not None]
    if options.report and paths:
        _write_report(paths, options.results_dir, read)
    return ends


def _dry_run(tasks: list[Any], options: RunOptions, cfg: RunConfig) -> None:
    """Every check of every run, one rendered prompt and the counts; no model is called, nothing is written."""
    from evalkit.adapters import make_adapter
    from evalkit.preflight import describe
    from evalkit.runner import Runner

    judge = make_adapter(options.judge, options.judge_options) if options.judge else None
    adapters = [make_adapter(uri, options.model_options(i)) for i, uri in enumerate(options.models)]
    for task in tasks:
        task_check = None
        for adapter in adapters:
            runner = Runner(task, adapter, replace(cfg, judge=judge))
            task_check = runner.check(task_check)
            done = runner.finished_before()
            folder = str(cfg.output) if cfg.output else f"a new folder under {cfg.results_root}/ (not created)"
            typer.echo(describe(f"{task.name} × {adapter.label}", task_check, to_run=len(task_check.samples) - done,
                                done=done, folder=folder, grader=task.grader, metrics=task.metrics))
    typer.echo("dry run: every check passed; no model was called and nothing was written.")


def _run_as_sweep(tasks: list[Any], options: RunOptions, cfg: RunConfig) -> list[RunEnd]:
    """Several tasks or models: a sweep on the local executor (one budget of --concurrency per endpoint)."""
    from evalkit.executors import run_sweep
    from evalkit.sweep import ModelSpec, Sweep, SweepTask

    models = [ModelSpec(uri, options.model_options(i)) for i, uri in enumerate(options.models)]
    judge = ModelSpec(options.judge, options.judge_options) if options.judge else None
    spec = Sweep(tasks=[SweepTask(t) for t in tasks], models=models, config=replace(cfg, progress=False),
                 seeds=[cfg.seed], judge=judge)
    outcome = run_sweep(spec, progress=cfg.progress)
    for run in outcome.runs:
        if run.summary is not None:
            print_summary(run.path, run.summary)
    return cli_sweep.run_ends(outcome)


def _write_report(paths: list[Path], root: Path, read: dict[Path, list[SampleResult]] | None = None) -> None:
    from evalkit.report import write_report

    out = paths[0] / "report.html" if len(paths) == 1 else root / "report.html"
    typer.echo(f"report: {write_report(paths, out, read=read)}")


def is_fraction_metric(key: str) -> bool:
    """Whether a metric is a fraction the table shows as a percentage: accuracies, rates, shares and
    subject-balanced means, with their confidence bounds (``…_ci_low``/``…_ci_high``); counts, points and
    ``ci_level`` are shown as they are."""
    base = key.removesuffix("_ci_low").removesuffix("_ci_high")
    return "accuracy" in base or base.endswith(("rate", "share", "_balanced"))


def print_summary(path: Path, summary: dict[str, Any]) -> None:
    """A small table of a run's metrics and counts, then the paper score card if there is one."""
    from rich.console import Console
    from rich.table import Table

    from evalkit.types import STATUSES

    console = Console()
    metrics = summary.get("metrics", {})
    counts = summary.get("counts", {})
    table = Table(title=f"{summary.get('task')} × {summary.get('model')}", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            shown = f"{v:.1%}" if is_fraction_metric(k) else f"{v:g}"
            table.add_row(k, shown)
    for k in ("n", *STATUSES):
        if k in counts:
            table.add_row(k, str(counts[k]))
    console.print(table)
    print_errors(summary, console)
    cli_grade.print_score_card(summary, console)
    cli_tasks.print_hs_card(summary, console)
    console.print(f"results: {path}", markup=False, highlight=False)


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="A run folder under results/.")]) -> None:
    """Print the summary of a finished (or interrupted) run."""
    from evalkit.grading.metrics import error_groups, summarize
    from evalkit.results import load_run

    try:
        run_ = load_run(run_dir)
    except EvalkitError as exc:
        fail(str(exc))
    summary = run_.summary
    if not summary:  # interrupted or stopped: summarise what is there
        metrics = run_.record.get("task", {}).get("metrics", ["accuracy"])
        summary = summarize(run_.results, metrics)
        summary.update(task=run_.task, model=run_.model)
        why = f": {run_.record['stop_reason']}" if run_.record.get("stop_reason") else ""
        typer.echo(f"(run {run_.record.get('status', '?')}{why}; summary of the {len(run_.results)} samples "
                   "written so far)")
    elif "errors" not in summary:  # written before failures were grouped in summary.json
        summary = {**summary, "errors": error_groups(run_.results)}
    print_summary(run_dir, summary)


@list_app.command("tasks")
def list_tasks(
    include: Annotated[list[Path] | None, typer.Option("--include", help="Add a folder of task definitions.")] = None,
    counts: Annotated[bool, typer.Option("--counts/--no-counts", help="Count the samples of tasks whose data is here.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also say where each task's data comes from and its licence.")] = False,
) -> None:
    """The task catalogue by group (Gaokao, multimodal, knowledge, math): samples, modality, where the data is."""
    cli_tasks.list_tasks(include, counts, verbose)


@list_app.command("adapters")
def list_adapters() -> None:
    """Adapters: URI scheme, what it talks to, and its -M options."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from evalkit.adapters import adapters

    table = Table(show_header=True)
    for col in ("scheme", "description", "options (-M KEY=VALUE)"):
        table.add_column(col)
    for name in adapters.names():  # cells are plain text: "evalkit[hf]" is not rich markup
        try:
            cls = adapters.get(name)
        except ImportError as exc:  # an optional extra that is not installed
            table.add_row(Text(name), Text(f"(not available: {exc})"), "")
            continue
        opts = "\n".join(f"{k}: {v}" for k, v in cls.options_doc.items())
        table.add_row(Text(name), Text(cls.description), Text(opts))
    Console().print(table)


@list_app.command("scorers")
def list_scorers() -> None:
    """Scorers a task's `grader:` may name, what each grades, and its options."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from evalkit.grading import declaration
    from evalkit.grading import scorer_registry as scorers

    table = Table(show_header=True)
    for col in ("scorer", "accepts", "options (grader.options, --grader-option KEY=VALUE)"):
        table.add_column(col)
    for name in scorers.names():
        decl = declaration(name)
        judge = "needs a judge (--judge URI)" if decl.judge is True or (decl.judge is None and decl.takes_judge) else ""
        table.add_row(Text(name), Text("\n".join(x for x in (decl.accepts, judge) if x)),
                      Text("\n".join(o.describe() for o in decl.options.values())))
    Console().print(table)


cli_report.register(app)
cli_grade.register(app)
cli_regrade.register(app)
cli_sweep.register(app)
cli_tasks.register(app)


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM does what Ctrl-C does; also when Ctrl-C is ignored (a script's background job), where
    raising SIGINT would do nothing and a kill would leave the run going to its end."""
    if callable(signal.getsignal(signal.SIGINT)):  # asyncio's (cancels the run cleanly) or Python's default
        signal.raise_signal(signal.SIGINT)
    else:
        raise KeyboardInterrupt


def main() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    # SIGTERM (a kill, a CI timeout, a scheduler) ends a run as Ctrl-C does: finished samples kept,
    # run.json marked interrupted, the grading workers stopped, the folder's lock released
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
        code: Any = 0
    except EvalkitError as exc:  # last line of defence for a user's mistake: one sentence, no traceback
        echo_error(str(exc))
        code = exc.exit_code
    except SystemExit as exc:
        code = exc.code
    leave(code)


def leave(code: Any) -> None:
    """End the command with ``code`` once its work is done: exit handlers run and output is flushed as on any
    exit, but the interpreter is not torn down module by module (about 0.1 s of every command, more than a
    report of a small run). Every file evalkit writes is complete and closed before this; a command that
    leaves a thread running, an exit that is not a number, or a process under a profiler or debugger (which
    write their findings at the end) exits the ordinary way."""
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if others or watched or not (code is None or isinstance(code, int)):
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let Python say so as it always does
        sys.exit(code)
    os._exit(code or 0)


if __name__ == "__main__":
    main()
