"""A local model server on 127.0.0.1 for tests and benchmarks: OpenAI- and Anthropic-compatible.

It answers ``POST /v1/chat/completions``, ``/v1/completions`` and ``/v1/messages`` with a fixed
or scripted answer after a configurable latency, injects faults on chosen requests (an HTTP
status with optional ``Retry-After``, a hung connection, malformed JSON, a dropped connection),
counts requests and the most in flight, records the bodies it received, and stops by itself
(after ``lifetime_s``, after ``idle_s`` without requests, or, run as a program, when its stdin
closes). Statistics are also served at ``GET /_stats`` for a server in another process.

Use it in a test::

    with ModelServer("The answer is B.", latency=0.01) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url})

or as a program: ``python -m evalkit.testing.server --latency 0.05`` prints ``READY <url>`` (``--api-key K``
refuses other keys with 401, ``--fault JSON`` injects a fault; ``--help`` lists the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Answer = str | Callable[[dict[str, Any]], "str | dict[str, Any]"]
FaultKind = Literal["status", "hang", "malformed", "close", "slow", "echo", "huge", "flood"]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Fault:
    """A misbehaviour applied to requests whose raw body contains ``match`` ("" matches all).

    ``kind``: ``status`` (answer ``status`` with an error body, plus ``Retry-After: retry_after``
    when given), ``hang`` (never answer), ``malformed`` (200 with broken JSON), ``close`` (drop the
    connection unanswered), ``slow`` (answer normally after ``delay`` more seconds), ``echo`` (answer
    ``status`` with an error body that repeats the request's headers, as some servers do — the
    ``Authorization`` header included), ``huge`` (200 announcing an 8 GB body, then bytes until the
    client hangs up), ``flood`` (200 with no length, bytes until the client hangs up).
    ``times`` limits it to the first N matching requests; later ones are answered normally.
    """

    kind: FaultKind = "status"
    match: str = ""
    status: int = 500
    retry_after: str | None = None
    times: int | None = None
    delay: float = 0.0
    hits: int = field(default=0, compare=False)

    def applies(self, raw: str) -> bool:
        if self.match and self.match not in raw:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


class ModelServer:
    """The server; start it with ``with ModelServer(...) as srv`` (a background thread) or :meth:`serve`.

    ``answer`` is a string, or a function of the request body returning the answer string or a
    message dict (e.g. ``{"content": ..., "reasoning_content": ...}``). ``keep_alive=False`` closes
    each connection after one answer without announcing it (as servers with short idle timeouts do).
    ``capacity=N`` refuses requests beyond N in flight with 429 and ``Retry-After: 0.02``.
    ``api_key="..."`` answers 401 to a request without ``Authorization: Bearer`` that key (or ``x-api-key``).
    """

    def __init__(
        self,
        answer: Answer = "The answer is A.",
        *,
        latency: float = 0.0,
        faults: Sequence[Fault] = (),
        chunked: bool = False,
        record_bodies: bool = True,
        lifetime_s: float = 600.0,
        idle_s: float | None = None,
        hang_s: float = 3600.0,
        keep_alive: bool = True,
        capacity: int | None = None,
        ssl_context: Any = None,
        port: int = 0,
        api_key: str | None = None,
    ) -> None:
        self.answer = answer
        self.latency = latency
        self.faults = list(faults)
        self.chunked = chunked
        self.record_bodies = record_bodies
        self.lifetime_s = lifetime_s
        self.idle_s = idle_s
        self.hang_s = hang_s
        self.keep_alive = keep_alive  # False: close every connection after one answer, without saying so
        self.port = port
        self.ssl_context = ssl_context  # an ssl.SSLContext with a certificate: serve https
        self.capacity = capacity  # more requests in flight than this are refused with 429 (a rate limit)
        self.api_key = api_key  # requests without this key are refused with 401
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self.statuses: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._last_request = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----- public -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The OpenAI-style base URL, e.g. ``http://127.0.0.1:41234/v1``."""
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "max_in_flight": self.max_in_flight, "in_flight": self.in_flight,
                "connections": self.connections, "statuses": dict(self.statuses)}

    def reset_stats(self) -> None:
        self.requests = self.max_in_flight = self.connections = 0
        self.statuses.clear()
        self.bodies.clear()
        self.headers.clear()

    def start(self) -> ModelServer:
        """Serve from a daemon thread; returns once the port is bound."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self.serve()), daemon=True, name="model-server")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local model server did not start within 10 s")
        return self

    def stop(self, join: bool = True) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        if join and self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until stopped, ``lifetime_s`` passes, or ``idle_s`` passes without a request."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", self.port, backlog=1024,
                                            ssl=self.ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        if on_ready:
            on_ready()
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    await asyncio.wait_for(self._stop.wait(), 0.1)
                except TimeoutError:
                    pass
                now = time.monotonic()
                if now - started > self.lifetime_s:
                    break
                if self.idle_s is not None and self.in_flight == 0 and now - self._last_request > self.idle_s:
                    break
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ----- connection handling ------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    break
                method, path, headers = _parse_request_head(head)
                n = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(n) if n else b""
                if not await self._dispatch(method, path, headers, body, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must close."""
        if path.endswith("/_stats"):
            await self._send(writer, 200, json.dumps(self.stats()).encode(), count=False)
            return True
        if path.endswith("/_reset"):
            self.reset_stats()
            await self._send(writer, 200, b"{}", count=False)
            return True
        if method == "GET" and path.endswith("/models"):
            models = {"object": "list", "data": [{"id": "local"}]}
            await self._send(writer, 200, json.dumps(models).encode(), count=False)
            return True
        self.requests += 1
        self._last_request = time.monotonic()
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            return await self._answer(path, headers, body, writer)
        finally:
            self.in_flight -= 1
            self._last_request = time.monotonic()

    async def _answer(self, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter) -> bool:
        raw = body.decode("utf-8", "replace")
        try:
            req = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            req = None
        if self.record_bodies:
            self.bodies.append(req if isinstance(req, dict) else {"_raw": raw})
            self.headers.append(headers)
        if self.api_key is not None and self.api_key not in (
                headers.get("authorization", "").removeprefix("Bearer ").strip(), headers.get("x-api-key")):
            await self._send(writer, 401, _error_body("Incorrect API key provided", 401))
            return True
        if self.capacity is not None and self.in_flight > self.capacity:
            body = _error_body(f"rate limited: more than {self.capacity} requests in flight", 429)
            await self._send(writer, 429, body, {"Retry-After": "0.02"})
            return True
        fault = next((f for f in self.faults if f.applies(raw)), None)
        delay = self.latency + (fault.delay if fault and fault.kind == "slow" else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind != "slow":
            return await self._fault(fault, writer, headers)
        if not isinstance(req, dict):
            await self._send(writer, 400, _error_body("request body is not a JSON object", 400))
            return True
        payload = self._payload(path, req)
        if payload is None:
            await self._send(writer, 404, _error_body(f"no route {path}", 404))
            return True
        if req.get("stream") and "choices" in payload:
            await self._send(writer, 200, _as_event_stream(payload), stream=True)
        else:
            await self._send(writer, 200, json.dumps(payload).encode())
        return self.keep_alive

    async def _fault(self, fault: Fault, writer: asyncio.StreamWriter, headers: dict[str, str]) -> bool:
        if fault.kind == "hang":
            self.statuses["hang"] += 1
            await asyncio.sleep(self.hang_s)
            return False
        if fault.kind == "close":
            self.statuses["close"] += 1
            return False
        if fault.kind == "malformed":
            await self._send(writer, 200, b'{"id": "x", "choices": [{"message": {"content": "The ans')
            return True
        if fault.kind in ("huge", "flood"):
            self.statuses[fault.kind] += 1
            length = "Content-Length: 8000000000\r\n" if fault.kind == "huge" else "Connection: close\r\n"
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode("latin-1"))
            try:
                for _ in range(8000):  # at most 8 GB at 1 MiB a write, while the client reads
                    writer.write(b"0" * (1 << 20))
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            return False
        if fault.kind == "echo":
            echoed = "; ".join(f"{k}: {v}" for k, v in headers.items())
            await self._send(writer, fault.status, _error_body(f"invalid request ({echoed})", fault.status))
            return True
        extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        await self._send(writer, fault.status, _error_body(f"injected HTTP {fault.status}", fault.status), extra)
        return True

    def _payload(self, path: str, req: dict[str, Any]) -> dict[str, Any] | None:
        answer = self.answer(req) if callable(self.answer) else self.answer
        message: dict[str, Any] = dict(answer) if isinstance(answer, dict) else {"content": answer}
        text = str(message.get("content") or "")
        usage = {"prompt_tokens": _count_words(req), "completion_tokens": len(text.split())}
        model = str(req.get("model", "local"))
        if path.endswith("/chat/completions"):
            return {"id": "chatcmpl-local", "object": "chat.completion", "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}],
                    "usage": {**usage, "total_tokens": sum(usage.values())}}
        if path.endswith("/completions"):
            return {"id": "cmpl-local", "object": "text_completion", "model": model,
                    "choices": [{"index": 0, "text": text, "finish_reason": "stop"}], "usage": usage}
        if path.endswith("/messages"):
            blocks: list[dict[str, Any]] = []
            if message.get("reasoning_content"):
                blocks.append({"type": "thinking", "thinking": message["reasoning_content"]})
            blocks.append({"type": "text", "text": text})
            return {"id": "msg_local", "type": "message", "role": "assistant", "model": model, "content": blocks,
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]}}
        return None

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, body: bytes, extra: dict[str, str] | None = None,
        count: bool = True, stream: bool = False,
    ) -> None:
        if count:
            self.statuses[str(status)] += 1
        kind = "text/event-stream" if stream else "application/json"
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {kind}"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        if self.chunked or stream:
            head.append("Transfer-Encoding: chunked")
            mid = len(body) // 2
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:mid], body[mid:]) if c)
            data = chunks + b"0\r\n\r\n"
        else:
            head.append(f"Content-Length: {len(body)}")
            data = body
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()


def _as_event_stream(payload: dict[str, Any]) -> bytes:
    """A chat or text completion as server-sent events: one word per delta, usage last, then [DONE]."""
    choice = payload["choices"][0]
    chat = "message" in choice
    message = choice["message"] if chat else {"content": choice["text"]}
    events: list[dict[str, Any]] = []
    pieces: list[tuple[str, str]] = []
    if message.get("reasoning_content"):
        pieces += [("reasoning_content", w) for w in _words(message["reasoning_content"])]
    pieces += [("content", w) for w in _words(str(message.get("content") or ""))]
    for field_name, piece in pieces:
        part = {"index": 0, "delta": {field_name: piece}} if chat else {"index": 0, "text": piece}
        events.append({"id": payload["id"], "object": "chunk", "choices": [part]})
    events.append({"id": payload["id"], "object": "chunk",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"} if chat
                               else {"index": 0, "text": "", "finish_reason": "stop"}]})
    events.append({"id": payload["id"], "object": "chunk", "choices": [], "usage": payload["usage"]})
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def _words(text: str) -> list[str]:
    """``"a b c"`` → ``["a", " b", " c"]`` (pieces that join back to the text)."""
    parts = text.split(" ")
    return [parts[0], *(" " + p for p in parts[1:])] if text else []


def _parse_request_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, path, *_ = lines[0].split(" ") + ["", ""]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return method, path, headers


def _error_body(message: str, status: int) -> bytes:
    return json.dumps({"error": {"message": message, "type": "local_server_error", "code": status}}).encode()


def _count_words(req: dict[str, Any]) -> int:
    n = 0
    for m in req.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            n += len(content.split())
        elif isinstance(content, list):
            n += sum(len(str(p.get("text", "")).split()) for p in content if isinstance(p, dict))
    if isinstance(req.get("prompt"), str):
        n += len(req["prompt"].split())
    return n


def fetch_stats(base_url: str, reset: bool = False) -> dict[str, Any]:
    """``GET /_stats`` of a server running elsewhere (e.g. in another process); ``reset`` zeroes them after."""
    import urllib.request

    with urllib.request.urlopen(f"{base_url.rstrip('/')}/_stats", timeout=10) as resp:  # noqa: S310 - local URL
        stats = json.loads(resp.read())
    if reset:
        urllib.request.urlopen(f"{base_url.rstrip('/')}/_reset", timeout=10).close()  # noqa: S310
    return stats


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m evalkit.testing.server", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    p.add_argument("--answer", default="The answer is A.")
    p.add_argument("--chunked", action="store_true", help="send chunked bodies")
    p.add_argument("--capacity", type=int, default=None, help="answer 429 beyond this many requests in flight")
    p.add_argument("--lifetime", type=float, default=600.0, help="stop after this many seconds")
    p.add_argument("--idle", type=float, default=None, help="stop after this many seconds without requests")
    p.add_argument("--fault", action="append", default=[], help='JSON of a Fault, e.g. {"kind":"status","status":429}')
    p.add_argument("--api-key", default=None, help="answer 401 to a request that does not carry this key")
    args = p.parse_args(argv)
    faults = [Fault(**json.loads(f)) for f in args.fault]
    srv = ModelServer(args.answer, latency=args.latency, faults=faults, chunked=args.chunked,
                      record_bodies=False, lifetime_s=args.lifetime, idle_s=args.idle, port=args.port,
                      capacity=args.capacity, api_key=args.api_key)

    def watch_stdin() -> None:  # the parent closing our stdin (or dying) stops the server
        sys.stdin.read()
        srv.stop(join=False)

    def ready() -> None:
        threading.Thread(target=watch_stdin, daemon=True).start()
        print(f"READY {srv.url}", flush=True)

    asyncio.run(srv.serve(ready))

if __name__ == "__main__":
    main()
