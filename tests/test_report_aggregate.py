"""Leaderboard aggregation, statistics, Markdown/JSON output and the `evalkit report` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from evalkit.cli_report import register
from evalkit.report import GroupSpec, ReportError, load_leaderboard, render_json, render_markdown, stats
from evalkit.report.synthetic import binary_results, gaokao_results, make_result, write_run


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _pattern(n: int, correct: int, shift: int = 0) -> list[bool]:
    """``correct`` right answers spread evenly over ``n`` items (deterministic)."""
    return [((i + shift) * correct) % n < correct for i in range(n)]


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = np.array(_pattern(400, 300), dtype=float)
    a = stats.bootstrap_ci(values, seed=7)
    b = stats.bootstrap_ci(values, seed=7)
    c = stats.bootstrap_ci(values, seed=8)
    assert a == b
    assert a != c
    assert a[0] < values.mean() < a[1]
    # roughly the normal-theory width for p = 0.75, n = 400 (±4.2 points)
    assert 0.06 < a[1] - a[0] < 0.11
    wide = stats.bootstrap_ci(values[:40], seed=7)
    assert wide[1] - wide[0] > a[1] - a[0]


def test_ratio_interval_of_a_paper_stays_within_the_total():
    reps = stats.ratio_replicates([5, 0, 6, 17, 13], [5, 5, 6, 17, 17], seed=1)
    assert np.nanmax(reps) <= 50 + 1e-9 and np.nanmin(reps) >= 0


def test_ranks_mark_overlapping_intervals_as_ties():
    ranked = stats.ranks_with_ties([0.9, 0.5, 0.49, math.nan], [0.85, 0.45, 0.44, math.nan],
                                   [0.95, 0.55, 0.54, math.nan])
    assert ranked == [(1, False), (2, True), (2, True), (0, False)]


def test_mcnemar_counts_only_discordant_pairs():
    base = [1] * 10 + [0] * 490
    cur = [0] * 10 + [0] * 490
    res = stats.paired_test(base, cur)
    assert res.test == "mcnemar" and res.discordant == (10, 0)
    assert res.p_worse == pytest.approx(0.5**10)
    assert res.delta == pytest.approx(-0.02)


def test_leaderboard_cells_ranks_counts_and_runs(tmp_path):
    write_run(tmp_path / "a1", binary_results(_pattern(400, 320)), model="m:a", task="arith", seconds=30)
    write_run(tmp_path / "a2", binary_results(_pattern(400, 300, shift=1)), model="m:a", task="arith", seconds=40)
    write_run(tmp_path / "b", binary_results(_pattern(400, 200)), model="m:b", task="arith")
    extra = [make_result("u1", "unparsed"), make_result("e1", "error"), make_result("c1", "correct")]
    write_run(tmp_path / "c", extra, model="m:b", task="misc")
    lb = load_leaderboard([tmp_path])
    a = lb.cell("m:a", "arith")
    b = lb.cell("m:b", "arith")
    assert a is not None and b is not None
    assert a.n == 400 and a.n_runs == 2
    assert a.value == pytest.approx((320 + 300) / 800)
    assert a.spread == pytest.approx(np.std([0.8, 0.75], ddof=1))
    assert a.wall_s == pytest.approx(70)
    assert (a.rank, a.tied, b.rank) == (1, False, 2)
    assert a.ci[0] < a.value < a.ci[1]
    misc = lb.cell("m:b", "misc")
    assert misc is not None
    assert (misc.counts["unparsed"], misc.counts["error"], misc.counts["correct"]) == (1, 1, 1)
    assert misc.prompt_tokens == 150
    assert lb.models == ["m:a", "m:b"]


def test_groups_use_stated_weights_and_flag_missing_tasks(tmp_path):
    write_run(tmp_path / "a1", binary_results(_pattern(100, 80)), model="m:a", task="t1")
    write_run(tmp_path / "a2", binary_results(_pattern(100, 50)), model="m:a", task="t2")
    write_run(tmp_path / "b1", binary_results(_pattern(100, 60)), model="m:b", task="t1")
    lb = load_leaderboard([tmp_path], groups=[GroupSpec.parse("mix=t1:3,t2:1")])
    rows = {g.model: g for g in lb.groups}
    assert rows["m:a"].value == pytest.approx((3 * 0.8 + 0.5) / 4)
    assert rows["m:a"].ci[0] < rows["m:a"].value < rows["m:a"].ci[1]
    assert math.isnan(rows["m:b"].value) and rows["m:b"].missing == ["t2"]
    with pytest.raises(ReportError, match="t9"):
        load_leaderboard([tmp_path], groups=[GroupSpec.parse("x=t9")])
    with pytest.raises(ReportError, match="weight"):
        GroupSpec.parse("x=t1:heavy")


def test_gaokao_view_totals_sections_and_grid(tmp_path):
    strong = gaokao_results(0.9, seed=1)
    write_run(tmp_path / "g", strong, model="m:strong", task="gaokao-2024", metrics=["points", "accuracy"])
    lb = load_leaderboard([tmp_path])
    cell = lb.cell("m:strong", "gaokao-2024")
    assert cell is not None and cell.kind == "points" and cell.max_points == 150
    assert cell.value == pytest.approx(sum(r.score.points for r in strong))
    assert 0 <= cell.ci[0] <= cell.value <= cell.ci[1] <= 150
    [view] = lb.papers
    assert view.sections == ["single", "multi", "fill", "solution"]
    assert view.numbers[:3] == ["1", "2", "3"] and len(view.numbers) == 19
    [row] = view.rows
    assert sum(p for p, _ in row.sections.values()) == pytest.approx(row.total)
    assert row.sections["single"][1] == 40 and row.sections["solution"][1] == 77
    assert row.questions["19"].grader == "judge" and row.questions["1"].grader == "answer"
    md = render_markdown(lb)
    assert "Total / 150" in md and "J |" in md


def test_markdown_and_json_escape_and_round_trip(tmp_path):
    write_run(tmp_path / "a", binary_results(_pattern(50, 25)), model="evil|<b>model", task="t1")
    lb = load_leaderboard([tmp_path])
    md = render_markdown(lb)
    assert "evil\\|&lt;b&gt;model" in md and "<b>" not in md
    data = json.loads(render_json(lb))
    [row] = data["leaderboard"]
    assert row["model"] == "evil|<b>model" and row["n"] == 50 and row["value"] == pytest.approx(0.5)
    assert row["ci_low"] < 0.5 < row["ci_high"]


def test_cli_report_writes_markdown_and_json(tmp_path):
    write_run(tmp_path / "runs" / "a", binary_results(_pattern(60, 45)), model="m:a", task="t1")
    md, js = tmp_path / "out.md", tmp_path / "out.json"
    res = CliRunner().invoke(_app(), ["report", str(tmp_path / "runs"), "--markdown", str(md), "--json", str(js),
                                      "--no-html"])
    assert res.exit_code == 0, res.output
    assert "m:a" in res.output and "75.0" in res.output
    assert "| t1 | 1 | m:a |" in md.read_text()
    assert json.loads(js.read_text())["leaderboard"][0]["value"] == pytest.approx(0.75)


def test_cli_report_names_a_missing_folder(tmp_path):
    res = CliRunner().invoke(_app(), ["report", str(tmp_path / "nope"), "--no-html"])
    assert res.exit_code == 2
    assert "nope" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(_app(), ["report", str(tmp_path), "--no-html"])
    assert res.exit_code == 2 and "no run folders" in res.output


def test_groups_file_and_its_mistakes(tmp_path):
    write_run(tmp_path / "runs" / "a1", binary_results(_pattern(100, 80)), model="m:a", task="t1")
    write_run(tmp_path / "runs" / "a2", binary_results(_pattern(100, 40)), model="m:a", task="t2")
    groups = tmp_path / "groups.yaml"
    groups.write_text("core:\n  t1: 1\n  t2: 3\nall: [t1, t2]\n")
    js = tmp_path / "board.json"
    res = CliRunner().invoke(_app(), ["report", str(tmp_path / "runs"), "--groups-file", str(groups), "--no-html",
                                      "--json", str(js)])
    assert res.exit_code == 0, res.output
    values = {g["group"]: g["value"] for g in json.loads(js.read_text())["groups"]}
    assert values == {"core": pytest.approx(0.5), "all": pytest.approx(0.6)}
    groups.write_text("core: 3\n")
    res = CliRunner().invoke(_app(), ["report", str(tmp_path / "runs"), "--groups-file", str(groups), "--no-html"])
    assert res.exit_code == 2 and "group 'core'" in res.output


def test_breakdown_by_categorical_metadata(tmp_path):
    results = [make_result(f"s{i}", "correct" if (i % 2 == 0 or i < 4) else "wrong",
                           metadata={"kind": "graph" if i < 4 else "table", "note": f"unique text {i}",
                                     "section": "graph" if i < 4 else "table"})
               for i in range(12)]
    write_run(tmp_path / "a", results, model="m:a", task="figs")
    lb = load_leaderboard([tmp_path])
    [b] = lb.breakdowns  # "note" is unique per sample; "section" repeats "kind"
    assert (b.task, b.field, b.categories) == ("figs", "kind", ["graph", "table"])
    assert b.values["m:a"]["graph"] == (1.0, 4) and b.values["m:a"]["table"] == (0.5, 8)
    assert json.loads(render_json(lb))["breakdowns"][0]["values"]["m:a"]["table"] == {"mean": 0.5, "n": 8}


def _declare(run_dir, primary: str, aggregation: dict | None) -> None:
    """Rewrite a run's summary to name another primary number with (or without) its declaration."""
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    numbers = summary["metrics"]
    numbers[primary] = numbers["points"] if "points" in numbers else numbers["accuracy"]
    summary["primary"] = primary
    summary.pop("aggregation", None)
    if aggregation is not None:
        summary["aggregation"] = aggregation
    path.write_text(json.dumps(summary))


def test_a_cell_pools_as_its_metric_declares_not_by_the_metrics_name(tmp_path):
    results = gaokao_results(0.8, seed=3)
    write_run(tmp_path / "declared", results, model="m:a", task="exam", metrics=["points", "accuracy"])
    write_run(tmp_path / "named", results, model="m:b", task="exam", metrics=["points", "accuracy"])
    summary = json.loads((tmp_path / "declared" / "summary.json").read_text())
    assert summary["aggregation"] == {"kind": "points", "higher_is_better": True}
    _declare(tmp_path / "declared", "exam_total", {"kind": "points", "higher_is_better": True})
    _declare(tmp_path / "named", "exam_total", None)  # an unknown name that declares nothing
    lb = load_leaderboard([tmp_path])
    declared, named = lb.cell("m:a", "exam"), lb.cell("m:b", "exam")
    assert declared.kind == "points" and declared.max_points == 150 and not math.isnan(declared.ci[0])
    assert named.kind == "summary" and math.isnan(named.ci[0])  # shown as the run reported it


def test_a_summary_written_before_declarations_pools_by_its_metric(tmp_path):
    write_run(tmp_path / "old", gaokao_results(0.7, seed=4), model="m:a", task="exam", metrics=["gaokao_paper"])
    _declare(tmp_path / "old", "points", None)
    cell = load_leaderboard([tmp_path]).cell("m:a", "exam")
    assert cell.kind == "points" and cell.max_points == 150


def test_a_lower_is_better_metric_ranks_the_lowest_first(tmp_path):
    for model, rate in (("m:careful", 0.1), ("m:sloppy", 0.4)):
        run = write_run(tmp_path / model.replace(":", "-"), binary_results(_pattern(20, 10)), model=model, task="t",
                        metrics=["unparsed_rate"])
        summary = json.loads((run / "summary.json").read_text())
        summary["metrics"]["unparsed_rate"] = rate
        (run / "summary.json").write_text(json.dumps(summary))
    lb = load_leaderboard([tmp_path])
    assert (lb.cell("m:careful", "t").rank, lb.cell("m:sloppy", "t").rank) == (1, 2)
