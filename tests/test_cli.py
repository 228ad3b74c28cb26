"""The `evalkit` command as a user meets it: help, listings, runs, one-sentence errors, show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def evalkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_help_teaches_the_commands() -> None:
    out = evalkit("--help")
    assert out.returncode == 0
    for word in ("run", "list", "show", "Quick start"):
        assert word in out.stdout
    run_help = evalkit("run", "--help").stdout
    assert "--concurrency" in run_help and "--resume" in run_help and "Examples" in run_help


def test_run_show_and_results_folder(tmp_path: Path, mcq_file: Path) -> None:
    out = evalkit("run", "--task", str(mcq_file), "--model", "reference", "--output", str(tmp_path / "r"),
                  "--no-report", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "100.0%" in out.stdout and str(tmp_path / "r") in out.stdout
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["metrics"]["accuracy"] == 1.0
    shown = evalkit("show", str(tmp_path / "r"))
    assert shown.returncode == 0 and "100.0%" in shown.stdout


def test_several_models_make_several_run_folders(tmp_path: Path, mcq_file: Path) -> None:
    out = evalkit("run", "--task", str(mcq_file), "--model", "reference", "--model", "random:2",
                  "--results-dir", str(tmp_path / "res"), "--no-report", "-q")
    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "res").glob("*/run.json"))) == 2


def test_user_mistakes_are_one_sentence_and_exit_2(tmp_path: Path, mcq_file: Path) -> None:
    cases = [
        (["run", "--task", "no-such-task", "--model", "reference"], "--task 'no-such-task'"),
        (["run", "--task", str(mcq_file), "--model", "nosuch:x"], "unknown adapter 'nosuch'"),
        (["run", "--task", str(mcq_file), "--model", "random:abc"], "seed must be an integer"),
        (["run", "--task", str(mcq_file), "--model", "reference", "-M", "oops"], "-M 'oops'"),
        (["run", "--task", str(mcq_file), "--model", "replay:/nope.jsonl"], "no such file"),
        (["show", str(tmp_path)], "not a run folder"),
    ]
    for args, needle in cases:
        out = evalkit(*args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert needle in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_replay_scores_recorded_outputs_and_a_missing_one_is_an_error(tmp_path: Path, mcq_file: Path) -> None:
    rec = tmp_path / "outputs.jsonl"
    rec.write_text("\n".join(json.dumps({"id": f"q{i:05d}", "output": "故选A"}) for i in range(39)) + "\n")
    out = evalkit("run", "--task", str(mcq_file), "--model", f"replay:{rec}", "--output", str(tmp_path / "r"),
                  "--no-report", "-q")
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["counts"]["error"] == 1  # q00039 has no recorded output
    assert summary["counts"]["correct"] == 10  # every fourth target is A


def test_list_adapters_shows_the_baselines() -> None:
    out = evalkit("list", "adapters")
    assert out.returncode == 0
    for scheme in ("reference", "random", "replay"):
        assert scheme in out.stdout


def test_generation_extras_are_typed_and_a_judge_task_asks_for_its_judge(tmp_path: Path) -> None:
    from evalkit.cli import parse_json_pairs

    assert parse_json_pairs(["top_k=20", "skip=true", "name=qwen", "ids=[1,2]"], "-G") == {
        "top_k": 20, "skip": True, "name": "qwen", "ids": [1, 2]}
    out = evalkit("run", "--task", "gaokao-math-judge", "--model", "reference", "--no-report", cwd=tmp_path)
    assert out.returncode == 2 and "--judge URI" in out.stderr


def test_transport_options_do_not_split_the_cache() -> None:
    from evalkit.adapters import make_adapter

    a = make_adapter("openai:m", {"base_url": "http://127.0.0.1:9/v1", "timeout": "5", "verify": "false"})
    b = make_adapter("openai:m", {"base_url": "http://127.0.0.1:9/v1", "timeout": "50"})
    assert a.cache_identity() == b.cache_identity()
    assert a.identity() != b.identity()
