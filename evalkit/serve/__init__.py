"""The marking room: ``evalkit grade serve RUN...`` — teachers mark answers in the browser.

One marking round over run folders: answers shuffled and anonymised, each marked by two markers
independently (双评), an arbiter (or a third marker) when they differ by more than the threshold,
an admin who watches quality. Its parts:

* :mod:`evalkit.serve.store` — the round's SQLite database (WAL), people, sessions, claims, marks;
* :mod:`evalkit.serve.round` — the answers' content, and the writer that puts settled marks into the
  run folders through :func:`evalkit.marking.write_marks` (the ``grade import`` code);
* :mod:`evalkit.serve.app` — the Starlette app (templates beside it; KaTeX from :mod:`evalkit.mathtext`).

Needs the optional extra ``evalkit[serve]`` (starlette, uvicorn, python-multipart).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from evalkit.errors import EvalkitError


class ServeDependencyError(EvalkitError):
    """The serve extra is not installed."""


def require_extra() -> None:
    """One sentence when starlette/uvicorn are missing (the core install does not have them)."""
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "multipart") if importlib.util.find_spec(m) is None]
    if missing:
        raise ServeDependencyError(f"evalkit grade serve needs {', '.join(missing)}: pip install 'evalkit[serve]'")


def open_round(run_dirs: Sequence[Path], *, db: Path | None = None, include_all: bool = False,
               threshold: float | None = None, markers_per_answer: int = 2, mode: str = "arbiter",
               people: Sequence[tuple[str, str]] = ()) -> object:
    """The round over ``run_dirs`` with an admin and the named people added (existing ones are kept)."""
    from evalkit.serve.round import Round

    rnd = Round(list(run_dirs), db, include_all=include_all, threshold=threshold, markers=markers_per_answer,
                mode=mode)
    known = {p.name for p in rnd.store.people()}
    if not any(p.role == "admin" for p in rnd.store.people()):
        rnd.store.add_person("admin", "admin")
        known.add("admin")
    for name, role in people:
        if name not in known:
            rnd.store.add_person(name, role)
            known.add(name)
    return rnd


def serve(rnd: object, host: str = "127.0.0.1", port: int = 8765, echo: Callable[[str], None] = print) -> None:
    """Print everyone's link and serve the round until interrupted."""
    import uvicorn

    from evalkit.serve.app import create_app
    from evalkit.serve.round import Round

    assert isinstance(rnd, Round)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    counts = rnd.store.counts()
    states = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    mode = "a third marker, then an arbiter" if rnd.store.mode == "third" else "an arbiter"
    echo(f"marking round: {sum(counts.values())} answers ({states}); {rnd.store.markers_per_answer} markers per "
         f"answer, beyond the threshold {mode}; database {rnd.db_path}")
    for person, token in rnd.store.links():
        echo(f"  {person.role:8} {person.name}: http://{shown}:{port}/t/{token}")
    if shown != host:
        echo(f"(listening on {host}: markers on other machines use this machine's address instead of {shown})")
    echo("each link is personal; Ctrl+C stops the server, and every mark given is kept")
    uvicorn.run(create_app(rnd), host=host, port=port, log_level="warning", access_log=False)
