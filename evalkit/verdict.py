"""How a run ends for the shell: a number that holds, or a loud statement of why not.

This module owns the exit codes of ``evalkit run`` and ``evalkit sweep``, the error budget
(``--max-errors N`` or ``N%``) and the closing sentences that say which run did not give a number that
holds and what to do about it. It knows run folders only through their summaries.

Exit codes:

* 0 — every run finished and its failed samples (if any) are within ``--max-errors``;
* 1 — evalkit's own bug (a traceback is shown);
* 2 — a user's mistake (a flag, task, data, template, adapter): nothing was run, no folder written;
* 3 — samples failed (status ``error``) beyond ``--max-errors``: the numbers are written but count
  those samples as 0; re-running the same command with ``--output`` retries them;
* 4 — a run did not finish: it stopped early because its endpoint is unusable (key refused, model
  unknown, no server), or a sweep unit failed; re-running resumes it;
* 130 — interrupted (Ctrl-C); re-running resumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_FAILED_SAMPLES = 3
EXIT_UNFINISHED = 4
EXIT_INTERRUPTED = 130


class BudgetError(EvalkitError, ValueError):
    """A ``--max-errors`` value that is neither a count nor a percentage."""


@dataclass(frozen=True)
class ErrorBudget:
    """How many failed samples a run may have and still pass: a count, or a share of its samples."""

    count: int = 0
    share: float | None = None  # 0.05 for "5%"

    @classmethod
    def parse(cls, text: str | None, flag: str = "--max-errors") -> ErrorBudget:
        """``None`` → no failed sample allowed; ``"5"`` → five; ``"5%"`` → 5 % of a run's samples."""
        if text is None or str(text).strip() == "":
            return cls()
        raw = str(text).strip()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", raw)
        if match:
            share = float(match.group(1)) / 100
            if share > 1:
                raise BudgetError(f"{flag} {raw}: a percentage is at most 100%")
            return cls(share=share)
        if raw.isdigit():
            return cls(count=int(raw))
        raise BudgetError(f"{flag} {raw!r}: give a number of samples (5) or a percentage of them (5%)")

    def allows(self, errors: int, n: int) -> bool:
        if self.share is not None:
            return errors <= self.share * n + 1e-9
        return errors <= self.count

    def __str__(self) -> str:
        return f"{self.share * 100:g}%" if self.share is not None else str(self.count)


@dataclass(frozen=True)
class RunEnd:
    """What one run folder came to: its summary, or why it did not finish and how much was not sent."""

    label: str  # "task × model"
    path: Path
    summary: dict[str, Any] | None
    stopped: str | None = None
    not_sent: int = 0

    @property
    def errors(self) -> int:
        return int((self.summary or {}).get("counts", {}).get("error", 0))

    @property
    def n(self) -> int:
        return int((self.summary or {}).get("counts", {}).get("n", 0))


def verdict(ends: list[RunEnd], budget: ErrorBudget, command: str = "run") -> tuple[int, list[str]]:
    """The exit code of a command that ran these runs, and one sentence per run that does not hold."""
    lines: list[str] = []
    code = EXIT_OK
    for end in ends:
        again = f"re-run with --output {end.path}" if command == "run" else "re-run the same sweep"
        if end.summary is None:
            code = EXIT_UNFINISHED
            unsent = f"; {end.not_sent} sample(s) were not sent" if end.not_sent else ""
            lines.append(f"{end.label} did not finish: {end.stopped or 'stopped'}{unsent}. Fix this and {again} "
                         "to resume.")
        elif end.errors and not budget.allows(end.errors, end.n):
            if code == EXIT_OK:
                code = EXIT_FAILED_SAMPLES
            allowed = f" (--max-errors {budget} allows {_allowed(budget, end.n)})" if budget != ErrorBudget() else ""
            lines.append(f"{end.label}: {end.errors} of {end.n} samples failed{allowed}; they count as 0 in its "
                         f"score (reasons above). Fix the cause and {again} to retry them, or tolerate them with "
                         "--max-errors N or N%.")
    return code, lines


def _allowed(budget: ErrorBudget, n: int) -> str:
    if budget.share is None:
        return str(budget.count)
    return f"{int(budget.share * n + 1e-9)} of {n}"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run or sweep, naming the run folders left to resume (run.json says ``interrupted``)."""

    def __init__(self, folders: list[Path]) -> None:
        super().__init__()
        self.folders = folders

    def hint(self, command: str = "run") -> str:
        if not self.folders:
            return "interrupted before any run folder was written."
        if command == "sweep":
            return "interrupted: finished samples are saved; re-run the same sweep to resume."
        if len(self.folders) == 1:
            return (f"interrupted: finished samples are saved in {self.folders[0]}; re-run the same command with "
                    f"--output {self.folders[0]} to resume.")
        shown = ", ".join(str(f) for f in self.folders)
        return (f"interrupted: finished samples are saved in {shown}; resume each with evalkit run --task TASK "
                "--model MODEL --output FOLDER.")
