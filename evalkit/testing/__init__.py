"""Test utilities shipped with evalkit: a local OpenAI/Anthropic-compatible model server with faults.

``from evalkit.testing import ModelServer, Fault`` (defined in :mod:`evalkit.testing.server`,
imported lazily so that ``python -m evalkit.testing.server`` runs it only once).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Fault", "ModelServer", "fetch_stats"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from evalkit.testing import server

        return getattr(server, name)
    raise AttributeError(f"module 'evalkit.testing' has no attribute {name!r}")
