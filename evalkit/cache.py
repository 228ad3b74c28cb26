"""The persistent response cache (SQLite), keyed by adapter identity + request content + config.

Only successful responses are stored. Writes are batched and committed every few dozen entries
and on close, so the cache never slows a run down; a lost batch only costs re-asking the model.
Nor does it ever stop a run: a cache that is locked, corrupt, unwritable or on a full disk is
reported once on stderr, naming the file, and the run continues without it.
Location: ``$EVALKIT_CACHE_DIR/responses.sqlite`` (default ``~/.cache/evalkit``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from evalkit.types import Request, Response, Usage

BATCH = 64


def default_cache_path() -> Path:
    root = os.environ.get("EVALKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "evalkit")
    return Path(root) / "responses.sqlite"


def request_key(identity: dict[str, Any], request: Request) -> str:
    body = {
        "adapter": identity,
        "messages": [m.to_dict() for m in request.messages],
        "config": request.config.to_dict(),
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # a lone surrogate is hashed too


class ResponseCache:
    """The cache of one process; it never stops a run.

    The cache is an optimisation: a cache file that is locked by another process (for longer than
    ``busy_timeout_s``), corrupt, in a folder that cannot be created or written, or on a full disk
    makes it say so once on stderr, naming the file, and the run goes on without it (``disabled``
    holds the reason).
    """

    def __init__(self, path: Path | None = None, busy_timeout_s: float = 2.0) -> None:
        self.path = path or default_cache_path()
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[Any, ...]] = []
        self.hits = 0
        self.disabled: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT, reasoning TEXT,"
                " prompt_tokens INT, completion_tokens INT, latency REAL)"
            )
        except (sqlite3.Error, OSError) as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        """Stop using the cache for the rest of this run, and say so once."""
        if self.disabled is None:
            reason = str(exc) or type(exc).__name__
            if isinstance(exc, OSError) and exc.strerror:
                reason = exc.strerror
            self.disabled = reason
            print(f"warning: the response cache {self.path} cannot be used ({reason}); "
                  "the run goes on without it", file=sys.stderr, flush=True)
        self._pending.clear()
        db, self._db = self._db, None
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass

    def get(self, key: str) -> Response | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT text, reasoning, prompt_tokens, completion_tokens, latency FROM responses WHERE key=?", (key,)
            ).fetchone()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return None
        if row is None:
            return None
        self.hits += 1
        return Response(text=row[0], reasoning=row[1], usage=Usage(row[2], row[3]), latency_s=row[4],
                        meta={"cached": True})

    def put(self, key: str, response: Response) -> None:
        if not response.ok or self._db is None:
            return
        from evalkit.redact import scrub

        self._pending.append((key, scrub(response.text), response.reasoning and scrub(response.reasoning),
                              response.usage.prompt_tokens,
                              response.usage.completion_tokens, response.latency_s))
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending and self._db is not None:
            try:
                self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?)", self._pending)
                self._db.commit()
            except (sqlite3.Error, OSError, ValueError) as exc:  # ValueError: text sqlite cannot encode
                self._give_up(exc)
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
