"""The built-in generated image task: high-school figures rendered with Pillow, answers computed.

Six kinds of figure, each with questions whose answers the generator computes from the numbers it
drew: function graphs (intercepts, monotonic intervals), bar charts and line charts (maximum,
differences, ratios), plane geometry with labelled lengths and angles (area, angle, length),
counting and comparing shapes, and tables rendered as images. About half the questions are
multiple choice (four options), half open numeric; each is in English or Chinese. Everything is
deterministic from ``(seed, index)``.

Figures carry only ASCII labels (numbers, short English words), so any Pillow with its default
font renders them; the question text carries the language.

Write a set to a folder (``figures.jsonl`` plus ``img/*.png``) with
``python -m evalkit.tasks.figures --n 2000 --seed 1 --out DIR``; read one back with the dataset
format ``figures`` (:func:`load_figures`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

GENERATOR_VERSION = 1
DEFAULT_N = 200
DEFAULT_SEED = 0
LANGS = ("en", "zh")
W, H = 320, 240
INK, GRID, BLUE, RED, GREEN, ORANGE = (0, 0, 0), (215, 215, 215), (30, 80, 200), (200, 40, 40), (30, 140, 60), (230, 140, 20)
PALETTE = [BLUE, RED, GREEN, ORANGE, (120, 60, 170), (20, 150, 160)]

INSTRUCTION = {
    ("single", "en"): "Answer with the letter of the correct option.",
    ("single", "zh"): "请选出正确选项，直接给出选项字母。",
    ("fill", "en"): "Give the final answer as a number in \\boxed{}.",
    ("fill", "zh"): "请把最终答案（一个数）写在 \\boxed{} 中。",
}


@dataclass
class FigureItem:
    """One generated question: its figure, text, options (for multiple choice) and answer."""

    id: str
    kind: str
    lang: str
    question: str
    answer: str  # an option letter, or a number as text
    image: PILImage.Image
    choices: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return "single" if self.choices else "fill"

    def row(self, image_path: str) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "kind": self.kind, "lang": self.lang, "type": self.type,
                               "question": self.question, "answer": self.answer, "image": image_path}
        if self.choices:
            row["choices"] = self.choices
        if self.info:
            row["info"] = self.info
        return row


# ----- drawing helpers ------------------------------------------------------------------------


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the bitmap font, one size
        return ImageFont.load_default()


def _canvas() -> tuple[PILImage.Image, ImageDraw.ImageDraw]:
    im = PILImage.new("RGB", (W, H), (255, 255, 255))
    return im, ImageDraw.Draw(im)


def _text(d: ImageDraw.ImageDraw, xy: tuple[float, float], s: str, size: int = 12, fill: Any = INK,
          anchor: str = "mm") -> None:
    d.text(xy, s, fill=fill, font=_font(size), anchor=anchor)


def _num(x: float | Fraction) -> str:
    """A number as a model would write it: 3, -1.5, 2.25."""
    f = Fraction(x).limit_denominator(1000)
    if f.denominator == 1:
        return str(f.numerator)
    return f"{float(f):g}"


def _lang_text(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


def _options(rng: random.Random, right: str, wrong: list[str]) -> tuple[list[str], str]:
    """Four distinct options with ``right`` at a random place; returns (options, letter)."""
    pool = [w for w in dict.fromkeys(wrong) if w != right][:3]
    if len(pool) < 3:
        raise ValueError("not enough distinct distractors")
    opts = [right, *pool]
    rng.shuffle(opts)
    return opts, "ABCD"[opts.index(right)]


# ----- function graphs ------------------------------------------------------------------------

XR, YR = 6, 10  # the window: x in [-6, 6], y in [-10, 10]


def _axes(d: ImageDraw.ImageDraw) -> Callable[[float, float], tuple[float, float]]:
    left, right, top, bottom = 24, W - 12, 12, H - 18

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x + XR) / (2 * XR) * (right - left), top + (YR - y) / (2 * YR) * (bottom - top))

    for gx in range(-XR, XR + 1):
        d.line([at(gx, -YR), at(gx, YR)], fill=GRID)
    for gy in range(-YR, YR + 1, 2):
        d.line([at(-XR, gy), at(XR, gy)], fill=GRID)
    d.line([at(-XR, 0), at(XR, 0)], fill=INK, width=1)
    d.line([at(0, -YR), at(0, YR)], fill=INK, width=1)
    for gx in range(-XR + 1, XR):
        if gx:
            x, y = at(gx, 0)
            _text(d, (x, y + 7), str(gx), 9)
    for gy in range(-YR + 2, YR, 2):
        if gy:
            x, y = at(0, gy)
            _text(d, (x - 4, y), str(gy), 9, anchor="rm")
    _text(d, (at(XR, 0)[0] - 4, at(XR, 0)[1] - 8), "x", 11)
    _text(d, (at(0, YR)[0] + 8, at(0, YR)[1] + 4), "y", 11)
    return at


def _plot(d: ImageDraw.ImageDraw, at: Callable[[float, float], tuple[float, float]], f: Callable[[float], float]) -> None:
    pts: list[tuple[float, float]] = []
    steps = 240
    for i in range(steps + 1):
        x = -XR + 2 * XR * i / steps
        y = f(x)
        if -YR <= y <= YR:
            pts.append(at(x, y))
        elif pts:
            if len(pts) > 1:
                d.line(pts, fill=BLUE, width=2)
            pts = []
    if len(pts) > 1:
        d.line(pts, fill=BLUE, width=2)


def gen_graph(rng: random.Random, lang: str) -> tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]:
    im, d = _canvas()
    at = _axes(d)
    if rng.random() < 0.35:  # a line y = kx + b crossing the x-axis at a grid point
        x0 = rng.randint(-4, 4)
        k = rng.choice([Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2)])
        b = -k * x0
        if b.denominator != 1 or abs(b) > 8:
            k, b = Fraction(1), Fraction(-x0)
        _plot(d, at, lambda x: float(k * Fraction(x).limit_denominator(10**6) + b))
        q = _lang_text(lang, "The figure shows the graph of a linear function y = f(x). Where does the graph cross the x-axis? Give the x-coordinate.",
                       "如图是一次函数 y = f(x) 的图象，求图象与 x 轴交点的横坐标。")
        return im, q, None, _num(x0), {"function": f"y = {_num(k)}x + {_num(b)}"}
    a = rng.choice([1, -1])
    while True:
        r1, r2 = sorted(rng.sample(range(-5, 6), 2))
        if r2 - r1 <= 6 and abs(r1 * r2) <= 9:
            break
    _plot(d, at, lambda x: a * (x - r1) * (x - r2))
    h = Fraction(r1 + r2, 2)
    info = {"function": f"y = {a}(x - {r1})(x - {r2})"}
    ask = rng.choice(["sum", "yint", "mono"])
    if ask == "sum":
        q = _lang_text(lang, "The figure shows the graph of the quadratic function y = f(x). What is the sum of its x-intercepts?",
                       "如图是二次函数 y = f(x) 的图象，求它与 x 轴两个交点横坐标之和。")
        return im, q, None, _num(r1 + r2), info
    if ask == "yint":
        q = _lang_text(lang, "The figure shows the graph of the quadratic function y = f(x) (a parabola through its two x-intercepts). What is f(0)?",
                       "如图是二次函数 y = f(x) 的图象（经过图中两个与 x 轴的交点），求 f(0) 的值。")
        return im, q, None, _num(a * r1 * r2), info
    inc = f"[{_num(h)}, +∞)" if a > 0 else f"(-∞, {_num(h)}]"
    wrong = [f"(-∞, {_num(h)}]" if a > 0 else f"[{_num(h)}, +∞)", f"[{r2}, +∞)" if a > 0 else f"(-∞, {r1}]",
             f"(-∞, {r1}]" if a > 0 else f"[{r2}, +∞)", f"[{r1}, {r2}]", f"[{_num(h + 1)}, +∞)"]
    opts, letter = _options(rng, inc, wrong)
    q = _lang_text(lang, "The figure shows the graph of the quadratic function y = f(x). On which interval is f increasing?",
                   "如图是二次函数 y = f(x) 的图象，f(x) 的单调递增区间是")
    return im, q, opts, letter, info


# ----- charts ---------------------------------------------------------------------------------

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def _bars(values: list[int], labels: list[str]) -> PILImage.Image:
    im, d = _canvas()
    left, right, top, bottom = 36, W - 10, 16, H - 24
    vmax = 100
    for v in range(0, vmax + 1, 20):
        y = bottom - v / vmax * (bottom - top)
        d.line([(left, y), (right, y)], fill=GRID)
        _text(d, (left - 4, y), str(v), 9, anchor="rm")
    d.line([(left, top), (left, bottom), (right, bottom)], fill=INK)
    slot = (right - left) / len(values)
    for i, (v, lab) in enumerate(zip(values, labels, strict=True)):
        x0 = left + i * slot + slot * 0.2
        x1 = left + (i + 1) * slot - slot * 0.2
        y = bottom - v / vmax * (bottom - top)
        d.rectangle([x0, y, x1, bottom], fill=PALETTE[i % len(PALETTE)])
        _text(d, ((x0 + x1) / 2, y - 7), str(v), 10)
        _text(d, ((x0 + x1) / 2, bottom + 10), lab, 10)
    return im


def gen_bar(rng: random.Random, lang: str) -> tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]:
    k = rng.randint(4, 6)
    labels = DAYS[:k]
    values = rng.sample(range(10, 96, 5), k)
    ask = rng.choice(["max", "diff", "ratio"])
    intro_en, intro_zh = "The bar chart shows the number of visitors to a museum on each day.", "条形图给出了某博物馆每天的参观人数（单位：十人）。"
    if ask == "ratio":
        i, j = rng.sample(range(k), 2)
        values[j] = rng.choice([10, 15, 20, 25, 30])
        values[i] = values[j] * rng.choice([2, 3])
        if len(set(values)) < k:
            ask = "diff"
        else:
            q = _lang_text(lang, f"{intro_en} How many times the number on {labels[j]} is the number on {labels[i]}?",
                           f"{intro_zh} {labels[i]} 的人数是 {labels[j]} 的多少倍？")
            return _bars(values, labels), q, None, _num(Fraction(values[i], values[j])), {"values": values}
    if ask == "max":
        best = labels[values.index(max(values))]
        opts, letter = _options(rng, best, [lab for lab in labels if lab != best])
        q = _lang_text(lang, f"{intro_en} On which day were there the most visitors?",
                       f"{intro_zh} 哪一天的参观人数最多？")
        return _bars(values, labels), q, opts, letter, {"values": values}
    i, j = rng.sample(range(k), 2)
    q = _lang_text(lang, f"{intro_en} What is the number on {labels[i]} minus the number on {labels[j]}?",
                   f"{intro_zh} {labels[i]} 的人数减去 {labels[j]} 的人数等于多少？")
    return _bars(values, labels), q, None, _num(values[i] - values[j]), {"values": values}


def gen_line(rng: random.Random, lang: str) -> tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]:
    k = rng.randint(5, 6)
    start = rng.randint(2015, 2019)
    years = [str(start + i) for i in range(k)]
    while True:
        values = [rng.randint(2, 18) * 5 for _ in range(k)]
        rises = [values[i + 1] - values[i] for i in range(k - 1)]
        if rises.count(max(rises)) == 1 and max(rises) > 0:
            break
    im, d = _canvas()
    left, right, top, bottom = 36, W - 16, 16, H - 24
    for v in range(0, 101, 20):
        y = bottom - v / 100 * (bottom - top)
        d.line([(left, y), (right, y)], fill=GRID)
        _text(d, (left - 4, y), str(v), 9, anchor="rm")
    d.line([(left, top), (left, bottom), (right, bottom)], fill=INK)
    pts = [(left + 16 + i * (right - left - 32) / (k - 1), bottom - v / 100 * (bottom - top)) for i, v in enumerate(values)]
    d.line(pts, fill=RED, width=2)
    for (x, y), v, yr in zip(pts, values, years, strict=True):
        d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=RED)
        _text(d, (x, y - 9), str(v), 10)
        _text(d, (x, bottom + 10), yr, 9)
    intro_en, intro_zh = "The line chart shows a town's yearly output (in tonnes).", "折线图给出了某镇每年的产量（单位：吨）。"
    if rng.random() < 0.5:
        best = years[rises.index(max(rises)) + 1]
        opts, letter = _options(rng, best, [y for y in years[1:] if y != best] + [years[0]])
        q = _lang_text(lang, f"{intro_en} In which year did the output increase the most compared with the year before?",
                       f"{intro_zh} 与上一年相比，哪一年的产量增加得最多？")
        return im, q, opts, letter, {"values": values}
    q = _lang_text(lang, f"{intro_en} By how many tonnes did the output change from {years[0]} to {years[-1]}? (A decrease is negative.)",
                   f"{intro_zh} 从 {years[0]} 年到 {years[-1]} 年，产量变化了多少吨？（减少记为负数）")
    return im, q, None, _num(values[-1] - values[0]), {"values": values}


# ----- plane geometry -------------------------------------------------------------------------

TRIPLES = [(3, 4, 5), (6, 8, 10), (5, 12, 13), (8, 15, 17), (9, 12, 15), (7, 24, 25)]


def _fit(points: list[tuple[float, float]], margin: int = 40) -> list[tuple[float, float]]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    s = min((W - 2 * margin) / (max(xs) - min(xs) or 1), (H - 2 * margin) / (max(ys) - min(ys) or 1))
    ox = (W - s * (max(xs) - min(xs))) / 2
    oy = (H - s * (max(ys) - min(ys))) / 2
    return [(ox + (x - min(xs)) * s, H - (oy + (y - min(ys)) * s)) for x, y in points]


def _mid(p: tuple[float, float], q: tuple[float, float], push: float = 0.0, away: tuple[float, float] | None = None) -> tuple[float, float]:
    mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
    if away is not None and push:
        dx, dy = mx - away[0], my - away[1]
        n = math.hypot(dx, dy) or 1
        mx, my = mx + dx / n * push, my + dy / n * push
    return mx, my


def gen_geometry(rng: random.Random, lang: str) -> tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]:
    im, d = _canvas()
    kind = rng.choice(["right", "angles", "rect"])
    if kind == "right":
        a, b, c = rng.choice(TRIPLES)
        if rng.random() < 0.5:
            a, b = b, a
        A, B, C = _fit([(0, 0), (a, 0), (0, b)])  # right angle at A
        d.polygon([A, B, C], outline=INK, width=2)
        d.line([(A[0] + 12, A[1]), (A[0] + 12, A[1] - 12), (A[0], A[1] - 12)], fill=INK)
        centre = ((A[0] + B[0] + C[0]) / 3, (A[1] + B[1] + C[1]) / 3)
        _text(d, _mid(A, B, 12, centre), str(a), 13, fill=RED)
        _text(d, _mid(A, C, 14, centre), str(b), 13, fill=RED)
        for p, name in ((A, "A"), (B, "B"), (C, "C")):
            _text(d, (p[0] + (p[0] - centre[0]) * 0.12, p[1] + (p[1] - centre[1]) * 0.12), name, 13)
        if rng.random() < 0.5:
            q = _lang_text(lang, "In right triangle ABC, angle A = 90° and the legs have the lengths shown. Find BC.",
                           "在直角三角形 ABC 中，∠A = 90°，两条直角边的长如图所示，求 BC 的长。")
            return im, q, None, str(c), {"legs": [a, b]}
        area = Fraction(a * b, 2)
        wrong = [_num(a * b), _num(Fraction(a * c, 2)), _num(Fraction(b * c, 2)), _num(a + b + c), _num(area + a), _num(area + 2 * b)]
        opts, letter = _options(rng, _num(area), wrong)
        q = _lang_text(lang, "In right triangle ABC, angle A = 90° and the legs have the lengths shown. What is the area of the triangle?",
                       "在直角三角形 ABC 中，∠A = 90°，两条直角边的长如图所示，三角形 ABC 的面积是")
        return im, q, opts, letter, {"legs": [a, b]}
    if kind == "angles":
        while True:
            x, y = rng.randint(3, 11) * 5, rng.randint(3, 11) * 5
            if x + y <= 140:
                break
        z = 180 - x - y
        # place B=(0,0), C=(1,0); A from the angles at B (x) and C (y)
        tb, tc = math.tan(math.radians(x)), math.tan(math.radians(y))
        ax = tc / (tb + tc)
        B, C, A = _fit([(0, 0), (1, 0), (ax, ax * tb)])
        d.polygon([A, B, C], outline=INK, width=2)
        centre = ((A[0] + B[0] + C[0]) / 3, (A[1] + B[1] + C[1]) / 3)
        for p, name in ((A, "A"), (B, "B"), (C, "C")):
            _text(d, (p[0] + (p[0] - centre[0]) * 0.14, p[1] + (p[1] - centre[1]) * 0.14), name, 13)
        for p, deg in ((B, x), (C, y)):
            _text(d, (p[0] + (centre[0] - p[0]) * 0.35, p[1] + (centre[1] - p[1]) * 0.35), f"{deg}°", 12, fill=RED)
        q = _lang_text(lang, "In triangle ABC, two angles are marked in the figure. Find angle A in degrees.",
                       "在三角形 ABC 中，图中标出了两个角的度数，求 ∠A 的度数。")
        return im, q, None, str(z), {"angles": [x, y]}
    w, h = rng.randint(3, 12), rng.randint(2, 9)
    if w == h:
        w += 1
    P = _fit([(0, 0), (w, 0), (w, h), (0, h)], margin=50)
    d.polygon(P, outline=INK, width=2)
    _text(d, ((P[0][0] + P[1][0]) / 2, P[0][1] + 12), str(w), 13, fill=RED)
    _text(d, (P[1][0] + 12, (P[1][1] + P[2][1]) / 2), str(h), 13, fill=RED)
    for p, name, off in ((P[0], "A", (-8, 8)), (P[1], "B", (8, 8)), (P[2], "C", (8, -8)), (P[3], "D", (-8, -8))):
        _text(d, (p[0] + off[0], p[1] + off[1]), name, 13)
    if rng.random() < 0.5:
        q = _lang_text(lang, "ABCD is a rectangle with the side lengths shown. What is its perimeter?",
                       "ABCD 是矩形，边长如图所示，求它的周长。")
        return im, q, None, str(2 * (w + h)), {"sides": [w, h]}
    q = _lang_text(lang, "ABCD is a rectangle with the side lengths shown. What is its area?",
                   "ABCD 是矩形，边长如图所示，求它的面积。")
    return im, q, None, str(w * h), {"sides": [w, h]}


# ----- shapes ---------------------------------------------------------------------------------

SHAPES = {"en": ["circles", "squares", "triangles", "stars"], "zh": ["圆", "正方形", "三角形", "五角星"]}


def _shape(d: ImageDraw.ImageDraw, kind: int, cx: float, cy: float, r: float, color: Any) -> None:
    if kind == 0:
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif kind == 1:
        d.rectangle([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=color)
    elif kind == 2:
        d.polygon([(cx, cy - r), (cx - r * 0.95, cy + r * 0.75), (cx + r * 0.95, cy + r * 0.75)], fill=color)
    else:
        pts = []
        for i in range(10):
            rad = r if i % 2 == 0 else r * 0.45
            ang = -math.pi / 2 + i * math.pi / 5
            pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
        d.polygon(pts, fill=color)


def gen_shapes(rng: random.Random, lang: str) -> tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]:
    while True:
        counts = [rng.randint(1, 6) for _ in range(4)]
        if counts.count(max(counts)) == 1:
            break
    im, d = _canvas()
    cells = [(c, r) for c in range(8) for r in range(6)]
    rng.shuffle(cells)
    kinds = [k for k, n in enumerate(counts) for _ in range(n)]
    for kind, (c, r) in zip(kinds, cells, strict=False):
        cx = 20 + c * 40 + rng.uniform(-4, 4)
        cy = 20 + r * 40 + rng.uniform(-4, 4)
        _shape(d, kind, cx, cy, 13, PALETTE[kind])
    names = SHAPES[lang]
    if rng.random() < 0.5:
        best = counts.index(max(counts))
        opts = list(names)
        q = _lang_text(lang, "Which kind of shape appears most often in the figure?", "图中哪种图形的个数最多？")
        return im, q, opts, "ABCD"[best], {"counts": counts}
    i, j = rng.sample(range(4), 2)
    q = _lang_text(lang, f"How many more {names[i]} than {names[j]} are there in the figure? (Fewer is negative.)",
                   f"图中{names[i]}比{names[j]}多几个？（少则记为负数）")
    return im, q, None, str(counts[i] - counts[j]), {"counts": counts}


# ----- tables ---------------------------------------------------------------------------------

NAMES = ["Ann", "Ben", "Cai", "Dan", "Eva", "Fei"]
SUBJECTS = ["Math", "Phys", "Chem", "Bio"]


def gen_table(rng: random.Random, lang: str) -> tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]:
    rows, cols = rng.randint(3, 5), rng.randint(3, 4)
    names, subjects = NAMES[:rows], SUBJECTS[:cols]
    while True:
        grid = [[rng.randint(55, 99) for _ in range(cols)] for _ in range(rows)]
        col = rng.randrange(cols)
        column = [grid[r][col] for r in range(rows)]
        if column.count(max(column)) == 1:
            break
    im, d = _canvas()
    cw, ch = (W - 20) / (cols + 1), min(36, (H - 20) / (rows + 1))
    x0, y0 = 10, (H - ch * (rows + 1)) / 2
    for r in range(rows + 2):
        d.line([(x0, y0 + r * ch), (W - 10, y0 + r * ch)], fill=INK)
    for c in range(cols + 2):
        d.line([(x0 + c * cw, y0), (x0 + c * cw, y0 + (rows + 1) * ch)], fill=INK)
    for c, s in enumerate(subjects):
        _text(d, (x0 + (c + 1.5) * cw, y0 + ch / 2), s, 12)
    for r, n in enumerate(names):
        _text(d, (x0 + cw / 2, y0 + (r + 1.5) * ch), n, 12)
        for c in range(cols):
            _text(d, (x0 + (c + 1.5) * cw, y0 + (r + 1.5) * ch), str(grid[r][c]), 12)
    intro_en, intro_zh = "The table gives students' test scores.", "表格给出了几名学生的考试成绩。"
    if rng.random() < 0.5:
        best = names[column.index(max(column))]
        opts, letter = _options(rng, best, [n for n in names if n != best] + ["Gus"])
        q = _lang_text(lang, f"{intro_en} Who has the highest {subjects[col]} score?",
                       f"{intro_zh} 谁的 {subjects[col]} 成绩最高？")
        return im, q, opts, letter, {"table": grid}
    r = rng.randrange(rows)
    q = _lang_text(lang, f"{intro_en} What is {names[r]}'s total score over all the subjects shown?",
                   f"{intro_zh} {names[r]} 各科成绩的总分是多少？")
    return im, q, None, str(sum(grid[r])), {"table": grid}


GENERATORS: dict[str, Callable[[random.Random, str], tuple[PILImage.Image, str, list[str] | None, str, dict[str, Any]]]] = {
    "graph": gen_graph,
    "bar": gen_bar,
    "line": gen_line,
    "geometry": gen_geometry,
    "shapes": gen_shapes,
    "table": gen_table,
}


# ----- sets -----------------------------------------------------------------------------------


def generate_item(seed: int, index: int, lang: str = "both") -> FigureItem:
    """Item ``index`` of the set for ``seed``: the same figure and answer on every run."""
    rng = random.Random(f"evalkit-figures:{GENERATOR_VERSION}:{seed}:{index}")
    kinds = list(GENERATORS)
    kind = kinds[index % len(kinds)]
    item_lang = LANGS[(index // len(kinds)) % 2] if lang == "both" else lang
    if item_lang not in LANGS:
        raise ValueError(f"lang={lang!r}: expected en, zh or both")
    im, question, choices, answer, info = GENERATORS[kind](rng, item_lang)
    return FigureItem(f"{kind}-{index:05d}", kind, item_lang, question, answer, im, choices, info)


def generate(n: int = DEFAULT_N, seed: int = DEFAULT_SEED, lang: str = "both") -> Iterator[FigureItem]:
    for i in range(n):
        yield generate_item(seed, i, lang)


def _png_bytes(im: PILImage.Image) -> bytes:
    """A small PNG: figures use few colours, so a 32-colour palette keeps them a few KB."""
    import io

    small = im.quantize(colors=32, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_set(out: str | Path, n: int = DEFAULT_N, seed: int = DEFAULT_SEED, lang: str = "both") -> Path:
    """Render a set into ``out`` (``figures.jsonl`` and ``img/``), atomically; returns ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "img").mkdir()
        with (tmp / "figures.jsonl").open("w", encoding="utf-8") as fh:
            for item in generate(n, seed, lang):
                rel = f"img/{item.id}.png"
                (tmp / rel).write_bytes(_png_bytes(item.image))
                fh.write(json.dumps(item.row(rel), ensure_ascii=False) + "\n")
        meta = {"generator_version": GENERATOR_VERSION, "n": n, "seed": seed, "lang": lang}
        (tmp / "set.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def cached_set(n: int, seed: int, lang: str) -> Path:
    """The folder of a generated set in evalkit's cache, rendering it the first time."""
    root = os.environ.get("EVALKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "evalkit")
    folder = Path(root) / "figures" / f"v{GENERATOR_VERSION}-seed{seed}-n{n}-{lang}"
    if not (folder / "set.json").exists():
        write_set(folder, n, seed, lang)
    return folder


# ----- loading --------------------------------------------------------------------------------


def load_figures(spec: Any) -> Iterator[Any]:
    """Dataset format ``figures``: a folder written by :func:`write_set` (or its ``figures.jsonl``)."""
    from evalkit.tasks.spec import TaskError
    from evalkit.types import Image, Sample, Text

    if spec.path is None:
        raise TaskError("dataset format 'figures' needs a path: a folder written by `python -m evalkit.tasks.figures`")
    folder = spec.path if spec.path.is_dir() else spec.path.parent
    index = folder / "figures.jsonl"
    if not index.exists():
        raise TaskError(f"{folder}: no figures.jsonl here; write a set with `python -m evalkit.tasks.figures --out {folder}`")
    with index.open(encoding="utf-8", errors="replace") as fh:  # a damaged line fails as JSON, with its number
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                kind, lang = row["type"], row["lang"]
                meta = {"type": kind, "lang": lang, "kind": row["kind"], "points": 1,
                        "instruction": INSTRUCTION[(kind, lang)]}
                if row.get("choices"):
                    meta["n_choices"] = len(row["choices"])
                yield Sample(
                    id=str(row["id"]),
                    input=(Image(str(folder / row["image"]), label="image 1"), Text(row["question"])),
                    target=row["answer"],
                    choices=tuple(row["choices"]) if row.get("choices") else None,
                    metadata=meta,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise TaskError(f"{index}: line {n}: {type(exc).__name__}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evalkit.tasks.figures", description="Render a set of generated figure questions.")
    ap.add_argument("--n", type=int, default=DEFAULT_N, help="number of questions (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    ap.add_argument("--lang", default="both", choices=["en", "zh", "both"], help="question language")
    ap.add_argument("--out", required=True, help="output folder (replaced if it exists)")
    args = ap.parse_args(argv)
    out = write_set(args.out, args.n, args.seed, args.lang)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {args.n} questions to {out} ({size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
