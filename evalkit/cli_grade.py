"""``evalkit grade``: the teachers' workflow on a run folder, and the Gaokao score card.

* ``evalkit grade export RUN_DIR`` writes what teachers need to mark a run — each question, the
  reference solution, the rubric and the model's answer — as ``grading/marks.csv`` (a spreadsheet
  with an empty ``mark`` column) and ``grading/marking.html`` (a printable page).
* ``evalkit grade judge RUN_DIR --judge URI`` adds an LLM judge's marks to a finished run's solutions.
* ``evalkit grade import RUN_DIR MARKS.csv`` reads the marks back: each mark joins the marks a sample
  already has (a newer mark of the same grader replaces the older), the exam's reconciliation runs
  again, and ``samples.jsonl`` and ``summary.json`` are rewritten atomically. Rows without a mark and
  samples not in the file are left exactly as they were.
* ``print_score_card(summary, console)`` — the paper's score card (total out of its points, sections,
  each question), which ``evalkit run`` and ``evalkit show`` print when a run has ``gaokao_paper``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from evalkit.cli_common import fail as _fail
from evalkit.errors import EvalkitError, MarksError
from evalkit.grading.marks import csv_cell, csv_value
from evalkit.marking import question_text, reference_text, write_marks
from evalkit.types import SampleResult

grade_app = typer.Typer(help="Human grading: export a run for teachers, import their marks.", no_args_is_help=True)
SECTION_NAMES = {"single": "单项选择题 single", "multi": "多项选择题 multi", "fill": "填空题 fill",
                 "solution": "解答题 solution"}
CSV_FIELDS = ["id", "paper", "number", "type", "max_points", "current_points", "current_grader", "mark", "marker",
              "comment", "question", "reference", "rubric", "response"]


def register(app: typer.Typer) -> None:
    """Add ``evalkit grade ...`` to the main command."""
    app.add_typer(grade_app, name="grade")


# -- export -------------------------------------------------------------------------------------------
def _rubric_text(meta: dict[str, Any]) -> str:
    lines = []
    for k, step in enumerate(meta.get("rubric") or [], 1):
        res = " / ".join(step.get("results") or [])
        lines.append(f"{k}. {step.get('part', '')} {step.get('step', '')}" + (f" ⇒ {res}" if res else "")
                     + f" [{step.get('points')} 分, 累计 {step.get('cumulative')}]")
    return "\n".join(lines)


def export_rows(results: list[SampleResult], include_all: bool = False) -> list[dict[str, Any]]:
    """One row per item teachers should mark (solutions, or everything with ``include_all``)."""
    rows = []
    for r in sorted(results, key=lambda r: (str(r.metadata.get("paper", "")), _num(r.metadata.get("number")), r.id)):
        meta = r.metadata
        if not include_all and meta.get("type") != "solution":
            continue
        human = next((m for m in r.score.details.get("marks", []) if m.get("grader") == "human"), None)
        rows.append({
            "id": r.id, "paper": meta.get("paper", ""), "number": meta.get("number", ""), "type": meta.get("type", ""),
            "max_points": f"{r.score.max_points:g}", "current_points": f"{r.score.points:g}",
            "current_grader": r.score.grader, "mark": f"{human['points']:g}" if human else "",
            "marker": (human or {}).get("marker") or "", "comment": "", "question": question_text(r),
            "reference": reference_text(r), "rubric": _rubric_text(meta), "response": r.response or "",
        })
    return rows


def _num(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 10**6


HTML = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>阅卷 · {{ title }}</title>
<style>
body{font-family:"Noto Serif CJK SC","Songti SC",serif;max-width:52em;margin:2em auto;line-height:1.6}
section{page-break-inside:avoid;border-top:2px solid #333;padding:.5em 0 1em}
h2{font-size:1.1em;margin:.3em 0} pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;font-size:.95em}
table{border-collapse:collapse} td,th{border:1px solid #999;padding:.2em .5em;text-align:left}
.mark{display:inline-block;border:1px solid #000;min-width:4em;height:1.6em;vertical-align:middle}
@media print{body{margin:0} section{page-break-after:always} button{display:none}}
.raw-math .math{font-family:monospace}
</style>{{ katex }}</head><body>
<p><button type="button" data-math-toggle>LaTeX 原文 (raw)</button></p>
<h1>阅卷 · {{ title }}</h1>
<p>{{ rows|length }} 道题。请在 <code>marks.csv</code> 的 <code>mark</code> 列填入得分（整数，0 至满分），<code>marker</code> 列填阅卷人，
然后运行 <code>evalkit grade import {{ run_dir }} marks.csv</code>。</p>
{% for r in rows %}<section>
<h2>{{ r.paper }} 第 {{ r.number }} 题（{{ r.type }}，满分 {{ r.max_points }} 分）<small> id: {{ r.id }}</small></h2>
<h3>题目</h3><pre>{{ r.question | plainmath }}</pre>
<h3>参考解答</h3><pre>{{ r.reference | plainmath }}</pre>
{% if r.rubric %}<h3>评分细则</h3><pre>{{ r.rubric | plainmath }}</pre>{% endif %}
<h3>考生作答</h3><pre>{{ r.response | plainmath if r.response else "（空）" }}</pre>
<p>机评：{{ r.current_points }} 分（{{ r.current_grader }}）　　得分：<span class="mark">{{ r.mark }}</span>　　阅卷人：<span class="mark">{{ r.marker }}</span></p>
</section>{% endfor %}
</body></html>
"""


def _unimported_work(sheet: Path, rows: list[dict[str, Any]]) -> int:
    """How many rows of an existing sheet hold a mark, marker or comment the fresh export would lose."""
    fresh = {str(r["id"]): r for r in rows}
    try:
        with sheet.open(encoding="utf-8-sig", newline="") as fh:
            old = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return 1  # unreadable: not ours to overwrite
    lost = 0
    for row in old:
        now = fresh.get(csv_value(row.get("id")), {})
        for key in ("mark", "marker", "comment"):
            value = csv_value(row.get(key)).strip()
            if value and not _same_cell(value, str(now.get(key) or "").strip()):
                lost += 1
                break
    return lost


def _same_cell(a: str, b: str) -> bool:
    """Whether two cells say the same (``5`` and ``5.0`` are the same mark)."""
    try:
        return a == b or float(a) == float(b)
    except ValueError:
        return False


def _free_sheet_paths(out_dir: Path) -> tuple[Path, Path]:
    """``marks-N.csv`` and ``marking-N.html`` for the smallest N ≥ 2 that names no existing sheet."""
    n = 2
    while (out_dir / f"marks-{n}.csv").exists() or (out_dir / f"marking-{n}.html").exists():
        n += 1
    return out_dir / f"marks-{n}.csv", out_dir / f"marking-{n}.html"


def _marking_page(rows: list[dict[str, Any]], title: str, run_dir: Path) -> str:
    """The printable page: every text escaped, math typeset offline by the inlined KaTeX."""
    import jinja2

    from evalkit.mathtext import inline_assets, render_plain

    env = jinja2.Environment(autoescape=True)
    env.filters["plainmath"] = render_plain
    return env.from_string(HTML).render(rows=rows, title=title, run_dir=run_dir, katex=inline_assets())


def write_export(run_dir: Path, out_dir: Path, include_all: bool = False,
                 notes: list[str] | None = None) -> tuple[Path, Path, int]:
    """Write ``marks.csv`` and ``marking.html`` for a run; returns their paths and the row count.

    A ``marks.csv`` already there that holds marks (or markers, comments) not yet imported is never
    overwritten: the new sheet is numbered (``marks-2.csv``) and ``notes`` says so. Every cell that
    would start a spreadsheet formula is written as text (see :func:`csv_cell`); both files are
    replaced atomically.
    """
    from evalkit.fileio import atomic_open, ensure_folder, write_text_atomic
    from evalkit.results import load_run

    run = load_run(run_dir)
    rows = export_rows(run.results, include_all)
    csv_path, html_path = out_dir / "marks.csv", out_dir / "marking.html"
    try:
        ensure_folder(out_dir)
        if csv_path.exists():
            lost = _unimported_work(csv_path, rows)
            if lost:
                csv_path, html_path = _free_sheet_paths(out_dir)
                if notes is not None:
                    held = "1 row" if lost == 1 else f"{lost} rows"
                    notes.append(f"{out_dir / 'marks.csv'} holds {held} of marks not yet imported, so it was "
                                 f"left as it is; the new sheet is {csv_path.name} (import the old one first if it is filled)")
        with atomic_open(csv_path, "w", encoding="utf-8", newline="") as fh:  # no BOM: tools read it as data
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        write_text_atomic(html_path, _marking_page(rows, f"{run.task} × {run.model}", run_dir))
    except OSError as exc:
        raise MarksError(f"{out_dir}: cannot write the marking sheet there ({exc.strerror or exc})") from None
    return csv_path, html_path, len(rows)


@grade_app.command("export")
def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (results/<run>).")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for marks.csv and marking.html (default RUN_DIR/grading).")] = None,
    include_all: Annotated[bool, typer.Option("--all", help="Export every item, not only solutions.")] = False,
) -> None:
    """Write the marking sheet (CSV) and a printable page (HTML) for teachers."""
    notes: list[str] = []
    try:
        csv_path, html_path, n = write_export(run_dir, out or run_dir / "grading", include_all, notes)
    except EvalkitError as exc:
        _fail(str(exc))
    for note in notes:
        typer.echo(f"note: {note}")
    typer.echo(f"{n} items to mark: {csv_path}  (printable: {html_path})")
    typer.echo(f"fill the 'mark' column, then: evalkit grade import {run_dir} {csv_path}")


# -- import -------------------------------------------------------------------------------------------
def read_published_marks(path: Path, results: dict[str, SampleResult]) -> tuple[dict[str, tuple[float, str | None]], list[str]]:
    """Published judge grades (GAOKAO-Bench correction files) for this run's samples, clipped to each item.

    Returns the marks and a note per mark that had to be clipped; grades of items not in the run are ignored.
    """
    from evalkit.tasks.gaokao import read_gaokao_bench_marks

    out: dict[str, tuple[float, str | None]] = {}
    notes: list[str] = []
    for sid, value in read_gaokao_bench_marks(path).items():
        if sid not in results:
            continue
        mx = results[sid].score.max_points
        if not 0 <= value <= mx:
            notes.append(f"{sid}: published mark {value:g} clipped to 0–{mx:g}")
            value = min(max(value, 0.0), mx)
        out[sid] = (value, "published")
    if not out:
        raise MarksError(f"{path}: no published grades for any sample of this run")
    return out, notes


def _is_published(path: Path) -> bool:
    if path.is_dir():
        return True
    if path.suffix != ".json":
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("example"), list)


def read_mark_rows(path: Path, results: dict[str, SampleResult],
                   blank: list[str] | None = None) -> dict[str, tuple[float, str | None]]:
    """``{id: (points, marker)}`` from a marks CSV or JSON, each mark one the item can give.

    The file is read by the grading room's one marks reader; a bad row is one sentence naming the file and row.
    The ids of this run's samples whose rows all leave the mark blank are appended to ``blank`` (in sheet order).
    """
    from evalkit.grading.marks import read_marks

    if path.exists() and _is_published(path):
        raise MarksError(f"{path}: published grades are read by import_marks, not as a marks sheet")
    out: dict[str, tuple[float, str | None]] = {}
    for row in sorted(read_marks(path).values(), key=lambda r: r.row):
        if row.mark is None:
            if blank is not None and row.id in results:
                blank.append(row.id)
            continue
        if row.id not in results:
            raise MarksError(f"{path}: row {row.row}: id {row.id!r} is not a sample of this run")
        problem = mark_problem(results[row.id], row.mark)
        if problem:
            raise MarksError(f"{path}: row {row.row} ({row.id}): {problem}")
        out[row.id] = (row.mark, row.marker)
    return out


def mark_problem(result: SampleResult, value: float) -> str | None:
    """Why ``value`` cannot be this sample's mark (the grading room's rule), or None."""
    from evalkit.grading.gaokao import mark_problem as problem

    return problem(result.metadata, result.target, result.score.max_points, value)


def import_marks(run_dir: Path, marks_path: Path, grader: str = "human", threshold: float | None = None,
                 notes: list[str] | None = None) -> int:
    """Merge marks into a run (a marks CSV or JSON, or published GAOKAO-Bench grades); returns how many.

    ``notes`` gets a line per thing the user should know: published grades clipped to their item, and the rows of
    a sheet left without a mark (when some other row has one; a sheet with none is the caller's message).
    """
    from evalkit.grading.gaokao import Mark
    from evalkit.results import load_run

    run = load_run(run_dir)
    by_id = {r.id: r for r in run.results}
    if _is_published(marks_path):
        marks, clipped = read_published_marks(marks_path, by_id)
        if notes is not None:
            notes.extend(clipped)
    else:
        blank: list[str] = []
        marks = read_mark_rows(marks_path, by_id, blank)
        if notes is not None and marks and blank:
            notes.append(blank_rows_note(blank))
    new = {sid: Mark(grader, value, by_id[sid].score.max_points, marker=marker) for sid, (value, marker) in marks.items()}
    write_marks(run, new, threshold, {"imported": str(marks_path), "grader": grader})
    return len(new)


def blank_rows_note(ids: list[str], shown: int = 5) -> str:
    """One line naming the rows of a sheet left without a mark (the first ``shown`` ids, then how many more)."""
    n = len(ids)
    names = ", ".join(ids[:shown]) + (f" and {n - shown} more" if n > shown else "")
    return f"{n} row{'s' if n != 1 else ''} without a mark, left as {'it was' if n == 1 else 'they were'}: {names}"


def _as_sample(result: SampleResult) -> Any:
    from evalkit.types import Sample

    return Sample(result.id, question_text(result), result.target, metadata=dict(result.metadata))


async def judge_run(run: Any, judge: Any, concurrency: int = 8, only_missing: bool = True) -> dict[str, Any]:
    """Judge marks for every solution of a run (those without one yet, unless ``only_missing`` is off)."""
    import asyncio

    from evalkit.grading.gaokao import judge_mark
    from evalkit.types import GenerationConfig, Message, Request, Text

    async def ask(prompt: str) -> str:
        resp = await judge.respond(Request((Message("user", (Text(prompt),)),), GenerationConfig(temperature=0.0)))
        if not resp.ok:
            raise RuntimeError(resp.error)
        return resp.text

    todo = [r for r in run.results if r.metadata.get("type") == "solution" and r.response is not None
            and not (only_missing and any(m.get("grader") == "judge" for m in r.score.details.get("marks", [])))]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(result: SampleResult) -> tuple[str, Any]:
        async with gate:
            return result.id, await judge_mark(_as_sample(result), result.response or "", ask)

    try:
        return dict(await asyncio.gather(*(one(r) for r in todo)))
    finally:
        await judge.aclose()


@grade_app.command("import")
def import_cmd(
    run_dir: Annotated[Path, typer.Argument(help="The run folder the marks belong to.")],
    marks: Annotated[Path, typer.Argument(help="The marks CSV (from 'evalkit grade export', 'mark' column filled), "
                                                "a JSON {id: mark}, or published GAOKAO-Bench grades (file or folder).")],
    grader: Annotated[str, typer.Option("--grader", help="Who marked: human (teachers), judge, or arbiter (settles flagged items).")] = "human",
    threshold: Annotated[float | None, typer.Option("--threshold", help="Points apart beyond which two marks are flagged for arbitration.")] = None,
) -> None:
    """Read teachers' marks back into the run, keeping every mark already there."""
    from rich.console import Console

    from evalkit.results import load_run

    if grader not in ("human", "judge", "arbiter"):
        _fail(f"--grader {grader!r}: allowed: human, judge, arbiter")
    notes: list[str] = []
    try:
        n = import_marks(run_dir, marks, grader, threshold, notes)
    except EvalkitError as exc:
        _fail(str(exc))
    if n == 0:
        hint = ": no row has a mark (fill its 'mark' column)" if marks.suffix.lower() == ".csv" else ""
        typer.echo(f"imported no marks from {marks} into {run_dir}{hint}")
    else:
        typer.echo(f"imported {n} mark{'s' if n != 1 else ''} into {run_dir}")
    for note in notes:
        typer.echo(f"  note: {note}")
    print_score_card(load_run(run_dir).summary, Console())


@grade_app.command("judge")
def judge_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run folder whose solutions an LLM should mark.")],
    judge: Annotated[str, typer.Option("--judge", help="Adapter URI of the judge model, e.g. openai:qwen2.5-72b.")],
    base_url: Annotated[str | None, typer.Option("--base-url", help="Endpoint of an OpenAI-compatible judge.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Judge requests in flight.")] = 8,
    again: Annotated[bool, typer.Option("--again", help="Judge solutions that already have a judge mark, too.")] = False,
    threshold: Annotated[float | None, typer.Option("--threshold", help="Points apart beyond which marks are flagged.")] = None,
) -> None:
    """Add an LLM judge's marks to a finished run's solutions, without asking the model again."""
    import asyncio

    from rich.console import Console

    from evalkit.adapters import make_adapter
    from evalkit.results import load_run

    try:
        run = load_run(run_dir)
        adapter = make_adapter(judge, {"base_url": base_url} if base_url else {})
        marks = asyncio.run(judge_run(run, adapter, concurrency, only_missing=not again))
        write_marks(run, marks, threshold, {"judged_by": judge, "grader": "judge"})
    except EvalkitError as exc:
        _fail(str(exc))
    failed = sum(1 for m in marks.values() if m.status != "graded")
    typer.echo(f"judged {len(marks)} solutions in {run_dir}" + (f" ({failed} unparsed or failed)" if failed else ""))
    print_score_card(load_run(run_dir).summary, Console())


@grade_app.command("serve")
def serve_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Run folders to mark together (the same paper, several models).")],
    host: Annotated[str, typer.Option("--host", help="Address to bind (only this machine by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8765,
    db: Annotated[Path | None, typer.Option("--db", help="The round's database (default: beside the runs).")] = None,
    marker: Annotated[list[str] | None, typer.Option("--marker", help="Add a marker by name (repeatable).")] = None,
    arbiter: Annotated[list[str] | None, typer.Option("--arbiter", help="Add an arbiter by name (repeatable).")] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", help="Points two markers may differ by (default: the paper's, else 2).")] = None,
    markers_per_answer: Annotated[int, typer.Option("--markers-per-answer", min=1, max=2, help="Markers per answer (2: double marking).")] = 2,
    mode: Annotated[str, typer.Option("--mode", help="Beyond the threshold: 'arbiter', or 'third' (a third marker, then an arbiter).")] = "arbiter",
    include_all: Annotated[bool, typer.Option("--all", help="Mark every item, not only solutions.")] = False,
) -> None:
    """The marking room: teachers mark the runs' answers in the browser, double-blind, with arbitration."""
    from evalkit.errors import EvalkitError
    from evalkit.serve import open_round, require_extra, serve

    people = [(n, "marker") for n in marker or []] + [(n, "arbiter") for n in arbiter or []]
    try:
        require_extra()
        rnd = open_round(runs, db=db, include_all=include_all, threshold=threshold,
                         markers_per_answer=markers_per_answer, mode=mode, people=people)
    except EvalkitError as exc:
        _fail(str(exc))
    serve(rnd, host, port, echo=typer.echo)


# -- the score card ---------------------------------------------------------------------------------
def print_score_card(summary: dict[str, Any], console: Any) -> None:
    """Print a Gaokao paper's score card when ``summary["metrics"]`` carries the paper metric."""
    from rich.table import Table

    m = summary.get("metrics") or {}
    if "sections" not in m or "questions" not in m:
        return
    papers = m.get("papers") or {}
    names = {q.get("paper") for q in m["questions"]}
    title = m.get("paper") or (next(iter(names)) if len(names) == 1 else f"{len(names)} papers")
    console.print(f"[bold]Gaokao score card[/bold] · {title}: [bold]{m['points']:g} / {m['max_points']:g}[/bold]"
                  f" ({m.get('points_rate', 0.0):.1%})")
    sec = Table(show_header=True, title="sections")
    for col in ("section", "points", "max", "rate"):
        sec.add_column(col, justify="left" if col == "section" else "right")
    for name, s in m["sections"].items():
        sec.add_row(SECTION_NAMES.get(name, name), f"{s['points']:g}", f"{s['max_points']:g}", f"{s.get('rate', 0.0):.1%}")
    console.print(sec)
    pending = m.get("pending") or {}
    if pending.get("n"):
        console.print(f"{pending['n']} items ({pending['max_points']:g} points) await marks and are not in the total: "
                      "mark them with a judge (--judge) or teachers (evalkit grade export)")
    if len(papers) <= 1:
        _question_table(m["questions"], console)
    else:
        _papers_table(papers, console)
    if len(m.get("years") or {}) > 1:
        _years_table(m["years"], console)
    if m.get("arbitration"):
        console.print(f"flagged for arbitration (markers differ by more than the threshold): {', '.join(m['arbitration'])}")


def _question_table(questions: list[dict[str, Any]], console: Any) -> None:
    from rich.table import Table

    table = Table(show_header=True, title="questions")
    for col in ("no.", "type", "points", "max", "status", "grader"):
        table.add_column(col, justify="right" if col in ("no.", "points", "max") else "left")
    for q in questions:
        note = "" if q.get("counted", True) else " (elective, not counted)"
        table.add_row(str(q.get("number", "")), str(q.get("type", "")), f"{q['points']:g}", f"{q['max_points']:g}",
                      f"{q.get('status', '')}{note}", str(q.get("grader", "")))
    console.print(table)


def _papers_table(papers: dict[str, Any], console: Any, limit: int = 40) -> None:
    from rich.table import Table

    table = Table(show_header=True, title=f"papers ({len(papers)})")
    for col in ("paper", "points", "max", "rate"):
        table.add_column(col, justify="left" if col == "paper" else "right")
    for name, p in list(sorted(papers.items()))[:limit]:
        rate = p["points"] / p["max_points"] if p["max_points"] else 0.0
        table.add_row(name, f"{p['points']:g}", f"{p['max_points']:g}", f"{rate:.1%}")
    console.print(table)
    if len(papers) > limit:
        console.print(f"… and {len(papers) - limit} more papers (evalkit report shows them all)")


def _years_table(years: dict[str, dict[str, float]], console: Any) -> None:
    from rich.table import Table

    sections = sorted({s for v in years.values() for s in v}, key=lambda s: list(SECTION_NAMES).index(s)
                      if s in SECTION_NAMES else 99)
    table = Table(show_header=True, title="scoring rate by year")
    table.add_column("year")
    for s in sections:
        table.add_column(s, justify="right")
    for year, rates in years.items():
        table.add_row(year, *[f"{rates[s]:.1%}" if s in rates else "-" for s in sections])
    console.print(table)
