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
    assert out.returncode == 3, out.stderr  # a failed sample is loud: grouped by reason, and in the exit code
    assert "errors: 1 of 40 samples failed" in out.stdout and "(q00039)" in out.stdout
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["counts"]["error"] == 1  # q00039 has no recorded output
    assert summary["counts"]["correct"] == 10  # every fourth target is A
    assert summary["errors"] == [{"reason": f"no recorded output for sample <id> in {rec}", "count": 1,
                                  "ids": ["q00039"]}]


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


def test_an_internal_bug_shows_its_traceback_not_a_user_error(tmp_path: Path, mcq_file: Path) -> None:
    """Only EvalkitError is a user's mistake; a KeyError inside the library is evalkit's bug and says so."""
    code = (
        "import sys\n"
        "import evalkit.runner\n"
        "def bug(*args, **kwargs):\n"
        "    raise KeyError('score')\n"
        "evalkit.runner.run_sync = bug\n"
        "from evalkit.cli import main\n"
        f"sys.argv = ['evalkit', 'run', '--task', {str(mcq_file)!r}, '--model', 'reference', '--no-report', '-q']\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 1, out.stderr
    assert "Traceback" in out.stderr and "KeyError: 'score'" in out.stderr
    assert "error: 'score'" not in out.stderr


def test_unreadable_files_are_one_sentence_naming_the_file(tmp_path: Path, mcq_file: Path) -> None:
    """Hostile files (not UTF-8, not the JSON shape expected) end as exit 2 and one line, never a traceback."""
    from typer.testing import CliRunner

    from evalkit.cli import app

    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    not_text_run, list_run = tmp_path / "run-a", tmp_path / "run-b"
    not_text_run.mkdir()
    (not_text_run / "run.json").write_bytes(b"\xff\xfe")
    list_run.mkdir()
    (list_run / "run.json").write_text("[]")
    groups = tmp_path / "groups.yaml"
    groups.write_text("math: [gsm8k\n")
    ok = tmp_path / "ok"
    assert CliRunner().invoke(app, ["run", "--task", str(mcq_file), "--model", "reference", "--output", str(ok),
                                    "--no-report", "-q"]).exit_code == 0
    cases = [
        (["run", "--task", str(binary), "--model", "reference", "--no-report", "-q"], "binary.jsonl: not UTF-8"),
        (["run", "--task", str(mcq_file), "--model", f"replay:{binary}", "--no-report", "-q"], "binary.jsonl"),
        (["show", str(not_text_run)], "run-a/run.json: cannot be read"),
        (["show", str(list_run)], "run-b/run.json: not a run record"),
        (["report", str(ok), "--groups-file", str(groups), "--no-html", "-q"], "groups.yaml: not valid YAML at line"),
        (["check", "--baseline", str(binary), "--current", str(ok)], "baseline"),
        (["grade", "import", str(ok), str(binary)], "binary.jsonl: cannot be read"),
        (["grade", "export", str(ok), "--out", str(binary / "sheet")], "cannot write the marking sheet"),
    ]
    for args, needle in cases:
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output and "Traceback" not in res.output, (args, res.output)
        assert len([line for line in res.output.splitlines() if line.startswith("error:")]) == 1, (args, res.output)


def test_a_command_ends_with_its_code_its_output_and_its_exit_handlers(tmp_path: Path, mcq_file: Path) -> None:
    """The command leaves without tearing the interpreter down (evalkit.cli.leave), yet everything an exit
    promises still happens: exit handlers run, piped output is complete, the exit code is the command's."""
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        code = ("import atexit, sys\n"
                "atexit.register(lambda: print('exit handlers ran', file=sys.stderr))\n"
                "from evalkit.cli import main\n"
                f"sys.argv = ['evalkit', *{list(args)!r}]\n"
                "main()\n")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                              timeout=120, env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})

    done = run("run", "--task", str(mcq_file), "--model", "reference", "--output", str(tmp_path / "r"), "-q")
    assert done.returncode == 0, done.stderr
    assert "results: " in done.stdout and "report: " in done.stdout and done.stdout.endswith("\n")
    assert done.stderr.strip().endswith("exit handlers ran")
    assert (tmp_path / "r" / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    refused = run("run", "--task", str(tmp_path / "nope.jsonl"), "--model", "reference")
    assert refused.returncode == 2 and "error:" in refused.stderr and "exit handlers ran" in refused.stderr


def test_a_profiled_command_still_leaves_its_profile(tmp_path: Path) -> None:
    """Under a profiler (or debugger) the command exits the ordinary way, so the profile is written."""
    out = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(tmp_path / "p.prof"), "-m", "evalkit.cli",
                          "--version"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "p.prof").stat().st_size > 0
