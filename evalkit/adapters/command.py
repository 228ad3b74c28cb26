"""``command:"PROGRAM ARGS"`` — any program that answers JSON lines on stdin with JSON lines on stdout.

This module owns the line protocol and the program's life: it starts the program once, writes one
request object per line, matches answer lines to requests by ``id``, turns a crash into an error on
exactly the requests in flight (with the tail of the program's stderr), restarts the program for
later requests up to ``max_restarts`` times, and stops it at the end (stdin closed, then terminate).

Request line (one JSON object)::

    {"id": "r17", "sample_id": "q00017",
     "messages": [{"role": "user", "content": [{"type": "text", "text": "..."},
                                                {"type": "image", "path": "a.png", "sha256": "..."}]}],
     "config": {"max_tokens": 512, "temperature": 0.0}}

Answer line: ``{"id": "r17", "text": "...", "reasoning": "...", "usage": {"prompt_tokens": 12,
"completion_tokens": 40}}``, or ``{"id": "r17", "error": "why", "retryable": false}``. Only ``id``
and ``text`` (or ``error``) are required; lines on stdout that are not JSON objects are ignored, so
log to stderr.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shlex
import shutil
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalkit.adapters.base import Adapter, AdapterError
from evalkit.adapters.remote import opt_number
from evalkit.types import Image, Message, Request, Response, Usage

_LINE_LIMIT = 64 * 1024 * 1024  # longest answer line accepted


class _GiveUp(Exception):
    """The program crashed more often than allowed; no more restarts."""


class CommandAdapter(Adapter):
    scheme = "command"
    description = (
        'Any program speaking JSON lines: command:"PROGRAM ARGS" gets one request per line on stdin and '
        "answers one JSON line per request on stdout (see docs/adapters.md)."
    )
    options_doc = {
        "max_in_flight": "requests written to the program before its answers come back (default 1)",
        "max_restarts": "times a crashed program is started again before every later request fails (default 3)",
        "images": "how images are passed: 'path' (default; file path and sha256) or 'data_url' (base64 inline)",
        "cwd": "working directory of the program (default: the current one)",
    }

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        try:
            self.argv = shlex.split(target)
        except ValueError as exc:
            raise AdapterError(f"--model command:{target}: cannot split the command line ({exc})") from None
        if not self.argv:
            raise AdapterError('--model command:"PROGRAM ARGS": name the program to run after the colon')
        if shutil.which(self.argv[0]) is None and not Path(self.argv[0]).is_file():
            raise AdapterError(f"--model command:{target}: program {self.argv[0]!r} not found")
        self.max_in_flight = max(1, opt_number(options, "max_in_flight", 1))
        self.max_restarts = opt_number(options, "max_restarts", 3)
        self.images = str(options.get("images", "path"))
        if self.images not in ("path", "data_url"):
            raise AdapterError(f"-M images={self.images}: expected 'path' or 'data_url'")
        self.cwd = options.get("cwd")
        self.starts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._readers: dict[int, asyncio.Task[Any]] = {}
        self._pending: dict[str, asyncio.Future[Response]] = {}
        self._stderr: deque[str] = deque(maxlen=20)
        self._ids = itertools.count(1)
        self._sem: asyncio.Semaphore | None = None
        self._lock: asyncio.Lock | None = None
        self._last_exit = ""

    # ----- the program's life -------------------------------------------------------------

    async def _ensure_running(self) -> asyncio.subprocess.Process:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._proc is not None and self._proc.returncode is None:
                return self._proc
            if self.starts > self.max_restarts:
                raise _GiveUp(f"{self.argv[0]} {self._last_exit} and was restarted {self.max_restarts} "
                              "time(s) already; not starting it again")
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, cwd=self.cwd, limit=_LINE_LIMIT)
            self.starts += 1
            self._stderr.clear()
            errors = asyncio.ensure_future(self._read_stderr(self._proc))
            reader = asyncio.ensure_future(self._read_answers(self._proc, errors))
            self._readers = {self._proc.pid: reader}
            self._tasks = [t for t in self._tasks if not t.done()] + [reader, errors]
            return self._proc

    async def _read_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    async def _read_answers(self, proc: asyncio.subprocess.Process, errors: asyncio.Task[Any]) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            self._deliver(raw)
        code = await proc.wait()
        await asyncio.wait([errors], timeout=1.0)  # the last lines of stderr explain the crash
        self._last_exit = f"exited with code {code}"
        tail = " | ".join(line for line in self._stderr if line)[-600:]
        error = f"{self.argv[0]} {self._last_exit} while answering" + (f" (stderr: {tail})" if tail else "")
        for fut in self._pending.values():
            if not fut.done():
                fut.set_result(Response(error=error, retryable=False))

    def _deliver(self, raw: bytes) -> None:
        try:
            answer = json.loads(raw)
        except ValueError:
            return  # not part of the protocol: ignored
        if not isinstance(answer, dict):
            return
        rid = answer.get("id")
        if rid is None and len(self._pending) == 1:
            rid = next(iter(self._pending))
        fut = self._pending.get(str(rid))
        if fut is not None and not fut.done():
            fut.set_result(_to_response(answer))

    # ----- requests -----------------------------------------------------------------------

    def _request_line(self, rid: str, request: Request) -> bytes:
        record = {"id": rid, "sample_id": request.sample_id,
                  "messages": [self._message(m) for m in request.messages],
                  "config": request.config.to_dict()}
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")  # JSON escapes

    def _message(self, message: Message) -> dict[str, Any]:
        out = message.to_dict()
        if self.images == "data_url" and message.images:
            from evalkit.images import encode_image

            for part, obj in zip(out["content"], message.content, strict=True):
                if isinstance(obj, Image):
                    part["data_url"] = encode_image(obj).data_url
        return out

    async def generate(self, request: Request) -> Response:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.max_in_flight)
        async with self._sem:
            try:
                proc = await self._ensure_running()
            except _GiveUp as exc:
                return Response(error=str(exc), retryable=False, unusable=str(exc))
            except OSError as exc:
                error = f"cannot start {self.argv[0]}: {exc.strerror or exc}"
                return Response(error=error, retryable=False, unusable=error)
            rid = f"r{next(self._ids)}"
            try:
                line = self._request_line(rid, request)
            except ValueError as exc:  # an unreadable image
                return Response(error=str(exc), retryable=False)
            return await self._exchange(proc, rid, line)

    async def _exchange(self, proc: asyncio.subprocess.Process, rid: str, line: bytes) -> Response:
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        start = time.perf_counter()
        try:
            assert proc.stdin is not None
            try:
                proc.stdin.write(line)
                await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the program died: the answer reader fails this request when it sees the exit
            reader = self._readers.get(proc.pid)
            if (reader is None or reader.done()) and not fut.done():  # it died before we were pending
                fut.set_result(Response(error=f"{self.argv[0]} {self._last_exit} before answering",
                                        retryable=False))
            response = await fut
        finally:
            self._pending.pop(rid, None)
        return replace(response, latency_s=time.perf_counter() - start)

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


def _to_response(answer: dict[str, Any]) -> Response:
    if answer.get("error"):
        return Response(error=str(answer["error"]), retryable=bool(answer.get("retryable", False)))
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    try:
        counts = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        counts = Usage()
    reasoning = answer.get("reasoning")
    return Response(text=str(answer.get("text") or ""), usage=counts, reasoning=str(reasoning) if reasoning else None)
