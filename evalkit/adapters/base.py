"""The adapter protocol every model back end implements, and the step every answer goes through.

An adapter implements ``async generate(request) -> Response``; callers use :meth:`Adapter.respond`,
which is ``generate`` followed by :meth:`Adapter.finish` — the one shared step that keeps a model's
reasoning apart from its answer (a ``<think>…</think>`` block moves from ``text`` to ``reasoning``),
whichever back end answered (OpenAI-compatible, Anthropic, hf, command, replay, plug-ins). Every
adapter accepts the option ``split_think`` (default true) to turn the step off.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from evalkit.errors import EvalkitError
from evalkit.types import Request, Response, well_formed

# options every adapter accepts (merged into each subclass's ``options_doc``)
SHARED_OPTIONS = {"split_think": "keep a <think>...</think> block out of the answer, as reasoning (default true)"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}



class AdapterError(EvalkitError, ValueError):
    """A user's mistake in choosing or configuring an adapter (bad URI, missing option)."""


class Adapter:
    """Base class: subclasses set ``scheme`` and implement :meth:`generate`.

    ``options_doc`` documents the ``-M key=value`` options for ``evalkit list adapters``.
    ``cacheable`` says whether responses may be served from the response cache.
    ``needs_gpu`` says that the adapter runs its model in-process on a GPU (a sweep on Ray loads it once
    per model in an actor); ``endpoint_key`` names what a sweep's per-endpoint concurrency limit covers.
    """

    scheme: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options_doc: ClassVar[dict[str, str]] = {}
    cacheable: ClassVar[bool] = True
    # options that change how we talk, not what the model answers: left out of the cache key
    transport_options: ClassVar[frozenset[str]] = frozenset()
    text_only: ClassVar[bool] = False
    # holds its model in this process and wants a GPU: a sweep on Ray serves it from one actor per model
    needs_gpu: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.options_doc = {**cls.options_doc, **SHARED_OPTIONS}

    def __init__(self, target: str = "", **options: Any) -> None:
        unknown = set(options) - set(self.options_doc) - set(SHARED_OPTIONS)
        if unknown:
            allowed = ", ".join(sorted(self.options_doc)) or "none"
            raise AdapterError(
                f"adapter {self.scheme!r} has no option(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
            )
        self.target = target
        self.options = options
        self.split_think = _flag(options, "split_think", True)

    name: str | None = None  # the display name given with -M name= / --model-name

    @property
    def uri(self) -> str:
        return f"{self.scheme}:{self.target}" if self.target else self.scheme

    @property
    def label(self) -> str:
        """How runs, summaries and reports name this model: the display name given, else :attr:`default_label`."""
        return self.name or self.default_label

    @property
    def default_label(self) -> str:
        return self.uri

    @property
    def endpoint_key(self) -> str:
        """What one concurrency budget covers in a sweep: the server a remote adapter calls, else the model."""
        return self.uri

    def identity(self) -> dict[str, Any]:
        """Who answers: the URI and options, with secrets redacted (for run.json and the cache key)."""
        return {"uri": self.uri, "options": redact(self.options)}

    def cache_identity(self) -> dict[str, Any]:
        """``identity()`` without transport-only options (timeouts, limits, TLS, streaming)."""
        ident = self.identity()
        ident["options"] = {k: v for k, v in ident["options"].items() if k not in self.transport_options}
        return ident

    def preflight(self) -> None:
        """Check, before the first request, what this adapter needs and can know without calling the model
        (an optional dependency, a file, a program); raise :class:`AdapterError` in one sentence. The
        default needs nothing."""

    async def generate(self, request: Request) -> Response:
        raise NotImplementedError

    async def respond(self, request: Request) -> Response:
        """What callers use: :meth:`generate`, then the shared :meth:`finish` step."""
        return self.finish(await self.generate(request))

    def finish(self, response: Response) -> Response:
        """The step every answer goes through (a cached one too): text made well-formed (a lone surrogate,
        valid in a JSON answer, becomes U+FFFD) and reasoning kept apart from the answer."""
        fields = {"text": well_formed(response.text) or "", "reasoning": well_formed(response.reasoning),
                  "error": well_formed(response.error)}
        if any(value is not getattr(response, name) for name, value in fields.items()):
            response = replace(response, **fields)
        return separate_reasoning(response) if self.split_think else response

    async def aclose(self) -> None:
        """Release connections, processes or models."""


def redact(options: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` fit to record: secret-looking values ``***``, also inside JSON options and
    URLs (see :mod:`evalkit.redact`); the secrets found are remembered and scrubbed from all output."""
    from evalkit.redact import redact_options

    return redact_options(options)


def _flag(options: dict[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in _TRUE | _FALSE:
        return value if isinstance(value, bool) else text in _TRUE
    raise AdapterError(f"-M {name}={value!r}: expected true or false")


def split_think(text: str) -> tuple[str, str | None]:
    """``"<think>why</think>answer"`` → ``("answer", "why")``; text without the block is unchanged.

    The opening tag may be missing (chat templates that put it in the prompt: ``"why</think>answer"``);
    a block that never closes (the model ran out of tokens while thinking) is all reasoning and no answer.
    """
    stripped = text.lstrip()
    opened = stripped.startswith("<think>")
    if not opened and "</think>" not in stripped[:20000]:
        return text, None
    head, sep, tail = stripped.partition("</think>")
    if not sep:
        return "", stripped.removeprefix("<think>").strip()
    return tail.lstrip(), head.removeprefix("<think>").strip()


def separate_reasoning(response: Response) -> Response:
    """``response`` with a ``<think>`` block moved from its text to its reasoning (joined to any it had)."""
    if not response.ok or "think>" not in response.text:
        return response
    answer, thought = split_think(response.text)
    if thought is None:
        return response
    reasoning = "\n\n".join(p for p in (response.reasoning, thought) if p)
    return replace(response, text=answer, reasoning=reasoning or None)
