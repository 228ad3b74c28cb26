"""Hub benchmark loaders over local copies in each benchmark's layout, written by the tests.

Each fixture is the hub repository's file layout (``data/<split>-*.parquet``, or one folder per
config) with ``datasets`` Image columns, read through ``--data``; two of them run end to end
through the ``openai:`` adapter against the local test server.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from evalkit.adapters import make_adapter
from evalkit.grading import grade
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.testing.server import ModelServer
from evalkit.types import Image, Text

datasets = pytest.importorskip("datasets")


def png(color: tuple[int, int, int], size: tuple[int, int] = (24, 16)) -> dict[str, Any]:
    buf = io.BytesIO()
    PILImage.new("RGB", size, color).save(buf, format="PNG")
    return {"bytes": buf.getvalue(), "path": None}


def write_parquet(path: Path, columns: dict[str, list[Any]], features: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    ds.to_parquet(str(path))


S, IMG = datasets.Value("string"), datasets.Image()
LIST = datasets.Sequence(datasets.Value("string"))


def mathvista(root: Path) -> Path:
    write_parquet(root / "data" / "testmini-00000-of-00001.parquet", {
        "pid": ["1", "2", "3"],
        "question": ["Which is larger?", "How many bars?", "What is the slope?"],
        "query": ["Hint: answer with the option letter.\nQuestion: Which is larger?\nChoices:\n(A) left\n(B) right",
                  "Hint: answer with an integer.\nQuestion: How many bars?",
                  "Hint: answer with a float with two decimals.\nQuestion: What is the slope?"],
        "image": ["images/1.jpg", "images/2.jpg", "images/3.jpg"],
        "decoded_image": [png((255, 0, 0)), png((0, 255, 0)), png((0, 0, 255))],
        "choices": [["left", "right"], None, None],
        "unit": [None, None, None], "precision": [None, None, 2.0],
        "answer": ["right", "7", "1.45"],
        "question_type": ["multi_choice", "free_form", "free_form"],
        "answer_type": ["text", "integer", "float"],
    }, {"pid": S, "question": S, "query": S, "image": S, "decoded_image": IMG, "choices": LIST, "unit": S,
        "precision": datasets.Value("float64"), "answer": S, "question_type": S, "answer_type": S})
    return root


def mmmu(root: Path) -> Path:
    cols = {"id": [], "question": [], "options": [], "answer": [], "question_type": [], **{f"image_{i}": [] for i in range(1, 8)}}
    rows = [("validation_Math_1", "In <image 1>, which curve is steeper than in <image 2>?", "['f', 'g', 'h']", "B",
             "multiple-choice", 2),
            ("validation_Math_2", "<image 1> What is the area?", "[]", "['12', '12.0']", "open", 1)]
    for sid, q, opts, ans, kind, n_img in rows:
        cols["id"].append(sid)
        cols["question"].append(q)
        cols["options"].append(opts)
        cols["answer"].append(ans)
        cols["question_type"].append(kind)
        for i in range(1, 8):
            cols[f"image_{i}"].append(png((40 * i, 0, 0), (10 + i, 10)) if i <= n_img else None)
    feats = {"id": S, "question": S, "options": S, "answer": S, "question_type": S, **{f"image_{i}": IMG for i in range(1, 8)}}
    write_parquet(root / "Math" / "validation-00000-of-00001.parquet", cols, feats)
    phys = {k: v[:1] for k, v in cols.items()}
    phys["id"] = ["validation_Physics_1"]
    write_parquet(root / "Physics" / "validation-00000-of-00001.parquet", phys, feats)
    return root


def scienceqa(root: Path) -> Path:
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "image": [png((9, 9, 9)), None, png((200, 200, 0))],
        "question": ["Which animal is shown?", "Text only?", "Which state is highlighted?"],
        "choices": [["cat", "dog", "fish"], ["yes", "no"], ["Ohio", "Utah"]],
        "answer": [1, 0, 1], "hint": ["Look at the picture.", "", ""],
        "subject": ["natural science"] * 3, "grade": ["grade3"] * 3,
    }, {"image": IMG, "question": S, "choices": LIST, "answer": datasets.Value("int8"), "hint": S, "subject": S, "grade": S})
    return root


def mathvision(root: Path) -> Path:
    write_parquet(root / "data" / "test-00000-of-00001.parquet", {
        "id": ["1", "2"], "question": ["<image1>\nWhich shape is shaded?", "<image1>\nFind the angle x."],
        "options": [["A square", "A circle", "A star", "A kite", "A ring"], []],
        "image": ["images/1.jpg", "images/2.jpg"], "decoded_image": [png((1, 1, 1)), png((2, 2, 2))],
        "answer": ["C", "$\\frac{\\pi}{3}$"], "level": [1, 3], "subject": ["counting", "metric geometry - angle"],
    }, {"id": S, "question": S, "options": LIST, "image": S, "decoded_image": IMG, "answer": S,
        "level": datasets.Value("int64"), "subject": S})
    return root


def cmmmu(root: Path) -> Path:
    cols: dict[str, list[Any]] = {"id": ["1", "2", "3", "4"], "type": ["选择", "选择", "判断", "填空"],
                                  "question": ["<img=\"1.png\">图中哪一项正确？", "哪些是质数？", "图中三角形是直角三角形。", "图中圆的半径是多少？"],
                                  "option1": ["甲", "2", None, None], "option2": ["乙", "4", None, None],
                                  "option3": ["丙", "5", None, None], "option4": ["丁", "9", None, None],
                                  "answer": ["C", "AC", "对", "3"]}
    for i in range(1, 6):
        cols[f"image_{i}"] = [png((0, 0, 9 * k)) if i == 1 and k in (0, 2) else None for k in range(4)]
    feats = {"id": S, "type": S, "question": S, **{f"option{i}": S for i in range(1, 5)}, "answer": S,
             **{f"image_{i}": IMG for i in range(1, 6)}}
    write_parquet(root / "science" / "val-00000-of-00001.parquet", cols, feats)
    return root


def olympiadbench(root: Path) -> Path:
    feats = {"id": datasets.Value("int64"), "question": S, "final_answer": LIST, "is_multiple_answer": datasets.Value("bool"),
             "unit": S, "answer_type": S, "error": S, "context": S, **{f"image_{i}": IMG for i in range(1, 6)}}
    mm = {"id": [101, 102], "question": ["如图<image_1>，求 $AB$ 的长。", "如图<image_1>，求方程的两个根。"],
          "final_answer": [["$1.73$"], ["$1$", "$3$"]], "is_multiple_answer": [False, True],
          "unit": [None, None], "answer_type": ["Numerical", "Numerical"], "error": ["0.01", None], "context": [None, None],
          "image_1": [png((5, 5, 5)), png((6, 6, 6))], **{f"image_{i}": [None, None] for i in range(2, 6)}}
    write_parquet(root / "OE_MM_maths_zh_CEE" / "train-00000-of-00001.parquet", mm, feats)
    to = {"id": [201], "question": ["已知 $x+1=3$，求 $x$。"], "final_answer": [["$2$"]], "is_multiple_answer": [False],
          "unit": [None], "answer_type": ["Numerical"], "error": [None], "context": [None], **{f"image_{i}": [None] for i in range(1, 6)}}
    write_parquet(root / "OE_TO_maths_zh_CEE" / "train-00000-of-00001.parquet", to, feats)
    return root


FIXTURES = {"mathvista": mathvista, "mmmu": mmmu, "scienceqa": scienceqa, "mathvision": mathvision, "cmmmu": cmmmu,
            "olympiadbench-gaokao": olympiadbench}


def test_mathvista_rules(tmp_path: Path) -> None:
    task = get_task("mathvista", data=str(mathvista(tmp_path / "MathVista")))
    one, two, three = task.samples
    assert (one.target, one.metadata["type"], one.metadata["n_choices"]) == ("B", "single", 2)
    assert two.metadata["precision"] == 0 and three.metadata["precision"] == 2
    assert isinstance(one.input, tuple) and isinstance(one.input[0], Text) and len(one.images) == 1
    with PILImage.open(io.BytesIO(one.images[0].data())) as im:
        assert im.getpixel((0, 0)) == (255, 0, 0)
    spec = task.grader
    assert grade(three, "so the slope is \\boxed{1.4512}", spec).status == "correct"  # two decimals, as the rules say
    assert grade(three, "\\boxed{1.46}", spec).status == "wrong"
    assert grade(two, "There are \\boxed{7} bars.", spec).status == "correct"


def test_mmmu_places_images_at_markers_and_accepts_alternatives(tmp_path: Path) -> None:
    task = get_task("mmmu", data=str(mmmu(tmp_path / "MMMU")), options={"subjects": "Math"})
    mc, open_q = task.samples
    assert [s.id for s in task.samples] == ["validation_Math_1", "validation_Math_2"]
    assert mc.choices == ("f", "g", "h") and mc.target == "B"
    parts = task.render(mc)[0].content
    assert [type(p).__name__ for p in parts] == ["Text", "Image", "Text", "Image", "Text"]
    assert parts[0].text == "In " and parts[2].text.startswith(", which curve")  # type: ignore[union-attr]
    assert open_q.metadata["alternatives"] == ["12", "12.0"]
    assert grade(open_q, "The area is \\boxed{12.0}", task.grader).status == "correct"
    assert grade(open_q, "The area is \\boxed{13}", task.grader).status == "wrong"
    both = get_task("mmmu", data=str(tmp_path / "MMMU"), options={"subjects": "Math,Physics"})
    assert len(both.samples) == 3


def test_scienceqa_keeps_image_questions(tmp_path: Path) -> None:
    task = get_task("scienceqa", data=str(scienceqa(tmp_path / "ScienceQA")))
    assert [s.target for s in task.samples] == ["B", "B"]
    first = task.samples[0]
    assert first.text.startswith("Context: Look at the picture.") and first.choices == ("cat", "dog", "fish")
    assert len(get_task("scienceqa", data=str(tmp_path / "ScienceQA"), options={"all": "1"}).samples) == 3


def test_mathvision_letters_or_open(tmp_path: Path) -> None:
    task = get_task("mathvision", data=str(mathvision(tmp_path / "MathVision")))
    mc, open_q = task.samples
    assert (mc.target, len(mc.choices or ()), mc.metadata["type"]) == ("C", 5, "single")
    assert open_q.target == "\\frac{\\pi}{3}" and open_q.metadata["type"] == "open"
    parts = task.render(mc)[0].content
    assert isinstance(parts[0], Image)  # the <image1> marker at the start


def test_cmmmu_question_types(tmp_path: Path) -> None:
    task = get_task("cmmmu", data=str(cmmmu(tmp_path / "CMMMU")), options={"subjects": "science"})
    single, multi, judge, fill = task.samples
    assert (single.target, single.metadata["type"]) == ("C", "single")
    assert (multi.target, multi.metadata["type"]) == (["A", "C"], "multi")
    assert (judge.choices, judge.target) == (("正确", "错误"), "A")
    assert (fill.target, fill.metadata["type"]) == ("3", "open")
    assert len(single.images) == 1 and not multi.images
    assert task.render(single)[0].content[0] == single.images[0]  # the <img=...> tag became <image 1>
    assert grade(multi, "故选A", task.grader).status == "wrong"  # CMMMU gives no partial credit
    assert grade(multi, "故选AC", task.grader).status == "correct"


def test_olympiadbench_gaokao_subsets(tmp_path: Path) -> None:
    task = get_task("olympiadbench-gaokao", data=str(olympiadbench(tmp_path / "OlympiadBench")))
    ids = [s.id for s in task.samples]
    assert ids == ["OE_MM_maths_zh_CEE_101", "OE_MM_maths_zh_CEE_102", "OE_TO_maths_zh_CEE_201"]
    ab, roots, text_only = task.samples
    assert ab.target == "1.73" and ab.metadata["abs_tolerance"] == 0.01
    assert roots.target == ["1", "3"] and roots.metadata["type"] == "fill"
    assert not text_only.images and len(ab.images) == 1
    assert grade(ab, "所以最终答案是\\boxed{1.735}。", task.grader).status == "correct"  # within the item's error
    assert grade(ab, "所以最终答案是\\boxed{1.75}。", task.grader).status == "wrong"
    only_mm = get_task("olympiadbench-gaokao", data=str(tmp_path / "OlympiadBench"), options={"subsets": "OE_MM_maths_zh_CEE"})
    assert len(only_mm.samples) == 2


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_reference_scores_everything(name: str, tmp_path: Path) -> None:
    root = FIXTURES[name](tmp_path / name)
    out = run_sync(get_task(name, data=str(root)), make_adapter("reference"),
                   RunConfig(output=tmp_path / "run", progress=False))
    assert out.summary["metrics"]["accuracy"] == 1.0, name


def _images_in(body: dict[str, Any]) -> list[tuple[int, int]]:
    sizes = []
    for msg in body["messages"]:
        for part in msg["content"] if isinstance(msg["content"], list) else []:
            if part.get("type") == "image_url":
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                with PILImage.open(io.BytesIO(data)) as im:
                    sizes.append(im.size)
    return sizes


def test_mmmu_end_to_end_through_openai(tmp_path: Path) -> None:
    root = mmmu(tmp_path / "MMMU")
    with ModelServer("The answer is B.") as srv:
        adapter = make_adapter("openai:vl", {"base_url": srv.url})
        out = run_sync(get_task("mmmu", data=str(root), options={"subjects": "Math"}), adapter,
                       RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
        bodies = sorted(srv.bodies, key=lambda b: len(_images_in(b)))
    assert [_images_in(b) for b in bodies] == [[(11, 10)], [(11, 10), (12, 10)]]
    two = bodies[1]["messages"][-1]["content"]
    assert [p["type"] for p in two] == ["text", "image_url", "text", "image_url", "text"]
    assert out.summary["metrics"]["accuracy"] == 0.5  # B is right for the choice question only


def test_mathvista_end_to_end_through_openai(tmp_path: Path) -> None:
    root = mathvista(tmp_path / "MathVista")
    with ModelServer("The answer is \\boxed{7}.") as srv:
        adapter = make_adapter("openai:vl", {"base_url": srv.url})
        out = run_sync(get_task("mathvista", data=str(root)), adapter,
                       RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
        received = [_images_in(b) for b in srv.bodies]
    assert sorted(received) == [[(24, 16)]] * 3
    assert out.summary["metrics"]["accuracy"] == pytest.approx(1 / 3)


def _datasets_must_not_be_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failing "in seconds" means deciding before ``datasets`` starts its own minute of retries."""
    def asked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("datasets was asked to load, so its retries would run")

    monkeypatch.setattr(datasets, "load_dataset", asked)
    monkeypatch.setattr(datasets, "load_from_disk", asked)


def test_uncached_hub_id_fails_in_seconds_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    _datasets_must_not_be_asked(monkeypatch)
    with pytest.raises(ValueError, match=r"'AI4Math/MathVista' is not in the local cache.*--data PATH"):
        _ = get_task("mathvista").samples


def test_bad_local_copy_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"--data .*nowhere: no such file or folder"):
        _ = get_task("mathvista", data=str(tmp_path / "nowhere")).samples


def test_uncached_hub_id_fails_in_seconds_when_the_hub_is_unreachable(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    import socket

    from evalkit.tasks import hub

    with socket.socket() as s:  # a port on this machine that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    hub.hub_reachable.cache_clear()
    _datasets_must_not_be_asked(monkeypatch)
    try:
        with pytest.raises(ValueError, match=r"'MMMU/MMMU' is not in the local cache and the hub cannot be reached"):
            _ = get_task("mmmu", options={"subjects": "Math"}).samples
    finally:
        hub.hub_reachable.cache_clear()
