"""Per-sample scorer dispatch for mixed benchmarks: one task, several question types.

Multimodal benchmarks mix option-letter questions with open numeric or text answers in one split.
``by_type`` reads ``sample.metadata["type"]`` (``single | multi | fill | open``) and hands the
response to evalkit's scorers through :func:`evalkit.grading.grade`: ``choice`` for single
answers, ``multi_select`` for sets of letters, ``fill_in`` for several blanks, ``math_answer`` for
one open answer. Benchmark rules that the official scripts apply on top (a fixed number of
decimals, a relative or absolute tolerance) are read from ``metadata["precision"]``,
``metadata["tolerance"]`` or ``metadata["abs_tolerance"]``; :func:`numeric` applies them to golds that
are plain numbers, and says so in ``Score.stage``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any

from evalkit.grading import GraderSpec, grade
from evalkit.grading.extract import extract_final_answer
from evalkit.grading.protocol import Check, scorer
from evalkit.types import Sample, Score

_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_SAYS = re.compile(r"(?:answer is|answer:|答案是|答案为|答案[:：])\s*\$?([^\n$。]*)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?")


RULE_KEYS = ("precision", "tolerance", "abs_tolerance")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _plain_numbers(target: Any) -> bool:
    """Whether every gold is a plain decimal number (the only golds a numeric rule applies to)."""
    golds = target if isinstance(target, list | tuple) else [target]
    return all(_PLAIN_NUMBER.fullmatch(str(g).replace(",", "").strip().strip("$").strip()) for g in golds)


def scorer_for(sample: Sample) -> str:
    """The evalkit scorer that grades this sample's question type."""
    kind = sample.metadata.get("type") or ("single" if sample.choices else "open")
    if kind == "single":
        return "choice"
    if kind == "multi":
        return "multi_select"
    if kind == "fill" and isinstance(sample.target, list | tuple) and len(sample.target) > 1:
        return "fill_in"
    return "math_answer"


def _options_of(name: str) -> Check:
    """The options of the scorer ``name``, checked against its own declaration."""
    def problem(value: dict[str, Any] | None) -> str | None:
        from evalkit.grading import declaration

        return declaration(name).problem(value) if value else None

    return Check(problem, f"the options of {name}")


@scorer("by_type", accepts="a mixed benchmark: metadata.type single | multi | fill | open picks choice, multi_select, "
                           "fill_in or math_answer; metadata.precision / tolerance / abs_tolerance for plain numbers")
def by_type(sample: Sample, output: str, *,
            choice: Annotated[dict[str, Any] | None, _options_of("choice")] = None,
            multi_select: Annotated[dict[str, Any] | None, _options_of("multi_select")] = None,
            fill_in: Annotated[dict[str, Any] | None, _options_of("fill_in")] = None,
            math_answer: Annotated[dict[str, Any] | None, _options_of("math_answer")] = None) -> Score:
    """Grade with the scorer of the sample's type; the option named after that scorer holds its options.

    ``metadata["alternatives"]`` lists several acceptable answers to one open question (MMMU's open
    questions): the response is right when it matches any of them.
    """
    alternatives = sample.metadata.get("alternatives")
    if alternatives and scorer_for(sample) == "math_answer":
        scores = [by_type(replace(sample, target=str(alt), metadata=_without(sample.metadata, "alternatives")),
                          output, choice=choice, multi_select=multi_select, fill_in=fill_in, math_answer=math_answer)
                  for alt in alternatives]
        return max(scores, key=lambda sc: (sc.value, sc.status != "unparsed"))
    name = scorer_for(sample)
    if name == "math_answer" and any(k in sample.metadata for k in RULE_KEYS) and _plain_numbers(sample.target):
        return numeric(sample, output)
    options = {"choice": choice, "multi_select": multi_select, "fill_in": fill_in, "math_answer": math_answer}[name]
    score = grade(sample, output, GraderSpec(name, dict(options or {})))
    return replace(score, details={**score.details, "scorer": name})


def _without(meta: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != key}


def extract_final(output: str) -> str | None:
    """The final answer's text: the last ``\\boxed{}``, else "the answer is …", else the last number."""
    found = extract_final_answer(output)
    if found is not None:
        return found
    boxes = _BOXED.findall(output)
    if boxes:
        return boxes[-1].strip()
    said = _SAYS.findall(output)
    if said and said[-1].strip():
        return said[-1].strip().rstrip(".")
    nums = _NUMBER.findall(output)
    return nums[-1] if nums else None


def to_number(text: str) -> float | None:
    t = text.replace(",", "").replace("$", "").replace("\\%", "").replace("%", "").strip()
    frac = re.fullmatch(r"(-?)\\d?frac\{(-?\d+(?:\.\d+)?)\}\{(\d+(?:\.\d+)?)\}", t)
    if frac:
        return (-1 if frac.group(1) else 1) * float(frac.group(2)) / float(frac.group(3))
    m = _NUMBER.search(t)
    if m is None:
        return None
    num = m.group(0)
    if "/" in num:
        a, b = num.split("/")
        return float(a) / float(b) if float(b) else None
    return float(num)


def numeric(sample: Sample, output: str) -> Score:
    """Numeric comparison: exact, to ``metadata["precision"]`` decimals, or within a tolerance.

    Used for golds that are plain numbers under a benchmark's numeric rule.
    """
    mx = sample.max_points
    found = extract_final(output)
    golds = sample.target if isinstance(sample.target, list | tuple) else [sample.target]
    if found is not None and _plain(found) in {_plain(str(g)) for g in golds}:
        return Score.right(True, mx, stage="string", extracted=found, normalized=_plain(found))
    pred = to_number(found) if found is not None else None
    if pred is None:
        return Score.ungraded("unparsed", mx, stage="numeric", reason="no number found", extracted=found)
    gold_nums = [g for g in (to_number(str(x)) for x in golds) if g is not None]
    if not gold_nums:
        return Score.error(f"sample {sample.id}: target {sample.target!r} is not a number", mx)
    ok = any(_close(pred, g, sample.metadata) for g in gold_nums)
    return Score.right(ok, mx, stage="numeric", extracted=found, normalized=pred)


def _close(pred: float, gold: float, meta: dict[str, Any]) -> bool:
    precision = meta.get("precision")
    if precision is not None:
        return round(pred, int(precision)) == round(gold, int(precision))
    tol = meta.get("tolerance")
    if tol is not None:
        return abs(pred - gold) <= float(tol) * max(abs(gold), 1e-12)
    abs_tol = meta.get("abs_tolerance")
    if abs_tol is not None:
        return abs(pred - gold) <= float(abs_tol) * (1 + 1e-9)
    return abs(pred - gold) <= 1e-9 * max(1.0, abs(gold))


def _plain(text: str) -> str:
    """Text compared as a string: no spaces, no ``$``, no trailing full stop."""
    return re.sub(r"[\s$]", "", text).rstrip(".。")
