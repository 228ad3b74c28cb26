"""Inline SVG charts for the HTML report: scores with intervals, section bars, a question heat map.

Each function returns :class:`markupsafe.Markup`; every piece of text that came from a run
(model names, task names, question numbers) is escaped here.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from evalkit.report.aggregate import Cell
from evalkit.report.gaokao import PaperView

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def heat_color(fraction: float) -> str:
    """Red (0) through amber to green (1); grey when unknown."""
    if fraction is None or math.isnan(fraction):
        return "#e5e7eb"
    f = min(1.0, max(0.0, fraction))
    hue = 120.0 * f
    return f"hsl({hue:.0f},65%,{78 - 18 * f:.0f}%)"


def score_chart(task: str, cells: list[Cell]) -> Markup:
    """One row per model: a dot at the score and a whisker for its 95% interval, each row on its own
    scale (a paper's points as the share of that row's own total, so 530 / 5708 sits near 9 %, never at
    the end of a scale set by another row's total)."""
    if not cells:
        return Markup("")
    label_w, plot_w, row_h = 190, 420, 22
    h = 28 + row_h * len(cells)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {label_w + plot_w + 150} {h}" width="{label_w + plot_w + 150}" '
             f'height="{h}" aria-label="{escape(task)} scores">']
    for tick in range(0, 11, 2):
        x = label_w + plot_w * tick / 10
        parts.append(f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{h - 4}" stroke="#e5e7eb"/>')
        label = f"{tick * 10}%" + (" of total" if tick == 10 and any(c.kind == "points" for c in cells) else "")
        parts.append(f'<text x="{x:.1f}" y="11" font-size="9" text-anchor="middle" fill="#6b7280">{escape(label)}</text>')
    for i, c in enumerate(cells):
        y = 28 + row_h * i
        name = c.model if c.complete else f"{c.model} ({c.scope})"
        parts.append(f'<text x="{label_w - 6}" y="{y + 4}" font-size="11" text-anchor="end">'
                     f'<title>{escape(name)}</title>{escape(_short(name))}</text>')
        if math.isnan(c.value):
            continue
        colour = PALETTE[i % len(PALETTE)] if c.complete else "#9ca3af"
        top = (c.max_points or 1.0) if c.kind == "points" else 1.0  # this row's own scale

        def sx(v: float, top: float = top) -> float:
            return label_w + plot_w * min(1.0, max(0.0, v / top))

        lo, hi = c.ci
        if not math.isnan(lo):
            parts.append(f'<line x1="{sx(lo):.1f}" y1="{y}" x2="{sx(hi):.1f}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
            for v in (lo, hi):
                parts.append(f'<line x1="{sx(v):.1f}" y1="{y - 5}" x2="{sx(v):.1f}" y2="{y + 5}" stroke="{colour}"/>')
        parts.append(f'<circle cx="{sx(c.value):.1f}" cy="{y}" r="4.5" fill="{colour}"><title>{escape(name)}: '
                     f'{escape(c.display())}</title></circle>')
        parts.append(f'<text x="{label_w + plot_w + 8}" y="{y + 4}" font-size="10">{escape(c.display().split(" [")[0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def section_bars(view: PaperView) -> Markup:
    """Grouped bars: for each section, each model's share of the section's points."""
    if not view.rows or not view.sections:
        return Markup("")
    models = [r.model for r in view.rows]
    bar_w, gap, plot_h = 14, 18, 140
    group_w = bar_w * len(models) + gap
    w = 50 + group_w * len(view.sections)
    h = plot_h + 60 + 16 * len(models)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="section scores">']
    for tick in (0, 50, 100):
        y = 10 + plot_h * (1 - tick / 100)
        parts.append(f'<line x1="40" y1="{y:.1f}" x2="{w}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="36" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="#6b7280">{tick}%</text>')
    for si, section in enumerate(view.sections):
        x0 = 50 + si * group_w
        for mi, row in enumerate(view.rows):
            pts, mx = row.sections.get(section, (0.0, 0.0))
            frac = pts / mx if mx else 0.0
            bh = plot_h * frac
            parts.append(f'<rect x="{x0 + mi * bar_w}" y="{10 + plot_h - bh:.1f}" width="{bar_w - 2}" height="{bh:.1f}" '
                         f'fill="{PALETTE[mi % len(PALETTE)]}"><title>{escape(row.model)} · {escape(section)}: '
                         f'{pts:g} / {mx:g}</title></rect>')
        parts.append(f'<text x="{x0 + (group_w - gap) / 2:.1f}" y="{plot_h + 26}" font-size="11" text-anchor="middle">'
                     f'{escape(section)}</text>')
    for mi, model in enumerate(models):
        y = plot_h + 44 + 16 * mi
        parts.append(f'<rect x="50" y="{y - 9}" width="10" height="10" fill="{PALETTE[mi % len(PALETTE)]}"/>'
                     f'<text x="66" y="{y}" font-size="11">{escape(model)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_map(view: PaperView) -> Markup:
    """Models × questions, coloured by the share of the question's points earned, with the grader's letter."""
    from evalkit.report.markdown import grader_mark

    if not view.rows:
        return Markup("")
    label_w, cw, ch = 170, 34, 26
    w = label_w + cw * len(view.numbers) + 4
    h = 22 + ch * len(view.rows)
    parts = [f'<svg class="chart heat" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="points per question">']
    for qi, q in enumerate(view.numbers):
        parts.append(f'<text x="{label_w + qi * cw + cw / 2:.1f}" y="14" font-size="10" text-anchor="middle">'
                     f'Q{escape(q)}</text>')
    for ri, row in enumerate(view.rows):
        y = 20 + ri * ch
        parts.append(f'<text x="{label_w - 6}" y="{y + ch / 2 + 4:.1f}" font-size="11" text-anchor="end">'
                     f'<title>{escape(row.model)}</title>{escape(_short(row.model, 24))}</text>')
        for qi, q in enumerate(view.numbers):
            c = row.questions.get(q)
            x = label_w + qi * cw
            if c is None:
                parts.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="#f3f4f6"/>')
                continue
            if c.pending:  # awaiting marks: neither 0 nor coloured
                parts.append(f'<g><title>{escape(row.model)} · Q{escape(q)}: awaiting marks ({c.max_points:g} points '
                             f'pending)</title><rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="#f3f4f6" '
                             f'stroke="#d1d5db" stroke-dasharray="3 2"/><text x="{x + cw / 2 - 1:.1f}" y="{y + 15}" '
                             f'font-size="9" text-anchor="middle" fill="#6b7280">…</text></g>')
                continue
            frac = c.points / c.max_points if c.max_points else math.nan
            tip = f"{row.model} · Q{q}: {c.points:g}/{c.max_points:g} ({c.status}, graded by {c.grader or '?'})"
            parts.append(f'<g><title>{escape(tip)}</title><rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" '
                         f'fill="{heat_color(frac)}"/><text x="{x + cw / 2 - 1:.1f}" y="{y + 15}" font-size="10" '
                         f'text-anchor="middle">{c.points:g}</text><text x="{x + cw - 5}" y="{y + 8}" font-size="7" '
                         f'text-anchor="end" fill="#374151">{escape(grader_mark(c.grader))}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
