"""The GAOKAO-MM layout: Gaokao questions with figures, as published on GitHub (OpenMOSS/GAOKAO-MM).

A checkout looks like::

    GAOKAO-MM/
      Bench/MCQ_prompt.json             per-subject prompt prefixes and question types
      Data/2010-2023_Math_MCQs.json     {"keywords": ..., "example": [{question, picture, answer, ...}]}
      Data/2010-2023_Math_MCQs/*.png    the figures

An item's ``picture`` paths are written relative to a folder beside ``Data/`` (the scripts run in
``Bench/``), as ``../Data/<subject>/<file>.png``; they are resolved against ``Data/`` here. A
missing figure is not a load error: the sample that needs it fails when its image is read, and the
error names the file.

:func:`load_gaokao_mm` (dataset format ``gaokao-mm``) accepts the checkout's root, its ``Data``
folder or one data file; ``options["subjects"]`` (comma-separated keywords such as ``Math``)
selects data files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.grading.multi_rules import rule_for
from evalkit.tasks.gaokao import subject_of
from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.types import Image, Sample, Text

DEFAULT_PREFIX = (
    "请你做一道{subject}选择题\n请你结合文字和图片一步一步思考,并将思考过程写在【解析】和<eoe>之间。"
    "你将从A，B，C，D中选出正确的答案，并写在【答案】和<eoa>之间。\n例如：【答案】: A <eoa>\n"
    "完整的题目回答的格式如下：\n【解析】 ... <eoe>\n【答案】 ... <eoa>\n请你严格按照上述格式作答。\n题目如下："
)


def _data_files(spec: DatasetSpec) -> tuple[Path, list[Path]]:
    """The checkout root and the data files to read."""
    if spec.path is None:
        raise TaskError(
            "task gaokao-mm needs its data: clone the GAOKAO-MM repository and pass --data PATH "
            "(the checkout, its Data folder, or one Data/*.json file)"
        )
    path = spec.path.expanduser()
    if not path.exists():
        raise TaskError(f"--data {path}: no such file or folder")
    if path.is_file():
        return path.parent.parent, [path]
    data_dir = path / "Data" if (path / "Data").is_dir() else path
    files = sorted(data_dir.glob("*.json"))
    if not files:
        raise TaskError(f"--data {path}: no GAOKAO-MM data files (Data/*.json) found")
    subjects = [s.strip().lower() for s in str(spec.options.get("subjects") or "").split(",") if s.strip()]
    if subjects:
        files = [f for f in files if any(s in f.stem.lower() for s in subjects)]
        if not files:
            raise TaskError(f"-T subjects={spec.options['subjects']}: no data file in {data_dir} matches")
    return data_dir.parent, files


def _prompts(root: Path) -> dict[str, dict[str, Any]]:
    """``keyword → {"prefix_prompt", "type"}`` from ``Bench/MCQ_prompt.json`` when present."""
    bench = root / "Bench" / "MCQ_prompt.json"
    if not bench.exists():
        return {}
    try:
        data = json.loads(bench.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaskError(f"{bench}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TaskError(f"{bench}: expected a JSON object with 'examples'")
    return {str(e.get("keyword")): e for e in data.get("examples", []) if isinstance(e, dict)}


def resolve_picture(data_dir: Path, rel: str) -> Path:
    """A ``picture`` entry (``../Data/...`` relative to a folder beside ``Data/``) as a real path."""
    p = Path(rel)
    if p.is_absolute():
        return p
    first = (data_dir / p).resolve()
    if first.exists():
        return first
    parts = [x for x in p.parts if x not in ("..", ".")]
    if parts and parts[0] == data_dir.name:
        parts = parts[1:]
    return data_dir.joinpath(*parts)


def _subject(keyword: str) -> str:
    names = {"math": "数学", "physics": "物理", "chemistry": "化学", "biology": "生物", "history": "历史",
             "geography": "地理", "politics": "政治", "chinese": "语文", "english": "英语"}
    low = keyword.lower()
    return next((zh for en, zh in names.items() if en in low), "")


def _sample(item: dict[str, Any], keyword: str, qtype: str, prefix: str, data_dir: Path) -> Sample:
    answer = [str(a).strip().upper() for a in item.get("answer") or []]
    multi = qtype == "multi_choice" or len(answer) > 1 or any(len(a) > 1 for a in answer)
    if multi:  # GAOKAO-MM writes several correct letters as one string: ["BD"]
        answer = sorted({ch for a in answer for ch in a})
    pics = [resolve_picture(data_dir, str(p)) for p in item.get("picture") or []]
    images = [Image(str(p), label=f"image {i}") for i, p in enumerate(pics, 1)]
    year = str(item.get("year", ""))
    meta: dict[str, Any] = {
        "type": "multi" if multi else "single",
        "points": item.get("score", 5),
        "n_choices": 4,
        "year": year,
        "category": str(item.get("category", "")).strip(),
        "subject": keyword,
        "index": item.get("index"),
        "prompt": prefix,
    }
    if multi:  # several correct letters: the national rule of the subject's papers that year (physics: 6/3/0)
        meta["rule"] = rule_for(year, subject_of(keyword)[0] or "math")
    return Sample(
        id=f"{keyword}_{item.get('index')}",
        input=(Text(str(item["question"]).strip()), *images),
        target=answer if multi else (answer[0] if answer else ""),
        metadata=meta,
    )


def load_gaokao_mm(spec: DatasetSpec) -> Iterator[Sample]:
    """Samples of a GAOKAO-MM checkout: one per question, figures in the order the item lists them."""
    root, files = _data_files(spec)
    prompts = _prompts(root)
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TaskError(f"{path}: not a GAOKAO-MM data file ({exc})") from None
        keyword = str(data.get("keywords") or path.stem) if isinstance(data, dict) else path.stem
        items = data.get("example") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise TaskError(f"{path}: expected {{'keywords': ..., 'example': [...]}}")
        entry = prompts.get(keyword, {})
        qtype = str(entry.get("type") or "single_choice")
        prefix = str(entry.get("prefix_prompt") or DEFAULT_PREFIX.format(subject=_subject(keyword)))
        for n, item in enumerate(items):
            if not isinstance(item, dict) or "question" not in item:
                raise TaskError(f"{path}: example {n} has no 'question'")
            item.setdefault("index", n)
            yield _sample(item, keyword, qtype, prefix, path.parent)
