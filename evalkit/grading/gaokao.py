"""Gaokao marking: one scorer for every item of a paper, and the paper's score out of its total.

This module owns:

* ``score_item(sample, output, *, <options>)`` — the ``gaokao`` scorer. It dispatches on
  ``sample.metadata["type"]``: ``single`` → the ``choice`` scorer, ``multi`` → ``multi_select`` with
  the item's rule, ``group`` (one letter for each of several sub-questions on one material) →
  ``choice_group``, ``fill`` → ``fill_in`` with the points of each blank (all through
  :func:`evalkit.grading.grade`), and ``solution`` → the solution graders below.
* the solution graders: ``answer`` (deterministic: the points of every rubric step whose key result
  is found in the response — a lower bound that needs no model), ``judge`` (an LLM marks against
  the rubric with a prompt in teachers' terms; the reply is parsed strictly), ``human`` (marks
  imported from teachers).
* who decides (:func:`reconcile`): a teacher's mark decides the item and machine marks stay beside it;
  several teachers' marks reconcile as exam double-marking does (within the threshold their mean,
  beyond it flagged for arbitration, an arbiter's mark final); :func:`mark_problem` says whether a mark
  is one the item can give.
* ``paper_metric(results)`` — the ``gaokao_paper`` metric: points out of the total, section
  subtotals, each question's points, an elective pair counted once (the better-scored of the two),
  and the scoring rate per section for each year when items carry one.

Options of the scorer (``grader: {name: gaokao, options: {...}}``, declared by :func:`score_item`'s
signature): ``extract`` (``default`` | ``last_capital`` | ``gaokao-bench``: GAOKAO-Bench's own reading
and scoring of every objective item, :mod:`evalkit.grading.gaokao_bench`) for choice items, ``rule``
to override the multi-select rule, ``graders`` (list or ``"answer+judge"``; default ``["answer"]``) and
``threshold`` (points, default 2) for solutions, ``marks`` (a CSV/JSON file of teachers' marks) for the
``human`` grader.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any

from evalkit.grading import GraderSpec, grade
from evalkit.grading.answers import split_top
from evalkit.grading.marks import read_marks
from evalkit.grading.multi_rules import DEFAULT_MULTI_RULE
from evalkit.grading.offload import bounded
from evalkit.grading.options import PaperExtract, Rule, Tolerance
from evalkit.grading.protocol import Check, Judge, scorer
from evalkit.types import Sample, SampleResult, Score

SOLUTION_GRADERS = ("answer", "judge", "human")
# teachers: their marks decide an item; an "arbiter" mark (``evalkit grade import --grader arbiter``, or the
# marking room's arbitration queue) settles a flagged one
HUMAN_GRADERS = ("human", "arbiter")
DEFAULT_THRESHOLD = 2.0
# a paper's item types, which are also its sections, in the order the paper sets them
ITEM_TYPES = ("single", "multi", "group", "fill", "solution")


def section_key(section: str) -> tuple[int, str]:
    """Sort key of a section: the paper's order, then any other section by name."""
    return (ITEM_TYPES.index(section), section) if section in ITEM_TYPES else (len(ITEM_TYPES), section)


# -- dispatch ------------------------------------------------------------------------------------------
def _grader_names(raw: list[str] | str) -> list[str]:
    """``["answer", "judge"]`` or ``"answer+judge"`` as a list of names."""
    names = re.split(r"[+,\s]+", raw) if isinstance(raw, str) else [str(g) for g in raw]
    return [n for n in names if n]


def _graders_value(raw: list[str] | str | None) -> str | None:
    if raw is None:
        return None
    names = _grader_names(raw)
    if not names or any(n not in SOLUTION_GRADERS for n in names):
        return f"allowed: {', '.join(SOLUTION_GRADERS)} (a list, or joined with +)"
    return None


def _threshold_value(value: float | None) -> str | None:
    return "the points two markers may differ by cannot be negative" if value is not None and value < 0 else None


def _solution_graders(graders: list[str] | str | None, grader: list[str] | str | None) -> list[str]:
    """The solution graders asked for (``grader`` is the older spelling of ``graders``); ``answer`` by default."""
    raw = graders if graders is not None else grader if grader is not None else "answer"
    return _grader_names(raw)


def _asks_judge(options: Mapping[str, Any]) -> bool:
    """True when the options ask a judge to mark solutions (the runner then passes one in)."""
    graders, grader = options.get("graders"), options.get("grader")
    if _graders_value(graders) or _graders_value(grader):
        return False
    return "judge" in _solution_graders(graders, grader)


GraderNames = Annotated[list[str] | str | None, Check(_graders_value, "answer, judge, human: a list, or joined with +")]


def check_samples(samples: Sequence[Sample], options: Mapping[str, Any]) -> str | None:
    """Before a run: every rubric key result the ``answer`` grader is to look for is one it can read (a
    relation =, <, >, ≤, ≥, ≠, ∈ between two expressions); one it cannot read (⊥, ∥, prose) could never
    earn its points. Returns what is wrong in one sentence, or None."""
    graders, grader = options.get("graders"), options.get("grader")
    if _graders_value(graders) or _graders_value(grader) or "answer" not in _solution_graders(graders, grader):
        return None
    for sample in samples:
        if sample.metadata.get("type") != "solution":
            continue
        for k, step in enumerate(sample.metadata.get("rubric") or [], 1):
            for result in step.get("results") or []:
                if not readable(str(result)):
                    return (f"sample {sample.id!r} rubric step {k}: the answer grader cannot read the key result "
                            f"{str(result)!r} (it reads a relation =, <, >, ≤, ≥, ≠ or ∈ between two expressions), "
                            "so no response could earn its points; restate it, or mark this item with the judge "
                            "or teachers (grader option graders)")
    return None


def readable(result: str) -> bool:
    """Whether the ``answer`` grader finds ``result`` in a response that states exactly it."""
    return found(result, statements(result)) or found(result, statements(f"${result}$"))


@scorer("gaokao", accepts="a Gaokao paper item: metadata.type single | multi | fill | solution, with its points; "
                          "a solution's metadata.rubric for the answer and judge graders", judge=_asks_judge,
        check=check_samples)
def score_item(sample: Sample, output: str, *, judge: Judge | None = None, extract: PaperExtract | None = None,
               rule: Rule | None = None, graders: GraderNames = None, grader: GraderNames = None,
               threshold: Annotated[float | None, Check(_threshold_value, "points (a number, 0 or more)")] = None,
               marks: str | None = None, tolerance: Tolerance | None = None) -> Any:
    """The ``gaokao`` scorer: a :class:`Score` (a coroutine of one when a ``judge`` is handed in).

    ``graders`` (default ``answer``; ``grader`` is its older spelling) mark solutions; ``marks`` is
    the teachers' marks file of the ``human`` grader; ``threshold`` is the double-marking threshold
    where the paper sets none; ``tolerance`` overrides the exactness policy of fill-ins
    (:func:`item_tolerance`: ``exact-key`` unless the item asks for an approximation).
    """
    kind = sample.metadata.get("type")
    if kind != "solution":
        if judge is not None:  # judge mode: the marking runs in the grading pool, only the judge on the loop
            return bounded(_score_objective, sample, output, extract, rule, tolerance)
        return _score_objective(sample, output, extract, rule, tolerance)
    names = _solution_graders(graders, grader)
    limit = threshold_for(sample.metadata, threshold)
    if judge is not None:
        return _score_solution_async(sample, output, judge, names, marks, limit)
    if "judge" in names:
        return Score.error("solution graders include 'judge' but no judge model was given (--judge URI)",
                           sample.max_points)
    return reconcile([m for m in (_sync_mark(n, sample, output, marks) for n in names) if m is not None],
                     sample.max_points, limit)


async def _score_solution_async(sample: Sample, output: str, judge: Judge, names: list[str], marks_file: str | None,
                                threshold: float) -> Score:
    marks: list[Mark] = []
    for name in names:
        if name == "judge":
            mark = await judge_mark(sample, output, judge)
        else:  # deterministic: in the bounded grading pool, never on the event loop
            mark = await bounded(_sync_mark, name, sample, output, marks_file)
        if mark is not None:
            marks.append(mark)
    return reconcile(marks, sample.max_points, threshold)


def threshold_for(metadata: dict[str, Any], task_default: Any = None, override: float | None = None) -> float:
    """Points two markers may differ by: ``override`` (``--threshold``), else the paper's, else the task's, else 2."""
    if override is not None:
        return float(override)
    value = metadata.get("threshold", task_default)
    return float(value) if value is not None else DEFAULT_THRESHOLD


def _score_objective(sample: Sample, output: str, extract: PaperExtract | None, rule: str | None,
                     tolerance: str | float | None = None) -> Score:
    kind = sample.metadata.get("type")
    if extract == "gaokao-bench" and kind in ("single", "multi", "group"):
        from evalkit.grading.gaokao_bench import bench_score

        return bench_score(sample, output)
    if kind == "single":
        spec = _item_spec("choice", extract, None)
    elif kind == "multi":
        spec = _item_spec("multi_select", extract, rule or sample.metadata.get("rule") or DEFAULT_MULTI_RULE)
    elif kind == "group":
        spec = _item_spec("choice_group", None, None)
    elif kind == "fill":
        tol, why = (str(tolerance), "the task's tolerance option") if tolerance is not None else item_tolerance(sample)
        score = grade(sample, output, _item_spec("fill_in", None, None, tol))
        return replace(score, details={**score.details, "tolerance": tol, "tolerance_reason": why})
    else:
        return Score.error(f"sample {sample.id}: metadata 'type' is {kind!r}; allowed: {', '.join(ITEM_TYPES)}",
                           sample.max_points)
    return grade(sample, output, spec)


@lru_cache(maxsize=64)
def _item_spec(name: str, extract: str | None, rule: str | None, tolerance: str | None = None) -> GraderSpec:
    """The spec an objective item is graded with (one per combination, so its options are checked once)."""
    options: dict[str, Any] = {"rule": rule} if rule is not None else {}
    if tolerance is not None:
        options["tolerance"] = tolerance
    return GraderSpec(name, {**options, **({"extract": extract} if extract is not None else {})})


# a question that asks for an approximation (精确到0.01, 保留两位小数, 近似值…): its key may be met by a decimal
_APPROXIMATION_WANTED = re.compile(r"精确到|保留.{0,4}(?:小数|有效数字)|近似值|估计值|四舍五入|取近似|约为多少|"
                                   r"decimal places|significant figures|to the nearest|approximate", re.IGNORECASE)


def item_tolerance(sample: Sample) -> tuple[str, str]:
    """The exactness policy of a fill-in, and why: Gaokao marking does not give an exact key to a decimal.

    ``exact-key`` (an exact key — fraction, radical, π, logarithm — needs the exact value; a decimal after ≈
    must be right) unless the item asks for an approximation: ``metadata["approximate"]`` (a paper item's
    ``approximate: true``), an explicit ``metadata["tolerance"]``, or a question that says so (精确到…).
    """
    meta = sample.metadata
    if meta.get("tolerance") is not None:
        return str(meta["tolerance"]), "the item's tolerance"
    if meta.get("approximate"):
        return "auto", "the item asks for an approximation"
    if _APPROXIMATION_WANTED.search(sample.text or ""):
        return "auto", "the question asks for an approximation"
    return "exact-key", "an exact key needs the exact value"


def _sync_mark(name: str, sample: Sample, output: str, marks_file: str | None) -> Mark | None:
    if name == "answer":
        return answer_mark(sample, output)
    if name == "human":
        return human_mark(sample, marks_file)
    return None


# -- marks and reconciliation -------------------------------------------------------------------------
@dataclass(frozen=True)
class Mark:
    """One grader's mark on one solution: integer points (clipped), or unparsed with the reason."""

    grader: str
    points: float
    max_points: float
    status: str = "graded"  # graded | unparsed | pending
    reason: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    marker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"grader": self.grader, "points": self.points, "status": self.status}
        for key in ("reason", "marker"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        if self.steps:
            d["steps"] = self.steps
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], max_points: float) -> Mark:
        return cls(str(d.get("grader", "")), float(d.get("points", 0.0)), max_points, str(d.get("status", "graded")),
                   d.get("reason"), list(d.get("steps") or []), d.get("marker"))


def reconcile(marks: Sequence[Mark], max_points: float, threshold: float = DEFAULT_THRESHOLD) -> Score:
    """Who decides an item, and with what mark (the rules are in ``docs/gaokao.md``).

    A teacher's mark decides: with any graded ``human`` or ``arbiter`` mark the machine marks only stay
    recorded in ``details.marks``. Without one, the machine graders are reconciled among themselves
    (the mean, flagged beyond ``threshold``).
    """
    humans = [m for m in marks if m.grader in HUMAN_GRADERS and m.status == "graded"]
    if humans:
        return _human_decision(marks, humans, max_points, threshold)
    return _machine_decision(marks, max_points, threshold)


def _clip(points: float, max_points: float) -> float:
    return min(max(points, 0.0), max_points)


def double_marking(points: Sequence[float], threshold: float) -> tuple[float, float, bool]:
    """The exam's rule for a marker's marks on one answer: ``(mark, spread, flagged)``.

    One mark is the mark. Two marks within ``threshold`` points give their mean; beyond it the item is
    flagged for arbitration and counts as the mean meanwhile. A third marker's mark (三评) is paired with
    the nearer of the first two: the mean of that pair, flagged while the pair is still beyond the threshold.
    """
    if len(points) == 1:
        return points[0], 0.0, False
    if len(points) == 2:
        spread = abs(points[0] - points[1])
        return (points[0] + points[1]) / 2, spread, spread > threshold
    last = points[-1]
    nearer = min(points[:-1], key=lambda p: (abs(p - last), -p))
    spread = abs(last - nearer)
    return (last + nearer) / 2, spread, spread > threshold


def _human_decision(marks: Sequence[Mark], humans: Sequence[Mark], max_points: float, threshold: float) -> Score:
    details: dict[str, Any] = {"marks": [m.to_dict() for m in marks], "decided_by": "human"}
    markers = [m for m in humans if m.grader == "human"]
    arbiter = [m for m in humans if m.grader == "arbiter"]
    if len(markers) > 1:
        _, spread, flagged = double_marking([_clip(m.points, max_points) for m in markers], threshold)
        details.update(spread=spread, threshold=threshold, arbitration=flagged and not arbiter)
    if arbiter:  # an arbiter's mark is final
        points, grader = _clip(arbiter[-1].points, max_points), "arbiter"
        details["arbitrated"] = True
    else:
        points, _, _ = double_marking([_clip(m.points, max_points) for m in markers], threshold)
        grader = "human"
    reason = "; ".join(m.reason for m in humans if m.reason) or None
    return Score.from_points(points, max_points, stage=grader, grader=grader, reason=reason, details=details)


def _machine_decision(marks: Sequence[Mark], max_points: float, threshold: float) -> Score:
    graded = [m for m in marks if m.status == "graded"]
    details: dict[str, Any] = {"marks": [m.to_dict() for m in marks]}
    names = "+".join(m.grader for m in graded) or "+".join(m.grader for m in marks)
    if not graded:
        pending = any(m.status == "pending" for m in marks)
        reason = "; ".join(m.reason or m.grader for m in marks) or "no grader marked this solution"
        status = "skipped" if pending or not marks else "unparsed"
        return Score.ungraded(status, max_points, stage="human-pending" if pending else "rubric", grader=names,
                              reason=reason, details=details)
    points = [_clip(m.points, max_points) for m in graded]
    mean = sum(points) / len(points)
    if len(graded) > 1:
        spread = max(points) - min(points)
        details.update(spread=spread, arbitration=spread > threshold, threshold=threshold)
    stage = graded[0].grader if len(graded) == 1 else "reconciled"
    reason = "; ".join(m.reason for m in graded if m.reason) or None
    return Score.from_points(mean, max_points, stage=stage, grader=names, reason=reason, details=details)


# -- what a mark can be ----------------------------------------------------------------------------------
def _fmt(values: Sequence[float]) -> str:
    shown = [f"{v:g}" for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def possible_marks(metadata: dict[str, Any], target: Any, max_points: float) -> tuple[list[float] | None, str]:
    """The marks an item can give, and what decides them: ``(values, rule)``; ``values`` is None for "any".

    A solution takes whole points from 0 to its total (halves too when the paper says ``half_marks``); a
    single choice nothing or all; a multi-select the values its rule can produce from its correct options; a
    fill-in (or a group of sub-questions) the sums of its blanks' points. Items outside a Gaokao paper take any mark from 0 to their points.
    """
    kind = metadata.get("type")
    if kind == "solution":
        step = 0.5 if metadata.get("half_marks") else 1.0
        values = [k * step for k in range(int(max_points / step) + 1)]
        unit = "whole or half points" if step < 1 else "whole points"
        return values, f"a solution takes {unit} from 0 to {max_points:g}"
    if kind == "single":
        return [0.0, max_points], f"a single choice gives {_fmt([0.0, max_points])}"
    if kind == "multi":
        return _multi_values(metadata, target, max_points)
    if kind in ("fill", "group"):
        pts = metadata.get("points")
        blanks = [float(p) for p in pts] if isinstance(pts, list | tuple) else [max_points]
        sums = {0.0}
        for p in blanks:
            sums |= {v + p for v in sums}
        plural = "s" if len(blanks) > 1 else ""
        parts = f"a fill-in of {len(blanks)} blank{plural}" if kind == "fill" else f"a group of {len(blanks)} sub-questions"
        return sorted(sums), f"{parts} gives {_fmt(sorted(sums))}"
    return None, "any mark"


def _multi_values(metadata: dict[str, Any], target: Any, max_points: float) -> tuple[list[float] | None, str]:
    from itertools import combinations

    from evalkit.grading.scorers import _gold_letters, multi_select_points

    rule, gold = str(metadata.get("rule") or DEFAULT_MULTI_RULE), _gold_letters(target)
    if not gold:
        return None, "any mark"
    values = {0.0}
    for k in range(1, len(gold) + 1):
        for chosen in combinations(gold, k):
            values.add(multi_select_points(list(chosen), gold, rule, max_points)[0])
    return sorted(values), f"a multi-select under the {rule} rule gives {_fmt(sorted(values))}"


def mark_problem(metadata: dict[str, Any], target: Any, max_points: float, value: float) -> str | None:
    """Why ``value`` cannot be a mark of this item (a sentence fragment), or None when it can."""
    if not 0 <= value <= max_points:
        return f"mark {value:g} is outside 0–{max_points:g}"
    values, rule = possible_marks(metadata, target, max_points)
    if values is None or any(abs(value - v) < 1e-9 for v in values):
        return None
    number = metadata.get("number")
    item = f"question {number}" if number is not None else "this item"
    return f"mark {value:g} is not a mark {item} can give ({rule})"


# -- the `answer` grader: rubric key results found in the response ------------------------------------
_DECOR = re.compile(r"\\(?:overrightarrow|overset\{\\rightarrow\}|vec|boldsymbol|mathbf|mathrm|bm|text|mathit|operatorname)\s*\{([^{}]*)\}")
_REL_TOKENS = [
    (r"\\leqslant|\\leq|\\le(?![a-z])|≤|⩽", r"\\le "), (r"\\geqslant|\\geq|\\ge(?![a-z])|≥|⩾", r"\\ge "),
    (r"\\neq|\\ne(?![a-z])|≠", r"\\ne "), (r"∈", r"\\in "),
]
_SPACING = re.compile(r"\\left|\\right|\\displaystyle|\\[,;:!]|\\quad|\\qquad|\\ |~")
_REL_SPLIT = re.compile(r"(\\le |\\ge |\\ne |\\in(?![a-z])|=|<|>)")
_CJK_EDGE = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\s:：,，]+|[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\s:：,，.。]+$")
_LABEL = re.compile(r"^[A-Za-z](?:_\d)?[:：]")  # "l: x-y-1=0" names the line l
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)


def normalize(expr: str) -> str:
    """A canonical spelling of a LaTeX fragment, for comparing key results as text.

    The grading room's one LaTeX normaliser (:func:`evalkit.grading.equivalence.clean_latex`: Unicode
    math, spacing commands, ``\\dfrac``, relation spellings) and then what comparing as text needs:
    no decorations (``\\vec``, ``\\mathrm``…), braces around one-token arguments, no spaces.
    """
    from evalkit.grading.equivalence import clean_latex

    s = clean_latex(expr.replace("\\langle", "⟨").replace("\\rangle", "⟩")).replace("\\cdotp", "\\cdot")
    s = _SPACING.sub("", s)
    for pat, rep in _REL_TOKENS:
        s = re.sub(pat, rep, s)
    for _ in range(2):
        s = _DECOR.sub(r"\1", s)
    s = re.sub(r"\\vec\s*([A-Za-z])", r"\1", s)
    s = re.sub(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])", r"\\frac{\1}{\2}", s)  # \frac1k
    s = re.sub(r"\\sqrt\s*([0-9A-Za-z])", r"\\sqrt{\1}", s)
    s = re.sub(r"([_^])\{([A-Za-z0-9])\}", r"\1\2", s)
    s = re.sub(r"\s+", "", s)
    return s.replace("\\le", "\\le ").replace("\\ge", "\\ge ").replace("\\ne", "\\ne ").strip()


def _chain(statement: str) -> tuple[list[str], list[str]]:
    """``a = b < c`` → (["a", "b", "c"], ["=", "<"]), each element normalised and trimmed of prose."""
    parts = _REL_SPLIT.split(normalize(statement))
    elems = parts[0::2]
    elems[0] = _CJK_RUN.split(elems[0])[-1]  # "(1)由题意e" → "e": prose before the math
    elems[-1] = _CJK_RUN.split(elems[-1])[0]  # "2^n为通项" → "2^n": prose after it
    elems = [_LABEL.sub("", _CJK_EDGE.sub("", _PART.sub("", p))) for p in elems]
    rels = [r.strip() for r in parts[1::2]]
    return elems, rels


_CJK_RUN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
_PART = re.compile(r"^\s*[(（](?:\d|I{1,3}|IV|ⅰ|ⅱ|ⅲ|Ⅰ|Ⅱ|Ⅲ)[)）]\s*")


_BREAKS = re.compile(r"\\\\|\\(?:Rightarrow|Longrightarrow|therefore|because|quad|qquad|text\{[^{}]*\}|begin\{[a-z*]*\}|end\{[a-z*]*\})")


_THIN = re.compile(r"\\[,;:!]")


def _continued(lines: list[str]) -> list[str]:
    """Aligned lines that start with a relation (``&= …``) continue the line above."""
    out: list[str] = []
    for line in lines:
        if out and re.match(r"\s*(?:=|<|>|\\le|\\ge|≤|≥)", line):
            out[-1] += line
        else:
            out.append(line)
    return out


def _pieces(chunk: str) -> list[str]:
    """A chunk's comma- or semicolon-separated statements (``(0,1)`` and ``⟨a,b⟩`` stay whole)."""
    return [p for p in split_top(chunk, [",", ";"], brackets=("([{⟨", ")]}⟩"), strip=False) if p.strip()]


def statements(output: str) -> list[tuple[list[str], list[str]]]:
    """The relation chains a response states, from its math spans and, failing those, its plain lines."""
    spans = [next(g for g in m.groups() if g is not None) for m in _MATH_SPAN.finditer(output)]
    plain = _MATH_SPAN.sub("\n", output)
    chunks = spans + re.split(r"[\n。；;]|或|且|即|所以|因此|故|则|得", plain)
    from evalkit.grading.equivalence import _EULER

    chunks = [_EULER.sub(" e ", c) for c in chunks]  # \text{e}: Euler's number, not words that break a chain
    chunks = [piece for c in chunks for piece in _continued(_BREAKS.split(_THIN.sub("", c.replace("&", ""))))]
    out = []
    for chunk in chunks:
        chunk = chunk.replace("\\langle", "⟨").replace("\\rangle", "⟩").replace("，", ",").replace("或", ",")
        for piece in _pieces(chunk):
            elems, rels = _chain(piece)
            if rels:
                out.append((elems, rels))
    return out


_FLIP = {"<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le", "=": "=", "\\ne": "\\ne", "\\in": "\\in"}
_WEAKER = {"=": {"="}, "<": {"<"}, ">": {">"}, "\\le": {"<", "\\le"}, "\\ge": {">", "\\ge"},
           "\\ne": {"\\ne"}, "\\in": {"\\in"}}


def _rels_imply(rels: Sequence[str], key_rel: str) -> bool:
    """Whether a run of relations between two elements establishes ``key_rel`` (``=`` links are free)."""
    strong = [r for r in rels if r != "="]
    if key_rel == "=":
        return not strong
    if key_rel in ("\\ne", "\\in"):
        return strong == [key_rel]
    return bool(strong) and all(r in _WEAKER[key_rel] for r in strong)


def _key(result: str) -> tuple[str, str, str] | None:
    elems, rels = _chain(result)
    if len(elems) < 2 or not rels:
        return None
    return elems[0], rels[0] if len(set(rels)) == 1 else next(r for r in rels if r != "="), elems[-1]


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _contradicts(elems: Sequence[str], rels: Sequence[str]) -> bool:
    """``a^2=1=2=3=4`` equates different numbers: a guess list, not a statement (it earns nothing)."""
    if set(rels) != {"="}:
        return False
    values = {float(e) for e in elems if _NUMBER.fullmatch(e)}
    return len(values) > 1


def found(result: str, chains: Sequence[tuple[list[str], list[str]]]) -> bool:
    """Whether a response's chains state the key ``lhs REL rhs`` (rhs up to bounded math equivalence)."""
    key = _key(result)
    if key is None:
        return False
    lhs, rel, rhs = key
    for elems, rels in chains:
        if _contradicts(elems, rels):
            continue
        for i, e in enumerate(elems):
            if e != lhs:
                continue
            for j in range(len(elems)):
                if j == i:
                    continue
                between = rels[min(i, j): max(i, j)]
                want = rel if j > i else _FLIP[rel]
                if _rels_imply(between, want) and equivalent(elems[j], rhs):
                    return True
    return rel == "=" and _curve_found(lhs, rhs, chains)


_VARS = re.compile(r"(?<![\\A-Za-z])[A-Za-z](?:_\{?\w+\}?)?(?![A-Za-z])")
_NAMED = re.compile(r"[A-Za-z]_\{?\w+\}?|[A-Za-z]'*\(.*\)|\|.*\|")  # a_n, f(x), f'(x), |AB|


def _variables(expr: str) -> set[str]:
    return set(_VARS.findall(re.sub(r"\\[A-Za-z]+", " ", expr)))


def _curve_found(lhs: str, rhs: str, chains: Sequence[tuple[list[str], list[str]]]) -> bool:
    """An equation in two or more variables (a line, a curve) stated in another but equivalent form.

    Only equations over exactly the key's variables are compared (``3x^2+4y^2=12`` for
    ``\\frac{x^2}{4}+\\frac{y^2}{3}=1``); a named quantity (``a_n=2^n``) must be named as in the key.
    """
    names = _variables(lhs) | _variables(rhs)
    if len(names) < 2 or _NAMED.fullmatch(lhs):
        return False
    key = f"{lhs}={rhs}"
    for elems, rels in chains:
        if rels == ["="] and _variables(elems[0]) | _variables(elems[1]) == names and equivalent(
                f"{elems[0]}={elems[1]}", key):
            return True
    return False


def answer_mark(sample: Sample, output: str) -> Mark:
    """Deterministic marking: each rubric step's points when one of its key results is in the response."""
    rubric = sample.metadata.get("rubric") or []
    mx = sample.max_points
    if not rubric or not any(step.get("results") for step in rubric):
        return Mark("answer", 0.0, mx, "pending", reason="no rubric with key results: needs judge or human marks")
    chains = statements(output)
    steps, total = [], 0
    for k, step in enumerate(rubric, 1):
        hit = next((r for r in step.get("results", []) if found(r, chains)), None)
        pts = int(step.get("points", 0)) if hit is not None else 0
        total += pts
        steps.append({"step": k, "part": step.get("part", ""), "points": pts, "max": step.get("points", 0),
                      "matched": hit})
    return Mark("answer", float(min(total, mx)), mx, steps=steps)


# -- bounded math equivalence -------------------------------------------------------------------------
_MAX_LEN = 200


@lru_cache(maxsize=4096)
def equivalent(a: str, b: str) -> bool:
    """``a`` and ``b`` name the same value: the same normal text, else the grading room's ``math_equal``."""
    from evalkit.grading.equivalence import math_equal  # bounds its own work; imported on first use

    na, nb = normalize(a), normalize(b)
    if na == nb:
        return True
    if not na or not nb or len(na) > _MAX_LEN or len(nb) > _MAX_LEN:
        return False
    return math_equal(b, a, tolerance="exact-key").equal  # (gold, prediction), under Gaokao's exactness


# -- the `judge` grader -------------------------------------------------------------------------------
JUDGE_PROMPT = """你是高考数学阅卷教师，正在按评分细则批改第{number}题（解答题，满分{points}分）。

【题目】
{question}

【参考解答】
{solution}

【评分细则】（每步后为该步分值与累计分）
{rubric}

【考生作答】
{response}

请严格按评分细则逐步给分：
1. 每一步只给整数分，不超过该步分值；全题总分不超过{points}分。
2. 只看考生写出的过程与结果；关键步骤或结论缺失、错误的，该步不给分；因前面计算错误导致后续结果错误的，后续依赖该结果的步骤不给分。
3. 考生用与参考解答不同但正确的方法，按相应步骤的分值给分。
4. 考生作答为空或与题目无关，给 0 分。

只按下面格式输出两行，不要输出其他内容：
【步骤得分】{step_format}
【总分】X分"""


def judge_prompt(sample: Sample, output: str) -> str:
    """The marking instruction a judge model receives, in the teachers' own terms."""
    rubric = sample.metadata.get("rubric") or []
    lines = []
    for k, step in enumerate(rubric, 1):
        res = "；".join(step.get("results") or [])
        lines.append(f"{k}. {step.get('part', '')} {step.get('step', '')}" + (f"（得出 ${res}$）" if res else "")
                     + f"：{step.get('points')}分（累计{step.get('cumulative')}分）")
    step_format = "，".join(f"{k}:X" for k in range(1, len(rubric) + 1)) or "无"
    return JUDGE_PROMPT.format(
        number=sample.metadata.get("number", "?"), points=int(sample.max_points), question=sample.text,
        solution=sample.metadata.get("solution") or sample.target or "", rubric="\n".join(lines) or "（按参考解答给分）",
        response=output.strip() or "（空）", step_format=step_format,
    )


_TOTAL = re.compile(r"【总分】\s*[:：]?\s*(-?\d+(?:\.\d+)?)\s*分")
_STEPS = re.compile(r"【步骤得分】\s*[:：]?\s*(.*)")


def parse_judge_reply(reply: str, sample: Sample) -> Mark:
    """Strict reading of a judge's reply: exactly one integer total, step marks consistent with it."""
    mx = sample.max_points
    totals = _TOTAL.findall(reply)
    if len(totals) != 1:
        return Mark("judge", 0.0, mx, "unparsed", reason=f"judge reply has {len(totals)} 【总分】 lines, expected one")
    value = Fraction(totals[0])
    if value.denominator != 1 or value < 0:
        return Mark("judge", 0.0, mx, "unparsed", reason=f"judge total {totals[0]} is not a whole number of points")
    total = int(value)
    rubric = sample.metadata.get("rubric") or []
    steps: list[dict[str, Any]] = []
    m = _STEPS.search(reply)
    if rubric and m and m.group(1).strip() not in ("", "无"):
        pairs = re.findall(r"(\d+)\s*[:：]\s*(\d+)", m.group(1))
        if len(pairs) != len(rubric):
            return Mark("judge", 0.0, mx, "unparsed", reason=f"judge gave {len(pairs)} step marks for {len(rubric)} steps")
        for (k, pts), step in zip(pairs, rubric, strict=True):
            if int(pts) > int(step.get("points", 0)):
                return Mark("judge", 0.0, mx, "unparsed",
                            reason=f"judge gave step {k} {pts} points, more than its {step.get('points')}")
            steps.append({"step": int(k), "points": int(pts), "max": step.get("points")})
        if sum(s["points"] for s in steps) != total:
            return Mark("judge", 0.0, mx, "unparsed", reason="judge step marks do not add up to its 【总分】")
    reason = None
    if total > mx:
        reason = f"judge total {total} clipped to {mx:g}"
        total = int(mx)
    return Mark("judge", float(total), mx, steps=steps, reason=reason)


async def judge_mark(sample: Sample, output: str, judge: Judge) -> Mark:
    """Ask the judge to mark one solution; a failed call is an unparsed mark, never a zero."""
    try:
        reply = await judge(judge_prompt(sample, output))
    except Exception as exc:  # a judge outage is recorded on the sample
        return Mark("judge", 0.0, sample.max_points, "unparsed", reason=f"judge call failed: {exc}")
    return parse_judge_reply(reply, sample)


# -- the `human` grader -------------------------------------------------------------------------------
def human_mark(sample: Sample, marks_path: str | None) -> Mark:
    """The teacher's mark for this sample from ``marks_path``; pending when there is none yet."""
    mx = sample.max_points
    if not marks_path:
        return Mark("human", 0.0, mx, "pending", reason="no marks file given (grader option 'marks')")
    row = read_marks(marks_path).get(sample.id)
    if row is None or row.mark is None:
        return Mark("human", 0.0, mx, "pending", reason="awaiting a teacher's mark")
    return Mark("human", row.mark, mx, marker=row.marker)


# -- the paper metric ---------------------------------------------------------------------------------
def _blank() -> dict[str, float]:
    return {"points": 0.0, "max_points": 0.0}


def _add(acc: dict[str, float], pts: float, mx: float) -> None:
    acc["points"] += pts
    acc["max_points"] += mx


def _rate(acc: dict[str, float]) -> dict[str, float]:
    return {**acc, "rate": round(acc["points"] / acc["max_points"], 4) if acc["max_points"] else 0.0}


@dataclass(frozen=True)
class PaperUnit:
    """What a paper adds up: one item, or an elective group counted once — the better of its items on
    their final marks (teachers' marks where imported; the first on ties). Every view of a paper (the
    score card, the leaderboard and its intervals, the report's tables and charts, ``evalkit check``)
    adds these, never the raw items, so an elective pair counts once everywhere.

    A unit is *pending* while its item (or any item of its group) awaits marks (status ``skipped``):
    it stays out of the totals, which say how many points are pending.
    """

    id: str  # the item's id; an elective group: "<paper>:elective:<group>"
    paper: str
    number: str  # "17", or "22/23" for an elective pair
    section: str
    points: float
    max_points: float
    status: str
    grader: str
    items: tuple[str, ...]  # the ids of the items it stands for
    chosen: str | None  # the item whose marks count (None while pending)
    year: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == "skipped"

    @property
    def value(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0

    @property
    def metadata(self) -> dict[str, Any]:
        """How reports place the unit: its paper, number and section (``type``), and which item counts."""
        meta: dict[str, Any] = {"paper": self.paper, "number": self.number, "type": self.section,
                                "section": self.section}
        if len(self.items) > 1:
            meta.update(elective="/".join(self.items), chosen=self.chosen or "")
        if self.year is not None:
            meta["year"] = self.year
        return meta


def _item_key(r: SampleResult) -> tuple[str, int, str]:
    return str(r.metadata.get("paper", "")), _num(r.metadata.get("number")), r.id


def paper_units(results: Sequence[SampleResult]) -> list[PaperUnit]:
    """A run's results as the units its paper adds up, in the paper's order (see :class:`PaperUnit`)."""
    groups: dict[tuple[str, str], list[SampleResult]] = {}
    order: list[tuple[str, str] | SampleResult] = []
    for r in sorted(results, key=_item_key):
        group = r.metadata.get("elective")
        if not group:
            order.append(r)
            continue
        key = (str(r.metadata.get("paper", "")), str(group))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    return [_unit([entry]) if isinstance(entry, SampleResult) else _unit(groups[entry], entry) for entry in order]


def _unit(members: list[SampleResult], group: tuple[str, str] | None = None) -> PaperUnit:
    first = members[0]
    meta = first.metadata
    pending = any(m.score.status == "skipped" for m in members)
    best = None if pending else max(members, key=lambda m: m.score.points)  # max keeps the first on ties
    shown = best or next(m for m in members if m.score.status == "skipped")
    paper = str(meta.get("paper", ""))
    return PaperUnit(
        id=first.id if group is None or len(members) == 1 else f"{paper}:elective:{group[1]}",
        paper=paper, number="/".join(str(m.metadata.get("number", "")) for m in members),
        section=str(meta.get("section") or meta.get("type") or "other"),
        points=0.0 if pending else shown.score.points, max_points=max(m.score.max_points for m in members),
        status="skipped" if pending else shown.score.status, grader=shown.score.grader,
        items=tuple(m.id for m in members), chosen=None if best is None else best.id,
        year=str(meta["year"]) if meta.get("year") is not None else None,
    )


def paper_metric(results: Sequence[SampleResult]) -> dict[str, Any]:
    """The ``gaokao_paper`` metric: points out of the total, by section, by question, by paper and year —
    over the paper's units (:func:`paper_units`: an elective group counted once).

    Units still awaiting marks stay out of the totals and are counted in ``pending``; errors count as
    zero of their points (and are shown in the run's counts).
    """
    units = paper_units(results)
    counted = {u.chosen for u in units if u.chosen is not None}
    total, sections = _blank(), defaultdict(_blank)
    papers: dict[str, dict[str, Any]] = {}
    years: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(_blank))
    questions, arbitration = [], []
    pending = {"n": 0, "max_points": 0.0}
    for r in sorted(results, key=_item_key):
        meta, s = r.metadata, r.score
        questions.append({"id": r.id, "paper": str(meta.get("paper", "")), "number": meta.get("number"),
                          "type": meta.get("type"), "section": str(meta.get("section") or meta.get("type") or "other"),
                          "points": s.points, "max_points": s.max_points, "status": s.status, "grader": s.grader,
                          "counted": r.id in counted or (s.status == "skipped" and not meta.get("elective"))})
        if s.details.get("arbitration"):
            arbitration.append(r.id)
    for u in units:
        if u.pending:  # awaiting marks (or not asked): left out of the totals, listed apart
            pending["n"] += 1
            pending["max_points"] += u.max_points
            continue
        _add(total, u.points, u.max_points)
        _add(sections[u.section], u.points, u.max_points)
        entry = papers.setdefault(u.paper, {**_blank(), "sections": defaultdict(_blank)})
        _add(entry, u.points, u.max_points)
        _add(entry["sections"][u.section], u.points, u.max_points)
        if u.year is not None:
            _add(years[u.year][u.section], u.points, u.max_points)
    out: dict[str, Any] = {
        "points": total["points"],
        "max_points": total["max_points"],
        "points_rate": total["points"] / total["max_points"] if total["max_points"] else 0.0,
        "sections": {k: _rate(sections[k]) for k in _section_order(sections)},
        "questions": questions,
        "papers": {p: {"points": e["points"], "max_points": e["max_points"],
                       "sections": {k: _rate(e["sections"][k]) for k in _section_order(e["sections"])}}
                   for p, e in papers.items()},
        "arbitration": arbitration,
        "pending": pending,
    }
    if len(papers) == 1:
        out["paper"] = next(iter(papers))
    if years:
        out["years"] = {y: {k: _rate(v[k])["rate"] for k in _section_order(v)} for y, v in sorted(years.items())}
    return out


def _num(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 10**6


def _section_order(sections: dict[str, Any]) -> list[str]:
    return sorted(sections, key=section_key)


def with_marks(score: Score, new: Sequence[Mark], threshold: float = DEFAULT_THRESHOLD) -> Score:
    """``score`` with more marks added, reconciled again.

    A newer mark of the same grader and marker replaces the older one (re-importing a sheet never
    duplicates a mark); marks of different markers are kept side by side (double marking).
    """
    kept = [Mark.from_dict(d, score.max_points) for d in score.details.get("marks", [])]
    if not kept and score.status not in ("error", "skipped", "unparsed") and score.grader:
        kept = [Mark(score.grader, score.points, score.max_points)]
    replaced = {(m.grader, m.marker) for m in new}
    merged = [m for m in kept if (m.grader, m.marker) not in replaced] + list(new)
    out = reconcile(merged, score.max_points, threshold)
    extra = {k: v for k, v in score.details.items() if k not in _RECONCILED}
    return replace(out, details={**extra, **out.details}, extracted=score.extracted)


_RECONCILED = ("marks", "spread", "arbitration", "threshold", "arbitrated", "decided_by")
