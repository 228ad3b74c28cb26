"""Where a task may read from: its data and image paths stay inside the folders it was given.

A task file, a data file and the rows in it come from outside and are hostile: a ``dataset.path`` of
``../../../../etc/passwd`` or an image path of ``/home/me/.ssh/id_rsa`` must not be read and sent to
a model. This module owns the rule:

* A task's **roots** are the folders it may read: the task file's own folder, its dataset's folder
  (the ``dataset.path``, or what ``--data`` names), and any folder the user allows explicitly with
  ``EVALKIT_ALLOW_PATHS`` (folders separated by ``:``).
* A YAML task outside evalkit's built-in task folder may name a ``dataset.path`` only inside its
  roots; every image path of every sample must lie inside the roots, after following symlinks.
* Built-in task files are part of evalkit and may name their data anywhere; the rows of that data
  are still confined to the data's folder.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from evalkit.tasks.spec import TaskError

ALLOW_ENV = "EVALKIT_ALLOW_PATHS"


def allowed_roots() -> list[Path]:
    """Folders the user allowed explicitly (``EVALKIT_ALLOW_PATHS=DIR:DIR``), resolved."""
    raw = os.environ.get(ALLOW_ENV, "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def root_of(path: Path) -> Path:
    """The folder a data path opens: the path itself when it is a folder, else the folder holding it."""
    resolved = path.expanduser().resolve()
    return resolved if resolved.is_dir() else resolved.parent


def task_roots(*folders: Path | None) -> tuple[Path, ...]:
    """The roots of a task: the given folders (resolved, without repeats) plus the allowed ones."""
    out: list[Path] = []
    for folder in [*folders, *allowed_roots()]:
        if folder is None:
            continue
        resolved = folder.expanduser().resolve()
        if resolved not in out:
            out.append(resolved)
    return tuple(out)


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` (symlinks followed) is one of ``roots`` or lies below one."""
    resolved = path.expanduser().resolve()
    return any(resolved == root or root in resolved.parents for root in roots)


def confine(path: Path, roots: Sequence[Path], what: str) -> Path:
    """``path`` when it lies inside ``roots``; otherwise a :class:`TaskError` naming it and the way out."""
    if inside(path, roots):
        return path
    shown = ", ".join(str(r) for r in roots) or "none"
    target = path.expanduser().resolve()
    link = f" (a link to {target})" if target != Path(os.path.abspath(path.expanduser())) else ""
    raise TaskError(f"{what} {path}{link} lies outside the folders this task may read ({shown}); "
                    f"to allow another folder, set {ALLOW_ENV}=DIR")


def check_regular_file(path: Path, what: str) -> None:
    """A data file must be a regular file (a FIFO would hang the loader, a device would never end)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise TaskError(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise TaskError(f"{what} {path}: not a regular file")


def hf_cache_roots() -> list[Path]:
    """Where Hugging Face ``datasets`` keeps downloaded files (image paths of hub datasets point there)."""
    out = []
    for env in ("HF_DATASETS_CACHE", "HF_HOME"):
        if os.environ.get(env):
            out.append(Path(os.environ[env]))
    out.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface")
    return out
