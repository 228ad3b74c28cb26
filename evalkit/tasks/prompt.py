"""Rendering a sample into chat messages with a jinja2 template, images placed where asked.

Template variables: ``question`` (the sample's text), ``choices`` (list of option texts),
``options`` (``"A. ...\\nB. ..."``), ``letters``, ``sample``, ``metadata``, ``target`` is *not*
given. Images go where the rendered text carries ``<image N>`` markers (1-based); any image
without a marker is placed before the text.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import Any

from evalkit.types import ContentPart, Image, Message, Sample, Text

MARKER = re.compile(r"<image[ _]?(\d+)>")


@lru_cache(maxsize=64)
def _compile(template: str) -> Any:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)
    return env.from_string(template)


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
    return _compile(template).render(
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
