"""The Gaokao view of a leaderboard: each paper as teachers publish results.

Papers are found in sample metadata (``paper``, ``number``, ``type``): a model's total out of the
paper's points with a seeded interval, its subtotal per section (in the paper's section order), and
each question's mark with the grader that decided it. The generic aggregation
(:mod:`evalkit.report.aggregate`) knows nothing of papers; it carries these views for the renderers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evalkit.grading.gaokao import section_key
from evalkit.report import stats
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


def build_papers(frame: pd.DataFrame, rows: Sequence[str], *, seed: int) -> list[PaperView]:
    """Gaokao papers found in the units' metadata (``meta.number`` and ``meta.type``), one view each, one
    row per leaderboard row (``row`` column; ``model`` when absent) in the order given."""
    if frame.empty or "meta.number" not in frame or "meta.type" not in frame:
        return []
    df = frame[frame["meta.number"].notna() & frame["meta.type"].notna()].copy()
    if df.empty:
        return []
    df["paper"] = df["meta.paper"].fillna(df["task"]) if "meta.paper" in df else df["task"]
    df["number"] = df["meta.number"].map(lambda v: str(int(v)) if isinstance(v, float) and v == int(v) else str(v))
    df["type"] = df["meta.type"].astype(str)
    df["row"] = df["row"].fillna(df["model"]) if "row" in df else df["model"]
    if "pending" not in df:
        df["pending"] = df["status"] == "skipped"
    views: list[PaperView] = []
    for (task, paper), pdf in df.groupby(["task", "paper"], sort=True):
        numbers = sorted(pdf["number"].unique().tolist(), key=label_key)
        qmax = pdf.groupby("number")["max_points"].max().to_dict()
        qtype = pdf.groupby("number")["type"].first().to_dict()
        sections = sorted(set(qtype.values()), key=section_key)
        out_rows = [_paper_row(row, pdf[pdf["row"] == row], qtype, sections, seed)
                    for row in rows if (pdf["row"] == row).any()]
        views.append(PaperView(str(task), str(paper), numbers, sections, {k: float(v) for k, v in qmax.items()},
                               qtype, out_rows))
    return views


def _paper_row(label: str, mdf: pd.DataFrame, qtype: dict[str, str], sections: list[str], seed: int) -> PaperRow:
    waiting = mdf[mdf["pending"].astype(bool)]
    graded = mdf.drop(waiting.index)
    per_q = graded.groupby("number").agg(points=("points", "mean"), max_points=("max_points", "max"))
    graders = mdf.groupby("number")["grader"].agg(lambda s: s.mode().iat[0] if not s.mode().empty else "")
    statuses = mdf.groupby("number")["status"].agg(lambda s: s.mode().iat[0] if not s.mode().empty else "")
    questions = {q: QuestionCell(float(row.points), float(row.max_points), str(graders[q]), str(statuses[q]))
                 for q, row in per_q.iterrows()}
    for q, row in waiting.groupby("number")["max_points"].max().items():
        if q not in questions:
            questions[q] = QuestionCell(0.0, float(row), str(graders[q]), "skipped")
    sec: dict[str, tuple[float, float]] = {}
    for s in sections:
        qs = [q for q, t in qtype.items() if t == s and q in per_q.index]
        sec[s] = (float(sum(per_q.loc[q, "points"] for q in qs)), float(sum(per_q.loc[q, "max_points"] for q in qs)))
    pending = float(sum(c.max_points for c in questions.values() if c.pending))
    ci = stats.percentile_interval(stats.ratio_replicates(per_q["points"].to_numpy(), per_q["max_points"].to_numpy(),
                                                          seed=seed)) if not per_q.empty else (float("nan"),) * 2
    return PaperRow(label, float(per_q["points"].sum()), float(per_q["max_points"].sum()), ci, sec, questions,
                    pending)
