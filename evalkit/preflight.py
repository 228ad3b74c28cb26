"""Everything a run needs, checked before its first model call.

A mistake found after the samples were generated costs the whole run; one found before costs
nothing. This module owns those checks, each ending in one sentence that names the task, file,
sample or flag:

* the task: its samples load (data, ``--ids``), its metrics exist, its grader exists and accepts its
  options (checked against the scorer's declaration, :mod:`evalkit.grading.protocol`), the scorer
  accepts the samples (its declaration's ``check``, e.g. the Gaokao rubric key results the ``answer``
  grader must be able to read), a judge is given when it marks with one;
* every prompt renders (the template is compiled and rendered for every selected sample with
  undefined names an error, so a typo is one sentence, not a traceback halfway through the run);
* every image exists and is an image;
* each adapter has what it needs before its first request (``Adapter.preflight``: an optional extra
  such as torch for ``hf:``).

The runner calls :func:`check_run` before it writes anything, so a run that fails these leaves no
folder behind; ``evalkit run --dry-run`` calls it and prints what would run (:func:`describe`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evalkit.errors import EvalkitError
from evalkit.types import Image, Message, Sample, Text

if TYPE_CHECKING:
    from evalkit.adapters import Adapter
    from evalkit.tasks import Task


class PreflightError(EvalkitError, ValueError):
    """Something a run needs is missing or wrong; found before the first model call."""


@dataclass
class TaskCheck:
    """What the checks of one task found: the selected samples, one rendered prompt, counts."""

    samples: list[Sample]
    first_prompt: tuple[Message, ...] | None
    images: int


def _where(task: Task) -> str:
    return f"task {task.name!r}" + (f" ({task.source})" if task.source else "")


def check_metrics(task: Task) -> None:
    from evalkit.grading.metrics import metrics
    from evalkit.registry import did_you_mean

    for name in task.metrics:
        if name not in metrics:
            raise PreflightError(f"{_where(task)}: metric {name!r} is unknown{did_you_mean(name, metrics.names())}; "
                                 f"known: {', '.join(metrics.names())}")


def check_grader(task: Task, samples: Sequence[Sample], *, judge: bool) -> None:
    """The scorer exists and takes its options (a spec built in code was never checked at load), has its
    judge, and accepts the samples it will grade (its declaration's ``check``)."""
    from evalkit.grading import GraderOptionError, declaration, needs_judge

    spec = task.grader
    try:
        spec.check(_where(task))
    except GraderOptionError as exc:
        raise PreflightError(str(exc)) from None
    check = declaration(spec.name).check
    problem = check(samples, spec.options) if check is not None else None
    if problem:
        raise PreflightError(f"{_where(task)}: {problem}")
    if needs_judge(spec) and not judge:
        raise PreflightError(f"{_where(task)} marks answers with an LLM judge; give one with --judge URI")


def _template_errors() -> tuple[type[Exception], ...]:
    """jinja2's errors, if a template was rendered: a task without one never imports jinja2 (~20 ms of start-up)
    and so never raises them."""
    jinja2 = sys.modules.get("jinja2")
    return (jinja2.TemplateError,) if jinja2 is not None else ()


def render_all(task: Task, samples: Sequence[Sample]) -> tuple[Message, ...] | None:
    """Render every sample's prompt (names the template does not know are errors); returns the first."""
    first = None
    for sample in samples:
        try:
            messages = task.render(sample)
        except _template_errors() as exc:
            err: Any = exc  # a jinja2.TemplateError: its message, and a syntax error's line
            if isinstance(exc, sys.modules["jinja2"].TemplateSyntaxError):
                raise PreflightError(f"{_where(task)}: the prompt template does not parse (line {err.lineno}: "
                                     f"{err.message})") from None
            raise PreflightError(f"{_where(task)}: the prompt template fails on sample {sample.id!r} "
                                 f"({err.message or type(exc).__name__}); the template may use question, choices, "
                                 "options, letters, sample and metadata") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as exc:
            raise PreflightError(f"{_where(task)}: the prompt template fails on sample {sample.id!r} "
                                 f"({type(exc).__name__}: {exc})") from None
        if first is None:
            first = messages
    return first


def check_images(task: Task, samples: Sequence[Sample]) -> int:
    """Every image of the selected samples exists and is an image; returns how many were checked."""
    from evalkit.images import ImageError, check_image

    n = 0
    for sample in samples:
        for image in sample.images:
            try:
                check_image(image)
            except ImageError as exc:
                raise PreflightError(f"{_where(task)}: sample {sample.id!r}: {exc}") from None
            n += 1
    return n


def check_task(task: Task, samples: list[Sample], *, judge: bool) -> TaskCheck:
    """Every check of a task over the samples a run selected from it."""
    check_metrics(task)
    check_grader(task, samples, judge=judge)
    first = render_all(task, samples)
    images = check_images(task, samples)
    return TaskCheck(samples, first, images)


def check_adapter(adapter: Adapter, role: str = "--model") -> None:
    """What the adapter needs before its first request (``Adapter.preflight``)."""
    adapter.preflight()


def format_messages(messages: Sequence[Message]) -> str:
    """A rendered prompt as a person reads it: each message under its role, images as ``[image: path]``."""
    lines: list[str] = []
    for message in messages:
        lines.append(f"── {message.role} ──")
        parts: list[str] = []
        for part in message.content:
            if isinstance(part, Text):
                parts.append(part.text)
            elif isinstance(part, Image):
                parts.append(f"[image: {part.path or part.label or 'in memory'}]")
        lines.append("".join(parts))
    return "\n".join(lines)


def describe(label: str, check: TaskCheck, *, to_run: int, done: int, folder: str, grader: Any,
             metrics: Sequence[str]) -> str:
    """The dry run's account of one run: counts, grader, folder, and the first rendered prompt."""
    n = len(check.samples)
    head = [f"dry run: {label}",
            f"  samples: {n} selected, {to_run} to run" + (f", {done} already done" if done else ""),
            f"  prompts: {n} rendered; images: {check.images} checked",
            f"  grader: {grader.name}" + (f" {grader.options}" if grader.options else "") + f"; metrics: {', '.join(metrics)}",
            f"  run folder: {folder}"]
    if check.first_prompt is not None:
        head += [f"first prompt (sample {check.samples[0].id}):", format_messages(check.first_prompt)]
    return "\n".join(head)
