"""GAOKAO-MM: its GitHub layout, figures resolved from ``../Data/...``, end to end through ``openai:``."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_DATA
from PIL import Image as PILImage

from evalkit.adapters import make_adapter
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.testing.server import ModelServer

KEY = "2010-2023_Math_MCQs"


def write_gaokao_mm(root: Path, n: int = 3, missing: int | None = None) -> Path:
    """A GAOKAO-MM checkout: Bench/MCQ_prompt.json, Data/<key>.json, Data/<key>/*.png."""
    (root / "Bench").mkdir(parents=True)
    (root / "Data" / KEY).mkdir(parents=True)
    prompt = {"examples": [{"type": "single_choice", "keyword": KEY, "prefix_prompt": "请你做一道数学选择题\n题目如下：",
                            "comment": ""}]}
    (root / "Bench" / "MCQ_prompt.json").write_text(json.dumps(prompt, ensure_ascii=False), encoding="utf-8")
    items = []
    for i in range(n):
        pics = []
        for j in range(i % 2 + 1):  # one or two figures
            name = f"{KEY}_{i}_{j}.png"
            if i != missing:
                PILImage.new("RGB", (40 + 10 * i, 30 + j), (10 * i, 20 * j, 99)).save(root / "Data" / KEY / name)
            pics.append(f"../Data/{KEY}/{name}")
        items.append({"year": "2020", "category": "（新课标）", "question": f"{i + 1}. 如图, 求值 ( ) A. 1 B. 2 C. 3 D. 4",
                      "picture": pics, "answer": ["ABCD"[i % 4]], "analysis": "略", "index": i, "score": 5})
    data = {"keywords": KEY, "example": items}
    (root / "Data" / f"{KEY}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return root


def test_loader_resolves_figures_and_keeps_their_order(tmp_path: Path) -> None:
    root = write_gaokao_mm(tmp_path / "GAOKAO-MM", 4)
    task = get_task("gaokao-mm", data=str(root))
    samples = task.samples
    assert [s.id for s in samples] == [f"{KEY}_{i}" for i in range(4)]
    assert [len(s.images) for s in samples] == [1, 2, 1, 2]
    second = samples[1]
    assert [Path(im.path or "").name for im in second.images] == [f"{KEY}_1_0.png", f"{KEY}_1_1.png"]
    assert all(Path(im.path or "").exists() for s in samples for im in s.images)
    assert second.target == "B" and second.metadata["points"] == 5 and second.metadata["type"] == "single"
    text = task.render(second)[0]
    assert text.content[0].text.startswith("请你做一道数学选择题")  # the benchmark's prefix, then the figures
    assert [type(p).__name__ for p in text.content] == ["Text", "Image", "Image"]
    # the Data folder or one data file work as --data too
    assert len(get_task("gaokao-mm", data=str(root / "Data")).samples) == 4
    assert len(get_task("gaokao-mm", data=str(root / "Data" / f"{KEY}.json")).samples) == 4


def test_missing_data_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"needs its data.*--data PATH"):
        _ = get_task("gaokao-mm").samples
    with pytest.raises(ValueError, match=r"no GAOKAO-MM data files"):
        _ = get_task("gaokao-mm", data=str(tmp_path)).samples
    root = write_gaokao_mm(tmp_path / "g", 2)
    with pytest.raises(ValueError, match=r"-T subjects=Physics: no data file"):
        _ = get_task("gaokao-mm", data=str(root), options={"subjects": "Physics"}).samples


def _received_images(body: dict[str, Any]) -> list[PILImage.Image]:
    out = []
    for msg in body["messages"]:
        content = msg["content"]
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "image_url":
                url = part["image_url"]["url"]
                assert url.startswith("data:image/png;base64,")
                out.append(PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return out


def _question_number(body: dict[str, Any]) -> int:
    text = "".join(p.get("text", "") for m in body["messages"] for p in (m["content"] if isinstance(m["content"], list) else []))
    return int(text.split("题目如下：", 1)[1].split(".", 1)[0])


def test_end_to_end_through_openai_sends_every_figure(tmp_path: Path) -> None:
    root = write_gaokao_mm(tmp_path / "GAOKAO-MM", 4)

    def answer(req: dict[str, Any]) -> str:  # a model that is right on odd-numbered questions
        number = _question_number(req)
        return f"【解析】略<eoe>\n故选{'ABCD'[(number - 1) % 4] if number % 2 else 'ABCD'[number % 4]}"

    with ModelServer(answer) as srv:
        adapter = make_adapter("openai:vl-model", {"base_url": srv.url})
        out = run_sync(get_task("gaokao-mm", data=str(root)), adapter,
                       RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
        bodies = list(srv.bodies)
    assert len(bodies) == 4
    for body in bodies:
        i = _question_number(body) - 1
        got = _received_images(body)
        assert len(got) == i % 2 + 1
        for j, im in enumerate(got):
            with PILImage.open(root / "Data" / KEY / f"{KEY}_{i}_{j}.png") as want:
                assert im.size == want.size and im.convert("RGB").tobytes() == want.convert("RGB").tobytes()
    assert out.summary["metrics"]["accuracy"] == 0.5


def test_missing_figure_stops_the_run_before_any_request_naming_the_file(tmp_path: Path) -> None:
    from evalkit.preflight import PreflightError

    root = write_gaokao_mm(tmp_path / "GAOKAO-MM", 3, missing=1)
    with ModelServer("故选A") as srv:
        adapter = make_adapter("openai:vl-model", {"base_url": srv.url})
        with pytest.raises(PreflightError, match=f"sample '{KEY}_1'.*{KEY}_1_0.png does not exist"):
            run_sync(get_task("gaokao-mm", data=str(root)), adapter,
                     RunConfig(output=tmp_path / "run", progress=False, use_cache=False, max_retries=0))
        assert srv.requests == 0
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(not (SHARED_DATA / "gaokao-mm").is_dir(), reason="needs ../shared/data/gaokao-mm")
def test_real_gaokao_mm_has_80_questions_and_142_figures(tmp_path: Path) -> None:
    task = get_task("gaokao-mm", data=str(SHARED_DATA / "gaokao-mm"))
    figures = [im for s in task.samples for im in s.images]
    assert len(task.samples) == 80 and len(figures) == 142
    assert all(Path(im.path or "").is_file() for im in figures)
    out = run_sync(task, make_adapter("reference"), RunConfig(output=tmp_path / "ref", progress=False))
    assert out.summary["metrics"]["accuracy"] == 1.0
    with ModelServer("故选B") as srv:  # every figure reaches an OpenAI-compatible server
        adapter = make_adapter("openai:vl-model", {"base_url": srv.url})
        sent = run_sync(task, adapter, RunConfig(output=tmp_path / "oai", progress=False, use_cache=False))
        received = sum(len(_received_images(b)) for b in srv.bodies)
    assert received == 142 and sent.summary["counts"]["n"] == 80 and sent.summary["counts"]["error"] == 0
    assert sent.summary["metrics"]["accuracy"] == pytest.approx(29 / 80)  # 29 of the answers are B


def test_official_extraction_rule_is_one_option_away(tmp_path: Path) -> None:
    from evalkit.grading import grade

    root = write_gaokao_mm(tmp_path / "GAOKAO-MM", 2)
    second = get_task("gaokao-mm", data=str(root)).samples[1]  # the answer is B
    reply = "选项 A 不对，故选B。A 是常见的错误答案"
    assert grade(second, reply, get_task("gaokao-mm", data=str(root)).grader).status == "correct"
    official = get_task("gaokao-mm", data=str(root), options={"extract": "last_capital"})
    assert grade(second, reply, official.grader).status == "wrong"  # the script reads the last capital letter
    with pytest.raises(ValueError, match=r"-T extract=first: expected default or last_capital"):
        get_task("gaokao-mm", data=str(root), options={"extract": "first"})
