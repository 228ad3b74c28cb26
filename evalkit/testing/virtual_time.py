"""An asyncio event loop on a virtual clock, for tests whose subject is timing behaviour.

``asyncio.sleep``, ``asyncio.timeout`` and ``loop.call_later`` run on the loop's clock; here that
clock jumps straight to the next scheduled moment instead of waiting for it. A simulation of
latencies, backoffs and overload windows then runs in microseconds of real time and gives the
same result on an idle laptop and on a loaded CI machine::

    loop = VirtualTimeLoop()
    try:
        loop.run_until_complete(simulation(clock=loop.time))
    finally:
        loop.close()

Only timers advance the clock; a coroutine waiting on real I/O (a socket) with nothing else
scheduled would wait forever, so the loop refuses that with ``RuntimeError``.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Never blocks: a wait of ``timeout`` seconds moves the virtual clock on by that much."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> Any:
        if timeout is None:
            raise RuntimeError("virtual time: nothing is scheduled and the loop would wait for I/O forever")
        self._clock[0] += max(timeout, 0.0)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` starts at 0.0 and advances only when every task waits."""

    def __init__(self) -> None:
        self._now = [0.0]
        super().__init__(_JumpingSelector(self._now))

    def time(self) -> float:
        return self._now[0]
