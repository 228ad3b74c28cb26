"""Throughput of a whole ``evalkit run`` against a local OpenAI-compatible server, beside a minimal client.

For each server latency (default 50 ms and 0 ms) it starts ``python -m evalkit.testing.server`` in
its own process, then runs, each as a whole process (start-up included), ``--repeat`` times
interleaved, and prints the medians:

* ``reference``: a minimal plain-asyncio client (this file, ``--reference``) sending the same N chat
  requests over C keep-alive connections and reading the answers, nothing else — the bare client;
* ``default``: ``evalkit run --task mcq.jsonl --model openai:bench --base-url URL --concurrency C
  --no-cache`` as users type it, which writes the HTML report at the end;
* ``no-report``: the same with ``--no-report``.

It prints wall time, CPU time (user+system of that process and its children), peak memory (max RSS
of the process tree), samples per second, the server's most requests in flight, each command over
the reference, and the issue's goals (50 ms: default ≤ 1.3× the reference, peak ≤ 100 MB; 0 ms:
≤ 2.5×). It also times the start-up of ``evalkit run`` on one sample (goal ≤ 0.3 s).

``--compare DIR`` also runs the evalkit of another checkout (e.g. an export of main before a change)
in the same rounds, labelled ``base:``, so before and after are measured side by side on one machine.

    .venv/bin/python benchmarks/throughput.py [--n 2000] [--concurrency 64] [--latency 0.05 --latency 0]
        [--repeat 3] [--compare /tmp/base-checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent
PY = sys.executable
CLI = "import sys; from evalkit.cli import main; sys.argv[0] = 'evalkit'; main()"


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

def measure(cmd: list[str], src: Path | None = None) -> dict[str, float]:
    """Run ``cmd`` to completion; wall time, CPU (with its children) and max RSS of that process tree.
    ``src``: the checkout whose ``evalkit`` package the command imports (first on PYTHONPATH, and the
    working folder: ``python -c`` puts the working folder before PYTHONPATH)."""
    env = {**os.environ}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=src)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, "-m", "evalkit.testing.server", "--latency", str(latency),
                             "--answer", "The answer is A.", "--lifetime", "3600"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"the local server did not start: {line!r}")
    return proc, line.split()[1]


def stop_server(server: subprocess.Popen[str]) -> None:
    if server.stdin:
        server.stdin.close()
    server.wait(10)


def write_task(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"q{i:06d}", "input": f"Question {i}: which of these is right?",
                                 "choices": ["alpha", "beta", "gamma", "delta"], "target": "ABCD"[i % 4]}) + "\n")


def evalkit_cmd(task: Path, url: str, concurrency: int, out: Path, *, report: bool) -> list[str]:
    return [PY, "-c", CLI, "run", "--task", str(task), "--model", "openai:bench", "--base-url", url,
            "--concurrency", str(concurrency), "--output", str(out), "--no-cache", "--quiet",
            *([] if report else ["--no-report"])]


def median(ms: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(m[k] for m in ms) for k in ms[0]}


def row(name: str, m: dict[str, float], n: int, ref: dict[str, float], in_flight: int) -> str:
    return (f"  {name:<18} wall {m['wall_s']:6.2f} s ({m['wall_s'] / ref['wall_s']:4.2f}x)   "
            f"cpu {m['cpu_s']:6.2f} s ({m['cpu_s'] / ref['cpu_s']:4.2f}x)   peak {m['rss_mb']:6.1f} MB   "
            f"{n / m['wall_s']:6.0f} samples/s   max in flight {in_flight:3d}")


def bench(latency: float, n: int, concurrency: int, repeat: int, tmp: Path, trees: dict[str, Path]) -> None:
    from evalkit.testing.server import fetch_stats

    server, url = start_server(latency)
    task = tmp / "mcq.jsonl"
    write_task(task, n)
    names = ["reference"] + [f"{label}{kind}" for label in trees for kind in ("default", "no-report")]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    in_flight: dict[str, int] = dict.fromkeys(names, 0)
    try:
        for rep in range(repeat):
            for name in names:  # interleaved: every command once per round
                if name == "reference":
                    cmd, src = [PY, str(HERE), "--reference", url, "--task", str(task),
                                "--concurrency", str(concurrency)], None
                else:
                    label, kind = (name.split(":", 1) if ":" in name else ("", name))
                    src = trees[f"{label}:" if label else ""]
                    out = tmp / f"run-{latency}-{name.replace(':', '_')}-{rep}"
                    cmd = evalkit_cmd(task, url, concurrency, out, report=kind == "default")
                runs[name].append(measure(cmd, src))
                in_flight[name] = max(in_flight[name], fetch_stats(url, reset=True)["max_in_flight"])
                if name != "reference":
                    summary = json.loads((out / "summary.json").read_text())
                    if summary["counts"]["n"] != n or summary["counts"]["error"]:
                        raise SystemExit(f"{name}: graded {summary['counts']} — not the same work")
                    if kind == "default" and not (out / "report.html").exists():
                        raise SystemExit(f"{name}: the default command wrote no report.html")
    finally:
        stop_server(server)
    med = {name: median(ms) for name, ms in runs.items()}
    ref = med["reference"]
    print(f"latency {latency * 1000:.0f} ms, concurrency {concurrency}, N = {n}, medians of {repeat}")
    for name in names:
        print(row(name, med[name], n, ref, in_flight[name]))
    for label in trees:
        default = med[f"{label}default"]
        ratio = default["wall_s"] / ref["wall_s"]
        if latency > 0:
            print(f"  goals ({label or 'this tree:'}): default command <= 1.3x the bare client: "
                  f"{'met' if ratio <= 1.3 else 'MISSED'} ({ratio:.2f}x); peak <= 100 MB: "
                  f"{'met' if default['rss_mb'] <= 100 else 'MISSED'} ({default['rss_mb']:.0f} MB)")
        else:
            print(f"  goal ({label or 'this tree:'}): default command <= 2.5x the bare client: "
                  f"{'met' if ratio <= 2.5 else 'MISSED'} ({ratio:.2f}x)")


def startup(tmp: Path, repeat: int, trees: dict[str, Path]) -> None:
    server, url = start_server(0.0)
    task = tmp / "one.jsonl"
    write_task(task, 1)
    try:
        for label, src in trees.items():
            for report in (True, False):
                ms = [measure(evalkit_cmd(task, url, 1, tmp / f"one-{label.strip(':')}-{report}-{i}", report=report), src)
                      for i in range(max(3, repeat))]
                med = median(ms)
                kind = "default" if report else "no-report"
                print(f"start-up: {label}{kind:<9} run on 1 sample, whole process: {med['wall_s']:.3f} s wall, "
                      f"{med['cpu_s']:.3f} s cpu, {med['rss_mb']:.1f} MB peak (median of {len(ms)}); "
                      f"goal <= 0.3 s: {'met' if med['wall_s'] <= 0.3 else 'MISSED'}")
    finally:
        stop_server(server)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency", type=float, action="append", help="server latency in seconds (repeatable)")
    p.add_argument("--repeat", type=int, default=3, help="rounds; medians are printed")
    p.add_argument("--compare", type=Path, metavar="DIR", help="also run the evalkit of this checkout (base:)")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    p.add_argument("--reference", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--task", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.reference:
        correct = asyncio.run(_reference(args.reference, args.task, args.concurrency))
        print(correct)
        return
    trees = {"": REPO}
    if args.compare:
        trees["base:"] = args.compare.resolve()
    for label, src in trees.items():  # each command must import its own tree's evalkit
        where = subprocess.run([PY, "-c", "import evalkit; print(evalkit.__file__)"], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(src)}, cwd=src).stdout.strip()
        if not Path(where).resolve().is_relative_to(src):
            raise SystemExit(f"{label or 'this tree'}: python imports evalkit from {where}, not from {src}")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_startup:
            startup(Path(tmp), args.repeat, trees)
        for latency in args.latency or [0.05, 0.0]:
            bench(latency, args.n, args.concurrency, args.repeat, Path(tmp), trees)
    load = os.getloadavg()
    print(f"machine after: load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
