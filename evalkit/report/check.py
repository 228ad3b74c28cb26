"""Regression checks for CI: a current run against a baseline, per task, with exit codes.

A *side* (baseline or current) is read from run folders or from a small baseline JSON (written by
``evalkit check --update-baseline``). For each task of the baseline, the shared samples are
compared pairwise: right/wrong scores with an exact McNemar test, partial credit and points with
a paired bootstrap. A task **regressed** when its drop exceeds ``max_drop`` (percentage points for
accuracy, points for papers) *and* the one-sided test is significant at ``alpha``; it **improved**
symmetrically; otherwise it **held**. Exit codes: 0 held, 1 regressed, 2 could not compare.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.report import stats
from evalkit.report.markdown import md_escape
from evalkit.results import ResultsError, Run, find_runs, now_iso, write_json_atomic
from evalkit.verdict import ErrorBudget

BASELINE_FORMAT = 1
EXIT_HELD, EXIT_REGRESSED, EXIT_CANNOT_COMPARE = 0, 1, 2


class CheckError(EvalkitError, ValueError):
    """The two sides cannot be compared; the message is one sentence saying why."""


@dataclass
class TaskScores:
    """One task on one side: per-sample scores (value, or points for papers) and identity."""

    task: str
    model: str
    metric: str
    kind: str  # "mean" or "points"
    version: str | None
    hash: str | None
    scores: dict[str, float]
    errors: int = 0
    sources: list[str] = field(default_factory=list)
    max_points: dict[str, float] | None = None  # per sample, for papers
    pending: set[str] = field(default_factory=set)  # units awaiting marks (left out of every comparison)
    error_reasons: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        vals = list(self.scores.values())
        if not vals:
            return math.nan
        return sum(vals) if self.kind == "points" else sum(vals) / len(vals)

    def to_dict(self) -> dict[str, Any]:
        out = {"model": self.model, "metric": self.metric, "kind": self.kind, "version": self.version,
               "hash": self.hash, "value": round(self.value, 6), "n": len(self.scores), "errors": self.errors,
               "scores": {k: round(v, 6) for k, v in self.scores.items()}}
        if self.max_points is not None:
            out["max_points"] = {k: round(v, 6) for k, v in self.max_points.items()}
        return out


@dataclass
class TaskVerdict:
    task: str
    verdict: str  # "regressed", "improved", "held", "new"
    baseline: float
    current: float
    delta: float  # in display units (percentage points or points)
    ci: tuple[float, float]
    p: float | None
    test: str
    n: int
    unit: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "verdict": self.verdict, "baseline": self.baseline, "current": self.current,
                "delta": self.delta, "ci_low": self.ci[0], "ci_high": self.ci[1], "p": self.p, "test": self.test,
                "n": self.n, "unit": self.unit, "note": self.note}


@dataclass
class CheckResult:
    verdicts: list[TaskVerdict]
    problem: str | None  # one sentence when the sides could not be compared
    max_drop: float
    alpha: float

    @property
    def exit_code(self) -> int:
        if self.problem:
            return EXIT_CANNOT_COMPARE
        return EXIT_REGRESSED if any(v.verdict == "regressed" for v in self.verdicts) else EXIT_HELD

    @property
    def headline(self) -> str:
        if self.problem:
            return f"could not compare: {self.problem}"
        reg = [v.task for v in self.verdicts if v.verdict == "regressed"]
        imp = [v.task for v in self.verdicts if v.verdict == "improved"]
        if reg:
            return f"regressed: {', '.join(reg)}"
        return "held" + (f" (improved: {', '.join(imp)})" if imp else "")


def _display_scale(kind: str) -> tuple[float, str]:
    return (1.0, "points") if kind == "points" else (100.0, "pp")


def _task_scores_from_runs(runs: list[Run], label: str) -> dict[str, TaskScores]:
    """Per task, the scores of what its headline adds up — samples, or a paper's units (an elective pair
    once, chosen on the final marks), the same units the report and the score card add (``run_frame``)."""
    from evalkit.report.aggregate import primary_of, run_frame
    from evalkit.results import run_scope

    by_task: dict[str, list[Run]] = {}
    for r in runs:
        by_task.setdefault(r.task, []).append(r)
    out: dict[str, TaskScores] = {}
    for task, rs in by_task.items():
        models = sorted({r.model for r in rs})
        if len(models) > 1:
            raise CheckError(f"{label} holds runs of task {task} from {len(models)} models ({', '.join(models)}); "
                             "point it at one model's run folders")
        for r in rs:
            scope = run_scope(r)
            if scope.startswith("unfinished"):
                raise CheckError(f"{label}: the run {r.path} of task {task} did not finish ({scope}); resume it "
                                 f"(evalkit run ... --output {r.path}) before checking it")
        primary, aggregation = primary_of(rs[0])
        kind = "points" if aggregation.kind == "points" else "mean"
        sums: dict[str, list[float]] = {}
        maxima: dict[str, float] = {}
        pending: set[str] = set()
        errors = 0
        for r in rs:
            for row in run_frame(r):
                if row["pending"]:
                    pending.add(str(row["id"]))
                    continue
                sums.setdefault(str(row["id"]), []).append(float(row["points"] if kind == "points" else row["value"]))
                maxima[str(row["id"])] = max(maxima.get(str(row["id"]), 0.0), float(row["max_points"]))
            errors += sum(1 for res in r.results if res.score.status == "error")
        reasons = sorted({g["reason"] for r in rs for g in (r.summary.get("errors") or [])})
        task_rec = rs[0].record.get("task", {})
        version = task_rec.get("version")
        out[task] = TaskScores(task, models[0], primary if kind == "points" else "accuracy", kind,
                               None if version is None else str(version), task_rec.get("hash"),
                               {k: sum(v) / len(v) for k, v in sums.items()}, errors, [str(r.path) for r in rs],
                               maxima if kind == "points" else None, pending - set(sums), reasons)
    return out


def _task_scores_from_json(path: Path) -> dict[str, TaskScores]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckError(f"baseline {path} is not readable JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("evalkit_baseline") != BASELINE_FORMAT or "tasks" not in data:
        raise CheckError(f"{path} is not an evalkit baseline (expected a JSON object with evalkit_baseline: 1 and tasks)")
    out: dict[str, TaskScores] = {}
    for task, t in data["tasks"].items():
        if not isinstance(t, dict) or not isinstance(t.get("scores"), dict):
            raise CheckError(f"baseline {path}: task {task!r} has no scores object")
        out[task] = TaskScores(task, str(t.get("model", "?")), str(t.get("metric", "accuracy")),
                               str(t.get("kind", "mean")), t.get("version"), t.get("hash"),
                               {str(k): float(v) for k, v in t["scores"].items()}, int(t.get("errors", 0)), [str(path)],
                               {str(k): float(v) for k, v in t["max_points"].items()} if isinstance(t.get("max_points"), dict) else None)
    return out


def load_side(path: str | Path, label: str) -> dict[str, TaskScores]:
    """Per-task scores from a baseline JSON file or from run folders at or below ``path``."""
    p = Path(path)
    if p.is_file():
        return _task_scores_from_json(p)
    if not p.exists():
        raise CheckError(f"{label} {p} does not exist")
    try:
        runs = find_runs([p])
    except ResultsError as exc:
        raise CheckError(f"{label}: {exc}") from None
    if not runs:
        raise CheckError(f"{label} {p} holds no run folders (no run.json below it)")
    return _task_scores_from_runs(runs, f"{label} {p}")


def _sample_problem(task: str, base: TaskScores, cur: TaskScores) -> str | None:
    if base.version is not None and cur.version is not None and str(base.version) != str(cur.version):
        return f"task {task} is version {base.version} in the baseline but version {cur.version} in the current run"
    if base.kind != cur.kind:
        return f"task {task} is scored by {base.metric} in the baseline but by {cur.metric} in the current run"
    b, c = set(base.scores) | base.pending, set(cur.scores) | cur.pending
    if b != c:
        only_b, only_c = sorted(b - c), sorted(c - b)
        example = (only_b or only_c)[0]
        return (f"task {task} has different sample sets ({len(b)} in the baseline, {len(c)} in the current run; "
                f"{len(only_b)} only in the baseline, {len(only_c)} only in the current, e.g. {example!r})")
    return None


def compare(baseline: dict[str, TaskScores], current: dict[str, TaskScores], *, max_drop: float = 1.0,
            alpha: float = 0.05, seed: int = stats.DEFAULT_SEED, max_errors: ErrorBudget | None = None) -> CheckResult:
    """Compare every baseline task with the current side; never raises for a mismatch. A side whose
    failed samples exceed ``max_errors`` (default: none allowed) cannot be compared: their scores are
    not the model's."""
    missing = sorted(set(baseline) - set(current))
    if missing:
        return CheckResult([], f"the current run lacks task(s) {', '.join(missing)} that the baseline has",
                           max_drop, alpha)
    verdicts: list[TaskVerdict] = []
    for task in sorted(baseline):
        problem = _sample_problem(task, baseline[task], current[task]) or _error_problem(
            task, baseline[task], current[task], max_errors or ErrorBudget())
        if problem:
            return CheckResult(verdicts, problem, max_drop, alpha)
        verdicts.append(_judge(task, baseline[task], current[task], max_drop, alpha, seed))
    for task in sorted(set(current) - set(baseline)):
        cur = current[task]
        scale, unit = _display_scale(cur.kind)
        verdicts.append(TaskVerdict(task, "new", math.nan, cur.value * scale, math.nan, (math.nan, math.nan),
                                    None, "-", len(cur.scores), unit, "not in the baseline; not compared"))
    return CheckResult(verdicts, None, max_drop, alpha)


def _error_problem(task: str, base: TaskScores, cur: TaskScores, budget: ErrorBudget) -> str | None:
    for side, label in ((cur, "current"), (base, "baseline")):
        n = len(side.scores) + len(side.pending)
        if side.errors and not budget.allows(side.errors, n):
            why = f" ({'; '.join(side.error_reasons[:2])})" if side.error_reasons else ""
            return (f"task {task}: the {label} run has {side.errors} failed sample(s) of {n}{why}; they would count "
                    "as 0, so the comparison would not be the model's — re-run them (evalkit run ... --output "
                    "FOLDER) or tolerate them with --max-errors N or N%")
    return None


def _judge(task: str, base: TaskScores, cur: TaskScores, max_drop: float, alpha: float, seed: int) -> TaskVerdict:
    waiting = base.pending | cur.pending  # awaiting marks on either side: compared on neither
    ids = sorted(i for i in base.scores if i not in waiting)
    statistic = "sum" if base.kind == "points" else "mean"
    sizes = base.max_points or cur.max_points
    res = stats.paired_test([base.scores[i] for i in ids], [cur.scores[i] for i in ids], statistic=statistic,
                            seed=seed, max_points=[sizes.get(i, 0.0) for i in ids] if sizes else None)
    scale, unit = _display_scale(base.kind)
    delta = res.delta * scale
    ci = (res.ci[0] * scale, res.ci[1] * scale)
    verdict, p, note = "held", None, ""
    if delta < -max_drop:
        p = res.p_worse
        if p < alpha:
            verdict = "regressed"
        else:
            note = f"drop of {-delta:.2f} {unit} is within noise (p={p:.3g} >= {alpha:g})"
    elif delta > max_drop:
        p = res.p_better
        if p < alpha:
            verdict = "improved"
        else:
            note = f"gain of {delta:.2f} {unit} is within noise (p={p:.3g} >= {alpha:g})"
    else:
        p = min(res.p_worse, res.p_better)
        note = f"change within the allowed {max_drop:g} {unit}"
    if res.discordant:
        lower, higher = res.discordant
        note = (note + "; " if note else "") + f"{lower} question(s) scored lower, {higher} higher"
    for side, label in ((base, "baseline"), (cur, "current")):
        runs = [src for src in side.sources if not src.endswith(".json")]
        if len(runs) > 1:
            note = (note + "; " if note else "") + f"{label} pools {len(runs)} runs (mean per sample)"
    if cur.errors:
        note = (note + "; " if note else "") + f"{cur.errors} failed sample(s) in the current run count as 0"
    if waiting:
        note = (note + "; " if note else "") + f"{len(waiting)} question(s) awaiting marks left out"
    return TaskVerdict(task, verdict, base.value * scale, cur.value * scale, delta, ci, p, res.test, res.n,
                       unit, note)


def run_check(baseline: str | Path, current: str | Path, *, max_drop: float = 1.0, alpha: float = 0.05,
              seed: int = stats.DEFAULT_SEED, max_errors: ErrorBudget | None = None) -> CheckResult:
    """Load both sides and compare them; unreadable or mismatched sides give a result with a problem."""
    try:
        base = load_side(baseline, "--baseline")
        cur = load_side(current, "--current")
    except CheckError as exc:
        return CheckResult([], str(exc), max_drop, alpha)
    return compare(base, cur, max_drop=max_drop, alpha=alpha, seed=seed, max_errors=max_errors)


def write_baseline(current: str | Path, out: Path) -> Path:
    """Write a small baseline JSON (per-sample scores of each task) from the run folders at ``current``."""
    if out.is_dir():
        raise CheckError(f"--baseline {out} is a folder; --update-baseline writes a JSON file, e.g. {out}.json")
    side = load_side(current, "--current")
    data = {"evalkit_baseline": BASELINE_FORMAT, "created": now_iso(),
            "source": sorted({s for t in side.values() for s in t.sources}),
            "tasks": {task: t.to_dict() for task, t in sorted(side.items())}}
    write_json_atomic(out, data)
    return out


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    return "-" if p is None else f"{p:.3g}"


def render_check_markdown(result: CheckResult) -> str:
    """The verdict and a table of what regressed, improved or held, as Markdown."""
    icon = {0: "✅", 1: "❌", 2: "⚠️"}[result.exit_code]
    lines = [f"## {icon} evalkit check: {md_escape(result.headline)}", "",
             f"Regressed means a drop of more than {result.max_drop:g} (percentage points, or points for papers) "
             f"that a one-sided paired test finds significant at alpha {result.alpha:g}.", ""]
    if result.verdicts:
        lines += ["| Task | Verdict | Baseline | Current | Δ | 95% CI of Δ | p | Test | n | Note |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for v in result.verdicts:
            lines.append(f"| {md_escape(v.task)} | **{v.verdict}** | {_fmt(v.baseline)} | {_fmt(v.current)} | "
                         f"{_fmt(v.delta)} {v.unit} | [{_fmt(v.ci[0])}, {_fmt(v.ci[1])}] | {_fmt_p(v.p)} | {v.test} | "
                         f"{v.n} | {md_escape(v.note)} |")
    return "\n".join(lines) + "\n"


def render_junit(result: CheckResult) -> str:
    """JUnit XML: one test case per task; a regression is a failure, a mismatch an error."""
    suite = ET.Element("testsuite", name="evalkit check", tests=str(max(1, len(result.verdicts))),
                       failures=str(sum(v.verdict == "regressed" for v in result.verdicts)),
                       errors="1" if result.problem else "0", timestamp=now_iso())
    for v in result.verdicts:
        case = ET.SubElement(suite, "testcase", classname="evalkit.check", name=v.task, time="0")
        text = (f"{v.verdict}: baseline {_fmt(v.baseline)}, current {_fmt(v.current)}, delta {_fmt(v.delta)} {v.unit} "
                f"(95% CI {_fmt(v.ci[0])}..{_fmt(v.ci[1])}, p={_fmt_p(v.p)}, {v.test}, n={v.n}). {v.note}")
        if v.verdict == "regressed":
            ET.SubElement(case, "failure", message=f"{v.task} regressed by {-v.delta:.2f} {v.unit}").text = text
        else:
            ET.SubElement(case, "system-out").text = text
    if result.problem:
        case = ET.SubElement(suite, "testcase", classname="evalkit.check", name="compare", time="0")
        ET.SubElement(case, "error", message=result.problem).text = result.problem
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"
