"""The Gaokao view of a leaderboard: each paper as teachers publish results.

Papers are found in sample metadata (``paper``, ``number``, ``type``): a model's total out of the
paper's points with a seeded interval, its subtotal per section (in the paper's section order), and
each question's mark with the grader that decided it. The generic aggregation
(:mod:`evalkit.report.aggregate`) knows nothing of papers; it carries these views for the renderers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.grading.gaokao import section_key
from evalkit.report import rows as tbl
from evalkit.report import stats
from evalkit.report.rows import Row
from evalkit.report.stats import json_number, label_key

PAPER_FIELDS = frozenset({"paper", "number"})  # metadata that places an item on its paper, not a category


@dataclass
class QuestionCell:
    """One model's mark on one question of a paper (averaged over runs); ``pending`` while it awaits marks."""

    points: float
    max_points: float
    grader: str
    status: str

    @property
    def pending(self) -> bool:
        return self.status == "skipped"


@dataclass
class PaperRow:
    """One row of a paper's table: a model (with its scope when its runs do not cover the whole task).
    ``total`` and ``max_total`` leave out the questions awaiting marks, as the score card does; their
    points are ``pending``."""

    model: str
    total: float
    max_total: float
    ci: tuple[float, float]
    sections: dict[str, tuple[float, float]]  # type -> (points, max), pending questions left out
    questions: dict[str, QuestionCell]  # number -> mark
    pending: float = 0.0

    def total_label(self) -> str:
        body = f"{_g(self.total)} / {_g(self.max_total)}"
        return body + (f" ({_g(self.pending)} points pending)" if self.pending else "")


def _g(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass
class PaperView:
    """A Gaokao paper as teachers publish results: totals, section subtotals, a points grid.

    Its questions are the paper's units (:func:`evalkit.grading.gaokao.paper_units`): an elective pair
    is one column (``22/23``) holding the counted question's marks, so it counts once."""

    task: str
    paper: str
    numbers: list[str]
    sections: list[str]
    question_max: dict[str, float]
    question_type: dict[str, str]
    rows: list[PaperRow]

    @property
    def max_total(self) -> float:
        return float(sum(self.question_max.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "paper": self.paper, "numbers": self.numbers, "sections": self.sections,
            "question_max": self.question_max, "question_type": self.question_type, "max_total": self.max_total,
            "rows": [{
                "model": r.model, "total": r.total, "max_total": r.max_total, "pending": r.pending,
                "ci_low": json_number(r.ci[0]), "ci_high": json_number(r.ci[1]),
                "sections": {s: {"points": p, "max": m} for s, (p, m) in r.sections.items()},
                "questions": {q: {"points": c.points, "max": c.max_points, "grader": c.grader, "status": c.status}
                              for q, c in r.questions.items()},
            } for r in self.rows],
        }


def build_papers(frame: Sequence[Row], rows: Sequence[str], *, seed: int) -> list[PaperView]:
    """Gaokao papers found in the units' metadata (``meta.number`` and ``meta.type``), one view each, one
    row per leaderboard row (``row`` column; ``model`` when absent) in the order given."""
    placed = [r for r in frame if tbl.present(r.get("meta.number")) and tbl.present(r.get("meta.type"))]
    if not placed:
        return []
    type_text = tbl.text_form(frame, "meta.type")
    df = [{**r, "paper": r.get("meta.paper") if tbl.present(r.get("meta.paper")) else r["task"],
           "number": _number_text(r["meta.number"]), "type": type_text(r["meta.type"]),
           "row": r.get("row") if tbl.present(r.get("row")) else r["model"],
           "pending": r["pending"] if "pending" in r else r["status"] == "skipped"} for r in placed]
    views: list[PaperView] = []
    for (task, paper), pdf in sorted(tbl.group(df, lambda r: (r["task"], r["paper"])).items()):
        by_number = dict(sorted(tbl.group(pdf, lambda r: r["number"]).items()))
        numbers = sorted(by_number, key=label_key)
        qmax = {q: tbl.maximum(rs, "max_points") for q, rs in by_number.items()}
        qtype = {q: next(r["type"] for r in rs) for q, rs in by_number.items()}
        sections = sorted(set(qtype.values()), key=section_key)
        by_row = tbl.group(pdf, lambda r: r["row"])
        out_rows = [_paper_row(row, by_row[row], qtype, sections, seed) for row in rows if row in by_row]
        views.append(PaperView(str(task), str(paper), numbers, sections, qmax, qtype, out_rows))
    return views


def _number_text(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v == int(v) else str(v)


def _paper_row(label: str, mdf: list[Row], qtype: dict[str, str], sections: list[str], seed: int) -> PaperRow:
    by_number = dict(sorted(tbl.group(mdf, lambda r: r["number"]).items()))
    graded = {q: g for q, rs in by_number.items() if (g := [r for r in rs if not r["pending"]])}
    per_q = {q: (tbl.group_mean(rs, "points"), tbl.maximum(rs, "max_points")) for q, rs in graded.items()}
    graders = {q: tbl.mode(r["grader"] for r in rs) for q, rs in by_number.items()}
    statuses = {q: tbl.mode(r["status"] for r in rs) for q, rs in by_number.items()}
    questions = {q: QuestionCell(points, max_points, str(graders[q]), str(statuses[q]))
                 for q, (points, max_points) in per_q.items()}
    for q, rs in by_number.items():
        waiting = [r for r in rs if r["pending"]]
        if waiting and q not in questions:
            questions[q] = QuestionCell(0.0, tbl.maximum(waiting, "max_points"), str(graders[q]), "skipped")
    sec: dict[str, tuple[float, float]] = {}
    for s in sections:
        qs = [q for q, t in qtype.items() if t == s and q in per_q]
        sec[s] = (float(sum(per_q[q][0] for q in qs)), float(sum(per_q[q][1] for q in qs)))
    pending = float(sum(c.max_points for c in questions.values() if c.pending))
    points = [p for p, _ in per_q.values()]
    maxima = [m for _, m in per_q.values()]
    ci = stats.percentile_interval(stats.ratio_replicates(points, maxima, seed=seed)) if per_q else (math.nan,) * 2
    return PaperRow(label, tbl.total([{"p": p} for p in points], "p"), tbl.total([{"m": m} for m in maxima], "m"),
                    ci, sec, questions, pending)
