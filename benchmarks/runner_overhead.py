"""How much the runner itself costs: 10,000 samples through a no-op adapter, end to end.

Everything but the model is included: rendering, the grading pool (a forked process), writing
samples.jsonl, the summary. Prints samples per second and CPU per sample (this process plus the
grading worker), and beside it a named reference in the same run: a bare asyncio loop that only
awaits the same no-op adapter and appends the same JSON lines (no grading), i.e. the floor.

    .venv/bin/python benchmarks/runner_overhead.py [--n 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalkit.adapters.base import Adapter  # noqa: E402
from evalkit.runner import RunConfig, run_sync  # noqa: E402
from evalkit.tasks import get_task  # noqa: E402
from evalkit.types import Request, Response  # noqa: E402


class NoOp(Adapter):
    scheme = "noop"
    cacheable = False

    async def generate(self, request: Request) -> Response:
        return Response(text="Thinking done. 故选A")


def cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def write_samples(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"q{i}", "input": f"Question {i}?", "choices": ["a", "b", "c", "d"],
                                 "target": "ABCD"[i % 4]}) + "\n")


async def bare_loop(task_path: Path, out: Path) -> None:
    adapter = NoOp()
    samples = [json.loads(line) for line in task_path.read_text().splitlines()]
    with out.open("w") as fh:
        for s in samples:
            resp = await adapter.generate(Request(()))
            fh.write(json.dumps({"id": s["id"], "response": resp.text}) + "\n")
            fh.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        task_path = root / "samples.jsonl"
        write_samples(task_path, args.n)

        c0, t0 = cpu(), time.perf_counter()
        asyncio.run(bare_loop(task_path, root / "bare.jsonl"))
        ref_wall, ref_cpu = time.perf_counter() - t0, cpu() - c0

        task = get_task(str(task_path))
        c0, t0 = cpu(), time.perf_counter()
        out = run_sync(task, NoOp(), RunConfig(output=root / "run", progress=False, use_cache=False, concurrency=64))
        wall, used = time.perf_counter() - t0, cpu() - c0
        assert out.summary["counts"]["n"] == args.n

    print(f"samples                     {args.n}")
    print(f"evalkit runner: wall        {wall:8.3f} s   {args.n / wall:9.0f} samples/s")
    print(f"evalkit runner: CPU/sample  {used / args.n * 1e6:8.1f} µs (incl. grading worker)")
    print(f"bare asyncio loop: wall     {ref_wall:8.3f} s   {args.n / ref_wall:9.0f} samples/s")
    print(f"bare asyncio loop: CPU/sam. {ref_cpu / args.n * 1e6:8.1f} µs")
    print(f"ratio runner / bare (CPU)   {used / max(ref_cpu, 1e-9):8.1f} x")


if __name__ == "__main__":
    main()
