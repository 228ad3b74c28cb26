"""Rendering a sample into chat messages with a jinja2 template, images placed where asked.

Template variables: ``question`` (the sample's text), ``choices`` (list of option texts),
``options`` (``"A. ...\\nB. ..."``), ``letters``, ``sample``, ``metadata``, ``target`` is *not*
given. Images go where the rendered text carries ``<image N>`` markers (1-based); any image
without a marker is placed before the text.

Templates come from task files, papers and users, so they are hostile: they render in jinja2's
immutable sandbox (:func:`sandbox`), never in a plain environment.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.types import ContentPart, Image, Message, Sample, Text

MARKER = re.compile(r"<image[ _]?(\d+)>")


MAX_RENDERED = 1_000_000  # characters a `*`/`**` in a template may produce (a prompt, not a memory bomb)


@lru_cache(maxsize=1)
def sandbox() -> Any:
    """The jinja2 environment every template from a task, a paper or a user renders in.

    jinja2's immutable sandbox: no attribute starting with ``_`` (so no ``__globals__``, ``__class__``,
    ``__subclasses__``), no calls of unsafe functions, no mutation of lists or dicts, ``str.format``
    checked too; plus ``*`` and ``**`` bounded so a template cannot ask for a gigabyte string.
    A refused access raises :class:`TemplateSecurityError`.
    """
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class PromptSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_size(operator, left, right)
            return super().call_binop(context, operator, left, right)

    return PromptSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


def _check_size(operator: str, left: Any, right: Any) -> None:
    from jinja2.exceptions import SecurityError

    if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
        raise SecurityError(f"exponent {right} is too large for a prompt")
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_RENDERED:
                raise SecurityError(f"repeating a {type(seq).__name__} {times} times is too large for a prompt")


class TemplateSecurityError(EvalkitError, ValueError):
    """A template asked for something the sandbox refuses (an escape attempt, a memory bomb)."""


@lru_cache(maxsize=64)
def _compile(template: str) -> Any:
    return sandbox().from_string(template)


def render_template(template: str, **values: Any) -> str:
    """Render a template from outside evalkit in the sandbox; a refused access is one sentence."""
    from jinja2.exceptions import SecurityError

    pieces: list[str] = []
    size = 0
    try:
        for piece in _compile(template).generate(**values):
            size += len(piece)
            if size > MAX_RENDERED:
                raise SecurityError(f"the rendered prompt passed {MAX_RENDERED:,} characters")
            pieces.append(piece)
    except (SecurityError, OverflowError) as exc:
        raise TemplateSecurityError(f"prompt template refused by the sandbox: {exc}") from None
    return "".join(pieces)


def format_options(choices: tuple[str, ...] | None) -> str:
    if not choices:
        return ""
    return "\n".join(f"{string.ascii_uppercase[i]}. {c}" for i, c in enumerate(choices))


def render_text(sample: Sample, template: str | None) -> str:
    if not template:
        text = sample.text
        opts = format_options(sample.choices)
        return f"{text}\n{opts}" if opts else text
    choices = list(sample.choices or ())
    return render_template(
        template,
        question=sample.text,
        choices=choices,
        options=format_options(sample.choices),
        letters=string.ascii_uppercase[: len(choices)],
        sample=sample,
        metadata=sample.metadata,
    )


def interleave(text: str, images: list[Image]) -> tuple[ContentPart, ...]:
    """Split ``text`` at ``<image N>`` markers and put image N there; unplaced images lead."""
    parts: list[ContentPart] = []
    placed: set[int] = set()
    pos = 0
    for m in MARKER.finditer(text):
        idx = int(m.group(1)) - 1
        if not 0 <= idx < len(images):
            continue
        if m.start() > pos:
            parts.append(Text(text[pos : m.start()]))
        parts.append(images[idx])
        placed.add(idx)
        pos = m.end()
    if pos < len(text):
        parts.append(Text(text[pos:]))
    leading = [img for i, img in enumerate(images) if i not in placed]
    return tuple(leading) + tuple(parts)


def render_messages(sample: Sample, template: str | None, system: str | None) -> tuple[Message, ...]:
    text = render_text(sample, template)
    content = interleave(text, sample.images) if sample.images else (Text(text),)
    user = Message("user", content)
    if system:
        return (Message("system", (Text(system),)), user)
    return (user,)
