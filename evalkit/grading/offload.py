"""Where a judge-backed scorer does its deterministic marking: in the bounded pool, not on the event loop.

A scorer that asks a judge is a coroutine awaited on the runner's event loop, because the judge call
is I/O. Its deterministic part (reading the answer, math equivalence, the ``answer`` grader's key
results) is CPU work that a hostile answer can make slow; on the loop it would stall every sample in
flight, with no time limit. So such a scorer hands that part to :func:`bounded`: the runner sets an
offloader (its grading pool's ``call``, which runs the function in a killable worker under the
grading time limit) for the duration of the grade, and only the judge call stays on the loop.
Without an offloader (``evalkit grade judge``, tests) the function runs in place.

The function and its arguments must be picklable (a module-level function of plain records).
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
Offloader = Callable[..., Awaitable[Any]]  # offloader(fn, *args) -> fn(*args), run elsewhere

OFFLOAD: contextvars.ContextVar[Offloader | None] = contextvars.ContextVar("evalkit_grading_offload", default=None)


async def bounded(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, in the grading pool when the caller set one (see module docstring), else here."""
    offloader = OFFLOAD.get()
    if offloader is None:
        return fn(*args)
    result: T = await offloader(fn, *args)
    return result
