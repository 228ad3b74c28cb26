"""``evalkit regrade``: score finished runs again with today's graders, and print what moved.

Thin: parses the flags, calls :func:`evalkit.regrade.regrade_run` per run folder, prints the moves
(how many verdicts moved, from what to what, with examples) and the metrics before and after.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from evalkit.cli_common import fail, parse_json_pairs, parse_pairs
from evalkit.errors import EvalkitError

if TYPE_CHECKING:
    from evalkit.regrade import RegradeOutcome


def regrade(
    runs: Annotated[list[Path], typer.Argument(help="Finished run folders to grade again.")],
    grader_opt: Annotated[list[str] | None, typer.Option("--grader-option", help="Change a grader option KEY=VALUE, e.g. extract=last_capital.")] = None,
    in_place: Annotated[bool, typer.Option("--in-place", help="Replace each run folder with its regraded self (in one atomic step) instead of writing a new folder beside it.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The new run folder (one RUN only); default RUN-regraded-STAMP beside it.")] = None,
    task: Annotated[str | None, typer.Option("--task", "-t", help="The run's task, when it cannot be found as recorded (name, YAML or JSONL).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Where the run's task data is now (file or folder).")] = None,
    task_opt: Annotated[list[str] | None, typer.Option("-T", "--task-option", help="Task option KEY=VALUE (over the recorded ones).")] = None,
    include: Annotated[list[Path] | None, typer.Option("--include", help="Add a folder of task definitions or plug-ins (repeatable).")] = None,
    grade_workers: Annotated[int | None, typer.Option("--grade-workers", min=1, help="Grading processes (default: one per core).")] = None,
    grade_timeout: Annotated[float, typer.Option("--grade-timeout", help="Seconds a grader may spend on one answer.")] = 30.0,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Examples shown per kind of move.")] = 3,
) -> None:
    """Grade the stored answers of finished RUN folders again with today's graders — no model is asked.

    Each run is written to a new folder beside it (RUN-regraded-STAMP) whose run.json records who graded it
    (the grader, its options, evalkit's version and a digest of the grading code); --in-place replaces the
    folder instead, atomically. Failed samples stay failed and skipped ones skipped; teachers' marks stay
    the mark. Prints how many verdicts moved, from what to what, with examples, and each metric before
    and after.

    Examples:\n
      evalkit regrade results/gaokao-math__openai_m__20250101-120000\n
      evalkit regrade results/run1 --grader-option extract=last_capital\n
      evalkit regrade results/*/ --in-place
    """
    from evalkit.regrade import regrade_run
    from evalkit.tasks import include as include_folder

    if output is not None and len(runs) > 1:
        fail("--output names one new run folder; give one RUN with it")
    grader_options = parse_json_pairs(grader_opt, "--grader-option")
    task_options = parse_pairs(task_opt, "-T")
    try:
        for folder in include or ():
            include_folder(folder)
        for run in runs:
            outcome = regrade_run(run, grader_options=grader_options, output=output, in_place=in_place,
                                  workers=grade_workers, time_limit=grade_timeout, task=task, data=data,
                                  task_options=task_options, examples=examples)
            print_outcome(outcome)
    except EvalkitError as exc:
        fail(str(exc), exc.exit_code)


def _shown(text: Any, limit: int = 160) -> str:
    """Model or data text, fit for a terminal: one line, control characters escaped, the end kept."""
    s = json.dumps(text if isinstance(text, str) else text, ensure_ascii=False, default=str)
    if isinstance(text, str):
        s = s[1:-1]
    return s if len(s) <= limit else "…" + s[-(limit - 1):]


def _fmt(key: str, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "-" if v is None else str(v)
    return f"{v:.1%}" if ("accuracy" in key or key.endswith("rate")) else f"{v:g}"


def print_outcome(o: RegradeOutcome) -> None:
    """The regrade of one run: where, what moved (with examples), and the metrics before and after."""
    echo = typer.echo
    where = f"{o.source} (in place)" if o.in_place else f"{o.source} → {o.path}"
    opts = f" {json.dumps(o.spec.options, ensure_ascii=False)}" if o.spec.options else ""
    rate = o.graded / o.wall_s if o.wall_s else 0.0
    echo(f"regraded {where}")
    echo(f"  {o.graded} answers graded again by {o.spec.name}{opts} in {o.wall_s:.1f} s ({rate:,.0f}/s); "
         f"{o.kept} failed or skipped sample(s) kept as they were")
    echo(f"  verdicts moved: {o.moved} of {o.graded}")
    for (before, after), n in sorted(o.moves.items(), key=lambda kv: (-kv[1], kv[0])):
        ids = ", ".join(_shown(m.id, 40) for m in o.examples.get((before, after), []))
        echo(f"    {before} → {after}: {n}" + (f"  (e.g. {ids})" if ids else ""))
    shown = [m for moves in o.examples.values() for m in moves]
    if shown:
        echo("  examples:")
        for m in shown:
            echo(f"    {_shown(m.id, 40)}: {m.before.get('status')} {_fmt('', m.before.get('points'))} → "
                 f"{m.after.get('status')} {_fmt('', m.after.get('points'))} of {_fmt('', m.after.get('max_points'))}"
                 f"; read {_shown(m.before.get('extracted'), 40)} → {_shown(m.after.get('extracted'), 40)}"
                 f" (stage {m.after.get('stage')})")
            echo(f"      answer: {_shown(m.response)}")
    before = o.before.get("metrics", {})
    after = o.after.get("metrics", {})
    keys = [k for k in after if isinstance(after[k], int | float) and not isinstance(after[k], bool)]
    if keys:
        width = max(len(k) for k in keys)
        echo(f"  {'metric':<{width}}  {'before':>9}  {'after':>9}")
        for k in keys:
            echo(f"  {k:<{width}}  {_fmt(k, before.get(k)):>9}  {_fmt(k, after[k]):>9}")
    errors = o.after.get("counts", {}).get("error", 0)
    if errors:
        echo(f"  errors: {errors} sample(s) failed (model calls that failed stay failed; see evalkit show)")
    echo(f"results: {o.path}")


def register(app: typer.Typer) -> None:
    """Add ``regrade`` to the ``evalkit`` app."""
    app.command("regrade")(regrade)
