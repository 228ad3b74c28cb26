"""Sweeps on the local executor: run folders like `evalkit run`, one budget per endpoint, resume, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from sweep_helpers import answer, kill_when_written, scores, sweep_scores, write_tasks

from evalkit.adapters import make_adapter
from evalkit.executors import run_sweep
from evalkit.runner import RunConfig, run_sync
from evalkit.sweep import ModelSpec, Sweep, SweepError, SweepTask, load_sweep, plan, resolve_task
from evalkit.testing.server import ModelServer


def _sweep(tmp_path: Path, tasks: list[Path], models: list[ModelSpec], **kw: object) -> Sweep:
    config = RunConfig(use_cache=False, progress=False, concurrency=int(kw.pop("concurrency", 8)))  # type: ignore[call-overload]
    return Sweep(tasks=[SweepTask(resolve_task(str(t))) for t in tasks], models=models, config=config,
                 output=tmp_path / "sweep", **kw)  # type: ignore[arg-type]


def test_a_sweep_writes_the_run_folders_evalkit_run_writes(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 30, "beta": 17, "gamma": 12})
    with ModelServer(answer, latency=0.002) as srv:
        models = [ModelSpec(f"openai:m{i}", {"base_url": srv.url}) for i in range(2)]
        outcome = run_sweep(_sweep(tmp_path, tasks, models, shard_size=7), progress=False)
        assert outcome.ok and outcome.stats.units_done == 2 * (5 + 3 + 2)
        swept = sweep_scores(tmp_path / "sweep")
        assert sorted(swept) == sorted(f"{t.stem}__openai_m{i}" for t in tasks for i in range(2))
        for t in tasks:
            for m in models:
                single = run_sync(resolve_task(str(t)), make_adapter(m.uri, m.options),
                                  RunConfig(output=tmp_path / "single" / f"{t.stem}{m.uri}", use_cache=False,
                                            progress=False))
                folder = tmp_path / "sweep" / f"{t.stem}__{m.uri.replace(':', '_')}"
                assert swept[folder.name] == scores(single.path)
                mine = json.loads((folder / "summary.json").read_text())
                assert mine["metrics"] == single.summary["metrics"] and mine["counts"] == single.summary["counts"]
                record = json.loads((folder / "run.json").read_text())
                assert record["status"] == "finished" and record["task"]["name"] == t.stem
                assert record["adapter"]["uri"] == m.uri
    values = {name: sum(v for v, _ in s.values()) for name, s in swept.items()}
    assert len(set(values.values())) > 1, "the scripted answers differ by model"


def test_every_unit_shares_one_budget_per_endpoint(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 40, "beta": 40})
    with ModelServer(answer, latency=0.02) as shared, ModelServer(answer, latency=0.02) as other:
        models = [ModelSpec("openai:a", {"base_url": shared.url}), ModelSpec("openai:b", {"base_url": shared.url}),
                  ModelSpec("openai:c", {"base_url": other.url})]
        spec = _sweep(tmp_path, tasks, models, shard_size=5, concurrency=6, endpoints={other.url: 3})
        assert run_sweep(spec, progress=False).ok
        # four runs (2 tasks × 2 models) of eight units each send to `shared`, never more than 6 at once
        assert shared.requests == 160 and shared.max_in_flight == 6
        assert other.requests == 80 and other.max_in_flight == 3


def test_rerunning_a_sweep_runs_only_what_is_missing(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 20, "beta": 10})
    with ModelServer(answer) as srv:
        models = [ModelSpec("openai:a", {"base_url": srv.url}), ModelSpec("openai:b", {"base_url": srv.url})]
        assert run_sweep(_sweep(tmp_path, tasks, models, shard_size=4), progress=False).ok
        first = sweep_scores(tmp_path / "sweep")
        assert srv.requests == 60
        assert run_sweep(_sweep(tmp_path, tasks, models, shard_size=4), progress=False).ok
        assert srv.requests == 60, "a finished sweep sends nothing"
        cut = tmp_path / "sweep" / "alpha__openai_a" / "samples.jsonl"
        kept = cut.read_text().splitlines()[:13]
        cut.write_text("\n".join(kept) + "\n" + kept[0][:25])  # 7 samples lost and a torn last line
        (tmp_path / "sweep" / "beta__openai_b" / "samples.jsonl").unlink()
        outcome = run_sweep(_sweep(tmp_path, tasks, models, shard_size=4), progress=False)
        assert outcome.ok and outcome.stats.samples_total == 7 + 10
        assert srv.requests == 60 + 17
    assert sweep_scores(tmp_path / "sweep") == first


def test_seeds_make_one_run_folder_each_and_reach_the_model(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 5})
    with ModelServer(answer) as srv:
        spec = _sweep(tmp_path, tasks, [ModelSpec("openai:a", {"base_url": srv.url})], seeds=[7, 8])
        assert run_sweep(spec, progress=False).ok
        assert sorted(b["seed"] for b in srv.bodies) == [7] * 5 + [8] * 5
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == ["alpha__openai_a__seed7", "alpha__openai_a__seed8"]
    record = json.loads((tmp_path / "sweep" / "alpha__openai_a__seed8" / "run.json").read_text())
    assert record["config"]["seed"] == 8


def test_dry_run_plans_without_writing(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 25})
    ledger = plan(_sweep(tmp_path, tasks, [ModelSpec("reference"), ModelSpec("random:1")], shard_size=10), dry_run=True)
    assert [len(u.samples) for u in ledger.units] == [10, 10, 5, 10, 10, 5]
    assert not (tmp_path / "sweep").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_sweep_file_mistakes_are_one_sentence_naming_the_field(tmp_path: Path) -> None:
    write_tasks(tmp_path, {"alpha": 3})
    cases = {
        "tasks: [alpha.jsonl]\nmodels: [reference]\nmodle: x\n": "field 'modle' is not allowed here",
        "tasks: [alpha.jsonl]\n": "field 'models' must be a non-empty list",
        "tasks: [alpha.jsonl]\nmodels: [{options: {}}]\n": "field 'models[0].uri' is required",
        "tasks: [{name: alpha.jsonl, limt: 2}]\nmodels: [reference]\n": "field 'tasks[0].limt' is not allowed",
        "tasks: [alpha.jsonl]\nmodels: [reference]\nexecutor: slurm\n": "field 'executor' must be one of local, ray",
        "tasks: [alpha.jsonl]\nmodels: [reference]\nshard_size: 0\n": "field 'shard_size' must be an integer of at least 1",
        "tasks: [alpha.jsonl]\nmodels: [reference]\nrun: {images: all}\n": "field 'run.images' must be send, skip or text",
        "tasks: [alpha.jsonl]\nmodels: [reference]\nseeds: [1]\nrepeats: 2\n": "give seeds or repeats, not both",
        "tasks: [nosuch]\nmodels: [reference]\n": "--task 'nosuch'",
        "tasks: [alpha.jsonl\n": "not valid YAML",
    }
    for text, needle in cases.items():
        path = _write(tmp_path / "s.yaml", text)
        with pytest.raises(SweepError if "nosuch" not in text else ValueError, match=None) as info:
            load_sweep(path)
        message = str(info.value)
        assert needle in message, (text, message)
        assert "\n" not in message


def test_sweep_file_settings(tmp_path: Path) -> None:
    write_tasks(tmp_path, {"alpha": 3})
    path = _write(tmp_path / "nightly.yaml", """
tasks: [alpha.jsonl, {name: alpha.jsonl, limit: 2}]
models:
  - reference
  - {uri: "openai:big", options: {base_url: "http://127.0.0.1:9/v1"}, gpus: 0, replicas: 2, resources: {fake_gpu: 1}}
concurrency: 12
endpoints: {"http://127.0.0.1:9/v1": 4}
repeats: 2
run: {max_retries: 1, timeout: 5, cache: false}
generation: {max_tokens: 64}
""")
    spec = load_sweep(path)
    assert spec.name == "nightly" and spec.output == Path("results") / "nightly"
    assert spec.seeds == [1, 2] and spec.tasks[1].limit == 2
    assert spec.models[1] == ModelSpec("openai:big", {"base_url": "http://127.0.0.1:9/v1"}, 0, 2, {"fake_gpu": 1.0})
    assert spec.config.concurrency == 12 and spec.config.max_retries == 1 and not spec.config.use_cache
    assert spec.config.generation.max_tokens == 64
    assert spec.limit_for("http://127.0.0.1:9/v1", "openai:big") == 4 and spec.limit_for("reference", "reference") == 12


def evalkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def test_cli_sweep_file_ends_with_the_report(tmp_path: Path) -> None:
    write_tasks(tmp_path, {"alpha": 12, "beta": 8})
    _write(tmp_path / "nightly.yaml", "tasks: [alpha.jsonl, beta.jsonl]\nmodels: [reference, 'random:3']\n"
                                      "output: out\nshard_size: 5\n")
    out = evalkit("sweep", "nightly.yaml", "--no-cache", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "units 10/10 done" in out.stderr and "runs 4/4" in out.stderr  # plain progress lines in a log
    assert (tmp_path / "out" / "report.html").is_file()
    assert "alpha__reference" in out.stdout and "100.0%" in out.stdout
    assert len(list((tmp_path / "out").glob("*/summary.json"))) == 4
    wrong = evalkit("sweep", "nightly.yaml", "--task", "x", cwd=tmp_path)
    assert wrong.returncode == 2 and "not both" in wrong.stderr and "Traceback" not in wrong.stderr
    flags = evalkit("sweep", "--task", "alpha.jsonl", "--model", "reference", "--address", "auto", cwd=tmp_path)
    assert flags.returncode == 2 and "--address" in flags.stderr


PLUGIN = '''
"""A slow, deterministic test adapter, registered from an --include folder."""
import asyncio
from evalkit.adapters import adapters
from evalkit.adapters.base import Adapter
from evalkit.types import Response

class Slow(Adapter):
    scheme = "slow"
    options_doc = {"skew": "which ids it gets wrong"}
    cacheable = False
    async def generate(self, request):
        await asyncio.sleep(0.01)
        s = request.sample
        right = (int(s.id[1:]) + int(self.options.get("skew", 0))) % 3
        return Response(text=f"故选{s.target if right else ('B' if s.target == 'A' else 'A')}")

adapters.add("slow", Slow, replace=True)
'''


def test_a_sweep_killed_with_sigkill_resumes_every_sample_once(tmp_path: Path) -> None:
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "slow_adapter.py").write_text(PLUGIN)
    write_tasks(tmp_path, {"alpha": 150, "beta": 100})
    sweep_file = _write(tmp_path / "s.yaml", "include: [plug]\ntasks: [alpha.jsonl, beta.jsonl]\n"
                        "models: ['slow:x', {uri: 'slow:y', options: {skew: 1}}]\nconcurrency: 4\nshard_size: 20\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def cmd(out: str) -> list[str]:
        return [sys.executable, "-m", "evalkit.cli", "sweep", str(sweep_file), "-o", out, "-q", "--no-report"]

    subprocess.run(cmd("full"), check=True, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    proc = subprocess.Popen(cmd("killed"), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert 150 <= kill_when_written(proc, tmp_path / "killed", 200) < 500, "the sweep must be killed halfway"
    subprocess.run(cmd("killed"), check=True, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    resumed = sweep_scores(tmp_path / "killed")
    assert resumed == sweep_scores(tmp_path / "full")
    assert sum(len(s) for s in resumed.values()) == 500
    for record in (tmp_path / "killed").glob("*/run.json"):
        assert json.loads(record.read_text())["status"] == "finished"
def test_flags_override_the_sweep_file(tmp_path: Path) -> None:
    from evalkit.cli_sweep import SweepFlags
    from evalkit.types import GenerationConfig

    write_tasks(tmp_path, {"alpha": 3})
    path = _write(tmp_path / "s.yaml", "tasks: [alpha.jsonl]\nmodels: [reference, {uri: 'random:1', gpus: 1}]\n"
                                       "concurrency: 8\nshard_size: 50\nrun: {max_retries: 1}\n")
    spec = SweepFlags(file=path, generation=GenerationConfig(max_tokens=9), concurrency=3, shard_size=7, repeats=2,
                      seed=10, gpus=0.5, judge="reference", executor="ray", address="auto", use_cache=False).sweep()
    assert (spec.config.concurrency, spec.shard_size, spec.seeds) == (3, 7, [10, 11])
    assert spec.config.max_retries == 1 and not spec.config.use_cache and spec.config.generation.max_tokens == 9
    assert [m.gpus for m in spec.models] == [0.5, 0.5] and spec.judge is not None and spec.judge.uri == "reference"
    assert (spec.executor, spec.address) == ("ray", "auto")
    with pytest.raises(SweepError, match="not both"):
        SweepFlags(file=path, generation=GenerationConfig(), tasks=("alpha",)).sweep()


def test_ray_executor_without_ray_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    tasks = write_tasks(tmp_path / "tasks", {"alpha": 3})
    with pytest.raises(SweepError, match=r"--executor ray needs Ray.*evalkit\[ray\]"):
        run_sweep(_sweep(tmp_path, tasks, [ModelSpec("reference")], executor="ray"), progress=False)
    assert not (tmp_path / "sweep").exists(), "nothing is written before the executor can start"


