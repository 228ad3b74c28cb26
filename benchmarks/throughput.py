"""Throughput of a whole ``evalkit run`` against a local OpenAI-compatible server, beside a minimal client.

For each server latency (default 50 ms and 0 ms) it starts ``python -m evalkit.testing.server`` in
its own process, then runs, each as a whole process (start-up included):

* ``evalkit run --task mcq.jsonl --model openai:bench --base-url URL --concurrency C --no-cache
  --no-report`` on N generated multiple-choice samples (rendering, requests, grading, results);
* the reference: a minimal plain-asyncio client (this file, ``--reference``) sending the same
  N chat requests over C keep-alive connections and reading the answers, nothing else.

It prints wall time, CPU time (user+system of that process and its children), peak memory
(max RSS), samples per second, the server's most requests in flight, and evalkit / reference.
It also times the start-up of ``evalkit run`` on one sample.

    .venv/bin/python benchmarks/throughput.py [--n 2000] [--concurrency 64] [--latency 0.05 --latency 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
PY = sys.executable
EVALKIT = str(Path(PY).with_name("evalkit")) if Path(PY).with_name("evalkit").exists() else "evalkit"


# ----- the reference: a minimal asyncio client ---------------------------------------------------

async def _reference(url: str, task: Path, concurrency: int) -> int:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1] + "/chat/completions"
    rows = [json.loads(line) for line in task.read_text().splitlines()]
    queue = list(reversed(rows))
    correct = 0

    async def worker() -> None:
        nonlocal correct
        reader, writer = await asyncio.open_connection(host, int(port))
        while queue:
            row = queue.pop()
            body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": row["input"]}]}).encode()
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            answer = json.loads(await reader.readexactly(length))["choices"][0]["message"]["content"]
            correct += answer.rstrip(".").endswith(row["target"])
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return correct


# ----- measuring whole processes -------------------------------------------------------------------

def measure(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd`` to completion; wall time, CPU (with its children) and max RSS of that process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, "-m", "evalkit.testing.server", "--latency", str(latency),
                             "--answer", "The answer is A.", "--lifetime", "900"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"the local server did not start: {line!r}")
    return proc, line.split()[1]


def write_task(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"q{i:06d}", "input": f"Question {i}: which of these is right?",
                                 "choices": ["alpha", "beta", "gamma", "delta"], "target": "ABCD"[i % 4]}) + "\n")


def evalkit_cmd(task: Path, url: str, concurrency: int, out: Path) -> list[str]:
    return [EVALKIT, "run", "--task", str(task), "--model", "openai:bench", "--base-url", url,
            "--concurrency", str(concurrency), "--output", str(out), "--no-cache", "--no-report", "--quiet"]


def row(name: str, m: dict[str, float], n: int, stats: dict[str, int]) -> str:
    return (f"  {name:<10} wall {m['wall_s']:6.2f} s   cpu {m['cpu_s']:6.2f} s   peak {m['rss_mb']:6.1f} MB   "
            f"{n / m['wall_s']:7.0f} samples/s   server max in flight {stats['max_in_flight']:3d}"
            f"   requests {stats['requests']}")


def bench(latency: float, n: int, concurrency: int, tmp: Path) -> None:
    from evalkit.testing.server import fetch_stats

    server, url = start_server(latency)
    try:
        task = tmp / "mcq.jsonl"
        write_task(task, n)
        ref = measure([PY, str(HERE), "--reference", url, "--task", str(task), "--concurrency", str(concurrency)])
        ref_stats = fetch_stats(url, reset=True)
        ev = measure(evalkit_cmd(task, url, concurrency, tmp / f"run-{latency}"))
        ev_stats = fetch_stats(url, reset=True)
        summary = json.loads((tmp / f"run-{latency}" / "summary.json").read_text())
        print(f"latency {latency * 1000:.0f} ms, concurrency {concurrency}, N = {n}")
        print(row("reference", ref, n, ref_stats))
        print(row("evalkit", ev, n, ev_stats))
        ratio = ev["wall_s"] / ref["wall_s"]
        print(f"  evalkit / reference: wall {ratio:.2f}x   cpu {ev['cpu_s'] / ref['cpu_s']:.2f}x"
              f"   (evalkit graded {summary['counts']['n']}, errors {summary['counts']['error']},"
              f" accuracy {summary['metrics'].get('accuracy')})")
        if latency > 0:
            print(f"  goals: wall <= 1.5x reference: {'met' if ratio <= 1.5 else 'MISSED'};"
                  f" peak memory < 150 MB: {'met' if ev['rss_mb'] < 150 else 'MISSED'}")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)


def startup(tmp: Path) -> None:
    server, url = start_server(0.0)
    try:
        task = tmp / "one.jsonl"
        write_task(task, 1)
        best = min((measure(evalkit_cmd(task, url, 1, tmp / f"one-{i}")) for i in range(3)),
                   key=lambda m: m["wall_s"])
        print(f"start-up: evalkit run on 1 sample, whole process: {best['wall_s']:.3f} s wall (best of 3), "
              f"{best['rss_mb']:.1f} MB peak; goal < 0.5 s: {'met' if best['wall_s'] < 0.5 else 'MISSED'}")
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency", type=float, action="append", help="server latency in seconds (repeatable)")
    p.add_argument("--reference", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--task", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.reference:
        correct = asyncio.run(_reference(args.reference, args.task, args.concurrency))
        print(correct)
        return
    with tempfile.TemporaryDirectory() as tmp:
        startup(Path(tmp))
        for latency in args.latency or [0.05, 0.0]:
            bench(latency, args.n, args.concurrency, Path(tmp))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
