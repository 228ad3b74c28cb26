"""The persistent response cache (SQLite), keyed by adapter identity + request content + config.

Only successful responses are stored. Writes are batched and committed every few dozen entries
and on close, so the cache never slows a run down; a lost batch only costs re-asking the model.
Location: ``$EVALKIT_CACHE_DIR/responses.sqlite`` (default ``~/.cache/evalkit``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
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
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT, reasoning TEXT,"
            " prompt_tokens INT, completion_tokens INT, latency REAL)"
        )
        self._pending: list[tuple[Any, ...]] = []
        self.hits = 0

    def get(self, key: str) -> Response | None:
        row = self._db.execute(
            "SELECT text, reasoning, prompt_tokens, completion_tokens, latency FROM responses WHERE key=?", (key,)
        ).fetchone()
        if row is None:
            return None
        self.hits += 1
        return Response(text=row[0], reasoning=row[1], usage=Usage(row[2], row[3]), latency_s=row[4],
                        meta={"cached": True})

    def put(self, key: str, response: Response) -> None:
        if not response.ok:
            return
        from evalkit.redact import scrub

        self._pending.append((key, scrub(response.text), response.reasoning and scrub(response.reasoning),
                              response.usage.prompt_tokens,
                              response.usage.completion_tokens, response.latency_s))
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?)", self._pending)
            self._db.commit()
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._db.close()
