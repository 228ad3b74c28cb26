"""Sweeps on a multi-node Ray cluster on this machine (skipped when ray is not installed).

One small cluster serves the module: a head with no CPUs (it only holds the driver and the endpoint
permit actors) and three worker nodes of one CPU each, each with one ``fake_gpu`` (a custom resource
standing in for a GPU, so the GPU-actor path runs on a machine without one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from sweep_helpers import answer, kill_when_written, lines, sweep_scores, write_tasks

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from evalkit.executors import run_sweep  # noqa: E402
from evalkit.runner import RunConfig  # noqa: E402
from evalkit.sweep import ModelSpec, Sweep, SweepTask, load_sweep, resolve_task  # noqa: E402
from evalkit.tasks import include  # noqa: E402
from evalkit.testing.server import Fault, ModelServer  # noqa: E402

pytestmark = pytest.mark.ray

# A local model's adapter, registered from an --include folder as a user's plug-in would be: it needs a
# GPU, so on Ray it is served by one actor per model; it reports where it ran and how often it loaded.
PLUGIN = '''
import asyncio, os, re
from evalkit.adapters import adapters
from evalkit.adapters.base import Adapter
from evalkit.types import Response

class FakeLocalModel(Adapter):
    scheme = "fakegpu"
    needs_gpu = True
    cacheable = False

    def __init__(self, target="", **options):
        super().__init__(target, **options)
        self.loads = 0

    async def generate(self, request):
        if not self.loads:
            self.loads += 1  # a real local model loads its weights here, once
        await asyncio.sleep(0.002)
        i = int(re.search(r"Question (\\d+)", request.messages[-1].text).group(1))
        pick = i % 4 if (i + sum(map(ord, self.target))) % 3 else (i + 1) % 4
        return Response(text="故选" + "ABCD"[pick], reasoning=f"pid {os.getpid()} model {id(self)} loads {self.loads}")

adapters.add("fakegpu", FakeLocalModel, replace=True)
'''


# On a busy two-core machine a live node can miss a few heartbeats; a killed one is mostly seen at once (its
# connections break), and otherwise after 20 missed checks of a second each.
PATIENT = {"health_check_period_ms": 1000, "health_check_timeout_ms": 5000, "health_check_failure_threshold": 20}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    plug = tmp_path_factory.mktemp("plug")
    (plug / "fake_local_model.py").write_text(PLUGIN)
    include(plug)
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                       "_system_config": PATIENT})
    for _ in range(3):
        c.add_node(num_cpus=1, resources={"fake_gpu": 1})
    ray.init(address=c.address, logging_level="warning")
    c.wait_for_nodes()
    yield c
    ray.shutdown()
    c.shutdown()


def _sweep(out: Path, tasks: list[Path], models: list[ModelSpec], executor: str, **kw: Any) -> Sweep:
    config = RunConfig(use_cache=False, progress=False, concurrency=int(kw.pop("concurrency", 8)))
    return Sweep(tasks=[SweepTask(resolve_task(str(t))) for t in tasks], models=models, config=config, output=out,
                 executor=executor, **kw)


GPU_MODEL = ModelSpec("fakegpu:ckpt-7", gpus=0, resources={"fake_gpu": 1})


def test_three_tasks_by_four_models_score_as_on_the_local_executor(cluster: Any, tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 30, "beta": 25, "gamma": 20})
    with ModelServer(answer) as one, ModelServer(answer) as two:
        models = [ModelSpec("openai:m1", {"base_url": one.url}), ModelSpec("openai:m2", {"base_url": one.url}),
                  ModelSpec("openai:m3", {"base_url": two.url}), GPU_MODEL]
        local = run_sweep(_sweep(tmp_path / "local", tasks, models, "local", shard_size=10), progress=False)
        remote = run_sweep(_sweep(tmp_path / "ray", tasks, models, "ray", shard_size=10), progress=False)
    assert local.ok and remote.ok
    assert remote.stats.units_done == 4 * (3 + 3 + 2) and remote.duplicates == 0
    assert len(remote.nodes) >= 2, "units ran on several nodes"
    on_ray = sweep_scores(tmp_path / "ray")
    assert on_ray == sweep_scores(tmp_path / "local") and len(on_ray) == 12
    assert sum(len(s) for s in on_ray.values()) == 300
    for run in remote.runs:
        assert run.summary is not None and run.summary["metrics"] == local.runs[run.index].summary["metrics"]
    # the local model was loaded once, in one actor process, and served all three tasks
    served = {line["reasoning"] for folder in (tmp_path / "ray").glob("*fakegpu*") for line in lines(folder)}
    assert len({r.rsplit(" loads", 1)[0] for r in served}) == 1 and all(r.endswith("loads 1") for r in served)
    assert len(list((tmp_path / "ray").glob("*fakegpu*"))) == 3


def test_an_endpoint_limit_holds_across_nodes(cluster: Any, tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 96, "beta": 96})
    with ModelServer(answer, latency=0.05) as srv:
        models = [ModelSpec("openai:a", {"base_url": srv.url}), ModelSpec("openai:b", {"base_url": srv.url})]
        # every unit alone would send 16 at once; three nodes run three units side by side
        spec = _sweep(tmp_path / "ray", tasks, models, "ray", shard_size=32, concurrency=16)
        outcome = run_sweep(spec, progress=False)
        assert outcome.ok and srv.requests == 384
        assert srv.max_in_flight <= 16
    assert len(outcome.nodes) == 3


def _running_a_unit(node: Any) -> bool:
    """Whether a worker of this node is inside a unit (Ray titles a worker process after its task)."""
    raylet = node.all_processes["raylet"][0].process.pid
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            title = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == raylet and b"ray::run_unit" in title:
            return True
    return False


def test_a_node_killed_mid_sweep_loses_and_repeats_nothing(cluster: Any, tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 60, "beta": 60})
    doomed = cluster.add_node(num_cpus=1, resources={"fake_gpu": 1})
    cluster.wait_for_nodes()
    with ModelServer(answer, latency=0.05) as srv:
        models = [ModelSpec("openai:a", {"base_url": srv.url}), ModelSpec("openai:b", {"base_url": srv.url}),
                  GPU_MODEL]
        whole = run_sweep(_sweep(tmp_path / "whole", tasks, models, "local", shard_size=10), progress=False)
        spec = _sweep(tmp_path / "ray", tasks, models, "ray", shard_size=10, concurrency=4)
        box: dict[str, Any] = {}
        sweeper = threading.Thread(target=lambda: box.update(outcome=run_sweep(spec, progress=False)))
        sweeper.start()
        deadline = time.time() + 60
        while time.time() < deadline and not _running_a_unit(doomed):
            time.sleep(0.01)
        time.sleep(0.05)  # inside a unit: ten samples, four at a time, 50 ms each
        doomed.kill_all_processes(check_alive=False, allow_graceful=False, wait=True)  # the node dies
        cluster.worker_nodes.discard(doomed)
        sweeper.join(120)
    assert not sweeper.is_alive(), "the sweep did not finish after the node died"
    outcome = box["outcome"]
    assert whole.ok and outcome.ok, [r.failures for r in outcome.runs]
    assert outcome.stats.units_retried >= 1, "the killed node was running a unit"
    got = sweep_scores(tmp_path / "ray")  # asserts that no id is written twice
    assert got == sweep_scores(tmp_path / "whole")
    assert sum(len(s) for s in got.values()) == 360


def test_an_unusable_endpoint_stops_its_units_and_leaves_its_runs_to_resume(cluster: Any, tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 40})
    refuse = Fault(kind="status", status=401)
    with ModelServer(answer) as good, ModelServer(answer, faults=[refuse]) as locked:
        models = [ModelSpec("openai:ok", {"base_url": good.url}), ModelSpec("openai:locked", {"base_url": locked.url})]
        outcome = run_sweep(_sweep(tmp_path / "ray", tasks, models, "ray", shard_size=5, concurrency=2), progress=False)
        assert locked.requests < 40, "the locked endpoint's remaining samples were not sent"
    done, stopped = outcome.runs
    assert done.summary is not None and stopped.summary is None
    assert all("refused the API key" in reason for reason in stopped.failures), stopped.failures
    record = json.loads((stopped.path / "run.json").read_text())
    assert record["status"] == "unfinished" and "refused the API key" in record["stop_reason"]


def test_a_ray_driver_killed_with_sigkill_resumes_like_evalkit_run(cluster: Any, tmp_path: Path) -> None:
    write_tasks(tmp_path, {"alpha": 120, "beta": 120})
    with ModelServer(answer, latency=0.02) as srv:
        sweep_file = tmp_path / "s.yaml"
        sweep_file.write_text(f"tasks: [alpha.jsonl, beta.jsonl]\nmodels:\n"
                              f"  - {{uri: 'openai:a', options: {{base_url: '{srv.url}'}}}}\n"
                              f"  - {{uri: 'openai:b', options: {{base_url: '{srv.url}'}}}}\n"
                              "concurrency: 4\nshard_size: 10\nrun: {cache: false}\n")
        whole = run_sweep(replace(load_sweep(sweep_file), output=tmp_path / "whole"), progress=False)
        cmd = [sys.executable, "-m", "evalkit.cli", "sweep", str(sweep_file), "--executor", "ray",
               "--address", cluster.address, "-o", "killed", "-q", "--no-report"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        driver = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert 100 <= kill_when_written(driver, tmp_path / "killed", 100) < 480, "the driver must be killed halfway"
        again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
        assert again.returncode == 0, again.stderr[-2000:]
    assert whole.ok
    resumed = sweep_scores(tmp_path / "killed")  # asserts that no id is written twice
    assert resumed == sweep_scores(tmp_path / "whole") and sum(len(s) for s in resumed.values()) == 480
