"""Reports and checks on real runs made by `evalkit run` (reference and random baselines, offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.report import load_leaderboard
from evalkit.report.check import run_check

EXE = Path(sys.executable).with_name("evalkit")
pytestmark = pytest.mark.skipif(not EXE.exists(), reason="evalkit entry point not installed")


def _evalkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real")
    out = {}
    for name, model in (("reference", "reference"), ("random", "random:1")):
        res = _evalkit("run", "--task", "gaokao-math", "--model", model, "--output", str(root / name), "-q",
                       "--no-report", "--no-cache")
        if res.returncode != 0:
            pytest.skip(f"evalkit run is not usable here: {res.stderr.strip()[-300:]}")
        out[name] = root / name
    return out


def test_report_of_real_runs_has_the_paper_view(real_runs, tmp_path):
    lb = load_leaderboard([real_runs["reference"], real_runs["random"]])
    ref = lb.cell("reference", "gaokao-math")
    rnd = lb.cell("random:1", "gaokao-math")
    assert ref is not None and rnd is not None
    assert ref.kind == "points" and ref.max_points == 150
    summary = json.loads((real_runs["reference"] / "summary.json").read_text())
    assert ref.value == pytest.approx(summary["metrics"]["points"])
    assert ref.rank == 1 and rnd.rank == 2 and ref.value > rnd.value
    [paper] = lb.papers
    assert sum(paper.question_max.values()) == 150
    assert {r.model for r in paper.rows} == {"reference", "random:1"}
    html = tmp_path / "r.html"
    res = _evalkit("report", str(real_runs["reference"]), str(real_runs["random"]), "--html", str(html),
                   "--markdown", str(tmp_path / "r.md"))
    assert res.returncode == 0, res.stderr
    assert html.stat().st_size > 10_000 and "Total / 150" in (tmp_path / "r.md").read_text()


def test_check_on_real_runs(real_runs, tmp_path):
    assert run_check(real_runs["reference"], real_runs["reference"]).exit_code == 0
    result = run_check(real_runs["reference"], real_runs["random"])
    assert result.exit_code == 1 and result.verdicts[0].unit == "points"
    baseline = tmp_path / "gaokao.json"
    assert _evalkit("check", "--baseline", str(baseline), "--current", str(real_runs["reference"]),
                    "--update-baseline").returncode == 0
    res = _evalkit("check", "--baseline", str(baseline), "--current", str(real_runs["reference"]),
                   "--junit", str(tmp_path / "j.xml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'failures="0"' in (tmp_path / "j.xml").read_text()
