"""Test utilities shipped with evalkit: a local OpenAI/Anthropic-compatible model server with faults.

Import :class:`ModelServer` and :class:`Fault` from here (``evalkit.testing.server`` holds them).
"""

from evalkit.testing.server import Fault, ModelServer, fetch_stats

__all__ = ["Fault", "ModelServer", "fetch_stats"]
