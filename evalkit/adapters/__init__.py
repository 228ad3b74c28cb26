"""The adapters room: how evalkit talks to models.

An adapter is a class with ``async generate(request) -> Response``, chosen by a URI
``scheme:rest`` (``reference``, ``random:7``, ``replay:outputs.jsonl``, ``openai:qwen2.5-vl``).
Built-ins are listed below as lazy ``"module:Class"`` strings; third-party adapters join through
the entry-point group ``evalkit.adapters`` (one class plus one entry point).
"""

from __future__ import annotations

from typing import Any

from evalkit.adapters.base import Adapter, AdapterError
from evalkit.registry import Registry

adapters: Registry[type[Adapter]] = Registry("adapter", "evalkit.adapters")
for _scheme, _target in {
    "reference": "evalkit.adapters.baselines:ReferenceAdapter",
    "random": "evalkit.adapters.baselines:RandomAdapter",
    "replay": "evalkit.adapters.replay:ReplayAdapter",
    "openai": "evalkit.adapters.openai:OpenAIAdapter",
    "command": "evalkit.adapters.command:CommandAdapter",
    "anthropic": "evalkit.adapters.anthropic:AnthropicAdapter",
    "hf": "evalkit.adapters.hf:HFAdapter",
}.items():
    adapters.add(_scheme, _target)


def make_adapter(uri: str, options: dict[str, Any] | None = None) -> Adapter:
    """Build the adapter a URI names, e.g. ``make_adapter("random:7")``; the option ``name`` (``-M name=``,
    ``--model-name``) is the model's display name, taken by every adapter."""
    scheme, _, rest = uri.partition(":")
    try:
        cls = adapters.get(scheme)
    except LookupError as exc:
        raise AdapterError(f"--model {uri!r}: {exc}") from None
    opts = dict(options or {})
    name = opts.pop("name", None)
    adapter = cls(rest, **opts)
    if name is not None:
        if not str(name).strip():
            raise AdapterError(f"--model {uri}: the display name (-M name= / --model-name) is empty")
        adapter.name = str(name).strip()
    return adapter


__all__ = ["Adapter", "AdapterError", "adapters", "make_adapter"]
