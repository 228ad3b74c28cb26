"""The run folder: writing it crash-safely and reading it back (as records or pandas DataFrames).

A run folder holds:

* ``run.json`` — the reproducibility record (see :func:`environment_record`), rewritten atomically
  at start and at end;
* ``samples.jsonl`` — one :class:`~evalkit.types.SampleResult` per line, appended and flushed as
  each sample finishes; a torn last line (a killed process) is ignored on reading;
* ``summary.json`` — counts and metrics, written atomically at the end.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import EvalkitError
from evalkit.fileio import OutputError, atomic_open, cannot_write, json_line
from evalkit.redact import scrub
from evalkit.types import SampleResult

if TYPE_CHECKING:
    import pandas as pd

RUN_FILE = "run.json"
SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
SAMPLES_STAMP = "samples_sha256"  # in summary.json: the digest of the samples.jsonl it was computed from
TRACKED_PACKAGES = ("evalkit", "sympy", "pandas", "pillow", "jinja2", "datasets", "transformers", "torch")


class ResultsError(EvalkitError, ValueError):
    """A run folder that is missing or unreadable; the message names the file."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


LOCK_FILE = ".lock"
RESUME_HINT = ("the samples written before are kept: free some space (or choose another --output) and run the "
               "same command again to resume")


class FolderInUse(ResultsError):
    """Another process holds the run folder (a run, a sweep, a marks import); the message names it."""


class RunLock:
    """An exclusive lock on a run folder, held by one process at a time (``flock`` on ``.lock``).

    The kernel releases it when the holder exits, however it exits (a SIGKILL included), so a lock
    never outlives its process. The lock file says who holds it: pid, host, command, since when.
    """

    def __init__(self, folder: Path, purpose: str, wait_s: float = 0.0) -> None:
        import fcntl
        import time

        self.folder = folder
        self._fd = -1
        try:
            self._fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(cannot_write(folder / LOCK_FILE, exc)) from None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder()
                    os.close(self._fd)
                    self._fd = -1
                    raise FolderInUse(f"{folder} is in use by {holder}; wait for it to finish, or give "
                                      f"{purpose} another folder") from None
                time.sleep(0.05)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
                "purpose": purpose, "since": now_iso()}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json_line(info), 0)

    def _holder(self) -> str:
        try:
            raw = os.pread(self._fd, 65536, 0).decode("utf-8", "replace")
            info = json.loads(raw)
            return (f"process {info.get('pid')} on {info.get('host')} ({info.get('purpose', 'a run')}: "
                    f"{info.get('command', '?')}, since {info.get('since', '?')})")
        except (OSError, ValueError, AttributeError):
            return "another process"

    @classmethod
    def take(cls, folder: Path, purpose: str, wait_s: float = 0.0) -> RunLock:
        """Create ``folder`` if needed and lock it."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(cannot_write(folder, exc)) from None
        return cls(folder, purpose, wait_s)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

    def __del__(self) -> None:  # a lock dropped unreleased (an exception while opening) frees the folder
        self.release()


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace a JSON file whole (temp file, fsync, rename); see :mod:`evalkit.fileio`."""
    from evalkit.fileio import write_json_atomic as write

    write(path, data)


def iter_sample_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Parsed lines of a samples.jsonl; a torn or corrupt line is skipped, never fatal."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # torn last line from a killed writer
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


class SampleWriter:
    """Appends finished samples to samples.jsonl, one flushed write per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(cannot_write(path, exc)) from None

    def write(self, result: SampleResult) -> None:
        data = memoryview(json_line(result.to_dict()))
        try:
            while data:
                data = data[os.write(self._fd, data):]
        except OSError as exc:  # a full disk: the lines written before stay, a torn last line is dropped on resume
            raise OutputError(cannot_write(self.path, exc, RESUME_HINT)) from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def compact_samples(path: Path, keep: dict[str, dict[str, Any]]) -> None:
    """Rewrite samples.jsonl atomically with exactly the kept records (drops torn lines, errors)."""
    with atomic_open(path, "wb") as fh:
        for rec in keep.values():
            fh.write(json_line(rec))


def samples_digest(run_dir: Path) -> str | None:
    """The sha256 of a run's samples.jsonl (``None`` without one): the stamp a summary was computed from."""
    import hashlib

    try:
        with (run_dir / SAMPLES_FILE).open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def write_summary(run_dir: Path, summary: dict[str, Any]) -> None:
    """Write summary.json stamped with the samples it summarises, so a reader can tell it is current."""
    fresh = {k: v for k, v in summary.items() if k != "recomputed"}
    write_json_atomic(run_dir / SUMMARY_FILE, {**fresh, SAMPLES_STAMP: samples_digest(run_dir)})


def _git_revision() -> str | None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip() or None
    return f"{rev}+dirty" if rev and dirty.stdout.strip() else rev


def _package_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def environment_record() -> dict[str, Any]:
    """Python, platform, host, package versions and git revision of this process."""
    from evalkit import __version__

    return {
        "evalkit_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "packages": _package_versions(),
        "git_revision": _git_revision(),
        "argv": [scrub(a) for a in sys.argv],
    }


@dataclass
class Run:
    """A run folder read back: its record, summary and sample results."""

    path: Path
    record: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def results(self) -> list[SampleResult]:
        latest: dict[str, SampleResult] = {}
        for rec in iter_sample_lines(self.path / SAMPLES_FILE):
            try:
                res = SampleResult.from_dict(rec)
            except (KeyError, TypeError, ValueError):
                continue
            latest[res.id] = res
        return list(latest.values())

    @property
    def task(self) -> str:
        return str(self.record.get("task", {}).get("name", "?"))

    @property
    def model(self) -> str:
        """The model's display name (``-M name=`` / ``--model-name``), else its adapter URI."""
        adapter = self.record.get("adapter", {})
        return str(adapter.get("name") or adapter.get("uri", "?"))

    def sample_rows(self) -> list[dict[str, Any]]:
        """One row per sample: ids, task/model, status, value, points, stage, grader, usage, metadata."""
        task, model, path = self.task, self.model, str(self.path)
        return [{
            "run": path,
            "task": task,
            "model": model,
            "id": r.id,
            "status": r.score.status,
            "value": r.score.value,
            "points": r.score.points,
            "max_points": r.score.max_points,
            "stage": r.score.stage,
            "grader": r.score.grader,
            "extracted": r.score.extracted,
            "prompt_tokens": r.usage.prompt_tokens,
            "completion_tokens": r.usage.completion_tokens,
            "latency_s": r.latency_s,
            "error": r.error,
            **{f"meta.{k}": v for k, v in r.metadata.items() if isinstance(v, str | int | float | bool)},
        } for r in self.results]

    def samples_frame(self) -> pd.DataFrame:
        """:meth:`sample_rows` as a pandas table (pandas is imported here, never by reports)."""
        import pandas as pd

        return pd.DataFrame(self.sample_rows())


def run_scope(run: Run) -> str:
    """What part of its task a run covers, for reports that must not rank it against complete runs:
    ``""`` when it finished over the whole task, ``"limited: 120 of 844 samples"`` (``--limit``/``--ids``),
    ``"unfinished: 300 of 844 samples"`` (stopped, interrupted, still running, or no summary)."""
    record = run.record
    counts = record.get("counts") or {}
    config = record.get("config") or {}
    selected = counts.get("samples")
    total = counts.get("task_samples")
    status = str(record.get("status") or ("finished" if run.summary else "?"))  # very old records had none
    if status != "finished" or not run.summary:
        of = f" of {selected}" if isinstance(selected, int) else ""
        return f"unfinished ({status}): {len({r.id for r in run.results})}{of} samples"
    if config.get("limit") is not None or config.get("ids"):
        if isinstance(selected, int) and isinstance(total, int):
            return "" if selected >= total else f"limited: {selected} of {total} samples"
        how = f"--limit {config['limit']}" if config.get("limit") is not None else "--ids"
        return f"limited: {selected if isinstance(selected, int) else '?'} samples ({how})"
    return ""


def load_run(path: str | Path) -> Run:
    p = Path(path)
    if not (p / RUN_FILE).exists():
        raise ResultsError(f"{p}: not a run folder (no {RUN_FILE})")
    try:
        record = json.loads((p / RUN_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{p / RUN_FILE}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{p / RUN_FILE}: cannot be read ({exc})") from None
    if not isinstance(record, dict):
        raise ResultsError(f"{p / RUN_FILE}: not a run record (expected a JSON object)")
    summary: dict[str, Any] = {}
    if (p / SUMMARY_FILE).exists():
        try:
            summary = json.loads((p / SUMMARY_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            summary = {}
        if not isinstance(summary, dict):
            summary = {}
    run = Run(p, record, summary)
    if summary.get(SAMPLES_STAMP) and summary[SAMPLES_STAMP] != samples_digest(p):
        run.summary = _recomputed_summary(run)
    return run


def _recomputed_summary(run: Run) -> dict[str, Any]:
    """The summary of the samples as they are now: summary.json was written before samples.jsonl last
    changed (a process killed between the two writes), so its counts and metrics are recomputed."""
    from evalkit.grading.metrics import summarize

    metrics = run.record.get("task", {}).get("metrics") or ["accuracy"]
    fresh = summarize(run.results, list(metrics))
    return {**run.summary, **fresh, SAMPLES_STAMP: samples_digest(run.path), "recomputed": True}


def find_runs(paths: list[str | Path]) -> list[Run]:
    """Every run folder at or below the given paths (a results/ folder holds many)."""
    runs = []
    for raw in paths:
        p = Path(raw)
        if (p / RUN_FILE).exists():
            runs.append(load_run(p))
        elif p.is_dir():
            runs.extend(load_run(r.parent) for r in sorted(p.rglob(RUN_FILE)))
        else:
            raise ResultsError(f"{p}: no such run folder")
    return runs

