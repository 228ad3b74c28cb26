"""The local executor: a whole sweep in this process, on one event loop.

Units are grouped by endpoint (the server a remote model calls, or the model itself); each
endpoint gets as many workers as its concurrency limit, and they take the samples of that
endpoint's units in plan order, so every unit shares one budget per endpoint and different
endpoints run side by side. One response cache and one grading pool serve every run. Each graded
sample goes straight to the ledger, which writes it to its run folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from evalkit.cache import ResponseCache
from evalkit.pool import GradePool
from evalkit.runner import EndpointGuard, SampleEvaluator
from evalkit.sweep import Ledger, Sweep, Unit
from evalkit.types import Sample


class LocalExecutor:
    name = "local"

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep

    def run(self, ledger: Ledger) -> None:
        asyncio.run(self._run(ledger))

    async def _run(self, ledger: Ledger) -> None:
        cfg = self.sweep.config
        cache = ResponseCache(cfg.cache_path) if cfg.use_cache else None
        pool = GradePool(cfg.grade_workers, cfg.grade_time_limit_s)
        guards = {run.endpoint: EndpointGuard() for run in ledger.runs}  # one verdict per endpoint
        evaluators = [run.runner.evaluator(cache, pool, guards[run.endpoint]) for run in ledger.runs]
        by_endpoint: dict[str, list[Unit]] = {}
        for unit in ledger.units:
            by_endpoint.setdefault(ledger.run_of(unit).endpoint, []).append(unit)
        try:
            await asyncio.gather(*(self._endpoint(ledger, units, evaluators, guards[endpoint])
                                   for endpoint, units in by_endpoint.items()))
        finally:
            pool.close()
            if cache is not None:
                cache.close()
            for adapter in ledger.adapters():
                await adapter.aclose()

    async def _endpoint(self, ledger: Ledger, units: list[Unit], evaluators: list[SampleEvaluator],
                        guard: EndpointGuard) -> None:
        limit = ledger.limit(ledger.run_of(units[0]))
        left = {unit.name: len(unit.samples) for unit in units}
        pending: Iterator[tuple[Unit, Sample]] = ((u, s) for u in units for s in u.samples)

        async def worker() -> None:
            for unit, sample in pending:  # next() never awaits: each sample is taken by one worker
                if guard.stopped:
                    break  # the endpoint is unusable: the rest stay unsent, to be resumed
                ledger.started(unit)
                result = await evaluators[unit.run].run_one(sample)
                ledger.record(unit, result)
                left[unit.name] -= 1
                if left[unit.name] == 0:
                    if guard.stopped:
                        ledger.failed(unit, f"stopped: {guard.stopped}")
                    else:
                        ledger.done(unit)

        total = sum(left.values())
        await asyncio.gather(*(worker() for _ in range(max(1, min(limit, total)))))
        if guard.stopped:
            for unit in units:
                if left[unit.name] > 0:
                    ledger.failed(unit, f"stopped: {guard.stopped}")
