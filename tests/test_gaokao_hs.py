"""gaokao-hs: GAOKAO-Bench's objective questions and GAOKAO-MM's image questions as one task.

Small checkouts written by the tests exercise where the data is found, the options and the metric; the
real benchmarks in ``../shared/data`` (skipped when absent) check reference = 100% on every subject and
modality and the random baseline at chance per subject.
"""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image as PILImage

from evalkit.adapters import make_adapter
from evalkit.grading.gaokao_hs import hs_accuracy
from evalkit.grading.multi_rules import DEFAULT_MULTI_RULE, MULTI_SELECT_RULES
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import TaskError, get_task
from evalkit.types import Sample, SampleResult, Score

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
REAL = (SHARED / "gaokao-bench-full").is_dir() and (SHARED / "gaokao-mm-full").is_dir()


def _bench(root: Path) -> Path:
    folder = root / "Data" / "Objective_Questions"
    folder.mkdir(parents=True)
    for keyword, subject, answers in (("2010-2022_Math_I_MCQs", "数学", ["B", "D"]),
                                      ("2010-2022_History_MCQs", "历史", ["A", "C", "B"])):
        examples = [{"year": str(2015 + i), "category": "（新课标Ⅰ）", "index": i, "score": 5, "answer": [a], "analysis": "",
                     "question": f"{i + 1}．一道{subject}选择题（ ）\nA．甲\nB．乙\nC．丙\nD．丁"} for i, a in enumerate(answers)]
        (folder / f"{keyword}.json").write_text(json.dumps({"keywords": keyword, "example": examples}, ensure_ascii=False))
    return root


def _mm(root: Path) -> Path:
    data = root / "Data"
    (data / "2010-2023_Physics_MCQs").mkdir(parents=True)
    PILImage.new("RGB", (12, 8), "white").save(data / "2010-2023_Physics_MCQs" / "p_0_0.png")
    examples = [{"year": "2021", "category": "全国甲卷", "index": 0, "score": 6, "answer": ["AC"],
                 "question": "如图，下列说法正确的是\nA．一\nB．二\nC．三\nD．四",
                 "picture": ["../Data/2010-2023_Physics_MCQs/p_0_0.png"]}]
    (data / "2010-2023_Physics_MCQs.json").write_text(json.dumps({"keywords": "2010-2023_Physics_MCQs", "example": examples},
                                                                 ensure_ascii=False))
    return root


@pytest.fixture
def both(tmp_path: Path) -> Path:
    _bench(tmp_path / "gaokao-bench-full")
    _mm(tmp_path / "gaokao-mm-full")
    return tmp_path


def test_one_folder_holding_both_checkouts(both: Path) -> None:
    task = get_task("gaokao-hs", data=str(both))
    meta = [(s.metadata["benchmark"], s.metadata["subject"], s.metadata["modality"]) for s in task.samples]
    assert meta.count(("GAOKAO-Bench", "math", "text")) == 2 and meta.count(("GAOKAO-Bench", "history", "text")) == 3
    assert meta[-1] == ("GAOKAO-MM", "physics", "image")
    img = task.samples[-1]
    assert img.metadata["paper"] == "2021-全国甲卷" and img.metadata["points"] == 6 and img.metadata["items"] == 1
    parts = task.render(img)[0].content
    assert parts[0].text.startswith("请你做一道物理选择题") and type(parts[-1]).__name__ == "Image"
    text = task.render(task.samples[0])[0].content
    assert len(text) == 1 and "一道历史选择题" in text[0].text  # files in name order: History before Math_I


def test_the_two_checkouts_given_separately_and_only_what_the_selection_needs(both: Path, tmp_path: Path) -> None:
    task = get_task("gaokao-hs", options={"bench": str(both / "gaokao-bench-full"), "mm": str(both / "gaokao-mm-full")})
    assert len(task.samples) == 6
    text_only = get_task("gaokao-hs", options={"bench": str(both / "gaokao-bench-full"), "modality": "text",
                                              "mm": str(tmp_path / "none")})
    assert {s.metadata["modality"] for s in text_only.samples} == {"text"}
    (tmp_path / "only-bench").mkdir()
    _bench(tmp_path / "only-bench" / "gaokao-bench-full")
    with pytest.raises(TaskError, match=r"gaokao-hs needs GAOKAO-MM: no checkout with Data/\*.json in .*only-bench"):
        _ = get_task("gaokao-hs", data=str(tmp_path / "only-bench")).samples


def test_subjects_modality_and_years_pick_items(both: Path) -> None:
    def ids(**options: str) -> list[str]:
        return [s.id for s in get_task("gaokao-hs", data=str(both), options=options).samples]

    assert len(ids(subjects="历史")) == 3 and ids(subjects="history") == ids(subjects="历史")
    assert len(ids(subjects="math,physics")) == 3
    assert len(ids(modality="image")) == 1
    assert len(ids(years="2015-2016")) == 4 and len(ids(years="2017,2021")) == 2
    for options, needle in (({"subjects": "art"}, r"-T subjects=art: no subject 'art'; the subjects are chinese"),
                            ({"modality": "video"}, r"-T modality=video: choose text, image or all"),
                            ({"years": "2020-2018"}, r"-T years=2020-2018: the range 2020-2018 runs backwards"),
                            ({"colour": "red"}, r"-T colour=red: task file .* takes no option 'colour'")):
        with pytest.raises(TaskError, match=needle):
            ids(**options)


def test_a_selection_that_picks_nothing_is_an_error_not_a_zero(both: Path, tmp_path: Path) -> None:
    """QA: `-T years=2099` ran 0 samples, printed accuracy 0.0% and exited 0."""
    def ids(**options: str) -> list[str]:
        return [s.id for s in get_task("gaokao-hs", data=str(both), options=options).samples]

    for options, needle in (({"years": "2099"}, r"-T years=2099: no item matches this selection \(the text and image "
                                                r"questions found are from 2015 to 2021\)"),
                            ({"subjects": "history", "modality": "image"},
                             r"-T subjects=history -T modality=image: no item matches"),
                            ({"subjects": "english", "modality": "image"}, r"GAOKAO-MM has no English questions")):
        with pytest.raises(TaskError, match=needle):
            ids(**options)
    from typer.testing import CliRunner

    from evalkit.cli import app

    out = CliRunner().invoke(app, ["run", "--task", "gaokao-hs", "--data", str(both), "--model", "reference",
                                   "-T", "years=2099", "--output", str(tmp_path / "run")])
    assert out.exit_code == 2 and "no item matches this selection" in out.output
    assert not (tmp_path / "run").exists()


def _result(subject: str, modality: str, value: float, *, items: int = 1, points: float = 5, status: str = "correct",
            images: str | None = None) -> SampleResult:
    meta = {"subject": subject, "modality": modality, "items": items, "benchmark": "GAOKAO-MM" if modality == "image"
            else "GAOKAO-Bench"}
    if images:
        meta["images"] = images
    score = Score(value, status, value * points, points)  # type: ignore[arg-type]
    return SampleResult("x", [], "A", "", score, metadata=meta)


def test_the_metric_counts_items_balances_subjects_and_leaves_skipped_out() -> None:
    results = [_result("english", "text", 0.5, items=20, points=30, status="partial"),  # 10 of 20 blanks
               _result("math", "text", 1.0), _result("math", "image", 0.0, status="wrong"),
               _result("physics", "image", 0.5, points=6, status="partial"),  # a correct subset: half an item
               _result("physics", "image", 0.0, status="skipped")]
    m = hs_accuracy(results)
    assert m["hs_items"] == 23 and m["hs_skipped_items"] == 1
    assert m["hs_accuracy"] == pytest.approx((10 + 1 + 0 + 0.5) / 23)
    assert m["hs_subject_balanced"] == pytest.approx((0.5 + 0.5 + 0.5) / 3)
    assert m["hs_points_rate"] == pytest.approx((15 + 5 + 0 + 3) / (30 + 5 + 5 + 6))
    assert m["hs_accuracy_ci_low"] <= m["hs_accuracy"] <= m["hs_accuracy_ci_high"]
    grid = m["gaokao_hs"]["grid"]
    assert grid["math"]["text"]["accuracy"] == 1.0 and grid["math"]["image"]["accuracy"] == 0.0
    assert grid["all"]["image"]["items"] == 2 and m["gaokao_hs"]["subjects"] == ["math", "english", "physics"]
    assert m["gaokao_hs"]["benchmarks"]["GAOKAO-Bench"]["english"]["points_rate"] == 0.5


def test_the_card_says_how_image_questions_were_sent(both: Path, tmp_path: Path) -> None:
    from evalkit.cli_tasks import image_policy_line

    task = get_task("gaokao-hs", data=str(both))
    for policy, needle in (("skip", "1 image items skipped (--images skip)"),
                           ("text", "1 image questions sent as text without their figures (--images text)"),
                           ("send", "image questions sent with their figures")):
        out = run_sync(task, make_adapter("reference"), RunConfig(output=tmp_path / policy, progress=False, images=policy))
        assert needle in image_policy_line(out.summary["metrics"]["gaokao_hs"]), policy
    text = get_task("gaokao-hs", data=str(both), options={"modality": "text"})
    out = run_sync(text, make_adapter("reference"), RunConfig(output=tmp_path / "text-only", progress=False))
    assert image_policy_line(out.summary["metrics"]["gaokao_hs"]) == "no image questions in this selection"


def _expected(sample: Sample) -> tuple[float, float]:
    """The random baseline's expected right items on ``sample`` and their variance, by enumeration."""
    n = int(sample.metadata.get("n_choices") or 4)
    items = int(sample.metadata.get("items") or 1)
    kind = sample.metadata.get("type")
    if kind == "single":
        return items / n, items * (1 / n) * (1 - 1 / n)
    if kind == "group":
        p = 1 / n
        return items * p, items * p * (1 - p)
    rule = MULTI_SELECT_RULES[sample.metadata.get("rule") or DEFAULT_MULTI_RULE]
    gold = sorted({ch for t in sample.target for ch in str(t)})
    letters = "ABCDEFGHIJ"[:n]
    mean = second = 0.0
    for k in range(1, n + 1):
        picks = list(combinations(letters, k))
        for pick in picks:
            value = rule.points(list(pick), gold, 1.0)[0]
            mean += value / n / len(picks)
            second += value * value / n / len(picks)
    return mean, second - mean * mean


@pytest.mark.skipif(not REAL, reason="needs ../shared/data/gaokao-bench-full and gaokao-mm-full")
def test_real_data_all_3590_items_reference_is_perfect_and_random_is_chance_per_subject(tmp_path: Path) -> None:
    task = get_task("gaokao-hs", data=str(SHARED))
    assert sum(s.metadata["items"] for s in task.samples) == 3590
    ref = run_sync(task, make_adapter("reference"), RunConfig(output=tmp_path / "ref", progress=False))
    metrics = ref.summary["metrics"]
    assert metrics["hs_items"] == 3590 and metrics["hs_accuracy"] == 1.0 and metrics["hs_points_rate"] == 1.0
    grid = metrics["gaokao_hs"]["grid"]
    assert set(grid) == {"chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography",
                         "politics", "all"}
    assert (grid["all"]["text"]["items"], grid["all"]["image"]["items"]) == (2944, 646)
    for subject, row in grid.items():
        for modality, cell in row.items():
            assert cell["accuracy"] == 1.0 and cell["points_rate"] == 1.0, (subject, modality)
    rnd = run_sync(task, make_adapter("random:1"), RunConfig(output=tmp_path / "rnd", progress=False))
    from evalkit.results import load_run

    results = {r.id: r for r in load_run(rnd.path).results}
    by_subject: dict[str, list[float]] = {}
    for sample in task.samples:
        result = results[sample.id]
        assert result.score.status not in ("error", "unparsed"), (sample.id, result.score.reason)
        mean, var = _expected(sample)
        acc = by_subject.setdefault(sample.metadata["subject"], [0.0, 0.0, 0.0])
        acc[0] += result.score.value * int(sample.metadata["items"])
        acc[1] += mean
        acc[2] += var
    assert len(by_subject) == 9
    for subject, (got, mean, var) in by_subject.items():
        assert abs(got - mean) <= 3 * math.sqrt(var), (subject, got, mean, var)
