"""GAOKAO-Bench layout: the loader, the output reader for replay, and the published table (real data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from evalkit.grading import GraderSpec, grade
from evalkit.tasks.gaokao import (
    load_gaokao_bench,
    read_gaokao_bench_marks,
    read_gaokao_bench_outputs,
)
from evalkit.tasks.task import DatasetSpec, TaskError

BENCH = SHARED_DATA / "gaokao-bench"


def _bench(tmp_path: Path) -> Path:
    root = tmp_path / "GAOKAO-Bench"
    (root / "Data" / "Objective_Questions").mkdir(parents=True)
    (root / "Data" / "Subjective_Questions").mkdir(parents=True)
    (root / "Bench").mkdir()
    mcq = {"keywords": "2010-2024_Math_I_MCQs", "example": [
        {"year": "2012", "category": "（新课标ⅰ）", "question": "3. (5 分) 1+1=\nA. 1\nB. 2\nC. 3\nD. 4\n",
         "answer": ["B"], "analysis": "", "index": 0, "score": 5},
        {"year": "2024", "category": "（新课标Ⅰ）", "question": "9. 哪些是偶数\nA. 2\nB. 3\nC. 4\nD. 5\n",
         "answer": ["A", "C"], "analysis": "", "index": 1, "score": 6},
        {"year": "2021", "category": "（新高考Ⅱ）", "question": "10. 哪些是奇数\nA. 2\nB. 3\nC. 4\nD. 5\n",
         "answer": ["B", "D"], "analysis": "", "index": 2, "score": 5},
    ]}
    sub = {"keywords": "2010-2022_Math_I_Open-ended_Questions", "example": [
        {"year": "2012", "category": "（新课标）", "question": "17. (12 分) 求 x", "answer": "x=1", "analysis": "",
         "index": 0, "score": 12},
        {"year": "2012", "category": "（新课标）", "question": "23. (10 分) 选考", "answer": "略", "analysis": "",
         "index": 1, "score": 10},
    ]}
    (root / "Data" / "Objective_Questions" / "2010-2024_Math_I_MCQs.json").write_text(json.dumps(mcq, ensure_ascii=False))
    (root / "Data" / "Subjective_Questions" / "2010-2022_Math_I_Open-ended_Questions.json").write_text(
        json.dumps(sub, ensure_ascii=False))
    prompt = {"examples": [{"type": "single", "keyword": "2010-2024_Math_I_MCQs", "prefix_prompt": "请选择：\n"}]}
    (root / "Bench" / "Obj_Prompt.json").write_text(json.dumps(prompt, ensure_ascii=False))
    return root


def test_loader_reads_points_types_papers_and_rules(tmp_path: Path) -> None:
    samples = {s.id: s for s in load_gaokao_bench(DatasetSpec("gaokao-bench", path=_bench(tmp_path)))}
    single = samples["2010-2024_Math_I_MCQs:0"]
    assert single.metadata["paper"] == "2012-新课标I-理科" and single.metadata["number"] == 3
    assert (single.metadata["type"], single.target, single.max_points) == ("single", "B", 5)
    assert single.metadata["prompt_prefix"] == "请选择：\n"
    assert samples["2010-2024_Math_I_MCQs:1"].metadata["rule"] == "gaokao-2024"
    assert samples["2010-2024_Math_I_MCQs:2"].metadata["rule"] == "gaokao-legacy"
    legacy = grade(samples["2010-2024_Math_I_MCQs:2"], "故选B", GraderSpec("gaokao"))
    assert legacy.points == 2 and legacy.max_points == 5
    solution = samples["2010-2022_Math_I_Open-ended_Questions:0"]
    assert solution.metadata["type"] == "solution" and solution.max_points == 12
    assert samples["2010-2022_Math_I_Open-ended_Questions:1"].metadata["elective"] == "2012-新课标-理科:选考"
    assert grade(solution, "x=1", GraderSpec("gaokao")).status == "skipped"  # no rubric: judge or teachers


def test_loader_file_filter_and_missing_folder(tmp_path: Path) -> None:
    spec = DatasetSpec("gaokao-bench", path=_bench(tmp_path), options={"files": "*MCQs.json"})
    assert len(list(load_gaokao_bench(spec))) == 3
    with pytest.raises(TaskError, match="pass --data PATH"):
        list(load_gaokao_bench(DatasetSpec("gaokao-bench", path=tmp_path / "nowhere")))


def test_output_reader_and_replay_detection(tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    rec = {"keyword": "2010-2024_Math_I_MCQs", "model_name": "m",
           "example": [{"index": 0, "model_output": "【答案】B<eoa>", "model_correction_score": [3.0]}]}
    (out / "m_MCQs.json").write_text(json.dumps(rec, ensure_ascii=False))
    assert read_gaokao_bench_outputs.accepts(out) and not read_gaokao_bench_outputs.accepts(tmp_path / "none")
    assert read_gaokao_bench_outputs(out) == {"2010-2024_Math_I_MCQs:0": "【答案】B<eoa>"}
    assert read_gaokao_bench_marks(out) == {"2010-2024_Math_I_MCQs:0": 3.0}
    rec["example"][0]["model_output"] = "different"
    (out / "copy.json").write_text(json.dumps(rec, ensure_ascii=False))
    with pytest.raises(TaskError, match="different output"):
        read_gaokao_bench_outputs(out)


@pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/data/gaokao-bench is not present")
def test_published_gpt4_math_i_rate_is_reproduced() -> None:
    spec = DatasetSpec("gaokao-bench", path=BENCH, options={"files": "*Math_I_MCQs.json"})
    samples = list(load_gaokao_bench(spec))
    outputs = read_gaokao_bench_outputs(BENCH / "Results" / "gpt_4_0314_obj")
    naive = [grade(s, outputs[s.id], GraderSpec("gaokao", {"extract": "last_capital"})) for s in samples]
    rate = 100 * sum(sc.points for sc in naive) / sum(sc.max_points for sc in naive)
    assert len(samples) == 214 and round(rate, 1) == 53.7


@pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/data/gaokao-bench is not present")
def test_reproduction_script_prints_every_published_figure() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "reproduce_gaokao_bench.py"
    out = subprocess.run([sys.executable, str(script), "--data", str(BENCH), "--show", "3"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    for figure in ("53.7%", "63.3%", "40.7%", "47.7%", "27.1%", "33.5%", "all published figures reproduced"):
        assert figure in out.stdout


@pytest.mark.parametrize(("published", "blanks"), [
    ("4 .\n", ["4"]),
    ("0. 98.\n", ["0.98"]),
    ("$\\frac{9 \\pi}{2}$.\n", ["\\frac{9 \\pi}{2}"]),
    ("$\\frac{3}{10} \\# \\# 0.3$\n", ["\\frac{3}{10}"]),
    ("(1). $-\\frac{1}{2} ; \\quad$ (2). $\\ln 2$.\n", ["-\\frac{1}{2}", "\\ln 2"]),
    ("$x=1$ 或 $x=2$\n", ["$x=1$ 或 $x=2$"]),
    ("(1)(2)(3)(5)\n", ["(1)(2)(3)(5)"]),
    ("2 (满足 $1<e \\leq \\sqrt{5}$ 皆可)\n", ["2"]),
])
def test_published_fill_in_answers_are_cleaned(published: str, blanks: list[str]) -> None:
    from evalkit.tasks.gaokao import bench_blanks

    assert bench_blanks(published) == blanks


@pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/data/gaokao-bench is not present")
def test_replay_then_import_the_published_judge_grades(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo), "COLUMNS": "160"}

    def evalkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=180)

    data = BENCH / "Data" / "Subjective_Questions" / "2010-2022_Math_II_Open-ended_Questions.json"
    run = tmp_path / "run"
    done = evalkit("run", "--task", "gaokao-bench-math", "--data", str(data), "--model",
                   f"replay:{BENCH / 'Results' / 'gpt_4_0314_sub'}", "--output", str(run), "--no-report", "-q")
    assert done.returncode == 0, done.stderr
    assert "await marks" in done.stdout
    grades = BENCH / "Results" / "gpt_4_0314_sub" / "gpt-4-1106-preview_correction_wo_marking_criterion"
    done = evalkit("grade", "import", str(run), str(grades), "--grader", "judge")
    assert done.returncode == 0, done.stderr
    assert "imported 122 marks" in done.stdout and "published mark 25 clipped to 0–12" in done.stdout
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    marks = read_gaokao_bench_marks(grades)
    samples = list(load_gaokao_bench(DatasetSpec("gaokao-bench", path=data)))
    clipped = {s.id: min(marks[s.id], s.max_points) for s in samples}
    best: dict[str, float] = {}
    for s in samples:  # an elective pair counts its better-marked item only
        group = s.metadata.get("elective") or s.id
        best[group] = max(best.get(group, 0.0), clipped[s.id])
    assert metrics["pending"]["n"] == 0
    assert metrics["points"] == pytest.approx(sum(best.values()))
