"""Executors: where a sweep's units run, and :func:`run_sweep`, which plans a sweep and runs it.

``local`` (the default) runs every unit in this process on one event loop, with one concurrency
budget per endpoint shared by all units. ``ray`` runs units on a Ray cluster (the optional extra
``evalkit[ray]``, imported only when chosen). Both hand graded samples back to the sweep's ledger,
which alone writes the run folders. An executor is a class with ``__init__(sweep)`` and
``run(ledger)``, registered here by name as a lazy ``"module:Class"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from evalkit.registry import Registry

if TYPE_CHECKING:
    from evalkit.sweep import Ledger, Sweep, SweepOutcome


class Executor(Protocol):
    def run(self, ledger: Ledger) -> None:
        """Run every unit of the ledger, reporting each graded sample and each unit's end to it."""


executors: Registry[type[Executor]] = Registry("executor")
executors.add("local", "evalkit.executors.local:LocalExecutor")
executors.add("ray", "evalkit.executors.ray:RayExecutor")


def make_executor(sweep: Sweep) -> Executor:
    """The executor a sweep names, ready to run (a missing optional extra fails here, in one sentence)."""
    from evalkit.sweep import SweepError

    try:
        cls = executors.get(sweep.executor)
    except LookupError:
        raise SweepError(f"--executor {sweep.executor!r}: choose one of {', '.join(executors.names())}") from None
    return cls(sweep)  # type: ignore[call-arg]


def run_sweep(sweep: Sweep, *, progress: bool = True) -> SweepOutcome:
    """Plan the sweep, run its units with its executor, finish every run folder whose units all came in.

    Runs with units that failed stay unfinished (``unfinished`` in run.json, with the reason; ``interrupted``
    after Ctrl-C): re-running the sweep resumes them.
    """
    from evalkit.progress import SweepProgress
    from evalkit.sweep import plan
    from evalkit.verdict import Interrupted

    executor = make_executor(sweep)  # an executor that cannot start fails before any folder is touched
    ledger = plan(sweep)
    try:
        ledger.finish_idle_runs()
        with SweepProgress(ledger.stats, enabled=progress) as view:
            ledger.view = view
            if ledger.units:
                executor.run(ledger)
    except KeyboardInterrupt:
        ledger.close(interrupted=True)
        raise Interrupted([r.path for r in ledger.runs if r.summary is None]) from None
    finally:
        ledger.close()
    return ledger.outcome()


__all__ = ["Executor", "executors", "make_executor", "run_sweep"]
