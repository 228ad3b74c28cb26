"""A small pool of forked grading processes with a per-item time limit.

Grading is CPU work (sympy, regexes over long answers) and a hostile answer can make it slow,
so the runner never grades on its event loop: each item goes to an idle worker process, and a
worker that exceeds the time limit is killed and replaced. That item scores ``wrong`` with stage
``timeout``; the run goes on. A worker dies with its parent and holds none of its parent's
descriptors (:mod:`evalkit.procs`), so a killed run leaves nothing running.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import pickle
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from evalkit.grading import GraderSpec, grade
from evalkit.procs import detach_from_parent
from evalkit.types import Sample, Score


def _worker_main(conn: Connection, parent: int) -> None:
    # never outlive the run, never hold its pipe, results file, cache, lock or sockets
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
        job_id, fn, args = msg
        try:
            result: tuple[str, Any] = ("ok", fn(*args))
        except Exception as exc:  # a grader bug must cost one sample, not the run
            result = ("raised", f"{type(exc).__name__}: {exc}")
        try:
            conn.send((job_id, result))
        except (BrokenPipeError, OSError):
            return


def _grade_job(sample: Sample, output: str, spec: GraderSpec) -> Score:
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
class _Worker:
    proc: Any
    conn: Connection
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)


class GradePool:
    """``await pool.grade(sample, output, spec)`` in a killable worker process; ``await pool.call(fn, *args)``
    runs any picklable function there under the same time limit (a judge scorer's deterministic marking)."""

    def __init__(self, workers: int = 1, time_limit: float = 30.0) -> None:
        self.size = max(1, workers)
        self.time_limit = time_limit
        self._ctx = mp.get_context("fork")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []
        self._next_id = 0
        self.timeouts = 0

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
        proc.start()
        child.close()
        worker = _Worker(proc, parent)
        asyncio.get_running_loop().add_reader(parent.fileno(), self._on_readable, worker)
        self._all.append(worker)
        return worker

    def _on_readable(self, worker: _Worker) -> None:
        try:
            job_id, result = worker.conn.recv()
        except (EOFError, OSError):
            self._retire(worker)
            for fut in worker.pending.values():
                if not fut.done():
                    fut.set_exception(RuntimeError("grading worker died"))
            worker.pending.clear()
            return
        fut = worker.pending.pop(job_id, None)
        if fut is not None and not fut.done():
            kind, value = result
            if kind == "ok":
                fut.set_result(value)
            else:
                fut.set_exception(RuntimeError(value))

    def _retire(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.remove_reader(worker.conn.fileno())
        except (ValueError, OSError):
            pass
        if worker.proc.is_alive():
            os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.join(timeout=1)
        worker.conn.close()
        if worker in self._all:
            self._all.remove(worker)

    async def grade(self, sample: Sample, output: str, spec: GraderSpec) -> Score:
        try:
            score: Score = await self.call(_grade_job, sample, output, spec)
        except GradeTimeout:
            return timeout_score(sample, spec, self.time_limit)
        except RuntimeError as exc:
            return Score.error(str(exc), sample.max_points)
        return score

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker; :class:`GradeTimeout` past the time limit, ``RuntimeError`` when it
        raised or its worker died."""
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                self._idle.put_nowait(self._spawn())
        worker = await self._idle.get()
        self._next_id += 1
        job_id = self._next_id
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.pending[job_id] = fut
        try:
            try:
                worker.conn.send((job_id, fn, args))
            except (pickle.PicklingError, AttributeError, TypeError) as exc:
                raise RuntimeError(f"cannot hand {getattr(fn, '__qualname__', fn)!r} to the grading pool: {exc}") from None
            return await asyncio.wait_for(fut, self.time_limit)
        except TimeoutError:
            self.timeouts += 1
            self._retire(worker)
            worker = self._spawn()
            raise GradeTimeout(f"grading took longer than {self.time_limit:g}s and was stopped") from None
        except RuntimeError:
            if not worker.proc.is_alive():
                worker = self._spawn()
            raise
        finally:
            worker.pending.pop(job_id, None)
            if self._idle is not None:
                self._idle.put_nowait(worker)

    def close(self, grace_s: float = 2.0) -> None:
        """Ask every worker to exit; one still busy after ``grace_s`` (all together) is killed."""
        workers = list(self._all)
        for worker in workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            try:
                asyncio.get_running_loop().remove_reader(worker.conn.fileno())
            except (RuntimeError, ValueError, OSError):
                pass
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
        self._all.clear()
        self._idle = None
