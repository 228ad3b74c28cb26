"""Writing files so that a kill, a full disk or a read-only folder never leaves a half-written one.

This module owns the one way evalkit replaces a file: the new content goes to a temporary file in
the same folder, is flushed and fsynced, then renamed over the target (``os.replace`` is atomic on
POSIX), so a reader sees either the old file whole or the new file whole. On any failure the
temporary file is removed and the target is untouched. Text is encoded so that lone surrogates
(valid in JSON from a model, invalid in UTF-8) never stop a write: JSON text keeps them as ``\\uXXXX``
escapes, which read back to the same string.

Everything written is scrubbed of known secrets and URL credentials (:mod:`evalkit.redact`).

A leaf module: it imports only :mod:`evalkit.errors` and :mod:`evalkit.redact`, so every room can use it.
It also reads input text files with one-sentence errors (:func:`read_text`).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evalkit.errors import EvalkitError
from evalkit.redact import scrub

TEMP_SUFFIX = ".tmp"


def temp_name(path: Path) -> Path:
    """A hidden temporary sibling of ``path``, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}{TEMP_SUFFIX}")


class OutputError(EvalkitError, OSError):
    """A file evalkit writes cannot be written (a full disk, a read-only folder); names the file and why."""


def cannot_write(path: Path, exc: OSError, hint: str = "") -> str:
    """``cannot write PATH: No space left on device`` (+ ``hint``), for :class:`OutputError`."""
    reason = exc.strerror or type(exc).__name__
    return f"cannot write {path}: {reason}" + (f"; {hint}" if hint else "")


class UnreadableFile(EvalkitError, ValueError):
    """An input file that cannot be read as text; the message names the file, and the line when it is
    not UTF-8."""


def utf8_problem(path: Path) -> str:
    """Where a file stops being UTF-8: ``line 3 (byte 0xe9 at column 4)``."""
    try:
        with open(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return f"line {n} (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
    except OSError:
        pass
    return "the file"


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """A text file read whole; invalid UTF-8 or an unreadable file is one sentence naming it (and the line)."""
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path}: not UTF-8 text at {utf8_problem(path)}") from None
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc.strerror or exc})") from None


def ensure_folder(folder: str | Path) -> Path:
    """``folder`` (and its parents) created if missing; one that cannot be is an :class:`OutputError`."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(cannot_write(folder, exc)) from None
    return folder


def safe_name(text: str, limit: int = 60) -> str:
    """``text`` as one harmless path component: letters, digits, ``-``, ``_``, ``.``; never a hidden
    name, ``..``, an absolute path or a separator (a task named ``../../x`` stays inside its folder)."""
    name = "".join(c if c.isalnum() or c in "-._" else "_" for c in text)[:limit]
    name = "_" + name[1:] if name.startswith(".") else name
    return name or "_"


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of ``text``, secrets scrubbed; a lone surrogate becomes a ``\\uXXXX`` escape.

    Inside JSON strings that escape is exactly JSON's own, so JSON written this way is valid UTF-8
    and reads back unchanged.
    """
    return scrub(text).encode("utf-8", "backslashreplace")


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, encoding: str = "utf-8", newline: str | None = None,
                errors: str = "backslashreplace") -> Iterator[IO[Any]]:
    """Open a temporary file to write; on success it replaces ``path`` whole, on failure it is removed.

    ``mode`` is ``"w"`` (text) or ``"wb"`` (bytes). The folder is created if missing. A file that cannot
    be written (a full disk, a read-only folder) is an :class:`OutputError` naming it.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode {mode!r} is not 'w' or 'wb'")
    target = Path(path)
    ensure_folder(target.parent)
    tmp = temp_name(target)
    try:
        if mode == "wb":
            fh: IO[Any] = open(tmp, "xb")  # noqa: SIM115 - closed below, before the rename
        else:
            fh = open(tmp, "x", encoding=encoding, newline=newline, errors=errors)  # noqa: SIM115
        try:
            yield fh if mode == "wb" else _Scrubbing(fh)  # type: ignore[misc]
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fh.close()
        _keep_mode(target, tmp)
        os.replace(tmp, target)
    except OSError as exc:  # a full disk, a read-only folder: one sentence; the previous file is still there
        tmp.unlink(missing_ok=True)
        raise OutputError(cannot_write(target, exc)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)
    remove_stale_temps(target)


class _Scrubbing:
    """A text file whose every ``write`` is scrubbed of secrets first (see :mod:`evalkit.redact`)."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh

    def write(self, text: str) -> int:
        return self._fh.write(scrub(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8", newline: str | None = None) -> Path:
    """Replace ``path`` with ``text`` atomically; returns the path."""
    with atomic_open(path, "w", encoding=encoding, newline=newline) as fh:
        fh.write(text)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically; returns the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any, *, indent: int | None = 2) -> Path:
    """Replace ``path`` with ``data`` as JSON (UTF-8, lone surrogates escaped) atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=str)
    return write_bytes_atomic(path, encode_text(text))


def json_line(record: Any) -> bytes:
    """One JSON line as UTF-8 bytes, safe for any string a model or a data file produced."""
    return encode_text(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def remove_stale_temps(path: Path) -> int:
    """Remove temporary siblings of ``path`` left by a writer that was killed; returns how many.

    Only files named as :func:`temp_name` names them, whose process is gone, are removed.
    """
    removed = 0
    prefix = f".{path.name}."
    try:
        siblings = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return 0
    for tmp in siblings:
        pid_text = tmp.name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _keep_mode(target: Path, tmp: Path) -> None:
    """Give the new file the permissions of the one it replaces (a new file keeps the umask's)."""
    try:
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    except OSError:
        pass


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a writer whose temporary files and folders must be left alone)."""
    return _alive(pid)


def exchange_folders(new: Path, old: Path) -> None:
    """Put the folder ``new`` where ``old`` is, in one step: afterwards ``old``'s path holds the new folder
    and ``new``'s path the old one (Linux ``renameat2(RENAME_EXCHANGE)``: a reader sees one folder or the
    other, never neither). Where the call is missing, two renames: the old folder steps aside first.
    """
    if not _rename_exchange(new, old):
        aside = old.with_name(f".{old.name}.{os.getpid()}.aside")
        os.rename(old, aside)
        os.rename(new, old)
        os.rename(aside, new)
    _sync_folder(old.parent)


def _rename_exchange(a: Path, b: Path) -> bool:
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))
