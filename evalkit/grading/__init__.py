"""The grading room: extraction, math equivalence, scorers and metrics.

Public surface used by other rooms:

* ``scorer_registry`` — the registry of scorer functions (entry-point group ``evalkit.scorers``).
* ``GraderSpec`` — a scorer name plus options, as a task declares it (picklable).
* ``grade(sample, output, spec)`` — pure and synchronous; returns a :class:`~evalkit.types.Score`.
* ``grade_async(sample, output, spec, judge)`` — for scorers that need an LLM judge.

A scorer is ``fn(sample: Sample, output: str, **options) -> Score``. A scorer that needs a judge
sets ``fn.needs_judge = True`` and is ``async fn(sample, output, *, judge, **options)`` where
``judge`` is ``async (prompt: str) -> str``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from evalkit.registry import Registry
from evalkit.types import Sample, Score

Judge = Callable[[str], Awaitable[str]]

scorer_registry: Registry[Callable[..., Any]] = Registry("scorer", "evalkit.scorers")
for _name, _target in {
    "exact": "evalkit.grading.scorers:exact",
    "regex": "evalkit.grading.scorers:regex",
    "choice": "evalkit.grading.scorers:choice",
    "multi_select": "evalkit.grading.scorers:multi_select",
    "choice_group": "evalkit.grading.scorers:choice_group",
    "fill_in": "evalkit.grading.scorers:fill_in",
    "math_answer": "evalkit.grading.scorers:math_answer",
    "rubric": "evalkit.grading.scorers:rubric",
    "human": "evalkit.grading.scorers:human",
    "gaokao": "evalkit.grading.gaokao:score_item",
    "by_type": "evalkit.grading.by_type:by_type",
}.items():
    scorer_registry.add(_name, _target)


@dataclass(frozen=True)
class GraderSpec:
    """Which scorer grades a task, with its options (e.g. ``{"rule": "gaokao-2024"}``)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options}


def needs_judge(spec: GraderSpec) -> bool:
    """Whether the scorer wants a judge; ``fn.needs_judge`` may be a flag or ``f(options) -> bool``."""
    flag = getattr(scorer_registry.get(spec.name), "needs_judge", False)
    return bool(flag(spec.options)) if callable(flag) else bool(flag)


def grade(sample: Sample, output: str, spec: GraderSpec) -> Score:
    """Grade one response with the named scorer; never raises for a model's answer."""
    fn = scorer_registry.get(spec.name)
    score: Score = fn(sample, output, **spec.options)
    if not score.grader:
        from dataclasses import replace

        score = replace(score, grader=spec.name)
    return score


async def grade_async(sample: Sample, output: str, spec: GraderSpec, judge: Judge | None = None) -> Score:
    """Grade with a judge-backed scorer (awaited on the caller's loop)."""
    fn = scorer_registry.get(spec.name)
    if needs_judge(spec):
        if judge is None:
            return Score.error(f"scorer {spec.name!r} needs a judge model (--judge URI)")
        return await fn(sample, output, judge=judge, **spec.options)
    return grade(sample, output, spec)


_LAZY = {
    "math_equal": "evalkit.grading.equivalence",
    "Verdict": "evalkit.grading.equivalence",
    "extract_final_answer": "evalkit.grading.extract",
    "extract_letters": "evalkit.grading.letters",
    "extract_blanks": "evalkit.grading.extract",
    "last_capital": "evalkit.grading.letters",
}


def __getattr__(name: str) -> Any:
    """Answer-checking helpers, imported on first use (``from evalkit.grading import math_equal``)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evalkit.grading' has no attribute {name!r}")
