"""The ``evalkit`` command: thin parsing and printing over the library.

``run`` evaluates tasks against models, ``list`` shows what is available, ``show`` prints a run's
summary; ``report``/``check`` (``cli_report``) and ``grade`` (``cli_grade``) join from their own
modules. Every user mistake ends as one sentence and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

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
)
list_app = typer.Typer(help="List built-in and plug-in tasks, adapters, scorers.", no_args_is_help=True)
app.add_typer(list_app, name="list")

USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, LookupError, FileNotFoundError)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def parse_pairs(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; a pair without ``=`` is a user error."""
    out: dict[str, Any] = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def parse_json_pairs(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """Like :func:`parse_pairs`, but values that read as JSON (``20``, ``true``, ``[1,2]``) become JSON."""
    import json

    out = parse_pairs(pairs, flag)
    for key, value in out.items():
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            pass
    return out


def _generation(max_tokens: int | None, temperature: float | None, top_p: float | None,
                stop: list[str] | None, gen: list[str] | None) -> Any:
    from evalkit.types import GenerationConfig

    extra = parse_json_pairs(gen, "-G")
    return GenerationConfig(max_tokens=max_tokens, temperature=temperature, top_p=top_p,
                            stop=tuple(stop) if stop else None, extra=extra)


@app.command()
def run(
    task: Annotated[list[str], typer.Option("--task", "-t", help="Task name, task YAML, or JSONL of samples (repeatable).")],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Adapter URI: reference, random:SEED, replay:PATH, openai:MODEL, ... (repeatable).")],
    include: Annotated[list[Path] | None, typer.Option("--include", help="Add a folder of task definitions (repeatable).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Point the task at a local copy of its data (file or folder).")] = None,
    task_opt: Annotated[list[str] | None, typer.Option("-T", "--task-option", help="Task option KEY=VALUE (repeatable).")] = None,
    model_opt: Annotated[list[str] | None, typer.Option("-M", "--model-option", help="Adapter option KEY=VALUE (repeatable).")] = None,
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
    images: Annotated[str, typer.Option("--images", help="Image questions for text-only models: skip or text (send the text alone).")] = "send",
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Generation: maximum new tokens.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="Generation: temperature.")] = None,
    top_p: Annotated[float | None, typer.Option("--top-p", help="Generation: nucleus sampling.")] = None,
    stop: Annotated[list[str] | None, typer.Option("--stop", help="Generation: stop sequence (repeatable).")] = None,
    gen: Annotated[list[str] | None, typer.Option("-G", "--gen", help="Extra generation field KEY=VALUE for the engine.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report of these runs at the end.")] = True,
) -> None:
    """Run TASK(s) against MODEL(s), grade every answer, and write results/<run>/.

    Examples:\n
      evalkit run --task gaokao-math --model reference\n
      evalkit run --task gaokao-math --model random:1 --model openai:qwen2.5-7b --base-url http://localhost:8000/v1\n
      evalkit run --task my_samples.jsonl --model replay:outputs.jsonl\n
      evalkit run --task gaokao-math --model openai:m --output results/m1   (re-run the same line to resume)
    """
    if images not in ("send", "skip", "text"):
        fail(f"--images {images!r}: choose send, skip or text")
    if resume is not None:
        output = resume
        if not (resume / "run.json").exists():
            fail(f"--resume {resume}: not a run folder (no run.json)")
    if output is not None and (len(task) > 1 or len(model) > 1):
        fail("--output names one run folder; give one --task and one --model with it")
    try:
        _run_all(locals())
    except KeyboardInterrupt:
        typer.echo("\ninterrupted: finished samples are saved; re-run the same command with --output to resume.", err=True)
        raise typer.Exit(130) from None
    except USER_ERRORS as exc:
        fail(str(exc))


def _run_all(a: dict[str, Any]) -> None:
    from evalkit.adapters import make_adapter
    from evalkit.runner import RunConfig, run_sync
    from evalkit.sweep import resolve_task
    from evalkit.tasks import include

    for folder in a["include"] or []:
        include(folder)
    adapter_opts = parse_pairs(a["model_opt"], "-M")
    if a["base_url"]:
        adapter_opts["base_url"] = a["base_url"]
    if a["api_key_env"]:
        adapter_opts["api_key_env"] = a["api_key_env"]
    task_opts = parse_pairs(a["task_opt"], "-T")
    grader_opts = parse_json_pairs(a["grader_opt"], "--grader-option")
    tasks = [resolve_task(t, data=a["data"], options=task_opts, grader_options=grader_opts, judge=bool(a["judge"]))
             for t in a["task"]]
    cfg = RunConfig(
        concurrency=a["concurrency"], max_retries=a["max_retries"], timeout_s=a["timeout"],
        limit=a["limit"], ids=[i.strip() for i in a["ids"].split(",")] if a["ids"] else None,
        seed=a["seed"], output=a["output"], results_root=a["results_dir"], use_cache=not a["no_cache"],
        grade_time_limit_s=a["grade_timeout"], images=a["images"],
        generation=_generation(a["max_tokens"], a["temperature"], a["top_p"], a["stop"], a["gen"]),
        progress=not a["quiet"],
    )
    if len(tasks) * len(a["model"]) > 1:
        paths = _run_as_sweep(tasks, a, adapter_opts, cfg)
    else:
        adapter = make_adapter(a["model"][0], _options_for(a["model"][0], adapter_opts))
        judge = make_adapter(a["judge"], parse_pairs(a["judge_opt"], "-J")) if a["judge"] else None
        outcome = run_sync(tasks[0], adapter, replace(cfg, judge=judge))
        print_summary(outcome.path, outcome.summary)
        paths = [outcome.path]
    if a["report"] and paths:
        _write_report(paths, a["results_dir"])


def _run_as_sweep(tasks: list[Any], a: dict[str, Any], adapter_opts: dict[str, Any], cfg: Any) -> list[Path]:
    """Several tasks or models: a sweep on the local executor (one budget of --concurrency per endpoint)."""
    from evalkit.executors import run_sweep
    from evalkit.sweep import ModelSpec, Sweep, SweepTask

    models = [ModelSpec(uri, _options_for(uri, adapter_opts)) for uri in a["model"]]
    judge = ModelSpec(a["judge"], parse_pairs(a["judge_opt"], "-J")) if a["judge"] else None
    spec = Sweep(tasks=[SweepTask(t) for t in tasks], models=models, config=replace(cfg, progress=False),
                 seeds=[cfg.seed], judge=judge)
    outcome = run_sweep(spec, progress=cfg.progress)
    for run in outcome.runs:
        if run.summary is not None:
            print_summary(run.path, run.summary)
    return [run.path for run in outcome.runs if run.summary is not None]


def _options_for(uri: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Endpoint options only go to adapters that declare them (baselines take none)."""
    from evalkit.adapters import adapters

    cls = adapters.get(uri.partition(":")[0])
    return {k: v for k, v in opts.items() if k in cls.options_doc or k not in ("base_url", "api_key_env")}


def _write_report(paths: list[Path], root: Path) -> None:
    try:
        report_mod = importlib.import_module("evalkit.report")
    except ModuleNotFoundError:
        return
    write = getattr(report_mod, "write_report", None)
    if write is None:
        return
    out = paths[0] / "report.html" if len(paths) == 1 else root / "report.html"
    written = write(paths, out)
    typer.echo(f"report: {written}")


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
            shown = f"{v:.1%}" if ("accuracy" in k or k.endswith("rate")) else f"{v:g}"
            table.add_row(k, shown)
    for k in ("n", *STATUSES):
        if k in counts:
            table.add_row(k, str(counts[k]))
    console.print(table)
    _score_card(summary, console)
    console.print(f"results: {path}")


def _score_card(summary: dict[str, Any], console: Any) -> None:
    try:
        grade_cli = importlib.import_module("evalkit.cli_grade")
    except ModuleNotFoundError:
        return
    card = getattr(grade_cli, "print_score_card", None)
    if card is not None:
        card(summary, console)


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="A run folder under results/.")]) -> None:
    """Print the summary of a finished (or interrupted) run."""
    from evalkit.grading.metrics import summarize
    from evalkit.results import load_run

    try:
        run_ = load_run(run_dir)
    except USER_ERRORS as exc:
        fail(str(exc))
    summary = run_.summary
    if not summary:  # interrupted: summarise what is there
        metrics = run_.record.get("task", {}).get("metrics", ["accuracy"])
        summary = summarize(run_.results, metrics)
        summary.update(task=run_.task, model=run_.model)
        typer.echo(f"(run {run_.record.get('status', '?')}: summary of the {len(run_.results)} samples written so far)")
    print_summary(run_dir, summary)


@list_app.command("tasks")
def list_tasks(
    include: Annotated[list[Path] | None, typer.Option("--include", help="Add a folder of task definitions.")] = None,
    counts: Annotated[bool, typer.Option("--counts/--no-counts", help="Load each task to count its samples.")] = True,
) -> None:
    """Tasks: name, description, samples, modality."""
    from rich.console import Console
    from rich.table import Table

    from evalkit.tasks import get_task
    from evalkit.tasks import include as add_folder
    from evalkit.tasks import list_tasks as names

    try:
        for folder in include or []:
            add_folder(folder)
        table = Table(show_header=True)
        for col in ("task", "description", "samples", "modality"):
            table.add_column(col, justify="right" if col == "samples" else "left")
        notes: list[str] = []
        for name in names():
            try:
                t = get_task(name)
            except USER_ERRORS as exc:
                table.add_row(name, "", "needs --data", "-")
                notes.append(f"{name}: {exc}")
                continue
            n = "-"
            if counts:
                try:
                    n = str(len(t.samples))
                except USER_ERRORS as exc:
                    n = "needs data"
                    notes.append(f"{name}: {exc}")
            table.add_row(name, t.description.splitlines()[0] if t.description else "", n, t.modality)
        console = Console()
        console.print(table)
        for note in notes:
            console.print(f"[dim]{note}[/dim]", highlight=False)
    except USER_ERRORS as exc:
        fail(str(exc))


@list_app.command("adapters")
def list_adapters() -> None:
    """Adapters: URI scheme, what it talks to, and its -M options."""
    from rich.console import Console
    from rich.table import Table

    from evalkit.adapters import adapters

    table = Table(show_header=True)
    for col in ("scheme", "description", "options (-M KEY=VALUE)"):
        table.add_column(col)
    for name in adapters.names():
        try:
            cls = adapters.get(name)
        except ImportError as exc:  # an optional extra that is not installed
            table.add_row(name, f"(not available: {exc})", "")
            continue
        opts = "\n".join(f"{k}: {v}" for k, v in cls.options_doc.items())
        table.add_row(name, cls.description, opts)
    Console().print(table)


@list_app.command("scorers")
def list_scorers() -> None:
    """Scorers a task's `grader:` may name."""
    from evalkit.grading import scorer_registry as scorers

    for name in scorers.names():
        typer.echo(name)


def _register_extensions() -> None:
    for mod_name in ("evalkit.cli_report", "evalkit.cli_grade", "evalkit.cli_sweep"):
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue
            raise
        mod.register(app)


def main() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    _register_extensions()
    try:
        app()
    except USER_ERRORS as exc:  # last line of defence: one sentence, no traceback
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
