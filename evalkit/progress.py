"""Live progress of a run or a sweep: rich on a terminal, a few plain lines otherwise (CI logs)."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
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
    resumed: int = 0  # samples already done in the run folder before this run started
    started: float = field(default_factory=time.perf_counter)

    @property
    def running_score(self) -> float:
        return self.value_sum / self.graded if self.graded else 0.0

    @property
    def rate(self) -> float:
        dt = time.perf_counter() - self.started
        return self.done / dt if dt > 0 else 0.0


NARROW = 100  # a terminal narrower than this puts the run's label on a line of its own


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
        if self.enabled and self.stats.resumed:
            self.stream.write(f"{self.label}: resuming — {self.stats.resumed} sample(s) already done, "
                              f"{self.stats.total} to go\n")
            self.stream.flush()
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress
            from rich.table import Column

            console = Console(file=self.stream)
            narrow = console.width < NARROW
            if narrow:  # the label gets its own line, so the bar, counts, score and errors fit in 80 columns
                console.print(self.label, style="bold", markup=False, highlight=False, overflow="ellipsis",
                              no_wrap=True)
            columns = [] if narrow else [TextColumn("[bold]{task.description}",
                                                    table_column=Column(max_width=40, no_wrap=True, overflow="ellipsis"))]
            self._rich = RichProgress(
                *columns,
                BarColumn(bar_width=16 if narrow else 30),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                console=console,
                refresh_per_second=8,
                transient=False,
            )
            self._rich.__enter__()
            self._task_id = self._rich.add_task(self.label, total=self.stats.total, info="")
        return self

    def update(self) -> None:
        s = self.stats
        if self._rich is not None:
            retries = f" retries {s.retries}" if s.retries else ""
            info = f"{s.rate:.1f}/s score {s.running_score:.1%} errors {s.errors}{retries}"
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


def error_reason(error: str | None) -> str:
    """A short reason for the sweep's progress line: the sample's reason with endpoints masked, cut to 80."""
    from evalkit.grading.metrics import error_reason as reason

    return re.sub(r"https?://\S+", "<endpoint>", reason(error))[:80]


@dataclass
class SweepStats:
    """Counters of a whole sweep, kept by the sweep's ledger as units and samples come in."""

    units_total: int = 0
    samples_total: int = 0
    runs_total: int = 0
    units_done: int = 0
    units_running: int = 0
    units_failed: int = 0
    units_retried: int = 0
    runs_done: int = 0
    samples_done: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add_sample(self, status: str, error: str | None) -> None:
        self.samples_done += 1
        if status == "error":
            self.errors[error_reason(error)] += 1

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def rate(self) -> float:
        dt = time.perf_counter() - self.started
        return self.samples_done / dt if dt > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        left = self.samples_total - self.samples_done
        return left / self.rate if self.rate > 0 and left > 0 else None

    def line(self) -> str:
        eta = self.eta_s
        errors = sum(self.errors.values())
        reasons = "; ".join(f"{n}× {r}" for r, n in self.errors.most_common(3))
        return (f"sweep: units {self.units_done}/{self.units_total} done, {self.units_running} running, "
                f"{self.units_failed} failed, {self.units_retried} retried | samples {self.samples_done}/"
                f"{self.samples_total} ({self.rate:.1f}/s{f', ETA {eta:.0f}s' if eta is not None else ''}) | "
                f"runs {self.runs_done}/{self.runs_total} | errors {errors}{f' ({reasons})' if reasons else ''}")


class SweepProgress:
    """One live view of a sweep: a rich panel on a terminal, plain lines in CI logs (every tenth, 30 s, event)."""

    def __init__(self, stats: SweepStats, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stats = stats
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self._live: Any = None
        self._last = 0.0
        self._next_tenth = 1
        self._notes_shown = 0

    def __enter__(self) -> SweepProgress:
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._render(), console=Console(file=self.stream), refresh_per_second=4, transient=False)
            self._live.__enter__()
        elif self.enabled:
            self._write()
        return self

    def _render(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        s = self.stats
        grid = Table.grid(padding=(0, 1))
        grid.add_row(ProgressBar(total=max(s.samples_total, 1), completed=s.samples_done, width=40),
                     s.line().removeprefix("sweep: "))
        for note in s.notes[-3:]:
            grid.add_row("", f"[dim]{note}[/dim]")
        return grid

    def update(self) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._live is not None:
            if now - self._last > 0.2:
                self._last = now
                self._live.update(self._render())
            return
        s = self.stats
        tenth = s.samples_done * 10 // max(s.samples_total, 1)
        if tenth >= self._next_tenth or len(s.notes) > self._notes_shown or now - self._last > 30:
            self._next_tenth = tenth + 1
            self._write()

    def _write(self) -> None:
        s = self.stats
        for note in s.notes[self._notes_shown:]:
            self.stream.write(f"sweep: {note}\n")
        self._notes_shown = len(s.notes)
        self.stream.write(s.line() + "\n")
        self.stream.flush()
        self._last = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(None, None, None)
        elif self.enabled:
            self._write()
