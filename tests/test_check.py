"""`evalkit check`: paired regression checks with exit codes 0 held / 1 regressed / 2 could not compare."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evalkit.cli_report import register
from evalkit.report.check import compare, load_side, run_check, write_baseline
from evalkit.report.synthetic import binary_results, gaokao_results, write_run

N = 500


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _base_pattern() -> list[bool]:
    return [(i * 7) % 10 < 7 for i in range(N)]  # 70% right, spread out


def _flip(pattern: list[bool], to_wrong: int, to_right: int) -> list[bool]:
    out = list(pattern)
    rights = [i for i, ok in enumerate(out) if ok][:to_wrong]
    wrongs = [i for i, ok in enumerate(out) if not ok][:to_right]
    for i in rights:
        out[i] = False
    for i in wrongs:
        out[i] = True
    return out


@pytest.fixture()
def runs(tmp_path: Path) -> dict[str, Path]:
    base = _base_pattern()
    return {
        "base": write_run(tmp_path / "base", binary_results(base), model="m:x", task="arith"),
        "regressed": write_run(tmp_path / "regressed", binary_results(_flip(base, 10, 0)), model="m:x", task="arith"),
        "noise": write_run(tmp_path / "noise", binary_results(_flip(base, 10, 10)), model="m:x", task="arith"),
        "fewer": write_run(tmp_path / "fewer", binary_results(base[:-3]), model="m:x", task="arith"),
        "other": write_run(tmp_path / "other", binary_results(base), model="m:x", task="geometry"),
    }


def _check(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(_app(), ["check", *args])
    return res.exit_code, res.output


def test_two_point_regression_on_500_samples_exits_1(runs, tmp_path):
    junit, md = tmp_path / "check.xml", tmp_path / "check.md"
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(runs["regressed"]),
                        "--junit", str(junit), "--markdown", str(md)])
    assert code == 1, out
    assert "regressed" in out
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and "arith regressed by 2.00 pp" in failure.get("message", "")
    text = md.read_text()
    assert "| arith | **regressed** | 70.00 | 68.00 | -2.00 pp" in text
    assert "10 question(s) scored lower, 0 higher" in text  # what moved, without calling a failure 'wrong'


def test_noise_of_the_same_size_with_equal_accuracy_exits_0(runs):
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(runs["noise"])])
    assert code == 0, out
    assert "held" in out


def test_a_drop_within_max_drop_holds(runs):
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(runs["regressed"]), "--max-drop", "2.5"])
    assert code == 0, out


def test_mismatched_sample_sets_exit_2_with_one_sentence(runs):
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(runs["fewer"])])
    assert code == 2
    assert "different sample sets" in out and "500 in the baseline, 497 in the current" in out
    assert "Traceback" not in out


def test_missing_task_and_missing_folder_exit_2(runs, tmp_path):
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(runs["other"])])
    assert code == 2 and "lacks task(s) arith" in out
    code, out = _check(["--baseline", str(tmp_path / "absent"), "--current", str(runs["base"])])
    assert code == 2 and "absent" in out and "does not exist" in out


def test_baseline_json_round_trip_and_update(runs, tmp_path):
    baseline = tmp_path / "baselines" / "arith.json"
    code, out = _check(["--baseline", str(baseline), "--current", str(runs["base"]), "--update-baseline"])
    assert code == 0, out
    data = json.loads(baseline.read_text())
    assert data["evalkit_baseline"] == 1 and data["tasks"]["arith"]["n"] == N
    assert data["tasks"]["arith"]["value"] == pytest.approx(0.7)
    assert _check(["--baseline", str(baseline), "--current", str(runs["noise"])])[0] == 0
    assert _check(["--baseline", str(baseline), "--current", str(runs["regressed"])])[0] == 1
    bad = tmp_path / "bad.json"
    bad.write_text('{"tasks": 3}')
    code, out = _check(["--baseline", str(bad), "--current", str(runs["base"])])
    assert code == 2 and "not an evalkit baseline" in out


def test_new_task_in_current_is_listed_but_not_failing(runs, tmp_path):
    both = tmp_path / "both"
    write_run(both / "noise", binary_results(_flip(_base_pattern(), 10, 10)), model="m:x", task="arith")
    write_run(both / "other", binary_results(_base_pattern()), model="m:x", task="geometry")
    result = run_check(runs["base"], both)
    assert result.exit_code == 0
    assert [(v.task, v.verdict) for v in result.verdicts] == [("arith", "held"), ("geometry", "new")]


def test_paper_points_use_a_paired_bootstrap(tmp_path):
    base = write_run(tmp_path / "b", gaokao_results(0.9, seed=3), model="m:x", task="paper", metrics=["points"])
    worse = gaokao_results(0.9, seed=3)
    for r in worse[-5:]:  # lose every point on the five solution questions
        r.score = type(r.score)(0.0, "wrong", 0.0, r.score.max_points, grader="judge")
    cur = write_run(tmp_path / "c", worse, model="m:x", task="paper", metrics=["points"])
    result = compare(load_side(base, "--baseline"), load_side(cur, "--current"), max_drop=5)
    [v] = result.verdicts
    assert v.test == "bootstrap" and v.unit == "points"
    assert v.delta == pytest.approx(-sum(r.score.points for r in gaokao_results(0.9, seed=3)[-5:]))
    assert v.verdict == "regressed" and result.exit_code == 1
    assert -150 <= v.ci[0] <= v.delta <= v.ci[1] <= 0


def test_update_baseline_refuses_a_folder(runs, tmp_path):
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(runs["base"]), "--update-baseline"])
    assert code == 2 and "writes a JSON file" in out
    with pytest.raises(ValueError):
        write_baseline(runs["base"], runs["base"])


def test_installed_command_exit_codes(runs):
    exe = Path(sys.executable).with_name("evalkit")
    if not exe.exists():
        pytest.skip("evalkit entry point not installed in this environment")
    res = subprocess.run([str(exe), "check", "--baseline", str(runs["base"]), "--current", str(runs["regressed"])],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stdout + res.stderr
    res = subprocess.run([str(exe), "check", "--baseline", str(runs["base"]), "--current", str(runs["fewer"])],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "different sample sets" in res.stderr


def test_several_current_runs_are_pooled_and_said_so(runs, tmp_path):
    pooled = tmp_path / "pooled"
    base = _base_pattern()
    write_run(pooled / "e1", binary_results(base), model="m:x", task="arith")
    write_run(pooled / "e2", binary_results(_flip(base, 10, 0)), model="m:x", task="arith")
    result = run_check(runs["base"], pooled)
    [v] = result.verdicts
    assert v.current == pytest.approx(69.0) and v.test == "bootstrap"  # half-points are not 0/1
    assert "current pools 2 runs" in v.note


def test_two_models_on_one_side_cannot_be_compared(runs, tmp_path):
    mixed = tmp_path / "mixed"
    write_run(mixed / "x", binary_results(_base_pattern()), model="m:x", task="arith")
    write_run(mixed / "y", binary_results(_base_pattern()), model="m:y", task="arith")
    code, out = _check(["--baseline", str(runs["base"]), "--current", str(mixed)])
    assert code == 2 and "from 2 models (m:x, m:y)" in out
