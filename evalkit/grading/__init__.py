"""The grading room: extraction, math equivalence, scorers and metrics.

Public surface used by other rooms:

* ``scorer_registry`` — the registry of scorers (entry-point group ``evalkit.scorers``).
* ``GraderSpec`` — a scorer name plus options, as a task declares it (picklable); ``spec.check(where)``
  raises :class:`GraderOptionError` when the options do not fit the scorer's declaration.
* ``grade(sample, output, spec)`` — pure and synchronous; returns a :class:`~evalkit.types.Score`.
* ``grade_async(sample, output, spec, judge)`` — for scorers that need an LLM judge.

A scorer is ``fn(sample: Sample, output: str, *, <options>) -> Score`` declared with ``@scorer``
(:mod:`evalkit.grading.protocol`): its keyword-only parameters are its options, and a scorer that
needs a judge takes it as the keyword-only parameter ``judge`` (``async (prompt: str) -> str``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from evalkit.grading.protocol import GraderOptionError, Judge, Scorer, declared, scorer
from evalkit.registry import Registry, RegistryError
from evalkit.types import Sample, Score

__all__ = ["GraderOptionError", "GraderSpec", "Judge", "Scorer", "declaration", "grade", "grade_async", "needs_judge",
           "scorer", "scorer_registry"]

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


_DECLARED: dict[str, Scorer] = {}


def declaration(name: str) -> Scorer:
    """The declaration of the scorer registered as ``name`` (a plain function is declared by its signature)."""
    obj = scorer_registry.get(name)
    known = _DECLARED.get(name)
    if known is None or (known is not obj and known.fn is not obj):
        known = _DECLARED[name] = declared(name, obj)
    return known


@dataclass(frozen=True)
class GraderSpec:
    """Which scorer grades a task, with its options (e.g. ``{"rule": "gaokao-2024"}``)."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options}

    @cached_property
    def problem(self) -> str | None:
        """What is wrong with the options for this scorer, or ``None`` (worked out once per spec)."""
        return declaration(self.name).problem(self.options)

    def check(self, where: str) -> GraderSpec:
        """This spec, when the scorer exists and takes these options; else an error naming ``where``."""
        try:
            problem = self.problem
        except RegistryError as exc:
            raise GraderOptionError(f"{where}: {exc}") from None
        if problem:
            raise GraderOptionError(f"{where}: grader {problem}")
        return self

    def with_options(self, overrides: dict[str, Any], where: str) -> GraderSpec:
        """This spec with ``overrides`` laid over its options, checked (``where`` names the flag or file)."""
        return replace(self, options={**self.options, **overrides}).check(where) if overrides else self


def needs_judge(spec: GraderSpec) -> bool:
    """Whether grading with this spec asks a judge model (its scorer's declaration says, given the options)."""
    return declaration(spec.name).needs_judge(spec.options)


def grade(sample: Sample, output: str, spec: GraderSpec) -> Score:
    """Grade one response with the named scorer; never raises for a model's answer.

    Options that do not fit the scorer (a spec that was never checked) give an ``error`` score.
    """
    problem = spec.problem
    if problem:
        return Score.error(f"grader {problem}", sample.max_points)
    score: Score = declaration(spec.name)(sample, output, **spec.options)
    if not score.grader:
        score = replace(score, grader=spec.name)
    return score


async def grade_async(sample: Sample, output: str, spec: GraderSpec, judge: Judge | None = None) -> Score:
    """Grade with a judge-backed scorer (awaited on the caller's loop)."""
    if not needs_judge(spec):
        return grade(sample, output, spec)
    if judge is None:
        return Score.error(f"scorer {spec.name!r} needs a judge model (--judge URI)")
    problem = spec.problem
    if problem:
        return Score.error(f"grader {problem}", sample.max_points)
    return await declaration(spec.name)(sample, output, judge=judge, **spec.options)


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
