"""How a sweep scales with Ray worker nodes, beside the local executor, and what Ray's start-up costs.

Each worker node brings a fixed capacity, as a GPU node serving a model replica does: a local
model (an adapter that ``needs_gpu``, run by Ray in one actor per node) that forwards to its own test
server (``evalkit.testing.server``, started inside the actor) answering after ``--latency`` seconds
(default 50 ms), with at most ``--capacity`` requests in flight (default 32). A node can do at most
capacity / latency samples per second. The sweep (2 tasks × ``--samples``, one model) runs on Ray
clusters of 1, 2 and 4 worker nodes on this machine (``ray.cluster_utils.Cluster``, a head with no
CPUs; one replica of the model per node), and on the local executor (one process, one server: the
capacity of one node). Prints wall time, samples per second, the ideal time, scaling efficiency
T1 / (n · Tn), and Ray's start-up: the cluster, the first sweep (actors start, the model "loads"),
and a one-sample sweep on a warm cluster.

    .venv/bin/python benchmarks/sweep_scaling.py [--samples 800] [--capacity 32] [--latency 0.05] [--nodes 1,2,4]

Needs ``evalkit[ray]``. The nodes share this machine's cores: the figures say how much of the ideal
survives the CPU cost of the driver, the actors and their servers on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalkit.executors import run_sweep  # noqa: E402
from evalkit.runner import RunConfig  # noqa: E402
from evalkit.sweep import ModelSpec, Sweep, SweepTask, resolve_task  # noqa: E402
from evalkit.tasks import include  # noqa: E402

# A model served on its node: the adapter starts a test server in its own process on first use and
# forwards every request to it over HTTP (from an --include folder, so Ray ships it by value).
PLUGIN = '''
from evalkit.adapters import adapters, make_adapter
from evalkit.adapters.base import Adapter
from evalkit.testing.server import ModelServer


class NodeServed(Adapter):
    scheme = "nodeserved"
    needs_gpu = True
    cacheable = False
    options_doc = {"latency": "seconds per answer"}

    def __init__(self, target="", **options):
        super().__init__(target, **options)
        self._inner = None

    async def generate(self, request):
        if self._inner is None:
            server = ModelServer("故选A", latency=float(self.options.get("latency", 0.05)), record_bodies=False,
                                 lifetime_s=3600).start()
            self._inner = make_adapter("openai:" + self.target, {"base_url": server.url, "max_concurrency": "4096"})
        return await self._inner.generate(request)


adapters.add("nodeserved", NodeServed, replace=True)
'''


def write_task(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"q{i:05d}", "input": f"Question {i}?", "choices": ["a", "b", "c", "d"],
                                 "target": "ABCD"[i % 4]}) + "\n")
    return path


def sweep(tasks: list[Path], out: Path, executor: str, capacity: int, latency: float, replicas: int,
          shard: int) -> Sweep:
    model = ModelSpec("nodeserved:m", {"latency": str(latency)}, gpus=0, replicas=replicas,
                      resources={"model_slot": 1})
    cfg = RunConfig(concurrency=capacity, use_cache=False, progress=False, max_retries=0)
    return Sweep(tasks=[SweepTask(resolve_task(str(t))) for t in tasks], models=[model], config=cfg, output=out,
                 executor=executor, shard_size=shard)


def timed(spec: Sweep) -> float:
    t0 = time.perf_counter()
    outcome = run_sweep(spec, progress=False)
    wall = time.perf_counter() - t0
    assert outcome.ok, [r.failures for r in outcome.runs]
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=800, help="samples per task (2 tasks, one model)")
    ap.add_argument("--capacity", type=int, default=32, help="requests in flight per node")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    ap.add_argument("--nodes", default="1,2,4")
    ap.add_argument("--shard", type=int, default=100, help="samples per unit")
    args = ap.parse_args()
    try:
        import ray
        from ray.cluster_utils import Cluster
    except ImportError:
        print("sweep_scaling: needs Ray (pip install 'evalkit[ray]'); skipped")
        return

    counts = [int(n) for n in args.nodes.split(",")]
    total = 2 * args.samples
    rows: list[tuple[str, int, float]] = []
    startup: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "plug").mkdir()
        (root / "plug" / "node_served.py").write_text(PLUGIN)
        include(root / "plug")
        tasks = [write_task(root / f"t{k}.jsonl", args.samples) for k in range(2)]
        tiny = [write_task(root / "tiny.jsonl", 1)]

        def run(name: str, executor: str, replicas: int, which: list[Path] = tasks) -> float:
            return timed(sweep(which, root / name, executor, args.capacity, args.latency, replicas, args.shard))

        run("warm-local", "local", 1, tiny)
        rows.append(("local executor (one process)", 1, run("local", "local", 1)))
        for n in counts:
            t0 = time.perf_counter()
            cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
            for _ in range(n):
                cluster.add_node(num_cpus=1, resources={"model_slot": 1})
            ray.init(address=cluster.address, logging_level="error", log_to_driver=False)
            cluster.wait_for_nodes()
            up = time.perf_counter() - t0
            try:
                first = run(f"first{n}", "ray", n, tiny)
                warm = run(f"warm{n}", "ray", n, tiny)
                if n == counts[0]:
                    startup[f"cluster of {n} node(s) up"] = up
                    startup["first one-sample sweep (actors start)"] = first
                    startup["one-sample sweep, warm cluster"] = warm
                rows.append((f"ray, {n} worker node(s)", n, run(f"ray{n}", "ray", n)))
            finally:
                ray.shutdown()
                cluster.shutdown()

    rate = args.capacity / args.latency
    print(f"sweep: 2 tasks × {args.samples} samples = {total}, one model with one replica per node; node capacity "
          f"{args.capacity} in flight at {args.latency * 1000:.0f} ms = {rate:.0f} samples/s; units of {args.shard}")
    print(f"{'executor':32} {'wall s':>7} {'samples/s':>10} {'ideal s':>8} {'efficiency':>11}")
    base = next(((n, w) for label, n, w in rows if label.startswith("ray")), None)
    for label, n, wall in rows:
        eff = f"{base[1] * base[0] / (n * wall):.0%}" if label.startswith("ray") and base else ""
        print(f"{label:32} {wall:7.2f} {total / wall:10.0f} {total / (rate * n):8.2f} {eff:>11}")
    print("ray start-up (each sweep also pays 'one-sample sweep, warm cluster'):")
    for label, secs in startup.items():
        print(f"  {label:42} {secs:6.2f} s")


if __name__ == "__main__":
    main()
