"""Every GAOKAO-Bench objective file: sub-question groups, physics multi-select, the benchmark's own rule.

The tests on real data read ``../shared/data/gaokao-bench-full`` and ``../shared/data/gaokao-mm-full`` and
skip when they are absent; the others build small checkouts here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED_DATA

from evalkit.grading import GraderSpec, grade
from evalkit.grading.gaokao_bench import bench_score
from evalkit.grading.letters import extract_letter_groups, gaokao_bench_letters
from evalkit.tasks.gaokao import load_gaokao_bench, read_gaokao_bench_outputs
from evalkit.tasks.multimodal import load_gaokao_mm
from evalkit.tasks.task import DatasetSpec

FULL = SHARED_DATA / "gaokao-bench-full"
MM_FULL = SHARED_DATA / "gaokao-mm-full"


def _checkout(tmp_path: Path, declare: bool = True) -> Path:
    root = tmp_path / "GAOKAO-Bench"
    data = root / "Data" / "Objective_Questions"
    data.mkdir(parents=True)
    files = {
        "2010-2022_Geography_MCQs": [{"year": "2011", "category": "（新课标）", "index": 0, "score": 4,
                                      "question": "据此完成 1～2 题．1．（4 分）…A．…B．…\n2．（4 分）…", "answer": ["B", "C"]}],
        "2012-2022_English_Cloze_Test": [{"year": "2016", "category": "（新课标ⅰ）", "index": 0, "score": 2,
                                          "question": "Read the passage…", "answer": ["C", "F", "A", "E", "D"]}],
        "2010-2022_Physics_MCQs": [
            {"year": "2013", "category": "（新课标ⅰ）", "index": 0, "score": 6, "question": "14. …", "answer": ["AC"]},
            {"year": "2013", "category": "（新课标ⅰ）", "index": 1, "score": 6, "question": "15. …", "answer": ["D"]}],
        "2010-2022_English_Fill_in_Blanks": [{"year": "2015", "category": "（新课标ⅱ）", "index": 0, "score": 1.5,
                                              "question": "41. …", "answer": ["B", "D", "C"]}],
    }
    for keyword, items in files.items():
        for item in items:
            item.setdefault("analysis", "")
        (data / f"{keyword}.json").write_text(json.dumps({"keywords": keyword, "example": items}, ensure_ascii=False))
    if declare:
        (root / "Bench").mkdir()
        types = {"2010-2022_Geography_MCQs": "multi_question_choice", "2012-2022_English_Cloze_Test": "five_out_of_seven",
                 "2010-2022_Physics_MCQs": "multi_choice", "2010-2022_English_Fill_in_Blanks": "multi_question_choice"}
        prompt = {"examples": [{"type": t, "keyword": k, "prefix_prompt": "…"} for k, t in types.items()]}
        (root / "Bench" / "Obj_Prompt.json").write_text(json.dumps(prompt, ensure_ascii=False))
    return root


@pytest.mark.parametrize("declare", [True, False])
def test_sub_question_groups_and_multi_select_load_as_such(tmp_path: Path, declare: bool) -> None:
    samples = {s.id: s for s in load_gaokao_bench(DatasetSpec("gaokao-bench", path=_checkout(tmp_path, declare)))}
    geo = samples["2010-2022_Geography_MCQs:0"]
    assert (geo.metadata["type"], geo.target, geo.metadata["points"], geo.max_points) == ("group", ["B", "C"], [4, 4], 8)
    assert geo.metadata["paper"] == "2011-新课标-地理" and geo.metadata["bench_type"] == "multi_question_choice"
    cloze = samples["2012-2022_English_Cloze_Test:0"]
    assert cloze.metadata["bench_type"] == "five_out_of_seven" and cloze.metadata["n_choices"] == 7
    assert cloze.max_points == 10
    blanks = samples["2010-2022_English_Fill_in_Blanks:0"]
    assert blanks.metadata["points"] == [1.5, 1.5, 1.5] and blanks.max_points == 4.5
    physics = samples["2010-2022_Physics_MCQs:0"]
    assert (physics.metadata["type"], physics.target, physics.metadata["rule"]) == ("multi", ["A", "C"], "physics-legacy")
    assert samples["2010-2022_Physics_MCQs:1"].metadata["type"] == "single"


def test_a_group_is_graded_one_sub_question_at_a_time(tmp_path: Path) -> None:
    samples = {s.id: s for s in load_gaokao_bench(DatasetSpec("gaokao-bench", path=_checkout(tmp_path)))}
    geo = samples["2010-2022_Geography_MCQs:0"]
    both = grade(geo, "（1）【答案】 B <eoa>\n（2）【答案】 C <eoa>", GraderSpec("gaokao"))
    one = grade(geo, "1. B\n2. D", GraderSpec("gaokao"))
    assert (both.points, both.status) == (8, "correct") and (one.points, one.status) == (4, "partial")
    cloze = samples["2012-2022_English_Cloze_Test:0"]
    assert grade(cloze, "【答案】C F A E G <eoa>", GraderSpec("gaokao")).points == 8
    assert grade(cloze, "I am not sure.", GraderSpec("gaokao")).status == "unparsed"


def test_physics_multi_select_takes_half_for_a_correct_subset(tmp_path: Path) -> None:
    samples = {s.id: s for s in load_gaokao_bench(DatasetSpec("gaokao-bench", path=_checkout(tmp_path)))}
    physics = samples["2010-2022_Physics_MCQs:0"]
    assert grade(physics, "故选AC", GraderSpec("gaokao")).points == 6
    assert grade(physics, "故选A", GraderSpec("gaokao")).points == 3
    assert grade(physics, "故选AB", GraderSpec("gaokao")).points == 0


@pytest.mark.parametrize(("text", "n", "letters"), [
    ("（1）【答案】 B <eoa>\n（2）【答案】 C <eoa>", 2, ["B", "C"]),
    ("41.【答案】B <eoa>\n42.【答案】D <eoa>\n43.【答案】C <eoa>", 3, ["B", "D", "C"]),
    ("【答案】C F A E D <eoa>", 5, ["C", "F", "A", "E", "D"]),
    ("答案：BB", 2, ["B", "B"]),
    ("(1) A (2) C (3) B", 3, ["A", "C", "B"]),
    ("21. C\n22. The passage does not say.\n23. **B**", 3, ["C", None, "B"]),
    ("（1）【答案】 B <eoa>\n（2）【答案】 无法回答 <eoa>", 2, ["B", None]),
])
def test_letter_groups(text: str, n: int, letters: list[str | None]) -> None:
    assert extract_letter_groups(text, n) == letters


def test_the_benchmarks_rule_reads_and_scores_as_its_scripts_do(tmp_path: Path) -> None:
    samples = {s.id: s for s in load_gaokao_bench(DatasetSpec("gaokao-bench", path=_checkout(tmp_path)))}
    physics = samples["2010-2022_Physics_MCQs:0"]
    assert gaokao_bench_letters("解析 <eoe>【答案】 A C <eoa>", "multi_choice") == ["AC"]
    assert bench_score(physics, "【答案】CA<eoa>").points == 3  # the benchmark compares strings
    assert bench_score(physics, "【答案】AD<eoa>").points == 0
    geo = samples["2010-2022_Geography_MCQs:0"]
    assert bench_score(geo, "（1）【答案】B（2）【答案】C").points == 8
    assert bench_score(geo, "只有一个答案 B").points == 0  # one letter for two sub-questions: all wrong
    spec = GraderSpec("gaokao", {"extract": "gaokao-bench"})
    assert grade(samples["2012-2022_English_Cloze_Test:0"], "CFAED", spec).points == 10


@pytest.mark.skipif(not FULL.is_dir(), reason="../shared/data/gaokao-bench-full is not present")
def test_every_objective_file_reproduces_its_published_score() -> None:
    published = json.loads((FULL / "Results" / "gpt_4_0314_obj" / "result" / "correction_score.json").read_text())
    per_file = {kw: v for subject in published["subject"].values() for kw, v in subject["type"].items()}
    samples = list(load_gaokao_bench(DatasetSpec("gaokao-bench", path=FULL / "Data" / "Objective_Questions")))
    outputs = read_gaokao_bench_outputs(FULL / "Results" / "gpt_4_0314_obj")
    points: Counter[str] = Counter()
    possible: Counter[str] = Counter()
    for s in samples:
        score = grade(s, outputs[s.id], GraderSpec("gaokao", {"extract": "gaokao-bench"}))
        points[s.metadata["file"]] += score.points
        possible[s.metadata["file"]] += score.max_points
    assert set(points) == set(per_file) and len(per_file) == 14
    for keyword, pub in per_file.items():
        assert (points[keyword], possible[keyword]) == (pub["correct_score"], pub["total_score"]), keyword
    assert (sum(points.values()), sum(possible.values())) == (7000, 9702)
    kinds = Counter(s.metadata["type"] for s in samples)
    assert kinds["group"] == 29 + 30 + 124 + 34 + 26 + 12 and kinds["multi"] == 23


@pytest.mark.skipif(not MM_FULL.is_dir(), reason="../shared/data/gaokao-mm-full is not present")
def test_gaokao_mm_physics_items_with_several_letters_use_the_physics_rule() -> None:
    samples = [s for s in load_gaokao_mm(DatasetSpec("gaokao-mm", path=MM_FULL, options={"subjects": "Physics"}))]
    several = [s for s in samples if len(s.target) > 1]
    assert len(samples) == 174 and len(several) == 73
    assert {s.metadata["rule"] for s in samples} == {"physics-legacy"}
    item = several[0]
    one_right = grade(item, f"故选{item.target[0]}", GraderSpec("by_type"))
    assert one_right.points == item.max_points / 2 == 3
    assert grade(item, "故选" + "".join(item.target), GraderSpec("by_type")).points == 6


@pytest.mark.skipif(not FULL.is_dir(), reason="../shared/data/gaokao-bench-full is not present")
def test_the_reproduction_script_prints_all_14_files_and_the_differences() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "reproduce_gaokao_bench.py"
    out = subprocess.run([sys.executable, str(script), "--data", str(FULL), "--show", "2"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    table = out.stdout.split("\n\n")[0]
    assert table.count(" yes ") == 15 and " NO " not in table  # 14 files and the total
    assert "7000 / 9702" in table and "575 / 1070" in table and "208 / 260" in table
    assert "items read differently; evalkit's default" in out.stdout
    assert "all published figures reproduced" in out.stdout
