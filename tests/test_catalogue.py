"""The task catalogue: every catalogue task runs offline on its fixture, its card cites its sources,
the hub table format reads the layouts the cards declare, and the CLI lists and shows the tasks.

The fixtures (``tasks/<name>/fixture``) are a handful of rows in each benchmark's real schema, written
for evalkit; they are read through the same loaders as a local copy of the real data (``--data``).
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
from math import comb
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evalkit.adapters import make_adapter
from evalkit.cli import app
from evalkit.grading import grade
from evalkit.grading.metrics import circular_accuracy
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import TaskError, get_task, list_tasks
from evalkit.types import Request, Sample, SampleResult, Score

CATALOGUE = ("mmlu", "cmmlu", "ceval", "gsm8k", "math-500", "aime-2024", "aime-2025", "gpqa-diamond", "mmbench-en",
             "mmbench-cn", "ai2d", "chartqa", "mmmu", "mathvista", "mathvision", "scienceqa", "cmmmu",
             "olympiadbench-gaokao")


def fixture_task(name: str, **options: str):  # noqa: ANN201 - a Task
    fixture = get_task(name).about["fixture"]
    return get_task(name, data=fixture, options=options or None)


def test_the_catalogue_is_registered_with_fixtures() -> None:
    names = set(list_tasks())
    assert set(CATALOGUE) <= names
    with_fixture = {n for n in names if get_task(n).about.get("fixture")}
    assert set(CATALOGUE) <= with_fixture


@pytest.mark.parametrize("name", CATALOGUE)
def test_card_names_group_source_licence_fields_rule_and_what_was_checked(name: str) -> None:
    task = get_task(name)
    about = task.about
    assert about["group"] in ("gaokao", "multimodal", "knowledge", "math")
    for key in ("title", "homepage", "licence", "data", "rule"):
        assert str(about.get(key, "")).strip(), f"{name}: about.{key} is empty"
    assert about["fields"], name
    assert about["checked"] and all("http" in str(c) for c in about["checked"]), name
    assert task.dataset is not None and task.dataset.hf_id and task.dataset.split, name
    assert task.dataset.hf_id in about["data"], f"{name}: about.data should name the hub id"


@pytest.mark.parametrize("name", CATALOGUE)
def test_reference_scores_everything_on_the_fixture(name: str, tmp_path: Path) -> None:
    task = fixture_task(name)
    assert len(task.samples) >= 3
    out = run_sync(task, make_adapter("reference"), RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
    counts = out.summary["counts"]
    assert counts["correct"] == counts["n"] == len(task.samples), counts
    for metric, value in out.summary["metrics"].items():
        if metric.endswith("accuracy"):
            assert value == 1.0, (name, metric)


def _chance(sample: Sample, rule: str) -> float:
    n = len(sample.choices or ()) or int(sample.metadata.get("n_choices") or 0)
    if not n:
        return 0.0  # open answers: the fixtures' golds are none of the random baseline's guesses
    if sample.metadata.get("type") == "multi":  # a uniform subset size, then a uniform subset; exact only
        k = len(sample.target)
        return 1 / n / comb(n, k) if rule == "all-or-nothing" else math.nan
    return 1 / n


@pytest.mark.parametrize("name", CATALOGUE)
def test_random_lands_on_chance(name: str) -> None:
    task = fixture_task(name)
    rule = (task.grader.options.get("multi_select") or {}).get("rule", "all-or-nothing")
    expected = [_chance(s, rule) for s in task.samples]
    values = []
    for seed in range(1, 61):
        adapter = make_adapter(f"random:{seed}")
        for sample in task.samples:
            response = asyncio.run(adapter.generate(Request(task.render(sample), sample=sample)))
            score = grade(sample, response.text, task.grader)
            assert score.status != "error", (name, sample.id, score.reason)
            values.append(score.value)
    n = len(values)
    mean, p = sum(values) / n, sum(expected) / len(expected)
    sd = math.sqrt(sum(e * (1 - e) for e in expected) * 60) / n
    assert abs(mean - p) <= 3 * sd + 1e-9, (name, mean, p, sd)


def test_a_local_copy_in_parquet_with_class_labels_and_images(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    import io

    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.new("RGB", (9, 7), (10, 200, 30)).save(buf, format="PNG")
    features = datasets.Features({"question": datasets.Value("string"), "options": datasets.Sequence(datasets.Value("string")),
                                  "answer": datasets.Value("string"), "image": datasets.Image()})
    ds = datasets.Dataset.from_dict({"question": ["Which colour?"], "options": [["red", "green"]], "answer": ["1"],
                                     "image": [{"bytes": buf.getvalue(), "path": None}]}, features=features)
    (tmp_path / "ai2d" / "data").mkdir(parents=True)
    ds.to_parquet(str(tmp_path / "ai2d" / "data" / "test-00000-of-00001.parquet"))
    mmlu = datasets.Dataset.from_dict(
        {"question": ["2+2?"], "subject": ["elementary_mathematics"], "choices": [["3", "4", "5", "6"]], "answer": [1]},
        features=datasets.Features({"question": datasets.Value("string"), "subject": datasets.Value("string"),
                                    "choices": datasets.Sequence(datasets.Value("string")),
                                    "answer": datasets.ClassLabel(names=["A", "B", "C", "D"])}))
    (tmp_path / "mmlu" / "all").mkdir(parents=True)
    mmlu.to_parquet(str(tmp_path / "mmlu" / "all" / "test-00000-of-00001.parquet"))

    ai2d = get_task("ai2d", data=str(tmp_path / "ai2d")).samples[0]
    assert (ai2d.target, ai2d.choices) == ("B", ("red", "green"))
    with PILImage.open(io.BytesIO(ai2d.images[0].data())) as im:
        assert im.size == (9, 7)
    q = get_task("mmlu", data=str(tmp_path / "mmlu")).samples[0]
    assert (q.target, q.metadata["subject"]) == ("B", "elementary_mathematics")


def test_the_official_release_layouts_of_cmmlu_and_ceval(tmp_path: Path) -> None:
    (tmp_path / "val").mkdir()
    with (tmp_path / "val" / "logic_val.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "question", "A", "B", "C", "D", "answer", "explanation"])
        w.writerow([0, "若所有 P 都是 Q，则", "有的 Q 是 P", "所有 Q 都是 P", "没有 Q 是 P", "无法判断", "A", ""])
    task = get_task("ceval", data=str(tmp_path))
    assert [(s.id, s.target) for s in task.samples] == [("logic/0", "A")]
    assert get_task("cmmlu", data=get_task("cmmlu").about["fixture"]).samples[0].id == "agronomy/1"


def test_subjects_pick_configs_and_a_wrong_one_names_them() -> None:
    task = fixture_task("ceval", subjects="middle_school_geography")
    assert {s.metadata["config"] for s in task.samples} == {"middle_school_geography"}
    with pytest.raises(TaskError, match=r"-T subjects=geology: no config geology; the configs are computer_network, "):
        _ = fixture_task("ceval", subjects="geology").samples
    with pytest.raises(TaskError, match=r"no data files for config 'accountant', split 'val'"):
        _ = fixture_task("ceval", subjects="accountant").samples


def test_a_task_option_the_file_does_not_declare_is_an_error() -> None:
    with pytest.raises(TaskError, match=r"-T subject=x: task file .*mmlu/task.yaml takes no option 'subject'; "
                                        r"it takes: split, config, hf"):
        get_task("mmlu", options={"subject": "x"})
    assert get_task("mmlu", options={"split": "validation"}).dataset.split == "validation"


def _hub_task(tmp_path: Path, options: str, rows: list[dict]) -> Path:
    (tmp_path / "data").mkdir()
    with (tmp_path / "data" / "test.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    path = tmp_path / "t.yaml"
    path.write_text("name: t\ndataset:\n  format: hub\n  hf: org/t\n  split: test\n"
                    "  fields: {input: q, choices: c, target: a}\n" f"  options: {options}\n")
    return path


def test_a_hub_option_typo_is_an_error_naming_the_allowed(tmp_path: Path) -> None:
    path = _hub_task(tmp_path, "{anwser: index}", [{"q": "?", "c": ["x", "y"], "a": 0}])
    with pytest.raises(TaskError, match=r"dataset.options.anwser is not an option of the 'hub' format; allowed: configs"):
        _ = get_task(str(path), data=str(tmp_path)).samples


def test_a_bad_answer_names_the_row(tmp_path: Path) -> None:
    path = _hub_task(tmp_path, "{answer: index}", [{"q": "?", "c": ["x", "y"], "a": 0}, {"q": "?", "c": ["x", "y"], "a": 7}])
    with pytest.raises(TaskError, match=r"row 2 \(id 2\): answer index 7 is outside its 2 options"):
        _ = get_task(str(path), data=str(tmp_path)).samples


def test_an_image_path_outside_the_copy_is_refused(tmp_path: Path) -> None:
    path = _hub_task(tmp_path, "{answer: index}", [{"q": "?", "c": ["x", "y"], "a": 0,
                                                    "img": {"bytes": None, "path": "../../secret.png"}}])
    with pytest.raises(TaskError, match=r"column 'img' names an image outside the data folder"):
        _ = get_task(str(path), data=str(tmp_path)).samples


def test_gpqa_options_are_shuffled_the_same_way_every_time() -> None:
    first = [(s.target, s.choices) for s in fixture_task("gpqa-diamond").samples]
    again = [(s.target, s.choices) for s in fixture_task("gpqa-diamond").samples]
    assert first == again
    assert len({t for t, _ in first}) > 1  # the right answer is not always in the same place


def test_answer_forms_gsm8k_aime_chartqa() -> None:
    gsm = fixture_task("gsm8k").samples
    assert [s.target for s in gsm] == ["72", "210", "1000", "30"]  # "#### 1,000" → 1000
    assert grade(gsm[2], "So the sale price is $1,000.", get_task("gsm8k").grader).status == "correct"
    aime = fixture_task("aime-2024")
    two = next(s for s in aime.samples if s.target == "024")
    assert grade(two, "The remainder is \\boxed{24}.", aime.grader).status == "correct"
    chart = fixture_task("chartqa")
    bars = chart.samples[0]
    assert grade(bars, "about \\boxed{64}", chart.grader).status == "correct"  # within 5% of 62.5
    assert grade(bars, "\\boxed{66}", chart.grader).status == "wrong"
    assert grade(chart.samples[1], "The answer is dogs.", chart.grader).status == "correct"


def test_circular_accuracy_counts_a_question_only_when_every_rotation_is_right() -> None:
    def result(sid: str, group: str, ok: bool) -> SampleResult:
        score = Score(1.0 if ok else 0.0, "correct" if ok else "wrong", 1.0 if ok else 0.0, 1.0)
        return SampleResult(sid, [], "A", "", score, metadata={"circular_group": group})

    results = [result("1", "g1", True), result("1000001", "g1", True), result("2", "g2", True),
               result("1000002", "g2", False)]
    assert circular_accuracy(results) == {"circular_accuracy": 0.5, "circular_questions": 2}
    task = fixture_task("mmbench-en")
    groups = {s.metadata["circular_group"] for s in task.samples}
    assert len(groups) == 2 and len(task.samples) == 6


def test_show_task_prints_the_card_and_an_example_from_the_fixture() -> None:
    out = CliRunner().invoke(app, ["show-task", "gsm8k"])
    assert out.exit_code == 0, out.output
    for needle in ("source: hub openai/gsm8k, config main, split test", "licence: MIT", "input: question",
                   "answer rule:", "checked against:", "example prompt (sample 1 of the fixture)", "target: 72"):
        assert needle in out.output, needle
    images = CliRunner().invoke(app, ["show-task", "mmmu"])
    assert "[image 1: " in images.output
    missing = CliRunner().invoke(app, ["show-task", "no-such-task"])
    assert missing.exit_code == 2 and "no such task" in missing.output


def test_list_tasks_groups_the_catalogue_and_says_where_the_data_is() -> None:
    out = CliRunner().invoke(app, ["list", "tasks", "--no-counts", "-v"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    text = out.output
    titles = [line.strip() for line in text.splitlines() if line.strip() in ("Gaokao", "Multimodal", "Knowledge", "Math")]
    assert titles == ["Gaokao", "Multimodal", "Knowledge", "Math"]
    assert "hub cais/mmlu" in text and "hub Idavidrein/gpqa, gated" in text and "bundled" in text
    assert "gpqa-diamond licence: CC-BY-4.0; gated" in text


def test_docs_tasks_lists_every_builtin_task() -> None:
    import inspect

    from evalkit.tasks import builtin_task_dir, tasks
    from evalkit.tasks.paths import inside

    def built_in(name: str) -> bool:  # not a task another test included into the same process
        entry = tasks.get(name)
        return inside(entry if isinstance(entry, Path) else Path(inspect.getfile(entry)), [builtin_task_dir()])

    text = (Path(__file__).resolve().parent.parent / "docs" / "tasks.md").read_text(encoding="utf-8")
    names = [name for name in list_tasks() if built_in(name)]
    assert len(names) > 20
    for name in names:
        assert f"`{name}`" in text, name
