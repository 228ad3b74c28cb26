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
    """One model's mark on one question of a paper (averaged over runs)."""

    points: float
    max_points: float
    grader: str
    status: str


@dataclass
class PaperRow:
    model: str
    total: float
    max_total: float
    ci: tuple[float, float]
    sections: dict[str, tuple[float, float]]  # type -> (points, max)
    questions: dict[str, QuestionCell]  # number -> mark


@dataclass
class PaperView:
    """A Gaokao paper as teachers publish results: totals, section subtotals, a points grid."""

    task: str
    paper: str
    numbers: list[str]
    sections: list[str]
    question_max: dict[str, float]
    question_type: dict[str, str]
    rows: list[PaperRow]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "paper": self.paper, "numbers": self.numbers, "sections": self.sections,
            "question_max": self.question_max, "question_type": self.question_type,
            "rows": [{
                "model": r.model, "total": r.total, "max_total": r.max_total,
                "ci_low": json_number(r.ci[0]), "ci_high": json_number(r.ci[1]),
                "sections": {s: {"points": p, "max": m} for s, (p, m) in r.sections.items()},
                "questions": {q: {"points": c.points, "max": c.max_points, "grader": c.grader, "status": c.status}
                              for q, c in r.questions.items()},
            } for r in self.rows],
        }


def build_papers(frame: pd.DataFrame, models: Sequence[str], *, seed: int) -> list[PaperView]:
    """Gaokao papers found in sample metadata (``meta.number`` and ``meta.type``), one view each."""
    if frame.empty or "meta.number" not in frame or "meta.type" not in frame:
        return []
    df = frame[frame["meta.number"].notna() & frame["meta.type"].notna()].copy()
    if df.empty:
        return []
    df["paper"] = df["meta.paper"].fillna(df["task"]) if "meta.paper" in df else df["task"]
    df["number"] = df["meta.number"].map(lambda v: str(int(v)) if isinstance(v, float) and v == int(v) else str(v))
    df["type"] = df["meta.type"].astype(str)
    views: list[PaperView] = []
    for (task, paper), pdf in df.groupby(["task", "paper"], sort=True):
        numbers = sorted(pdf["number"].unique().tolist(), key=label_key)
        qmax = pdf.groupby("number")["max_points"].max().to_dict()
        qtype = pdf.groupby("number")["type"].first().to_dict()
        sections = sorted(set(qtype.values()), key=section_key)
        rows = []
        for model in models:
            mdf = pdf[pdf["model"] == model]
            if mdf.empty:
                continue
            rows.append(_paper_row(model, mdf, qmax, qtype, sections, seed))
        views.append(PaperView(str(task), str(paper), numbers, sections, {k: float(v) for k, v in qmax.items()},
                               qtype, rows))
    return views


def _paper_row(model: str, mdf: pd.DataFrame, qmax: dict[str, float], qtype: dict[str, str],
               sections: list[str], seed: int) -> PaperRow:
    per_q = mdf.groupby("number").agg(points=("points", "mean"), max_points=("max_points", "max"))
    graders = mdf.groupby("number")["grader"].agg(lambda s: s.mode().iat[0] if not s.mode().empty else "")
    statuses = mdf.groupby("number")["status"].agg(lambda s: s.mode().iat[0] if not s.mode().empty else "")
    questions = {q: QuestionCell(float(row.points), float(row.max_points), str(graders[q]), str(statuses[q]))
                 for q, row in per_q.iterrows()}
    sec: dict[str, tuple[float, float]] = {}
    for s in sections:
        qs = [q for q, t in qtype.items() if t == s]
        sec[s] = (sum(questions[q].points for q in qs if q in questions), sum(qmax[q] for q in qs))
    ci = stats.percentile_interval(stats.ratio_replicates(per_q["points"].to_numpy(), per_q["max_points"].to_numpy(),
                                                          seed=seed))
    return PaperRow(model, float(per_q["points"].sum()), float(sum(qmax.values())), ci, sec, questions)
