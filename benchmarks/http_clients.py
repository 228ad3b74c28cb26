"""Which HTTP client: CPU per chat request for evalkit's lean client and the usual alternatives.

Starts the local model server (``evalkit.testing.server``, latency 0) in its own process and sends
the same N chat-completion requests at concurrency C through each client, in this process,
measuring this process's CPU time (user+system) per request and the wall time:

* ``raw asyncio``   — a minimal hand-written keep-alive client (the floor);
* ``evalkit http``  — ``evalkit.adapters.http.HTTPClient`` alone;
* ``evalkit openai``— the whole ``openai:`` adapter (body building, limiter, parsing, outcome);
* ``httpx`` / ``aiohttp`` / ``openai SDK`` — when importable (they are not evalkit dependencies;
  install them somewhere for the measurement, e.g. ``pip install --target /tmp/benchdeps httpx aiohttp
  openai`` and run with ``PYTHONPATH=/tmp/benchdeps``).

    .venv/bin/python benchmarks/http_clients.py [--n 3000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BODY = {"model": "bench", "messages": [{"role": "user", "content": "Question 1: which of these is right?"}]}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run_pool(n: int, concurrency: int, one: Callable[[int], Awaitable[str]]) -> None:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            answer = await one(i)
            assert answer, "empty answer"

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def raw_asyncio(url: str, n: int, c: int) -> None:
    host_port = url.split("//")[1].split("/")[0]
    host, port = host_port.split(":")
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    body = json.dumps(BODY).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()

    async def one(i: int) -> str:
        reader, writer = conns.pop() if conns else await asyncio.open_connection(host, int(port))
        writer.write(head + body)
        h = await reader.readuntil(b"\r\n\r\n")
        length = int(h.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        text = json.loads(await reader.readexactly(length))["choices"][0]["message"]["content"]
        conns.append((reader, writer))
        return text

    await run_pool(n, c, one)
    for _, w in conns:
        w.close()


async def evalkit_http(url: str, n: int, c: int) -> None:
    from evalkit.adapters.http import HTTPClient

    client = HTTPClient(url)

    async def one(i: int) -> str:
        resp = await client.post("/chat/completions", json.dumps(BODY).encode())
        return json.loads(resp.body)["choices"][0]["message"]["content"]

    await run_pool(n, c, one)
    await client.aclose()


async def evalkit_openai(url: str, n: int, c: int) -> None:
    from evalkit.adapters import make_adapter
    from evalkit.types import Message, Request, Text

    adapter = make_adapter("openai:bench", {"base_url": url})
    request = Request((Message("user", (Text(BODY["messages"][0]["content"]),)),))

    async def one(i: int) -> str:
        return (await adapter.generate(request)).text

    await run_pool(n, c, one)
    await adapter.aclose()


async def httpx_client(url: str, n: int, c: int) -> None:
    import httpx

    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:
        async def one(i: int) -> str:
            resp = await client.post("/chat/completions", json=BODY)
            return resp.json()["choices"][0]["message"]["content"]

        await run_pool(n, c, one)


async def aiohttp_client(url: str, n: int, c: int) -> None:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        async def one(i: int) -> str:
            async with session.post(f"{url}/chat/completions", json=BODY) as resp:
                return (await resp.json())["choices"][0]["message"]["content"]

        await run_pool(n, c, one)


async def openai_sdk(url: str, n: int, c: int) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0)

    async def one(i: int) -> str:
        resp = await client.chat.completions.create(model="bench", messages=BODY["messages"])  # type: ignore[arg-type]
        return resp.choices[0].message.content or ""

    await run_pool(n, c, one)
    await client.close()


CLIENTS: dict[str, tuple[str | None, Callable[[str, int, int], Awaitable[None]]]] = {
    "raw asyncio": (None, raw_asyncio),
    "evalkit http": (None, evalkit_http),
    "evalkit openai": (None, evalkit_openai),
    "httpx": ("httpx", httpx_client),
    "aiohttp": ("aiohttp", aiohttp_client),
    "openai SDK": ("openai", openai_sdk),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "evalkit.testing.server", "--latency", "0"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    url = server.stdout.readline().split()[1] if server.stdout else ""
    try:
        print(f"{args.n} chat requests at concurrency {args.concurrency}, server latency 0 (server in another process)")
        for name, (module, fn) in CLIENTS.items():
            if module is not None:
                try:
                    __import__(module)
                except ImportError:
                    print(f"  {name:<15} (not installed; skipped)")
                    continue
            asyncio.run(fn(url, 200, args.concurrency))  # warm-up: imports, connections
            c0, t0 = cpu(), time.perf_counter()
            asyncio.run(fn(url, args.n, args.concurrency))
            wall, used = time.perf_counter() - t0, cpu() - c0
            print(f"  {name:<15} {used / args.n * 1e6:8.1f} µs CPU per request   wall {wall:5.2f} s"
                  f"   {args.n / wall:7.0f} requests/s")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    main()
