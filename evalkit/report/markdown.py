"""Markdown and JSON renderings of a leaderboard (for PR comments, ``$GITHUB_STEP_SUMMARY``, tools)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from evalkit.report.aggregate import Cell, Leaderboard
from evalkit.report.gaokao import PaperView

GRADER_MARK = {"answer": "A", "judge": "J", "human": "H", "arbiter": "H", "rubric": "J"}


def md_escape(text: object) -> str:
    """Make any text safe inside a Markdown table cell (pipes, newlines, HTML)."""
    s = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return s.replace("<", "&lt;").replace(">", "&gt;")


def grader_mark(grader: str) -> str:
    """A one-letter tag for who decided a question: A(nswer check), J(udge), H(uman: a teacher or an arbiter)."""
    g = (grader or "").lower()
    if g in GRADER_MARK:
        return GRADER_MARK[g]
    if "judge" in g or "rubric" in g:
        return "J"
    if "human" in g or "arbiter" in g:
        return "H"
    return "A" if g else "?"


def format_tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return str(n)


def format_seconds(s: float) -> str:
    if s <= 0:
        return "-"
    if s < 120:
        return f"{s:.1f}s"
    if s < 7200:
        return f"{s / 60:.1f}m"
    return f"{s / 3600:.1f}h"


def spread_label(cell: Cell) -> str:
    if cell.spread is None:
        return "-"
    scale = 100.0 if cell.kind == "mean" else 1.0
    return f"±{cell.spread * scale:.2f} ({cell.n_runs} runs)"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def leaderboard_lines(lb: Leaderboard) -> list[str]:
    header = ["Task", "Rank", "Model", "Metric", "Score [95% CI]", "n", "Spread", "Unparsed", "Errors",
              "Tokens in/out", "Time"]
    rows = []
    for c in lb.cells:
        rows.append([md_escape(c.label), c.rank_label() or "-", md_escape(c.model),
                     md_escape(c.metric + (" %" if c.kind == "mean" else "")),
                     c.display(), n_label(c), spread_label(c), str(c.counts.get("unparsed", 0)),
                     str(c.counts.get("error", 0)),
                     f"{format_tokens(c.prompt_tokens)}/{format_tokens(c.completion_tokens)}", format_seconds(c.wall_s)])
    return _table(header, rows)


def group_lines(lb: Leaderboard) -> list[str]:
    if not lb.groups:
        return []
    out: list[str] = []
    for spec in lb.group_specs:
        weights = ", ".join(f"{md_escape(t)}×{w:g}" for t, w in spec.weights.items())
        out += ["", f"### Group: {md_escape(spec.name)}", "", f"Weights: {weights} (scores on a 0–100 scale).", ""]
        rows = [[g.rank_label(), md_escape(g.model), md_escape(g.display())] for g in lb.groups if g.group == spec.name]
        out += _table(["Rank", "Model", "Score [95% CI]"], rows)
    return out


def n_label(cell: Cell) -> str:
    """Samples (units) of a cell, times its runs when several pool: what its status counts add up to."""
    return str(cell.n) if cell.n_runs == 1 else f"{cell.n} × {cell.n_runs} runs"


def paper_lines(view: PaperView) -> list[str]:
    title = view.paper if view.paper == view.task else f"{view.paper} ({view.task})"
    out = ["", f"### Gaokao paper: {md_escape(title)}", ""]
    header = ["Model", f"Total / {view.max_total:g}", "95% CI"] + [f"{md_escape(s)} / {_section_max(view, s):g}"
                                                                    for s in view.sections]
    rows = []
    for r in view.rows:
        ci = "-" if math.isnan(r.ci[0]) else f"[{r.ci[0]:.1f}, {r.ci[1]:.1f}]"
        rows.append([md_escape(r.model), md_escape(r.total_label()), ci]
                    + [f"{r.sections[s][0]:g}" if r.sections[s][1] else "…" for s in view.sections])
    out += _table(header, rows)
    out += ["", "Points per question (who decided: A = answer check, J = judge, H = teachers; "
                "… = awaiting marks, not in the total; a pair such as 22/23 is an elective, counted once):", ""]
    qheader = ["Model"] + [f"Q{md_escape(q)} ({view.question_max[q]:g})" for q in view.numbers]
    qrows = []
    for r in view.rows:
        cells = []
        for q in view.numbers:
            c = r.questions.get(q)
            cells.append("-" if c is None else "… pending" if c.pending else f"{c.points:g} {grader_mark(c.grader)}")
        qrows.append([md_escape(r.model)] + cells)
    out += _table(qheader, qrows)
    return out


def _section_max(view: PaperView, section: str) -> float:
    return sum(m for q, m in view.question_max.items() if view.question_type.get(q) == section)


def render_markdown(lb: Leaderboard, *, title: str = "evalkit leaderboard") -> str:
    """The leaderboard, groups and Gaokao papers as GitHub-flavoured Markdown."""
    lines = [f"## {md_escape(title)}", "",
             f"{len(lb.runs)} run(s), {len(lb.models)} model(s), {len(lb.tasks)} task(s), {lb.n_samples} sample results. "
             f"Intervals: 95% bootstrap over samples (seed {lb.seed}); rank '=k' means the interval overlaps another model's.",
             ""]
    lines += leaderboard_lines(lb)
    lines += group_lines(lb)
    for view in lb.papers:
        lines += paper_lines(view)
    if lb.warnings:
        lines += ["", "**Warnings**", ""] + [f"- {md_escape(w)}" for w in lb.warnings]
    return "\n".join(lines) + "\n"


def render_json(lb: Leaderboard) -> str:
    return json.dumps(lb.to_dict(), ensure_ascii=False, indent=2)


def write_text(path: Path, text: str) -> Path:
    """Write an output file whole or not at all (temp file, fsync, rename): a full disk or a kill
    leaves the previous file as it was."""
    from evalkit.fileio import write_text_atomic

    return write_text_atomic(path, text)
