"""A small pool of forked grading processes, fed in batches, with a per-item time limit.

Grading is CPU work (sympy, regexes over long answers) and a hostile answer can make it slow,
so the runner never grades on its event loop. Jobs wait in one queue; whenever a worker process is
idle it is sent every waiting job up to a batch (one pipe message each way per batch, not per job),
so a run that finishes many answers at once pays a few messages, and one that finishes them one by one
waits for nothing. By default there is one worker per core.

Each worker notes in shared memory which job of its batch it is on and since when; a worker whose job
exceeds the time limit is killed and replaced. A grade that ran too long scores ``wrong`` with stage
``timeout``; the rest of its batch is done again by another worker, and the run goes on. A worker dies
with its parent and holds none of its parent's descriptors (:mod:`evalkit.procs`), so a killed run
leaves nothing running.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import os
import pickle
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from evalkit.grading import GraderSpec, grade
from evalkit.procs import detach_from_parent
from evalkit.types import Sample, Score

BATCH = 64  # the most jobs one message carries to a worker
IDLE = -1.0  # the worker's "job" slot while it waits for a batch
DIED = "grading worker died"


def default_workers() -> int:
    """One grading worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _worker_main(conn: Connection, parent: int, slot: Any) -> None:
    # never outlive the run, never hold its pipe, results file, cache, lock or sockets (the shared slot is
    # memory mapped before the fork, so it stays)
    detach_from_parent(parent, keep={2, conn.fileno()})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        batch_id, jobs = msg
        results: list[tuple[str, Any]] = []
        for i, (fn, args) in enumerate(jobs):
            slot[1] = time.monotonic()  # when this job started, then which job it is
            slot[0] = i
            try:
                results.append(("ok", fn(*args)))
            except Exception as exc:  # a grader bug must cost one sample, not the run
                results.append(("raised", f"{type(exc).__name__}: {exc}"))
        slot[0] = IDLE
        try:
            conn.send((batch_id, results))
        except (BrokenPipeError, OSError):
            return


def grade_job(sample: Sample, output: str, spec: GraderSpec) -> Score:
    """One grade, as a pool job."""
    try:
        return grade(sample, output, spec)
    except Exception as exc:  # a grader bug must cost one sample, not the run
        return Score.error(f"grader {spec.name!r} failed: {type(exc).__name__}: {exc}", sample.max_points)


class GradeTimeout(Exception):
    """A pool job ran past the time limit; its worker was killed and replaced."""


def timeout_score(sample: Sample, spec: GraderSpec, limit: float) -> Score:
    """How an item whose marking ran past the time limit scores: wrong, stage ``timeout``."""
    return Score.right(False, sample.max_points, stage="timeout", grader=spec.name,
                       reason=f"grading took longer than {limit:g}s and was stopped")


@dataclass
class _Job:
    fut: asyncio.Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    grading: bool = False  # a grade: a failure is its score (timeout, error), never an exception
    requeued: int = 0  # times its worker died before it was done

    def fail(self, exc: Exception, limit: float) -> None:
        if self.fut.done():
            return
        if not self.grading:
            self.fut.set_exception(exc)
            return
        sample, _, spec = self.args
        if isinstance(exc, GradeTimeout):
            self.fut.set_result(timeout_score(sample, spec, limit))
        else:
            self.fut.set_result(Score.error(str(exc), sample.max_points))


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    slot: Any  # shared doubles: [index of the job being done (IDLE between batches), when it started]
    jobs: list[_Job] = field(default_factory=list)
    batch_id: int = 0


class GradePool:
    """``await pool.grade(sample, output, spec)`` (or :meth:`grade_many`, or :meth:`submit` for a future) in
    killable worker processes; ``await pool.call(fn, *args)`` runs any picklable function there under the
    same time limit (a judge scorer's deterministic marking).

    ``workers``: how many processes (default: one per core); ``time_limit``: seconds one job may take.
    """

    def __init__(self, workers: int | None = None, time_limit: float = 30.0, batch: int = BATCH) -> None:
        self.size = max(1, workers or default_workers())
        self.time_limit = time_limit
        self.batch = max(1, batch)
        self._ctx = mp.get_context("fork")
        self._queue: deque[_Job] = deque()
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_soon = False
        self._watch: asyncio.TimerHandle | None = None
        self._next_id = 0
        self.timeouts = 0
        self.batches = 0  # messages sent to workers (jobs / batches is how well they were batched)

    # -- public ----------------------------------------------------------------------------------
    def submit(self, sample: Sample, output: str, spec: GraderSpec) -> asyncio.Future[Score]:
        """Queue one answer for grading (from the running loop); the future holds its score, whatever
        happens (a grade past the time limit scores ``timeout``, a dead worker ``error``)."""
        return self._enqueue(grade_job, (sample, output, spec), grading=True)

    async def grade(self, sample: Sample, output: str, spec: GraderSpec) -> Score:
        return await self.submit(sample, output, spec)

    async def grade_many(self, items: Sequence[tuple[Sample, str, GraderSpec]]) -> list[Score]:
        """Grade several answers at once; the scores come back in the order of ``items``."""
        futs = [self.submit(sample, output, spec) for sample, output, spec in items]
        return [await fut for fut in futs]

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queue ``fn(*args)`` for a worker (from the running loop); the future holds what it returns, or
        :class:`GradeTimeout` / ``RuntimeError`` as :meth:`call` raises them."""
        return self._enqueue(fn, args)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker; :class:`GradeTimeout` past the time limit, ``RuntimeError`` when it
        raised, cannot be handed over, or its worker died."""
        return await self._enqueue(fn, args)

    def close(self, grace_s: float = 2.0) -> None:
        """Ask every worker to exit; one still busy after ``grace_s`` (all together) is killed. Jobs not yet
        done are cancelled."""
        workers = list(self._all)
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            self._forget(worker)
        # (a worker closed its copy of multiprocessing's sentinel, so Process.join(timeout) cannot wait
        # for it: poll with waitpid(WNOHANG) instead)
        deadline = time.monotonic() + grace_s
        while any(w.proc.is_alive() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.01)
        for worker in workers:
            if worker.proc.is_alive():
                worker.proc.kill()
            worker.proc.join()
            worker.conn.close()
            for job in worker.jobs:
                if not job.fut.done():
                    job.fut.cancel()
        self._all.clear()
        self._idle.clear()
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        for job in self._queue:
            if not job.fut.done():
                job.fut.cancel()
        self._queue.clear()

    # -- feeding workers -------------------------------------------------------------------------
    def _enqueue(self, fn: Callable[..., Any], args: tuple[Any, ...], grading: bool = False) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        job = _Job(loop.create_future(), fn, args, grading)
        self._queue.append(job)
        if not self._flush_soon:
            self._flush_soon = True
            loop.call_soon(self._flush)  # everything queued in this turn of the loop goes out together
        return job.fut

    def _flush(self) -> None:
        self._flush_soon = False
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            for _ in range(self.size):
                self._idle.append(self._spawn())
        queue = self._queue
        while queue and self._idle:
            n = min(self.batch, -(-len(queue) // len(self._idle)))  # share what waits among the idle workers
            jobs: list[_Job] = []
            while queue and len(jobs) < n:
                job = queue.popleft()
                if not job.fut.done():  # a cancelled caller's job is not done
                    jobs.append(job)
            if jobs:
                self._dispatch(self._idle.pop(), jobs)

    def _dispatch(self, worker: _Worker, jobs: list[_Job]) -> None:
        self._next_id += 1
        worker.batch_id = self._next_id
        try:
            worker.conn.send((worker.batch_id, [(j.fn, j.args) for j in jobs]))
        except (pickle.PicklingError, AttributeError, TypeError):
            jobs = self._handable(jobs)  # nothing was written: send the ones that can go
            if not jobs:
                self._idle.append(worker)
                return
            worker.conn.send((worker.batch_id, [(j.fn, j.args) for j in jobs]))
        except OSError:
            worker.jobs = jobs
            self._lost(worker, None)
            return
        worker.jobs = jobs
        self.batches += 1
        if self._watch is None and self._loop is not None:
            self._watch = self._loop.call_later(self._interval, self._watchdog)

    def _handable(self, jobs: list[_Job]) -> list[_Job]:
        """The jobs that pickle; the others fail with one sentence naming their function."""
        ok = []
        for job in jobs:
            try:
                pickle.dumps((job.fn, job.args))
                ok.append(job)
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                name = getattr(job.fn, "__qualname__", job.fn)
                job.fail(RuntimeError(f"cannot hand {name!r} to the grading pool: {exc}"), self.time_limit)
        return ok

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        slot = self._ctx.RawArray("d", [IDLE, 0.0])
        proc = self._ctx.Process(target=_worker_main, args=(child, os.getpid(), slot), daemon=True)
        gc.freeze()  # the worker's collector leaves what it inherits alone (no copying of shared pages)
        try:
            proc.start()
        finally:
            gc.unfreeze()
        child.close()
        worker = _Worker(proc, parent, slot)
        assert self._loop is not None
        self._loop.add_reader(parent.fileno(), self._on_readable, worker)
        self._all.append(worker)
        return worker

    # -- results, deaths and time limits ---------------------------------------------------------
    def _on_readable(self, worker: _Worker) -> None:
        try:
            batch_id, results = worker.conn.recv()
        except (EOFError, OSError):
            self._lost(worker, RuntimeError(DIED))
            return
        jobs, worker.jobs = worker.jobs, []
        if batch_id == worker.batch_id:
            for job, (kind, value) in zip(jobs, results, strict=True):
                if job.fut.done():
                    continue
                if kind == "ok":
                    job.fut.set_result(value)
                else:
                    job.fail(RuntimeError(value), self.time_limit)
        self._idle.append(worker)
        if self._queue:
            self._flush()

    @property
    def _interval(self) -> float:
        return min(0.25, max(0.01, self.time_limit / 4))

    def _watchdog(self) -> None:
        self._watch = None
        now = time.monotonic()
        for worker in list(self._all):
            if not worker.jobs:
                continue
            index = int(worker.slot[0])
            started = worker.slot[1]
            if 0 <= index < len(worker.jobs) and now - started > self.time_limit:
                self.timeouts += 1
                worker.jobs[index].fail(GradeTimeout(f"grading took longer than {self.time_limit:g}s and was "
                                                     "stopped"), self.time_limit)
                self._lost(worker, None)
        if any(w.jobs for w in self._all) and self._loop is not None:
            self._watch = self._loop.call_later(self._interval, self._watchdog)

    def _lost(self, worker: _Worker, error: Exception | None) -> None:
        """Replace a worker that died or was killed; its unfinished jobs wait again (the one it was on when
        it died fails with ``error``)."""
        index = int(worker.slot[0])
        jobs, worker.jobs = worker.jobs, []
        self._forget(worker)
        if worker.proc.is_alive():
            os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.join()  # killed: reaped at once (join(timeout) cannot wait, see close)
        worker.conn.close()
        if error is not None and 0 <= index < len(jobs):
            jobs[index].fail(error, self.time_limit)
        for job in reversed(jobs):
            job.requeued += 1
            if job.requeued > 2:  # its workers keep dying on it, whatever they were on
                job.fail(RuntimeError(DIED), self.time_limit)
            if not job.fut.done():
                self._queue.appendleft(job)
        self._idle.append(self._spawn())
        if self._queue:
            self._flush()

    def _forget(self, worker: _Worker) -> None:
        if self._loop is not None:
            try:
                self._loop.remove_reader(worker.conn.fileno())
            except (ValueError, OSError, RuntimeError):
                pass
        if worker in self._all:
            self._all.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
