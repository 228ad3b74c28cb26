"""The self-contained HTML report: one file, inline CSS/JS/SVG/thumbnails, no network.

The leaderboard, groups and Gaokao tables are rendered by jinja2 with autoescaping. Sample
drill-down data is embedded once, column-wise, as a JSON block whose ``<``, ``>`` and ``&``
are escaped as ``\\u003c``/``\\u003e``/``\\u0026`` (so no ``</script>`` can break out), and the
page's script renders it a page at a time with ``textContent`` only — no model or dataset text is
ever parsed as HTML; math in it is typeset by the inlined KaTeX (:mod:`evalkit.mathtext`, trust off). Image thumbnails are downscaled and capped in total size.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from evalkit.mathtext import inline_assets
from evalkit.report import svg
from evalkit.report.aggregate import Leaderboard
from evalkit.report.markdown import format_seconds, format_tokens, grader_mark, n_label, spread_label
from evalkit.results import Run
from evalkit.types import STATUSES, SampleResult

TEMPLATE_DIR = Path(__file__).parent / "templates"
SIZE_MARK = "@@EVALKIT_REPORT_SIZE@@"


@dataclass
class EmbedLimits:
    """Caps that keep very large runs openable: text per field, thumbnail size and total image bytes."""

    max_text: int = 20_000
    thumb_side: int = 360
    thumb_bytes: int = 60_000
    images_total_bytes: int = 25_000_000


@dataclass
class _ImageStore:
    limits: EmbedLimits
    urls: list[str | None] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    total: int = 0
    skipped: int = 0

    def add(self, part: dict[str, Any], run_dir: Path) -> int:
        key = str(part.get("sha256") or part.get("path"))
        if key in self.index:
            return self.index[key]
        url, note = self._thumbnail(part, run_dir)
        self.index[key] = len(self.urls)
        self.urls.append(url)
        self.notes.append(note)
        return self.index[key]

    def _thumbnail(self, part: dict[str, Any], run_dir: Path) -> tuple[str | None, str]:
        from evalkit.images import ImageError, ImageProfile, encode_image
        from evalkit.types import Image

        raw = part.get("path")
        label = str(raw or part.get("sha256") or "image")
        if not raw:
            return None, f"image {label[:16]} (not stored with the run)"
        path = Path(raw)
        if not path.is_absolute() and not path.exists() and (run_dir / path).exists():
            path = run_dir / path
        if not path.exists():
            return None, f"image not found: {raw}"
        if self.total >= self.limits.images_total_bytes:
            self.skipped += 1
            return None, f"image not embedded (report image cap reached): {raw}"
        profile = ImageProfile(max_side=self.limits.thumb_side, max_pixels=None, max_bytes=self.limits.thumb_bytes,
                               format="JPEG")
        try:
            enc = encode_image(Image(path), profile)
        except (ImageError, OSError) as exc:
            return None, f"image unreadable: {exc}"
        self.total += len(enc.b64)
        return enc.data_url, str(raw)


def _cap(text: Any, limit: int) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        s = text
    elif isinstance(text, list | tuple) and all(isinstance(x, str | int | float) for x in text):
        s = "; ".join(str(x) for x in text)
    else:
        s = json.dumps(text, ensure_ascii=False, default=str)
    if len(s) > limit:
        return s[:limit] + f"\n… [{len(s) - limit} more characters; see samples.jsonl]"
    return s


def _question(prompt: list[dict[str, Any]], images: _ImageStore, run_dir: Path,
              limit: int) -> tuple[str, list[int]]:
    texts, imgs = [], []
    several = len(prompt) > 1
    # the question first (the table's column shows its start); a system prompt after it
    ordered = [m for m in prompt if m.get("role") != "system"] + [m for m in prompt if m.get("role") == "system"]
    for msg in ordered:
        content = msg.get("content", [])
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        body = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image":
                imgs.append(images.add(part, run_dir))
                body.append(f"[image {len(imgs)}] ")
            elif isinstance(part, dict):
                body.append(str(part.get("text", "")))
            else:
                body.append(str(part))
        text = "".join(body)
        texts.append(f"[{msg.get('role', '?')}]\n{text}" if several else text)
    return _cap("\n\n".join(texts), limit), imgs


def _run_labels(runs: list[Run]) -> list[str]:
    seen: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], int] = {}
    for r in runs:
        totals[(r.model, r.task)] = totals.get((r.model, r.task), 0) + 1
    labels = []
    for r in runs:
        k = (r.model, r.task)
        seen[k] = seen.get(k, 0) + 1
        labels.append(r.model if totals[k] == 1 else f"{r.model} [run {seen[k]}]")
    return labels


def sample_data(lb: Leaderboard, limits: EmbedLimits) -> dict[str, Any]:
    """Column-wise drill-down data: questions once per task, one column set per run."""
    status_code = {s: i for i, s in enumerate(STATUSES)}
    images = _ImageStore(limits)
    tasks: dict[str, dict[str, Any]] = {}
    task_pos: dict[str, dict[str, int]] = {}
    cells = []
    runs = sorted(lb.runs, key=lambda r: (r.task, r.model, str(r.path)))
    for run, label in zip(runs, _run_labels(runs), strict=True):
        t = tasks.setdefault(run.task, {"name": run.task, "ids": [], "q": [], "img": [], "tgt": [], "meta": []})
        pos = task_pos.setdefault(run.task, {})
        col: dict[str, list[Any]] = {k: [] for k in ("i", "s", "v", "p", "x", "r", "rs", "e", "n", "y", "g", "sg", "err")}
        for res in run.results:
            if res.id not in pos:
                pos[res.id] = len(t["ids"])
                q, imgs = _question(res.prompt, images, run.path, limits.max_text)
                t["ids"].append(res.id)
                t["q"].append(q)
                t["img"].append(imgs)
                t["tgt"].append(_cap(res.target, limits.max_text))
                t["meta"].append(_meta_line(res.metadata))
            sc = res.score
            col["i"].append(pos[res.id])
            col["s"].append(status_code.get(sc.status, 0))
            col["v"].append(_finite(sc.value, 4))
            col["p"].append(_finite(sc.points, 3))
            col["x"].append(_finite(sc.max_points, 3))
            col["r"].append(_cap(res.response, limits.max_text))
            col["rs"].append(_cap(res.reasoning, limits.max_text))
            col["e"].append(_cap(sc.extracted, 2000))
            col["n"].append(_cap(sc.normalized, 2000))
            col["y"].append(_cap(sc.reason, 4000))
            col["g"].append(sc.grader)
            col["sg"].append(sc.stage)
            col["err"].append(_cap(res.error, 4000))
        cells.append({"m": label, "model": run.model, "t": run.task, "run": str(run.path), **_compact(col)})
    return {"statuses": list(STATUSES), "tasks": list(tasks.values()), "cells": cells, "images": images.urls,
            "imageNotes": images.notes, "imagesSkipped": images.skipped}


def _finite(x: float, digits: int) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return round(f, digits) if math.isfinite(f) else None


def _compact(col: dict[str, list[Any]]) -> dict[str, Any]:
    """Drop columns that are entirely empty (saves space on large runs)."""
    return {k: v for k, v in col.items() if k in ("i", "s", "v", "p", "x") or any(v)}


def _meta_line(meta: dict[str, Any]) -> str:
    keep = [f"{k}={v}" for k, v in meta.items() if isinstance(v, str | int | float | bool) and len(str(v)) < 80]
    return ", ".join(keep[:8])


def safe_json(data: Any) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    text = (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return Markup(text)


def _asset(name: str) -> Markup:
    text = (TEMPLATE_DIR / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():
        raise RuntimeError(f"template asset {name} must not contain a closing script/style tag")
    return Markup(text)


class _CompiledTemplates(jinja2.BytecodeCache):
    """The report template compiled once per user (about 50 ms of every report, the one at the end of each
    ``evalkit run`` included): ``$EVALKIT_CACHE_DIR/report-templates/`` (default ``~/.cache/evalkit``),
    one folder per jinja2 version and environment settings; jinja2 compiles again whenever the template's
    source changes. Best effort: a folder that cannot be read or written only costs the compilation."""

    SETTINGS = "autoescape,strict,trim,lstrip-1"  # change with _environment's settings

    def __init__(self) -> None:
        import hashlib
        import os

        root = os.environ.get("EVALKIT_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "evalkit")
        tag = hashlib.sha256(f"{jinja2.__version__}|{self.SETTINGS}".encode()).hexdigest()[:12]
        self.folder = Path(root) / "report-templates" / tag

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with (self.folder / bucket.key).open("rb") as fh:
                bucket.load_bytecode(fh)
        except (OSError, EOFError, ValueError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        from evalkit.fileio import OutputError, write_bytes_atomic

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            buffer = io.BytesIO()
            bucket.write_bytecode(buffer)
            write_bytes_atomic(self.folder / bucket.key, buffer.getvalue())
        except (OSError, OutputError):
            pass


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             bytecode_cache=_CompiledTemplates())
    env.globals.update(format_tokens=format_tokens, format_seconds=format_seconds, spread_label=spread_label, n_label=n_label,
                       grader_mark=grader_mark, heat_color=svg.heat_color, isnan=math.isnan)
    return env


def _human_size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def hs_views(lb: Leaderboard) -> list[dict[str, Any]]:
    """gaokao-hs runs: their headlines, subject × modality grid and per-benchmark figures, as the summary holds them."""
    from evalkit.cli_tasks import image_policy_line
    from evalkit.grading.gaokao_hs import SUBJECT_ZH

    views = []
    for run in lb.runs:
        metrics = run.summary.get("metrics") or {}
        view = metrics.get("gaokao_hs")
        if not isinstance(view, dict):
            continue
        views.append({"model": run.model, "task": run.task, "m": metrics, "view": view,
                      "rows": [*view["subjects"], "all"], "zh": SUBJECT_ZH, "images": image_policy_line(view)})
    return views


def render_html(lb: Leaderboard, *, title: str = "evalkit report", limits: EmbedLimits | None = None) -> str:
    """The whole report as one HTML string (it states its own size)."""
    limits = limits or EmbedLimits()
    data = sample_data(lb, limits)
    charts = [(task, svg.score_chart(task, [c for c in lb.cells if c.task == task])) for task in lb.tasks]
    papers = [(view, svg.section_bars(view), svg.heat_map(view)) for view in lb.papers]
    html = _environment().get_template("report.html.j2").render(
        lb=lb, title=title, charts=charts, papers=papers, hs_views=hs_views(lb), data_json=safe_json(data),
        css=_asset("report.css"), js=_asset("report.js"), katex=inline_assets(), size_mark=SIZE_MARK,
        generated=datetime.now(UTC).isoformat(timespec="seconds"), n_samples=lb.n_samples,
        images_skipped=data["imagesSkipped"], max_text=limits.max_text,
    )
    base = len(html.encode("utf-8", "backslashreplace")) - len(SIZE_MARK)  # as fileio writes it
    label = _human_size(base)
    for _ in range(3):  # the label's own length can change the size it states
        label = _human_size(base + len(label.encode()))
    return html.replace(SIZE_MARK, label)


def write_html(lb: Leaderboard, out: Path, *, title: str = "evalkit report", limits: EmbedLimits | None = None) -> Path:
    """Render ``lb`` and write the HTML file atomically; returns its path."""
    from evalkit.fileio import write_text_atomic

    out = Path(out)
    return write_text_atomic(out, render_html(lb, title=title, limits=limits))


def write_report(run_dirs: Iterable[str | Path], out_html: str | Path, *, title: str = "evalkit report",
                 read: dict[Path, list[SampleResult]] | None = None) -> Path:
    """Aggregate the run folders (at or below each path) and write one self-contained HTML report. ``read``:
    a folder's samples as its run has just read them whole (``RunOutcome.results``), not read again."""
    from evalkit.report.aggregate import aggregate
    from evalkit.results import find_runs

    runs = find_runs(list(run_dirs))
    for run in runs:
        if read and run.path in read:
            run.__dict__["results"] = read[run.path]  # what Run.results would read from the same file
    return write_html(aggregate(runs), Path(out_html), title=title)
