"""``evalkit list tasks`` (the catalogue, by group) and ``evalkit show-task NAME`` (one task's card).

Thin printing over :mod:`evalkit.tasks.catalogue`; a user's mistake (an unknown task, a bad task
file, a missing --data folder) ends as one sentence and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from evalkit.cli_common import fail as _fail
from evalkit.errors import EvalkitError


def list_tasks(include: list[Path] | None, counts: bool, verbose: bool) -> None:
    """One table per group: task, description, samples (when the data is here), modality, data."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from evalkit.tasks import get_task
    from evalkit.tasks import include as add_folder
    from evalkit.tasks import list_tasks as names
    from evalkit.tasks.catalogue import GROUP_ORDER, GROUP_TITLES, data_status, group_of

    try:
        for folder in include or []:
            add_folder(folder)
        task_names = names()
    except EvalkitError as exc:
        _fail(str(exc))
    rows: dict[str, list[tuple[str, ...]]] = {g: [] for g in GROUP_ORDER}
    notes: dict[str, list[str]] = {g: [] for g in GROUP_ORDER}
    for name in task_names:
        try:
            task = get_task(name)
        except EvalkitError as exc:
            rows["other"].append((name, "", "-", "-", "cannot load"))
            notes["other"].append(f"{name}: {exc}")
            continue
        group = group_of(task)
        status = data_status(task)
        n = "-"
        if counts and status.available:
            try:
                n = str(len(task.samples))
            except EvalkitError as exc:
                n = "error"
                notes[group].append(f"{name}: {exc}")
        description = " ".join(task.description.split())
        rows[group].append((name, description, n, task.modality, status.where))
        if verbose:
            about = task.about
            for key in ("data", "licence"):
                if about.get(key):
                    notes[group].append(f"{name} {key}: {about[key]}")
    console = Console()
    for group in GROUP_ORDER:
        if not rows[group]:
            continue
        table = Table(title=GROUP_TITLES[group], title_justify="left", show_header=True)
        for col in ("task", "description", "samples", "modality", "data"):
            table.add_column(col, justify="right" if col == "samples" else "left", overflow="fold")
        for row in rows[group]:
            table.add_row(*(Text(str(cell)) for cell in row))  # plain text: brackets are not markup
        console.print(table)
        for note in notes[group]:
            console.print(f"  {note}", highlight=False, markup=False)
    console.print("Tasks that read the hub need the dataset in the Hugging Face cache (huggingface-cli download "
                  "--repo-type dataset ID) or a local copy given with --data DIR; `evalkit show-task NAME` "
                  "prints a task's source, fields, rule and an example prompt.", highlight=False, markup=False)


def _print_mapping(title: str, mapping: dict[str, Any]) -> None:
    if not mapping:
        return
    typer.echo(f"{title}:")
    for key, value in mapping.items():
        typer.echo(f"  {key}: {value}")


def show_task(name: str, data: str | None, task_opt: list[str] | None) -> None:
    """Print one task's card (source, licence, fields, rule, what was checked) and an example prompt."""
    from evalkit.cli_common import parse_pairs
    from evalkit.tasks import get_task
    from evalkit.tasks.catalogue import card, example, prompt_text

    options = parse_pairs(task_opt, "-T")
    try:
        task = get_task(name, data=data, options=options)
        info = card(task)
        shown = example(task)
    except EvalkitError as exc:
        _fail(str(exc))
        return
    title = f" - {info['title']}" if info["title"] else ""
    typer.echo(f"{task.name}{title}")
    typer.echo(f"group: {info['group']} · modality: {task.modality} · version {task.version} · defined in {task.source}")
    if task.description:
        typer.echo(task.description)
    typer.echo("")
    for key in ("source", "data", "homepage", "paper", "licence"):
        if info[key]:
            typer.echo(f"{key}: {info[key]}")
    _print_mapping("fields (evalkit field: source column)", info["fields"])
    _print_mapping("columns of the source", info["columns"])
    if info["rule"]:
        typer.echo(f"answer rule: {info['rule']}")
    grader = info["grader"]
    typer.echo(f"grader: {grader['name']}" + (f" {grader['options']}" if grader["options"] else "")
               + f" · metrics: {', '.join(info['metrics'])}")
    if info["checked"]:
        typer.echo("checked against:")
        for item in info["checked"]:
            typer.echo(f"  - {item}")
    typer.echo("")
    if shown is None:
        typer.echo("example prompt: none (the task's data is not here and it names no fixture)")
        return
    sample, messages, where = shown
    typer.echo(f"example prompt (sample {sample.id} of the {where}):")
    typer.echo(prompt_text(messages))
    typer.echo(f"target: {sample.target}")


def register(app: typer.Typer) -> None:
    @app.command("show-task")
    def show_task_command(
        name: Annotated[str, typer.Argument(help="A task name (see `evalkit list tasks`) or a task YAML file.")],
        data: Annotated[str | None, typer.Option("--data", help="Show an example from this local copy.")] = None,
        task_opt: Annotated[list[str] | None, typer.Option("-T", "--task-option", help="Task option KEY=VALUE.")] = None,
    ) -> None:
        """One task's card: source, licence, fields, answer rule, the sources checked, and an example prompt."""
        show_task(name, data, task_opt)


def image_policy_line(view: dict[str, Any]) -> str:
    """How the run treated the image questions, as the card and the report state it."""
    skipped, text_only = view["skipped"]["items"], view["counts"]["text_only"]
    if skipped:
        return (f"{skipped} image items skipped (--images skip): every figure leaves out those items, "
                "so the headline covers the text questions only")
    if text_only:
        return (f"{text_only} image questions sent as text without their figures (--images text): "
                "they count, and cannot be answered from the figure")
    if "image" not in view["grid"].get("all", {}):
        return "no image questions in this selection"
    return "image questions sent with their figures"


def print_hs_card(summary: dict[str, Any], console: Any) -> None:
    """gaokao-hs: both headlines with intervals, the subject × modality grid, each benchmark's own figures."""
    from rich.table import Table

    m = summary.get("metrics") or {}
    view = m.get("gaokao_hs")
    if not isinstance(view, dict):
        return
    from evalkit.grading.gaokao_hs import SUBJECT_ZH

    console.print(f"[bold]gaokao-hs[/bold] · {m['hs_items']:g} items · {image_policy_line(view)}", highlight=False)
    console.print(f"  accuracy, sample-balanced (every item once; the benchmarks' own statistic, printed first): "
                  f"[bold]{m['hs_accuracy']:.1%}[/bold] (95% CI {m['hs_accuracy_ci_low']:.1%}-{m['hs_accuracy_ci_high']:.1%})",
                  highlight=False)
    console.print(f"  points rate: {m['hs_points_rate']:.1%} (95% CI {m['hs_points_rate_ci_low']:.1%}-"
                  f"{m['hs_points_rate_ci_high']:.1%}) · accuracy, subject-balanced (each subject once): "
                  f"{m['hs_subject_balanced']:.1%}", highlight=False)
    grid = Table(title="subject × modality: accuracy (items)", show_header=True)
    for col in ("subject", "text", "image", "all"):
        grid.add_column(col, justify="left" if col == "subject" else "right")
    for subject in [*view["subjects"], "all"]:
        row = view["grid"].get(subject, {})
        cells = [f"{row[k]['accuracy']:.1%} ({row[k]['items']:g})" if k in row else "-" for k in ("text", "image", "all")]
        grid.add_row(f"{SUBJECT_ZH.get(subject, '')} {subject}".strip(), *cells)
    console.print(grid)
    for bench, rows in sorted(view["benchmarks"].items()):
        stat = "points rate" if bench == "GAOKAO-Bench" else "accuracy"
        parts = [f"{s} {rows[s]['points_rate' if stat == 'points rate' else 'accuracy']:.1%}"
                 for s in [*view["subjects"], "all"] if s in rows]
        console.print(f"  {bench} by subject ({stat}, as it publishes): " + " · ".join(parts), highlight=False)
