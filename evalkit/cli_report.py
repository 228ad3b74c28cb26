"""The ``evalkit report`` and ``evalkit check`` commands (registered on the main app by ``register``).

Thin: parse flags, call :mod:`evalkit.report`, print with rich, write the files asked for, exit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evalkit.cli_common import echo_error
from evalkit.cli_common import fail as _fail

if TYPE_CHECKING:
    from rich.console import Console

    from evalkit.report.aggregate import Leaderboard
    from evalkit.report.check import CheckResult


def _console() -> Console:
    """A rich console; wide (160 columns) when not on a terminal, so CI logs keep one row per line."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def report(
    results: Annotated[list[Path], typer.Argument(help="Run folders, or folders holding run folders (e.g. results/).")],
    html: Annotated[Path | None, typer.Option("--html", help="Write the self-contained HTML report here "
                                              "(default: report.html in the first RESULTS folder).")] = None,
    no_html: Annotated[bool, typer.Option("--no-html", help="Do not write the HTML report.")] = False,
    markdown: Annotated[Path | None, typer.Option("--markdown", "--md", help="Write the tables as Markdown here "
                                                  "(use $GITHUB_STEP_SUMMARY in CI).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the tables as JSON here.")] = None,
    group: Annotated[list[str] | None, typer.Option("--group", "-g", help="A weighted group of tasks: "
                                                    "NAME=task[:weight],task[:weight] (repeatable).")] = None,
    groups_file: Annotated[Path | None, typer.Option("--groups-file", help="YAML/JSON of groups: "
                                                     "{name: {task: weight}} or {name: [task, ...]}.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap intervals.")] = 0,
    title: Annotated[str, typer.Option("--title", help="Title of the report.")] = "evalkit report",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the leaderboard.")] = False,
) -> None:
    """Build a leaderboard from run folders: models × tasks with 95% intervals, ranks, groups, Gaokao papers.

    Examples:\n
      evalkit report results/\n
      evalkit report results/ --markdown "$GITHUB_STEP_SUMMARY" --json board.json --html report.html\n
      evalkit report results/ --group "math=gsm8k:1,gaokao-math:2"
    """
    from evalkit.report import GroupSpec, ReportError, load_leaderboard, render_json, render_markdown
    from evalkit.report.aggregate import load_group_file
    from evalkit.report.markdown import write_text
    from evalkit.results import ResultsError

    try:
        specs = [GroupSpec.parse(g) for g in group or []]
        if groups_file is not None:
            specs += load_group_file(groups_file)
        lb = load_leaderboard(results, groups=specs, seed=seed)
    except (ReportError, ResultsError) as exc:
        _fail(str(exc))
        return
    if not quiet:
        print_leaderboard(lb)
    if markdown is not None:
        typer.echo(f"markdown: {write_text(markdown, render_markdown(lb, title=title))}")
    if json_out is not None:
        typer.echo(f"json: {write_text(json_out, render_json(lb))}")
    if not no_html:
        from evalkit.report.html import write_html

        target = html or _default_html(results[0])
        written = write_html(lb, target, title=title)
        typer.echo(f"report: {written} ({written.stat().st_size / 1e6:.2f} MB)")


def _default_html(first: Path) -> Path:
    return first / "report.html" if first.is_dir() else Path("report.html")


def print_leaderboard(lb: Leaderboard) -> None:
    """The leaderboard as a rich table (and group scores under it)."""
    from rich.markup import escape
    from rich.table import Table

    from evalkit.report.markdown import format_seconds, format_tokens, n_label, spread_label

    table = Table(title="Leaderboard (95% bootstrap intervals; '=k' = interval overlaps another model's)")
    optional = {
        "Spread": any(c.spread is not None for c in lb.cells),
        "Tokens in/out": any(c.prompt_tokens or c.completion_tokens for c in lb.cells),
        "Time": any(c.wall_s > 0 for c in lb.cells),
    }
    columns = ["Task", "Rank", "Model", "Score [95% CI]", "n", "Spread", "Unparsed", "Errors", "Tokens in/out", "Time"]
    columns = [col for col in columns if optional.get(col, True)]
    for col in columns:
        table.add_column(col, overflow="fold")
    for c in lb.cells:
        values = {
            "Task": escape(c.label), "Rank": c.rank_label() or "-", "Model": escape(c.model),
            "Score [95% CI]": c.display() + (" %" if c.kind == "mean" else ""), "n": n_label(c),
            "Spread": spread_label(c), "Unparsed": str(c.counts.get("unparsed", 0)),
            "Errors": str(c.counts.get("error", 0)),
            "Tokens in/out": f"{format_tokens(c.prompt_tokens)}/{format_tokens(c.completion_tokens)}",
            "Time": format_seconds(c.wall_s),
        }
        table.add_row(*(values[col] for col in columns))
    console = _console()
    console.print(table)
    for spec in lb.group_specs:
        weights = ", ".join(f"{t}×{w:g}" for t, w in spec.weights.items())
        rows = [g for g in lb.groups if g.group == spec.name]
        console.print(f"[bold]{escape(spec.name)}[/bold] ({escape(weights)}): " + "; ".join(
            f"{g.rank_label()} {escape(g.model)} {g.display()}" for g in rows), highlight=False)
    for view in lb.papers:
        totals = "; ".join(f"{r.model} {r.total_label()}" for r in view.rows)
        console.print(f"Gaokao {escape(view.paper)}: {escape(totals)}", highlight=False)
    for w in lb.warnings:
        console.print(f"warning: {escape(w)}", style="yellow", highlight=False)


def check(
    baseline: Annotated[Path, typer.Option("--baseline", help="Baseline run folder(s), or a baseline JSON "
                                           "(results/baselines/*.json).")],
    current: Annotated[Path, typer.Option("--current", help="Current run folder, or a folder of run folders.")],
    max_drop: Annotated[float, typer.Option("--max-drop", min=0.0, help="Largest tolerated drop: percentage "
                                            "points for accuracy, points for papers.")] = 1.0,
    alpha: Annotated[float, typer.Option("--alpha", min=0.0, max=1.0, help="Significance level of the paired test.")] = 0.05,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", "--md", help="Write the verdict as Markdown here.")] = None,
    update_baseline: Annotated[bool, typer.Option("--update-baseline", help="Write --current's per-sample scores "
                                                  "to the --baseline JSON file instead of checking.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the paired bootstrap.")] = 0,
    max_errors: Annotated[str | None, typer.Option("--max-errors", help="Failed samples a side may have and still be compared: a count (5) or a share (5%). Default 0.")] = None,
) -> None:
    """Check CURRENT against BASELINE per task; exit 0 held, 1 regressed, 2 could not compare.

    A side that did not finish, or has failed samples beyond --max-errors, cannot be compared (exit 2):
    its number is not the model's. A paper adds the same units as its score card (an elective pair
    once); questions awaiting marks on either side are left out and said so.

    Examples:\n
      evalkit check --baseline results/baselines/gaokao.json --current results/nightly\n
      evalkit check --baseline results/main --current results/pr --max-drop 2 --junit check.xml --md check.md\n
      evalkit check --baseline results/baselines/gaokao.json --current results/main --update-baseline
    """
    from evalkit.report.check import (
        CheckError,
        render_check_markdown,
        render_junit,
        run_check,
        write_baseline,
    )
    from evalkit.report.markdown import write_text

    if update_baseline:
        try:
            out = write_baseline(current, baseline)
        except CheckError as exc:
            _fail(str(exc))
            return
        typer.echo(f"baseline written: {out}")
        return
    from evalkit.verdict import BudgetError, ErrorBudget

    try:
        budget = ErrorBudget.parse(max_errors)
    except BudgetError as exc:
        _fail(str(exc))
        return
    result = run_check(baseline, current, max_drop=max_drop, alpha=alpha, seed=seed, max_errors=budget)
    print_check(result)
    if junit is not None:
        typer.echo(f"junit: {write_text(junit, render_junit(result))}")
    if markdown is not None:
        typer.echo(f"markdown: {write_text(markdown, render_check_markdown(result))}")
    raise typer.Exit(result.exit_code)


def print_check(result: CheckResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    if result.verdicts:
        table = Table(title=f"evalkit check (max drop {result.max_drop:g}, alpha {result.alpha:g})")
        for col in ("Task", "Verdict", "Baseline", "Current", "Δ", "95% CI of Δ", "p", "Test", "n", "Note"):
            table.add_column(col, overflow="fold")
        style = {"regressed": "bold red", "improved": "green", "held": "", "new": "dim"}
        for v in result.verdicts:
            table.add_row(escape(v.task), f"[{style[v.verdict]}]{v.verdict}[/]" if style[v.verdict] else v.verdict,
                          _f(v.baseline), _f(v.current), f"{_f(v.delta)} {v.unit}", f"[{_f(v.ci[0])}, {_f(v.ci[1])}]",
                          "-" if v.p is None else f"{v.p:.3g}", v.test, str(v.n), escape(v.note))
        console.print(table)
    line = result.headline
    if result.problem:
        echo_error(line)
    else:
        console.print(f"[bold]{escape(line)}[/bold]")


def _f(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.2f}"


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``check`` to the ``evalkit`` app."""
    app.command("report")(report)
    app.command("check")(check)
