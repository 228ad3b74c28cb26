"""The lean HTTP/1.1 client against raw local servers: framing, keep-alive, close, malformed answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from evalkit.adapters.http import HTTPClient, TransportError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


def exchange(handler: Handler, n: int = 1, body: bytes = b"{}") -> tuple[list[object], int]:
    """Send ``n`` sequential POSTs to a raw server running ``handler``; the results and connections opened."""

    async def go() -> tuple[list[object], int]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = HTTPClient(f"http://127.0.0.1:{port}/v1")
        out: list[object] = []
        for _ in range(n):
            try:
                out.append(await client.post("/x", body))
            except TransportError as exc:
                out.append(exc)
        await client.aclose()
        server.close()
        return out, client.opened

    return asyncio.run(go())


def test_http10_body_read_to_close() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + b'{"a": 1}')
        writer.close()

    got, opened = exchange(handler, n=2)
    assert [r.body for r in got] == [b'{"a": 1}', b'{"a": 1}']  # type: ignore[attr-defined]
    assert opened == 2


def test_chunked_with_extensions_and_trailers_and_large_bodies_keep_alive() -> None:
    big = b"x" * (3 * 1024 * 1024)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in range(2):
            body = await read_request(reader)
            assert body == big
            if i == 0:
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Test: a\r\nx-test: b\r\n\r\n"
                             b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
            await writer.drain()

    got, opened = exchange(handler, n=2, body=big)
    first, second = got
    assert first.body == b"hello world" and first.header("X-TEST") == "a, b"  # type: ignore[attr-defined]
    assert second.status == 201 and second.body == big  # type: ignore[attr-defined]
    assert opened == 1


@pytest.mark.parametrize("reply, expected", [
    (b"SMTP ready\r\n\r\n", "malformed HTTP response"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"trunc", "closed mid-response"),
    (b"", "closed the connection without answering"),
])
def test_broken_answers_are_transport_errors(reply: bytes, expected: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()
        writer.close()

    (err,), _ = exchange(handler)
    assert isinstance(err, TransportError) and expected in str(err) and err.retryable
