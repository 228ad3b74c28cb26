"""A local HTTP proxy on 127.0.0.1 for tests: ``CONNECT`` tunnels and absolute-form forwarding.

It does what a corporate proxy does for evalkit's HTTP client: for an https endpoint it answers
``CONNECT host:port`` with ``200`` and then relays bytes both ways (the TLS session runs end to end
through it); for a plain-http endpoint it takes ``POST http://host:port/path HTTP/1.1``, sends the
request on to the origin in origin form, and relays the rest of the connection. With ``auth`` it
demands ``Proxy-Authorization: Basic`` and answers ``407`` otherwise. It records what it was asked
for (``seen``: ``"CONNECT host:port"`` or ``"POST http://…"``) and the ``Proxy-Authorization`` values.

    with ModelServer("A") as srv, LocalProxy() as proxy:
        os.environ["HTTP_PROXY"] = proxy.url
"""

from __future__ import annotations

import asyncio
import base64
import threading
import urllib.parse
from typing import Any


class LocalProxy:
    """The proxy, served from a daemon thread between ``start()`` and ``stop()`` (or ``with``)."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.port = 0
        self.seen: list[str] = []
        self.auth_headers: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalProxy:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True, name="local-proxy")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local proxy did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> LocalProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            pass

    def _authorised(self, headers: dict[str, str]) -> bool:
        given = headers.get("proxy-authorization", "")
        if given:
            self.auth_headers.append(given)
        if self.auth is None:
            return True
        want = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        return given == want

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        self.seen.append(f"{method} {target}")
        if not self._authorised(headers):
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            await _close(writer)
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            url = urllib.parse.urlsplit(target)
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
            origin_form = (url.path or "/") + (f"?{url.query}" if url.query else "")
            kept = [line for line in lines[1:] if line and not line.lower().startswith("proxy-authorization:")]
            up_writer.write(("\r\n".join([f"{method} {origin_form} {version}", *kept]) + "\r\n\r\n").encode("latin-1"))
        await asyncio.gather(_relay(reader, up_writer), _relay(up_reader, writer))


async def _relay(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(1 << 16):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        await _close(sink)


async def _close(writer: Any) -> None:
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
