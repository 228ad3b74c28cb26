"""The adapter protocol every model back end implements."""

from __future__ import annotations

from typing import Any, ClassVar

from evalkit.errors import EvalkitError
from evalkit.types import Request, Response

SECRET_WORDS = ("key", "token", "secret", "password", "authorization")


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

    def __init__(self, target: str = "", **options: Any) -> None:
        unknown = set(options) - set(self.options_doc)
        if unknown:
            allowed = ", ".join(sorted(self.options_doc)) or "none"
            raise AdapterError(
                f"adapter {self.scheme!r} has no option(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
            )
        self.target = target
        self.options = options

    @property
    def uri(self) -> str:
        return f"{self.scheme}:{self.target}" if self.target else self.scheme

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

    async def generate(self, request: Request) -> Response:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections, processes or models."""


def redact(options: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` with values whose names look secret replaced by ``"***"``."""
    out: dict[str, Any] = {}
    for k, v in options.items():
        if isinstance(v, dict):
            out[k] = redact(v)
        elif any(w in k.lower() for w in SECRET_WORDS) and not k.lower().endswith("_env"):
            out[k] = "***"
        else:
            out[k] = v
    return out
