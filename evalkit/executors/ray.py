"""The Ray executor: a sweep's units on a Ray cluster, with the driver alone writing run folders.

* Units of remote-API models run as Ray tasks (one CPU each). Each endpoint's concurrency limit is
  shared cluster-wide: one small :class:`EndpointPermits` actor per endpoint hands out permits, and
  a unit holds at most as many as it has requests in flight (:class:`PermitGate`).
* Local models (an adapter that ``needs_gpu``, e.g. ``hf:``) are loaded once per model in a
  :class:`ModelHost` actor that asks for ``gpus`` GPUs (and any custom resources) and serves every
  task's units for that model; ``replicas`` actors share them.
* A worker evaluates its unit's samples with the runner — generation, and grading in a bounded
  pool on the worker, where the answer was produced — and returns the graded results through Ray.
  Nothing is written on workers: no shared filesystem is needed. A worker process keeps its event
  loop, grading pool, adapters (open connections) and caches from one unit to the next.
* A unit whose worker process, node or actor dies is sent again (``max_attempts`` tries in all) and
  its permits are taken back; the ledger drops a sample it has already written, so none is written
  twice and none is lost. A unit whose own code raises is not retried: it fails, loudly.

``ray`` is imported only here (install ``evalkit[ray]``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from evalkit.adapters import Adapter
from evalkit.cache import ResponseCache
from evalkit.pool import GradePool
from evalkit.runner import EndpointGuard, RunConfig, SampleEvaluator
from evalkit.sweep import Ledger, Sweep, SweepError, SweepRun, Unit
from evalkit.tasks import Task
from evalkit.types import Sample, SampleResult

USER_MODULES = "evalkit_user_tasks."  # where --include folders' Python files are imported (evalkit.tasks)
GET_TIMEOUT_S = 120.0  # a finished unit's results that cannot be fetched in this time count as lost


# -- what travels to a worker -------------------------------------------------------------------------

@dataclass(frozen=True)
class AdapterRecipe:
    """How a worker builds an adapter: its class (shipped by value when it comes from --include)."""

    cls: type[Adapter]
    target: str
    options: dict[str, Any]

    @classmethod
    def of(cls, adapter: Adapter) -> AdapterRecipe:
        return cls(type(adapter), adapter.target, dict(adapter.options))

    def build(self) -> Adapter:
        return self.cls(self.target, **self.options)

    def key(self) -> str:
        return json.dumps([self.cls.__module__, self.cls.__qualname__, self.target, self.options],
                          sort_keys=True, default=str)


@dataclass(frozen=True)
class RunPayload:
    """One run's part of every unit, put into the object store once."""

    task: Task  # without its loader: a unit carries its own samples
    adapter: AdapterRecipe
    config: RunConfig  # without output folder and judge
    judge: AdapterRecipe | None
    scorer: tuple[str, Any]  # the grader's scorer, so that a plug-in scorer reaches the worker
    concurrency: int


@dataclass
class UnitReport:
    """What a worker hands back for one unit: its graded samples, where it ran, and whether it stopped
    early because the endpoint proved unusable (the rest of its samples were not sent)."""

    results: list[SampleResult]
    node: str
    pid: int
    wall_s: float
    stopped: str | None = None


# -- permits: one cluster-wide limit per endpoint -----------------------------------------------------

class EndpointPermits:
    """A Ray actor per endpoint: at most ``limit`` permits out at once, counted per holder (a unit attempt).

    ``acquire(holder, want)`` waits until a permit is free and grants up to ``want``; a holder whose
    unit died is closed by ``release_all`` and is never granted again.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.out = 0
        self.held: dict[str, int] = {}
        self.closed: set[str] = set()
        self._changed: asyncio.Condition | None = None

    def _cond(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def acquire(self, holder: str, want: int = 1) -> int:
        cond = self._cond()
        async with cond:
            await cond.wait_for(lambda: holder in self.closed or self.out < self.limit)
            if holder in self.closed:
                return 0
            n = max(1, min(want, self.limit - self.out))
            self.out += n
            self.held[holder] = self.held.get(holder, 0) + n
            return n

    async def release(self, holder: str, n: int) -> None:
        cond = self._cond()
        async with cond:
            n = min(n, self.held.get(holder, 0))
            self.held[holder] = self.held.get(holder, 0) - n
            if not self.held[holder]:
                del self.held[holder]
            self.out -= n
            cond.notify_all()

    async def release_all(self, holder: str) -> int:
        cond = self._cond()
        async with cond:
            self.closed.add(holder)
            n = self.held.pop(holder, 0)
            self.out -= n
            cond.notify_all()
            return n


class PermitGate:
    """A unit's share of an endpoint's permits: asked for as requests wait, kept while the unit has work.

    Permits pass from a finished request to a waiting one without a round trip; a worker with no
    more samples gives its permit back (``shed``: the permits shed at one moment go back in one call),
    and ``close`` returns whatever is left.
    """

    def __init__(self, permits: Any, holder: str) -> None:
        self.permits = permits
        self.holder = holder
        self.free = 0
        self.held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._asking: asyncio.Task[None] | None = None
        self._shedding = 0

    async def acquire(self) -> None:
        if self.free:
            self.free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask())
        await fut

    async def _ask(self) -> None:
        while self._waiters:
            n = await self.permits.acquire.remote(self.holder, len(self._waiters))
            if n == 0:  # the driver gave this unit up (it thought its worker dead): stop
                while self._waiters:
                    fut = self._waiters.popleft()
                    if not fut.done():
                        fut.set_exception(RuntimeError(f"unit {self.holder} was given up by the sweep's driver"))
                return
            self.held += n
            for _ in range(n):
                self.release()

    def release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1

    def shed(self) -> None:
        if self.free and not self._waiters:
            self.free -= 1
            self.held -= 1
            self._shedding += 1
            if self._shedding == 1:
                asyncio.get_running_loop().call_soon(self._give_back)

    def _give_back(self) -> None:
        n, self._shedding = self._shedding, 0
        self.permits.release.remote(self.holder, n)  # no need to wait: the actor counts it when it comes

    async def close(self) -> None:
        if self._asking is not None and not self._asking.done():
            self._asking.cancel()
        await self.permits.release_all.remote(self.holder)
        self.held = self.free = 0


class LocalGate:
    """The same interface over a semaphore: the limit of a model served by one actor process."""

    def __init__(self, limit: int) -> None:
        self._sem = asyncio.Semaphore(limit)

    async def acquire(self) -> None:
        await self._sem.acquire()

    def release(self) -> None:
        self._sem.release()

    def shed(self) -> None:
        return None


# -- the worker side ----------------------------------------------------------------------------------

def _node() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


def _evaluator(payload: RunPayload, adapter: Adapter, judge: Adapter | None, pool: GradePool,
               cache: ResponseCache | None, guard: EndpointGuard) -> SampleEvaluator:
    from evalkit.grading import scorer_registry

    name, fn = payload.scorer
    scorer_registry.add(name, fn, replace=True)
    return SampleEvaluator(payload.task, adapter, replace(payload.config, judge=judge), pool=pool, cache=cache,
                           guard=guard)


async def evaluate(evaluator: SampleEvaluator, samples: tuple[Sample, ...], concurrency: int,
                   gate: Any) -> list[SampleResult]:
    """A unit's samples through the evaluator, at most ``concurrency`` at once, each under a permit;
    once the endpoint proves unusable (the evaluator's guard) the rest are not sent."""
    results: list[SampleResult] = []
    pending = iter(samples)

    async def worker() -> None:
        for sample in pending:  # next() never awaits: each sample is taken by one worker
            if evaluator.guard.stopped:
                break
            await gate.acquire()
            try:
                results.append(await evaluator.run_one(sample))
            finally:
                gate.release()
        gate.shed()

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(samples))))))
    return results


class WorkerState:
    """What a Ray worker process keeps from one unit to the next: one event loop and, on it, the grading
    pool, the adapters (with their open connections) and the response caches, built on first use."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pools: dict[tuple[int, float], GradePool] = {}
        self.adapters: dict[str, Adapter] = {}
        self.caches: dict[Any, ResponseCache] = {}

    def adapter(self, recipe: AdapterRecipe) -> Adapter:
        key = recipe.key()
        if key not in self.adapters:
            self.adapters[key] = recipe.build()
        return self.adapters[key]

    def pool(self, cfg: RunConfig) -> GradePool:
        key = (cfg.grade_workers, cfg.grade_time_limit_s)
        if key not in self.pools:
            self.pools[key] = GradePool(*key)
        return self.pools[key]

    def cache(self, cfg: RunConfig, adapter: Adapter) -> ResponseCache | None:
        if not (cfg.use_cache and adapter.cacheable):
            return None
        if cfg.cache_path not in self.caches:
            self.caches[cfg.cache_path] = ResponseCache(cfg.cache_path)
        return self.caches[cfg.cache_path]


_worker: WorkerState | None = None


async def _unit_async(state: WorkerState, payload: RunPayload, samples: tuple[Sample, ...], permits: Any,
                      holder: str) -> UnitReport:
    start = time.perf_counter()
    adapter = state.adapter(payload.adapter)
    judge = state.adapter(payload.judge) if payload.judge else None
    cache = state.cache(payload.config, adapter)
    guard = EndpointGuard()
    gate = PermitGate(permits, holder)
    try:
        results = await evaluate(_evaluator(payload, adapter, judge, state.pool(payload.config), cache, guard),
                                 samples, payload.concurrency, gate)
    finally:
        await gate.close()
        if cache is not None:
            cache.flush()
    return UnitReport(results, _node(), os.getpid(), time.perf_counter() - start, guard.stopped)


def run_unit(payload: RunPayload, samples: tuple[Sample, ...], permits: Any, holder: str) -> UnitReport:
    """The Ray task of a remote-API unit (a worker process runs one at a time, on its kept event loop)."""
    global _worker
    if _worker is None:
        _worker = WorkerState()
    return _worker.loop.run_until_complete(_unit_async(_worker, payload, samples, permits, holder))


class ModelHost:
    """A Ray actor holding one local model: loaded once, it serves every task's units for that model.

    Its units share one limit of requests in flight, one grading pool and one endpoint guard (an
    unusable model stops every unit it serves).
    """

    def __init__(self, adapter: AdapterRecipe, limit: int) -> None:
        self.adapter = adapter.build()
        self.limit = limit
        self.guard = EndpointGuard()
        self._gate: LocalGate | None = None
        self._pool: GradePool | None = None
        self._caches: dict[Any, ResponseCache] = {}

    async def run_unit(self, payload: RunPayload, samples: tuple[Sample, ...]) -> UnitReport:
        start = time.perf_counter()
        cfg = payload.config
        if self._pool is None:
            self._gate = LocalGate(self.limit)
            self._pool = GradePool(cfg.grade_workers, cfg.grade_time_limit_s)
        judge = payload.judge.build() if payload.judge else None
        cache = None
        if cfg.use_cache and self.adapter.cacheable:
            if cfg.cache_path not in self._caches:
                self._caches[cfg.cache_path] = ResponseCache(cfg.cache_path)
            cache = self._caches[cfg.cache_path]
        try:
            results = await evaluate(_evaluator(payload, self.adapter, judge, self._pool, cache, self.guard),
                                     samples, self.limit, self._gate)
        finally:
            if cache is not None:
                cache.flush()
            if judge is not None:
                await judge.aclose()
        return UnitReport(results, _node(), os.getpid(), time.perf_counter() - start, self.guard.stopped)


# -- the driver side ----------------------------------------------------------------------------------

@dataclass
class _Attempt:
    unit: Unit
    n: int
    holder: str
    host: Any = None


class RayExecutor:
    name = "ray"

    def __init__(self, sweep: Sweep) -> None:
        try:
            import ray
        except ImportError:
            raise SweepError("--executor ray needs Ray: pip install 'evalkit[ray]' (or run with --executor local)") from None
        self.ray = ray
        self.sweep = sweep
        self.started_ray = False
        if not ray.is_initialized():
            try:
                ray.init(address=sweep.address, logging_level=logging.WARNING)
            except ConnectionError as exc:
                raise SweepError(f"--address {sweep.address or 'auto'}: no Ray cluster there ({exc})") from None
            self.started_ray = True
        self._task = ray.remote(run_unit)
        self.permits: dict[str, Any] = {}
        self.hosts: dict[int, list[Any]] = {}
        self.stopped: dict[str, str] = {}  # endpoint → why it cannot serve the sweep
        self._busy: dict[Any, int] = {}

    # -- set-up -------------------------------------------------------------------------------------
    def _pin_to_driver(self) -> dict[str, Any]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = self.ray.get_runtime_context().get_node_id()
        # hard affinity: a soft one lets Ray place it on any node, and a lost node would take the permits with it
        return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node, soft=False)}

    def _ship_user_modules(self) -> None:
        """Classes and functions from --include folders travel by value: workers cannot import them."""
        from ray import cloudpickle

        for name, module in list(sys.modules.items()):
            if name.startswith(USER_MODULES) and module is not None:
                cloudpickle.register_pickle_by_value(module)

    def _payload(self, ledger: Ledger, run: SweepRun) -> Any:
        from evalkit.grading import scorer_registry

        task = run.runner.task
        cfg = replace(run.runner.cfg, output=None, judge=None, progress=False)
        payload = RunPayload(
            task=replace(task, loader=None), adapter=AdapterRecipe.of(run.adapter), config=cfg,
            judge=AdapterRecipe.of(ledger.judge) if ledger.judge is not None else None,
            scorer=(task.grader.name, scorer_registry.get(task.grader.name)), concurrency=ledger.limit(run),
        )
        return self.ray.put(payload)

    def _hosts_for(self, ledger: Ledger, run: SweepRun) -> list[Any]:
        key = id(run.adapter)
        if key not in self.hosts:
            model = run.model
            gpus = model.gpus if model.gpus is not None else 1
            options: dict[str, Any] = {
                "num_gpus": gpus, "num_cpus": 0 if (gpus or model.resources) else 1,
                "max_restarts": self.sweep.max_attempts, "max_task_retries": 0, "max_concurrency": 1000,
            }
            if model.resources:
                options["resources"] = dict(model.resources)
            self._check_feasible(ledger, run, {"GPU": gpus, **model.resources})
            cls = self.ray.remote(ModelHost).options(**options)
            self.hosts[key] = [cls.remote(AdapterRecipe.of(run.adapter), ledger.limit(run)) for _ in range(model.replicas)]
        return self.hosts[key]

    def _check_feasible(self, ledger: Ledger, run: SweepRun, wants: dict[str, float]) -> None:
        """Say so when no node has what a local model's actor asks for: its units wait for one."""
        wants = {k: v for k, v in wants.items() if v}
        nodes = [n.get("Resources", {}) for n in self.ray.nodes() if n.get("Alive")]
        if wants and not any(all(node.get(k, 0) >= v for k, v in wants.items()) for node in nodes):
            asked = ", ".join(f"{k}={v:g}" for k, v in wants.items())
            ledger.stats.note(f"{run.model.uri} asks for {asked} and no node has that now: its units wait "
                              "for one (an autoscaler may add it; gpus: 0 runs it without a GPU)")

    def _permits_for(self, ledger: Ledger, run: SweepRun) -> Any:
        if run.endpoint not in self.permits:
            actor = self.ray.remote(EndpointPermits).options(num_cpus=0, **self._pin_to_driver())
            self.permits[run.endpoint] = actor.remote(ledger.limit(run))
        return self.permits[run.endpoint]

    # -- the loop -----------------------------------------------------------------------------------
    def run(self, ledger: Ledger) -> None:
        self._ship_user_modules()
        payloads = {run.index: self._payload(ledger, run) for run in ledger.runs if run.units_left}
        pending: dict[Any, _Attempt] = {}
        for unit in ledger.units:
            ref, attempt = self._submit(ledger, payloads, unit, 1)
            pending[ref] = attempt
        try:
            while pending:
                # fetch_local=False: ready where it was made; ray.get fetches it (and says if it was lost)
                ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=1.0, fetch_local=False)
                if ready:
                    rest = [r for r in pending if r not in ready]
                    more, _ = (self.ray.wait(rest, num_returns=len(rest), timeout=0, fetch_local=False)
                               if rest else ([], []))
                    ready = [*ready, *more]
                for ref in ready:
                    stopped = len(self.stopped)
                    again = self._collect(ledger, payloads, pending.pop(ref), ref)
                    if again is not None:
                        pending[again[0]] = again[1]
                    if len(self.stopped) > stopped:  # an endpoint proved unusable: its other units are not run
                        self._cancel(ledger, pending, only=set(self.stopped))
                ledger.tick()
        except BaseException:  # interrupted: stop the units in flight (their samples were never written)
            self._cancel(ledger, pending, force=True)
            raise
        finally:
            self._teardown()

    def _submit(self, ledger: Ledger, payloads: dict[int, Any], unit: Unit, n: int) -> tuple[Any, _Attempt]:
        run = ledger.run_of(unit)
        attempt = _Attempt(unit, n, f"{unit.name}#{n}")
        if run.adapter.needs_gpu:
            hosts = self._hosts_for(ledger, run)
            attempt.host = min(hosts, key=lambda h: self._busy.get(h, 0))
            self._busy[attempt.host] = self._busy.get(attempt.host, 0) + 1
            ref = attempt.host.run_unit.remote(payloads[run.index], unit.samples)
        else:
            options: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
            if run.model.resources:
                options["resources"] = dict(run.model.resources)
            ref = self._task.options(**options).remote(payloads[run.index], unit.samples,
                                                       self._permits_for(ledger, run), attempt.holder)
        ledger.started(unit)
        return ref, attempt

    def _collect(self, ledger: Ledger, payloads: dict[int, Any], attempt: _Attempt, ref: Any) -> tuple[Any, _Attempt] | None:
        exceptions = self.ray.exceptions
        unit = attempt.unit
        run = ledger.run_of(unit)
        if attempt.host is not None:
            self._busy[attempt.host] -= 1
        try:
            report: UnitReport = self.ray.get(ref, timeout=GET_TIMEOUT_S)
        except exceptions.RayError as exc:
            cancelled = isinstance(exc, exceptions.TaskCancelledError)
            own_error = isinstance(exc, exceptions.RayTaskError) and not cancelled
            if not own_error:
                self._reclaim(ledger, attempt)  # its worker may have died holding permits
            if run.endpoint in self.stopped:
                ledger.failed(unit, f"stopped: {self.stopped[run.endpoint]}")
                return None
            if own_error:  # the unit's own code raised: a bug or a bad setting, not retried
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                ledger.failed(unit, f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")
                return None
            # the worker, its node or its actor died: try the unit again
            reason = f"{type(exc).__name__} (attempt {attempt.n} of {self.sweep.max_attempts})"
            if attempt.n >= self.sweep.max_attempts:
                ledger.failed(unit, reason)
                return None
            ledger.retried(unit, reason)
            return self._submit(ledger, payloads, unit, attempt.n + 1)
        run.runner.stats.retries += sum(max(0, r.attempts - 1) for r in report.results)
        for result in report.results:
            ledger.record(unit, result)
        if report.stopped:
            self.stopped.setdefault(run.endpoint, report.stopped)
        if run.endpoint in self.stopped and any(s.id in run.todo for s in unit.samples):
            ledger.failed(unit, f"stopped: {self.stopped[run.endpoint]}")
        else:
            ledger.done(unit, report.node)
        return None

    def _cancel(self, ledger: Ledger, pending: dict[Any, _Attempt], *, only: set[str] | None = None,
                force: bool = False) -> None:
        for ref, attempt in pending.items():
            if only is not None and ledger.run_of(attempt.unit).endpoint not in only:
                continue
            try:
                self.ray.cancel(ref, force=force and attempt.host is None)  # an actor's call cannot be forced
            except (ValueError, self.ray.exceptions.RayError):
                pass

    def _reclaim(self, ledger: Ledger, attempt: _Attempt) -> None:
        run = ledger.run_of(attempt.unit)
        actor = self.permits.get(run.endpoint)
        if actor is not None and attempt.host is None:
            actor.release_all.remote(attempt.holder)

    def _teardown(self) -> None:
        for hosts in self.hosts.values():
            for host in hosts:
                self.ray.kill(host)
        for actor in self.permits.values():
            self.ray.kill(actor)
        self.hosts.clear()
        self.permits.clear()
        if self.started_ray:
            self.ray.shutdown()
