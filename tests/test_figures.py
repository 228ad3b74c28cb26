"""The generated image task: deterministic figures whose pictures show what the answers say."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import REPO
from PIL import Image as PILImage

from evalkit.adapters import make_adapter
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.tasks.figures import DEFAULT_N, DEFAULT_SEED, PALETTE, generate, generate_item

BUNDLED = REPO / "tasks" / "figures" / "data"


def test_same_seed_same_items_other_seed_other_items() -> None:
    a, b = generate_item(7, 13), generate_item(7, 13)
    assert (a.question, a.choices, a.answer) == (b.question, b.choices, b.answer)
    assert a.image.tobytes() == b.image.tobytes()
    others = [generate_item(8, i) for i in range(12)]
    assert [(o.question, o.answer) for o in others] != [(g.question, g.answer) for g in generate(12, 7)]


def test_bundled_set_is_what_the_generator_makes() -> None:
    rows = [json.loads(line) for line in (BUNDLED / "figures.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == DEFAULT_N
    for row, item in zip(rows, generate(DEFAULT_N, DEFAULT_SEED), strict=True):
        assert row == item.row(f"img/{item.id}.png"), (
            "the generator changed: re-render with `python -m evalkit.tasks.figures --out tasks/figures/data`")
        assert (BUNDLED / row["image"]).exists()
    size = sum(p.stat().st_size for p in BUNDLED.rglob("*") if p.is_file())
    assert size < 600_000, f"the bundled set grew to {size} bytes"


def test_mix_of_kinds_languages_and_question_types() -> None:
    items = list(generate(120, 3))
    assert Counter(i.kind for i in items).keys() == {"graph", "bar", "line", "geometry", "shapes", "table"}
    assert Counter(i.lang for i in items) == {"en": 60, "zh": 60}
    mc = [i for i in items if i.choices]
    assert 0.3 < len(mc) / len(items) < 0.7
    for i in mc:
        assert len(i.choices or []) == 4 == len(set(i.choices or [])) and i.answer in "ABCD"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in i.question) for i in items if i.lang == "zh")


def _answer_value(item) -> str:
    return item.choices["ABCD".index(item.answer)] if item.choices else item.answer


def test_answers_follow_from_the_drawn_numbers() -> None:
    checked = Counter()
    for item in generate(300, 11):
        info, value, q = item.info, _answer_value(item), item.question
        if item.kind == "table" and not item.choices:
            assert int(value) == sum(next(r for r, n in zip(info["table"], ["Ann", "Ben", "Cai", "Dan", "Eva"], strict=False) if n in q))
        elif item.kind == "geometry" and "legs" in info:
            a, b = info["legs"]
            expected = Fraction(a * b, 2) if item.choices else math.isqrt(a * a + b * b)
            assert Fraction(value) == expected
        elif item.kind == "geometry" and "angles" in info:
            assert int(value) == 180 - sum(info["angles"])
        elif item.kind == "geometry":
            w, h = info["sides"]
            assert int(value) == (2 * (w + h) if "perimeter" in q or "周长" in q else w * h)
        elif item.kind == "bar" and item.choices:
            assert ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].index(value) == info["values"].index(max(info["values"]))
        elif item.kind == "shapes" and item.choices:
            assert "ABCD".index(item.answer) == info["counts"].index(max(info["counts"]))
        else:
            continue
        checked[item.kind] += 1
    assert set(checked) == {"table", "geometry", "bar", "shapes"}


def _blobs(im: PILImage.Image, color: tuple[int, int, int]) -> int:
    """Connected regions of one colour (4-neighbour flood fill)."""
    rgb = im.convert("RGB")
    w, h = rgb.size
    px = rgb.load()
    seen: set[tuple[int, int]] = set()
    count = 0
    for y in range(h):
        for x in range(w):
            if (x, y) in seen or px[x, y] != color:
                continue
            count += 1
            stack = [(x, y)]
            seen.add((x, y))
            while stack:
                cx, cy = stack.pop()
                for nx, ny in ((cx + 1, cy), (cx - 1, cy), (cx, cy + 1), (cx, cy - 1)):
                    if 0 <= nx < w and 0 <= ny < h and (nx, ny) not in seen and px[nx, ny] == color:
                        seen.add((nx, ny))
                        stack.append((nx, ny))
    return count


def test_shape_figures_show_the_counted_shapes() -> None:
    items = [i for i in generate(60, 5) if i.kind == "shapes"][:4]
    for item in items:
        assert [_blobs(item.image, PALETTE[k]) for k in range(4)] == item.info["counts"]


def test_command_line_writes_a_set(tmp_path: Path) -> None:
    out = tmp_path / "set"
    done = subprocess.run([sys.executable, "-m", "evalkit.tasks.figures", "--n", "12", "--seed", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(x) for x in (out / "figures.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and all((out / r["image"]).exists() for r in rows)
    with PILImage.open(out / rows[0]["image"]) as im:
        assert im.format == "PNG" and im.size == (320, 240)
    task = get_task("figures", data=str(out))
    assert [s.id for s in task.samples] == [r["id"] for r in rows]


def test_task_options_render_another_set_on_demand() -> None:
    task = get_task("figures", options={"n": "30", "seed": "4", "lang": "zh"})
    assert len(task.samples) == 30 and all(s.metadata["lang"] == "zh" for s in task.samples)
    assert all(Path(s.images[0].path or "").exists() for s in task.samples)
    again = get_task("figures", options={"n": "30", "seed": "4", "lang": "zh"})
    assert again.dataset_fingerprint() == task.dataset_fingerprint()


def test_bad_option_is_one_sentence() -> None:
    with pytest.raises(ValueError, match=r"-T n=many: expected a whole number"):
        get_task("figures", options={"n": "many"})


def test_reference_scores_all_and_random_is_at_chance(tmp_path: Path) -> None:
    task = get_task("figures")
    ref = run_sync(task, make_adapter("reference"), RunConfig(output=tmp_path / "ref", progress=False))
    assert ref.summary["metrics"]["accuracy"] == 1.0
    rnd = run_sync(get_task("figures"), make_adapter("random:1"), RunConfig(output=tmp_path / "rnd", progress=False))
    rows = [json.loads(x) for x in (tmp_path / "rnd" / "samples.jsonl").read_text().splitlines()]
    by_id = {s.id: s for s in task.samples}
    mc = [r for r in rows if by_id[r["id"]].choices]
    rate = sum(r["score"]["status"] == "correct" for r in mc) / len(mc)
    sd = math.sqrt(0.25 * 0.75 / len(mc))
    assert abs(rate - 0.25) < 3 * sd, f"random on {len(mc)} four-option questions scored {rate:.2f}"
    assert rnd.summary["metrics"]["accuracy"] < 0.35


def test_cli_run_reference_is_full_marks(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "evalkit.cli", "run", "--task", "figures", "--model", "reference",
                           "--output", str(tmp_path / "r"), "--no-report"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["metrics"]["accuracy"] == 1.0 and summary["counts"]["n"] == DEFAULT_N
