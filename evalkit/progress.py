"""Live progress of a run: a rich bar on a terminal, a few plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class RunStats:
    """Counters the runner updates as samples finish."""

    total: int = 0
    done: int = 0
    errors: int = 0
    retries: int = 0
    skipped: int = 0
    value_sum: float = 0.0
    graded: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def running_score(self) -> float:
        return self.value_sum / self.graded if self.graded else 0.0

    @property
    def rate(self) -> float:
        dt = time.perf_counter() - self.started
        return self.done / dt if dt > 0 else 0.0


class Progress:
    """Shows ``RunStats``; quiet when ``enabled`` is False, plain lines when not a terminal."""

    def __init__(self, label: str, stats: RunStats, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.label = label
        self.stats = stats
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self._rich: Any = None
        self._task_id: Any = None
        self._last_line = time.perf_counter()
        self._next_pct = 0.25

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                refresh_per_second=8,
                transient=False,
            )
            self._rich.__enter__()
            self._task_id = self._rich.add_task(self.label, total=self.stats.total, info="")
        return self

    def update(self) -> None:
        s = self.stats
        if self._rich is not None:
            info = f"{s.rate:6.1f}/s  score {s.running_score:6.1%}  errors {s.errors}  retries {s.retries}"
            self._rich.update(self._task_id, completed=s.done, info=info)
            return
        if not self.enabled or not s.total:
            return
        now = time.perf_counter()
        if s.done / s.total >= self._next_pct or (now - self._last_line > 30 and s.done < s.total):
            while self._next_pct <= s.done / s.total:
                self._next_pct += 0.25
            self._last_line = now
            self.stream.write(
                f"{self.label}: {s.done}/{s.total} ({s.rate:.1f}/s) score {s.running_score:.1%} "
                f"errors {s.errors} retries {s.retries}\n"
            )
            self.stream.flush()

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self.update()
            self._rich.__exit__(None, None, None)
