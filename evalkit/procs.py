"""Child processes that never outlive evalkit nor hold what it holds.

A forked child (the grading pool's workers) inherits every descriptor of ``evalkit run``: the pipe
to ``| cat``, ``samples.jsonl``, the response cache, the run folder's lock, sockets to model servers.
A child left behind after a SIGKILL would keep them all open: the pipeline never ends and the folder
stays locked. :func:`detach_from_parent` is the first thing such a child does: it asks the kernel to
kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``; elsewhere it exits when its pipe to the
parent closes), and closes every inherited descriptor but the ones it needs, with stdout and stdin
pointed at ``/dev/null``.

A leaf module: it imports nothing from evalkit.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent (pid ``parent``, read before the
    fork) dies (Linux; a no-op elsewhere). If the parent is already gone, the process exits at once.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(0)


def close_inherited(keep: set[int]) -> None:
    """Close every descriptor above stderr except ``keep``; point stdin and stdout at ``/dev/null``."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        limit = 4096
    start = 3
    for fd in sorted(keep):
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1
    os.closerange(start, max(start, int(limit)))


def detach_from_parent(parent: int, keep: set[int]) -> None:
    """What a forked helper does first: die with its parent, hold nothing of its parent's but ``keep``."""
    die_with_parent(parent)
    close_inherited(keep)
