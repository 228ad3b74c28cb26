"""Adaptive per-endpoint concurrency (AIMD) for HTTP adapters.

The runner bounds the whole run with ``--concurrency``; this limiter bounds one endpoint and
adapts: it starts fully open at ``max_limit``, halves on overload (a 429/503/529 or a timeout;
halving the most that was in flight since the last decrease, at most once per typical latency, so
one burst counts once, and never below ``min_limit``, so that a few hung requests cannot starve
the endpoint) and, while the recent average latency stays within ``tolerance`` times the long-run
average, adds one slot per full window of successes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class AdaptiveLimiter:
    """An async semaphore whose size moves between ``min_limit`` and ``max_limit``."""

    def __init__(
        self,
        max_limit: int,
        *,
        min_limit: int = 1,
        initial: int | None = None,
        decrease: float = 0.5,
        tolerance: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_limit < 1 or min_limit < 1 or min_limit > max_limit:
            raise ValueError(f"limiter bounds must satisfy 1 <= min ({min_limit}) <= max ({max_limit})")
        self.max_limit = max_limit
        self.min_limit = min_limit
        self.limit = float(initial if initial is not None else max_limit)
        self.decrease = decrease
        self.tolerance = tolerance
        self._clock = clock  # seconds; a test hands in a virtual clock
        self.in_flight = 0
        self.max_in_flight = 0
        self._recent_peak = 0  # most in flight since the last decrease
        self.overloads = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._baseline_latency: float | None = None  # long-run average latency of answers
        self._typical_latency = 0.0  # recent average latency of answers
        self._last_decrease = 0.0

    async def acquire(self) -> None:
        if self.in_flight < int(self.limit) and not self._waiters:
            self._enter()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._exit()  # we were granted a slot but got cancelled: hand it on
            elif fut in self._waiters:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self._exit()

    def _enter(self) -> None:
        self.in_flight += 1
        if self.in_flight > self._recent_peak:
            self._recent_peak = self.in_flight
            if self.in_flight > self.max_in_flight:
                self.max_in_flight = self.in_flight

    def _exit(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < int(self.limit):
            fut = self._waiters.popleft()
            if not fut.done():
                self._enter()
                fut.set_result(None)

    def on_success(self, latency_s: float) -> None:
        """A normal answer: follow the latency and grow while it holds.

        "Holds" compares averages, not single answers (whose latency varies with their length):
        the recent average (fast moving) must stay within ``tolerance`` times the long-run one
        (slow moving). A server that starts queueing pushes the recent average up and growth stops.
        """
        if self._baseline_latency is None:
            self._baseline_latency = self._typical_latency = latency_s
        else:
            self._typical_latency += 0.2 * (latency_s - self._typical_latency)
            self._baseline_latency += 0.01 * (latency_s - self._baseline_latency)
        holds = self._typical_latency <= self.tolerance * max(self._baseline_latency, 1e-4)
        if holds and self.limit < self.max_limit:
            self.limit = min(self.max_limit, self.limit + 1.0 / self.limit)
            self._wake()

    def on_overload(self) -> None:
        """The endpoint pushed back (429/503/529) or timed out: shrink, once per latency window."""
        self.overloads += 1
        now = self._clock()
        if now - self._last_decrease < max(self._typical_latency, 0.002):
            return
        self._last_decrease = now
        # shrink from the most that was really in flight lately: a nominal limit far above it would not bite
        self.limit = max(float(self.min_limit), min(self.limit, float(self._recent_peak)) * self.decrease)
        self._recent_peak = self.in_flight
