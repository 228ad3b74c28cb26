"""Aggregation of run folders into a leaderboard: cells, ranks, groups and breakdowns.

A *cell* is one model on one task. Several runs of the same model and task (seeds, epochs) pool
into one cell: each sample's score is averaged over the runs, the interval is a seeded bootstrap
over samples, and the spread is the standard deviation of the per-run values. How a cell pools is
what the task's primary metric declares in the run's summary (:func:`evalkit.grading.metrics.aggregation_of`):
``mean`` (mean score, shown in percent), ``points`` (sum of points, shown out of the total) or
``summary`` (each run's number as reported), and which way is better. Groups combine tasks with
stated weights on the 0..1 scale (points become the fraction of the total). Papers are the Gaokao
view's (:mod:`evalkit.report.gaokao`); the leaderboard carries them for the renderers. Tables are plain
rows (:mod:`evalkit.report.rows`), not pandas: the report written at the end of every ``evalkit run``
goes through here, and importing pandas alone cost more than the whole report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.errors import EvalkitError
from evalkit.grading.metrics import Aggregation, aggregation_of, units_of
from evalkit.report import rows as tbl
from evalkit.report import stats
from evalkit.report.gaokao import PAPER_FIELDS, PaperView, build_papers
from evalkit.report.rows import Row
from evalkit.report.stats import json_number, label_key
from evalkit.results import Run, find_runs, run_scope
from evalkit.types import STATUSES

STATUS_COLUMNS = STATUSES


class ReportError(EvalkitError, ValueError):
    """A report input that cannot be used; the message names the file, flag or task."""


@dataclass(frozen=True)
class GroupSpec:
    """A named set of tasks with weights, e.g. ``math=gsm8k:1,gaokao-2024:2``."""

    name: str
    weights: dict[str, float]

    @classmethod
    def parse(cls, text: str) -> GroupSpec:
        """Parse ``NAME=task[:weight],task[:weight]...`` (weights default to 1)."""
        name, sep, body = text.partition("=")
        if not sep or not name.strip() or not body.strip():
            raise ReportError(f"--group {text!r}: expected NAME=task[:weight],task[:weight]")
        weights: dict[str, float] = {}
        for item in body.split(","):
            task, _, w = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "1")
            try:
                weight = float(w)
            except ValueError:
                raise ReportError(f"--group {text!r}: weight {w!r} of task {task!r} is not a number") from None
            if weight < 0 or not task:
                raise ReportError(f"--group {text!r}: each item needs a task name and a weight >= 0")
            weights[task] = weight
        if sum(weights.values()) <= 0:
            raise ReportError(f"--group {text!r}: the weights sum to zero")
        return cls(name.strip(), weights)


def load_group_file(path: Path) -> list[GroupSpec]:
    """Groups from a YAML/JSON file: ``{name: {task: weight, ...}}`` or ``{name: [task, ...]}``."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"--groups-file {path}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReportError(f"--groups-file {path}: not valid YAML" + (f" at line {mark.line + 1}" if mark else "")) from None
    if not isinstance(data, dict) or not data:
        raise ReportError(f"--groups-file {path}: expected a mapping of group name to tasks")
    specs = []
    for name, body in data.items():
        if isinstance(body, list):
            body = {str(t): 1.0 for t in body}
        if not isinstance(body, dict) or not body:
            raise ReportError(f"--groups-file {path}: group {name!r} needs a list of tasks or a task: weight mapping")
        items = ",".join(f"{t}:{w}" for t, w in body.items())
        try:
            specs.append(GroupSpec.parse(f"{name}={items}"))
        except ReportError as exc:
            raise ReportError(f"--groups-file {path}: group {name!r}: {exc}") from None
    return specs


@dataclass
class Cell:
    """One model on one task, over one or more runs."""

    model: str
    task: str
    metric: str
    kind: str  # "mean" (0..1, shown in percent), "points" (sum of points) or "summary" (no CI)
    value: float
    ci: tuple[float, float]
    max_points: float | None
    n: int
    n_runs: int
    spread: float | None
    run_values: list[float]
    counts: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    runs: list[str]
    task_version: str | None = None
    rank: int = 0
    tied: bool = False
    replicates: np.ndarray | None = field(default=None, repr=False)
    higher_is_better: bool = True  # as the metric declares (a rate of failures ranks lowest first)
    # comparability: runs pool into one cell only over the same samples; a cell that is not complete
    # (``scope`` says "limited: 120 of 844 samples" or "unfinished: …") is never ranked against complete ones
    scope: str = ""
    sample_set: str = ""
    pending: int = 0  # units awaiting marks (left out of the value, shown apart)
    pending_points: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.scope

    @property
    def label(self) -> str:
        """The task as a row shows it: with its scope when the cell does not cover the whole task."""
        return f"{self.task} ({self.scope})" if self.scope else self.task

    @property
    def fraction(self) -> float:
        """The value on a 0..1 scale (points as a fraction of the total)."""
        if self.kind == "points":
            return self.value / self.max_points if self.max_points else math.nan
        return self.value

    def fraction_replicates(self) -> np.ndarray | None:
        if self.replicates is None:
            return None
        if self.kind == "points":
            return self.replicates / self.max_points if self.max_points else None
        return self.replicates

    def display(self) -> str:
        """The value with its interval, in the metric's units (and the points still pending)."""
        if math.isnan(self.value):
            return "n/a"
        lo, hi = self.ci
        if self.kind == "points":
            total = f" / {_num(self.max_points)}" if self.max_points else ""
            body = f"{_num(self.value)}{total}"
            shown = body if math.isnan(lo) else f"{body} [{_num(lo)}, {_num(hi)}]"
            return shown + (f"; {_num(self.pending_points)} points pending" if self.pending else "")
        scale = 100.0 if self.kind == "mean" else 1.0
        body = f"{self.value * scale:.1f}" if self.kind == "mean" else f"{self.value:.4g}"
        return body if math.isnan(lo) else f"{body} [{lo * scale:.1f}, {hi * scale:.1f}]"

    def rank_label(self) -> str:
        if not self.rank:
            return ""
        return f"={self.rank}" if self.tied else str(self.rank)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "task": self.task, "task_version": self.task_version,
            "metric": self.metric, "kind": self.kind,
            "value": json_number(self.value), "ci_low": json_number(self.ci[0]), "ci_high": json_number(self.ci[1]),
            "max_points": self.max_points, "display": self.display(),
            "rank": self.rank, "tied": self.tied, "n": self.n, "n_runs": self.n_runs,
            "scope": self.scope or "complete", "sample_set": self.sample_set,
            "pending": self.pending, "pending_points": self.pending_points,
            "spread": json_number(self.spread), "run_values": [json_number(v) for v in self.run_values],
            **{k: self.counts.get(k, 0) for k in STATUS_COLUMNS},
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "wall_s": round(self.wall_s, 3), "runs": self.runs,
        }


@dataclass
class GroupRow:
    """A model's weighted score over a group of tasks (0..1 scale)."""

    group: str
    model: str
    weights: dict[str, float]
    value: float
    ci: tuple[float, float]
    missing: list[str]
    rank: int = 0
    tied: bool = False

    def display(self) -> str:
        if math.isnan(self.value):
            return "n/a (missing " + ", ".join(self.missing) + ")"
        lo, hi = self.ci
        body = f"{self.value * 100:.1f}"
        return body if math.isnan(lo) else f"{body} [{lo * 100:.1f}, {hi * 100:.1f}]"

    def rank_label(self) -> str:
        if not self.rank:
            return ""
        return f"={self.rank}" if self.tied else str(self.rank)

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "model": self.model, "weights": self.weights,
                "value": json_number(self.value), "ci_low": json_number(self.ci[0]), "ci_high": json_number(self.ci[1]),
                "display": self.display(), "missing": self.missing, "rank": self.rank, "tied": self.tied}


@dataclass
class Breakdown:
    """One task's mean score per category of a metadata field (e.g. ``kind`` or ``type``), per model."""

    task: str
    field: str
    categories: list[str]
    values: dict[str, dict[str, tuple[float, int]]]  # model -> category -> (mean score, samples)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "field": self.field, "categories": self.categories,
                "values": {m: {c: {"mean": json_number(v), "n": n} for c, (v, n) in cats.items()}
                           for m, cats in self.values.items()}}


BREAKDOWN_SKIP = frozenset({"points", "id", "analysis", "answer", "score"}) | PAPER_FIELDS


def build_breakdowns(frame: Sequence[Row], models: Sequence[str], *, max_categories: int = 12,
                     max_fields: int = 3) -> list[Breakdown]:
    """Per task, the mean score by each categorical metadata field with 2..``max_categories`` values."""
    if not frame:
        return []
    names = [c for c in tbl.columns(frame) if c.startswith("meta.") and c[5:] not in BREAKDOWN_SKIP]
    texts = {c: tbl.text_form(frame, c) for c in names}  # as the whole table reads the column
    out: list[Breakdown] = []
    for task, tdf in sorted(tbl.group(frame, lambda r: r["task"]).items()):
        n_rows = len(tdf)
        fields: list[str] = []
        seen: list[list[int]] = []
        for col in names:
            values = [r.get(col) for r in tdf]
            given = [v for v in values if tbl.present(v)]
            if len(given) < n_rows / 2:  # a field most samples lack says little
                continue
            k = len(set(given))
            if not (2 <= k <= max_categories and k <= len(given) / 2):
                continue
            if max(len(texts[col](v)) for v in given) > 40:
                continue
            first: dict[str, int] = {}
            codes = [first.setdefault(texts[col](v), len(first)) for v in values]
            if codes in seen:  # same split under another name (type vs section)
                continue
            seen.append(codes)
            fields.append(col)
        for col in fields[:max_fields]:
            sub = [r for r in tdf if tbl.present(r.get(col))]
            by_cat = tbl.group(sub, lambda r, col=col: (r["model"], texts[col](r[col])))
            cats = sorted({c for _, c in by_cat}, key=label_key)
            values_by_model = {m: {c: (tbl.group_mean(by_cat[(m, c)], "value"), len(by_cat[(m, c)]))
                                   for c in cats if (m, c) in by_cat}
                               for m in models if any(key[0] == m for key in by_cat)}
            out.append(Breakdown(str(task), col[5:], cats, values_by_model))
    return out


@dataclass
class Leaderboard:
    """Everything a renderer needs: cells, per-task ranks, groups, papers and the runs themselves."""

    cells: list[Cell]
    models: list[str]
    tasks: list[str]
    groups: list[GroupRow]
    group_specs: list[GroupSpec]
    papers: list[PaperView]
    runs: list[Run]
    seed: int
    warnings: list[str] = field(default_factory=list)
    frame: list[Row] = field(default_factory=list, repr=False)  # every unit of every run, with its row label
    breakdowns: list[Breakdown] = field(default_factory=list)

    def cell(self, model: str, task: str) -> Cell | None:
        """The complete cell of a model on a task (None when it has none: only limited or unfinished runs)."""
        return self._index.get((model, task))

    @property
    def _index(self) -> dict[tuple[str, str], Cell]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = headline_cells(self.cells)
            self.__dict__["_idx"] = idx
        return idx

    @property
    def n_samples(self) -> int:
        return int(sum(len(r.results) for r in self.runs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "evalkit_report": 1,
            "seed": self.seed,
            "models": self.models,
            "tasks": self.tasks,
            "leaderboard": [c.to_dict() for c in self.cells],
            "groups": [g.to_dict() for g in self.groups],
            "gaokao": [p.to_dict() for p in self.papers],
            "breakdowns": [b.to_dict() for b in self.breakdowns],
            "runs": [{"path": str(r.path), "model": r.model, "task": r.task} for r in self.runs],
            "warnings": self.warnings,
        }


def _num(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{x:.1f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _wall_seconds(record: dict[str, Any]) -> float:
    try:
        start = datetime.fromisoformat(str(record["started"]))
        end = datetime.fromisoformat(str(record["finished"]))
    except (KeyError, TypeError, ValueError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def primary_metric(run: Run) -> str | None:
    """The name of a run's primary metric (the first its task lists)."""
    names = (run.record.get("task") or {}).get("metrics") or []
    return str(names[0]) if names else None


UNIT_COLUMNS = ("run", "task", "model", "id", "status", "value", "points", "max_points", "stage", "grader",
                "extracted", "prompt_tokens", "completion_tokens", "latency_s", "error")


def run_frame(run: Run) -> list[Row]:
    """One row per thing the run's headline adds up: its samples, or the units its primary metric declares
    (a paper: its items with an elective pair once, chosen on the final marks), with ``pending`` true for
    units awaiting marks (kept apart from every total)."""
    units_fn = units_of(primary_metric(run))
    if units_fn is None:
        return [{**row, "pending": False} for row in run.sample_rows()]
    return [{"run": str(run.path), "task": run.task, "model": run.model, "id": u.id, "status": u.status,
             "value": u.value, "points": u.points, "max_points": u.max_points, "stage": "", "grader": u.grader,
             "extracted": None, "prompt_tokens": 0, "completion_tokens": 0, "latency_s": 0.0, "error": None,
             "pending": u.pending, **{f"meta.{k}": v for k, v in u.metadata.items()}}
            for u in units_fn(run.results)]


def sample_set(run: Run, frame: Sequence[Row]) -> str:
    """What a run's number is over: its task's samples (the dataset's fingerprint) and which of them."""
    import hashlib

    ids = sorted(str(r["id"]) for r in frame)
    fingerprint = str((run.record.get("task") or {}).get("dataset_fingerprint") or "")
    return hashlib.sha256("\n".join([fingerprint, *ids]).encode()).hexdigest()[:12]


def primary_of(run: Run) -> tuple[str, Aggregation]:
    """A run's primary number and how it pools, as its summary declares (a run without a summary, one
    that did not finish, by the declaration of its task's first metric)."""
    if run.summary:
        return str(run.summary.get("primary") or "accuracy"), aggregation_of(run.summary)
    from evalkit.grading.metrics import AS_REPORTED, Metric, metrics

    name = primary_metric(run) or "accuracy"
    declared = metrics.get(name) if name in metrics else None
    if isinstance(declared, Metric):
        return declared.key or name, declared.aggregation
    return name, AS_REPORTED


def _statistic(frame: Sequence[Row], kind: str) -> float:
    if not frame:
        return math.nan
    return tbl.total(frame, "points") if kind == "points" else tbl.mean(frame, "value")


_POOLED = ("value", "points", "max_points")


def _pooled(frame: Sequence[Row]) -> list[Row]:
    """One row per sample id (in order of first appearance): value and points averaged over runs (an id
    of one run, as every id of the run just made, is its own mean)."""
    out: list[Row] = []
    for i, rs in tbl.group(frame, lambda r: r["id"]).items():
        if len(rs) == 1:
            row = rs[0]
            out.append({"id": i, **{k: float(v) if tbl.present(v := row.get(k)) else math.nan for k in _POOLED}})
        else:
            out.append({"id": i, **{k: tbl.group_mean(rs, k) for k in _POOLED}})
    return out


def build_cell(model: str, task: str, runs: Sequence[Run], frames: Sequence[Sequence[Row]], *,
               seed: int, resamples: int = stats.DEFAULT_RESAMPLES, scope: str = "") -> Cell:
    """Pool the runs of one model on one task over the same samples into a cell with a seeded bootstrap
    interval; units awaiting marks stay out of the value and are counted in ``pending``."""
    primary, aggregation = primary_of(runs[0])
    kind = aggregation.kind
    frame = [r for f in frames for r in f]
    waiting = [r for r in frame if r.get("pending")]
    scored = [[r for r in f if not r.get("pending")] for f in frames]
    graded = [r for r in frame if not r.get("pending")]
    pooled = _pooled(graded)
    if kind == "summary":
        vals = [float(r.summary.get("metrics", {}).get(primary, math.nan)) for r in runs]
        run_values = vals
        value = float(np.nanmean(vals)) if any(not math.isnan(v) for v in vals) else math.nan
        reps, ci, max_points = None, (math.nan, math.nan), None
    else:
        run_values = [_statistic(f, kind) for f in scored]
        value = _statistic(pooled, kind)
        if kind == "points":
            reps = stats.ratio_replicates([r["points"] for r in pooled], [r["max_points"] for r in pooled],
                                          resamples=resamples, seed=seed)
        else:
            reps = stats.bootstrap_replicates([r["value"] for r in pooled], resamples=resamples, seed=seed)
        ci = stats.percentile_interval(reps)
        max_points = tbl.total(pooled, "max_points") if kind == "points" else None
    counts = {k: sum(1 for r in frame if r["status"] == k) for k in STATUS_COLUMNS}
    spread = float(np.std(run_values, ddof=1)) if len(run_values) > 1 else None
    version = runs[0].record.get("task", {}).get("version")
    held = tbl.group(waiting, lambda r: r["id"])
    pending_points = tbl.total([{"m": tbl.maximum(rs, "max_points")} for rs in held.values()], "m")
    return Cell(
        model=model, task=task, metric=primary, kind=kind, value=value, ci=ci, max_points=max_points,
        n=len(pooled), n_runs=len(runs), spread=spread, run_values=run_values, counts=counts,
        prompt_tokens=sum(r.usage.prompt_tokens for run in runs for r in run.results),
        completion_tokens=sum(r.usage.completion_tokens for run in runs for r in run.results),
        wall_s=sum(_wall_seconds(r.record) for r in runs), runs=[str(r.path) for r in runs],
        task_version=None if version is None else str(version), replicates=reps,
        higher_is_better=aggregation.higher_is_better, scope=scope,
        pending=len(held), pending_points=pending_points,
    )


def assign_ranks(cells: Iterable[Cell]) -> None:
    """Rank models among the cells of one task with the same metric over the same samples; overlapping
    intervals are marked as ties. An unfinished cell is never ranked (its samples are whatever was done);
    limited cells rank only among limited cells over the same samples."""
    by_task: dict[tuple[str, str, str], list[Cell]] = {}
    for c in cells:
        c.rank, c.tied = 0, False
        if not c.scope.startswith("unfinished"):
            by_task.setdefault((c.task, c.metric, c.sample_set), []).append(c)
    for group in by_task.values():
        if not group[0].complete and len(group) < 2:
            continue  # a limited run alone is first of nothing: no rank to mistake for the task's
        sign = 1.0 if all(c.higher_is_better for c in group) else -1.0  # lower is better: rank the negation
        lows, highs = [_frac(c, c.ci[0]) for c in group], [_frac(c, c.ci[1]) for c in group]
        if sign < 0:
            lows, highs = [-h for h in highs], [-lo for lo in lows]
        ranked = stats.ranks_with_ties([sign * c.fraction for c in group], lows, highs)
        for c, (rank, tied) in zip(group, ranked, strict=True):
            c.rank, c.tied = rank, tied


def _frac(cell: Cell, x: float) -> float:
    if cell.kind == "points":
        return x / cell.max_points if cell.max_points else math.nan
    return x


def build_groups(cells: Sequence[Cell], models: Sequence[str], specs: Sequence[GroupSpec]) -> list[GroupRow]:
    """Weighted group scores per model; bootstrap replicates of the tasks combine independently."""
    index = headline_cells(cells)
    rows: list[GroupRow] = []
    for spec in specs:
        group_rows: list[GroupRow] = []
        for model in models:
            missing = [t for t in spec.weights if (model, t) not in index or math.isnan(index[(model, t)].fraction)]
            if missing:
                group_rows.append(GroupRow(spec.name, model, spec.weights, math.nan, (math.nan, math.nan), missing))
                continue
            total_w = sum(spec.weights.values())
            value = sum(w * index[(model, t)].fraction for t, w in spec.weights.items()) / total_w
            reps_list = [index[(model, t)].fraction_replicates() for t in spec.weights]
            if all(r is not None for r in reps_list):
                reps = sum(w * r for w, r in zip(spec.weights.values(), reps_list, strict=True)) / total_w
                ci = stats.percentile_interval(np.asarray(reps))
            else:
                ci = (math.nan, math.nan)
            group_rows.append(GroupRow(spec.name, model, spec.weights, value, ci, []))
        ranked = stats.ranks_with_ties([g.value for g in group_rows], [g.ci[0] for g in group_rows],
                                       [g.ci[1] for g in group_rows])
        for g, (rank, tied) in zip(group_rows, ranked, strict=True):
            g.rank, g.tied = rank, tied
        rows.extend(group_rows)
    return rows


def headline_cells(cells: Iterable[Cell]) -> dict[tuple[str, str], Cell]:
    """Per model and task, the cell that stands for it in groups and orderings: a complete one (the one
    over the most samples when the data differ); a model with no complete run of a task has none."""
    out: dict[tuple[str, str], Cell] = {}
    for c in cells:
        if not c.complete:
            continue
        key = (c.model, c.task)
        if key not in out or c.n > out[key].n:
            out[key] = c
    return out


def _model_order(cells: Sequence[Cell], models: Iterable[str]) -> list[str]:
    """Models by their mean 0..1 score over the tasks they ran completely (best first), then by name."""
    means = {}
    heads = list(headline_cells(cells).values())
    for m in models:
        vals = [c.fraction for c in heads if c.model == m and not math.isnan(c.fraction)]
        means[m] = sum(vals) / len(vals) if vals else -1.0
    return sorted(means, key=lambda m: (-means[m], m))


def aggregate(runs: Sequence[Run], *, groups: Sequence[GroupSpec] = (), seed: int = stats.DEFAULT_SEED,
              resamples: int = stats.DEFAULT_RESAMPLES) -> Leaderboard:
    """Aggregate read run folders into a :class:`Leaderboard`."""
    if not runs:
        raise ReportError("no run folders found (each run folder holds a run.json)")
    runs, regraded = latest_gradings(runs)
    frames = {id(r): run_frame(r) for r in runs}
    by_cell: dict[tuple[str, str, str, str, str], list[Run]] = {}
    for r in runs:  # runs pool only over the same task, metric and samples, and as complete or not
        by_cell.setdefault((r.model, r.task, primary_of(r)[0], sample_set(r, frames[id(r)]), run_scope(r)),
                           []).append(r)
    warnings = regraded + _version_warnings(by_cell) + _split_warnings(by_cell)
    cells = []
    for (m, t, _metric, sset, scope), rs in by_cell.items():
        cell = build_cell(m, t, rs, [frames[id(r)] for r in rs if frames[id(r)]], seed=seed,
                          resamples=resamples, scope=scope)
        cell.sample_set = sset
        cells.append(cell)
        for r in rs:
            for row in frames[id(r)]:
                row["row"] = row_label(cell)
    assign_ranks(cells)
    tasks = sorted({c.task for c in cells})
    models = _model_order(cells, {c.model for c in cells})
    specs = list(groups)
    if not specs and len(tasks) > 1:
        specs = [GroupSpec("all tasks (equal weights)", {t: 1.0 for t in tasks})]
    unknown = [t for s in specs for t in s.weights if t not in tasks]
    if unknown:
        raise ReportError(f"--group names task(s) {sorted(set(unknown))} that no run holds; tasks: {tasks}")
    frame = [row for f in frames.values() for row in f]
    cells.sort(key=lambda c: (c.task, _scope_order(c.scope), c.rank or 10**9,
                              -c.fraction if not math.isnan(c.fraction) else 0, c.model))
    rows = [row_label(c) for c in sorted(cells, key=lambda c: (models.index(c.model) if c.model in models else 0,
                                                               _scope_order(c.scope), c.scope))]
    return Leaderboard(cells=cells, models=models, tasks=tasks, groups=build_groups(cells, models, specs),
                       group_specs=specs, papers=build_papers(frame, list(dict.fromkeys(rows)), seed=seed),
                       runs=list(runs), seed=seed, warnings=warnings, frame=frame,
                       breakdowns=build_breakdowns(frame, models))


def _scope_order(scope: str) -> int:
    """Complete rows first, then limited ones, then unfinished ones."""
    return 0 if not scope else 2 if scope.startswith("unfinished") else 1


def row_label(cell: Cell) -> str:
    """How a paper's table names a cell's row: the model, with its scope when it is not complete."""
    return f"{cell.model} ({cell.scope})" if cell.scope else cell.model


def _split_warnings(by_cell: dict[tuple[str, str, str, str, str], list[Run]]) -> list[str]:
    """A model's runs of one task that could not pool (other samples, unfinished), said once."""
    seen: dict[tuple[str, str], list[str]] = {}
    for (model, task, _metric, _sset, scope), rs in by_cell.items():
        seen.setdefault((model, task), []).append(f"{len(rs)} run(s) {scope or 'complete'}")
    return [f"{model} on {task}: runs over different samples are shown apart, not pooled or ranked together "
            f"({'; '.join(parts)})" for (model, task), parts in seen.items() if len(parts) > 1]


def latest_gradings(runs: Sequence[Run]) -> tuple[list[Run], list[str]]:
    """The runs to show: of a run and its regrades (``evalkit regrade`` into new folders), only the one graded
    last, so the same answers are never pooled twice; and a note for each family that lost members."""
    families: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        entries = r.record.get("regraded") or []
        root = str(entries[0].get("from")) if entries else str(r.record.get("id") or r.path.name)
        families.setdefault((r.model, r.task, root), []).append(r)
    keep: set[int] = set()
    notes: list[str] = []
    for (model, task, _), members in families.items():
        if len(members) == 1 or not any(m.record.get("regraded") for m in members):
            keep.update(id(m) for m in members)  # repeats of a run, not regrades of one
            continue
        latest = max(members, key=lambda m: (len(m.record.get("regraded") or []),
                                             str((m.record.get("regraded") or [{}])[-1].get("at") or "")))
        keep.add(id(latest))
        others = ", ".join(sorted(m.path.name for m in members if m is not latest))
        notes.append(f"{model} on {task}: {latest.path.name} is the latest grading of the same answers; "
                     f"not counted again: {others}")
    return [r for r in runs if id(r) in keep], notes


def _version_warnings(by_cell: dict[tuple[str, str, str, str, str], list[Run]]) -> list[str]:
    out = []
    for (model, task, *_), rs in by_cell.items():
        hashes = {str(r.record.get("task", {}).get("hash")) for r in rs}
        if len(hashes) > 1:
            out.append(f"{model} on {task}: runs pooled across different task hashes {sorted(hashes)}")
    return out


def load_leaderboard(paths: Sequence[str | Path], *, groups: Sequence[GroupSpec] = (),
                     seed: int = stats.DEFAULT_SEED) -> Leaderboard:
    """Find every run folder at or below ``paths`` and aggregate them."""
    return aggregate(find_runs(list(paths)), groups=groups, seed=seed)
