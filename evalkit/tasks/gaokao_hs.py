"""``gaokao-hs``: high-school questions with and without figures, from two published Gaokao benchmarks.

One task over GAOKAO-Bench's objective questions (text; all 14 files of ``Data/Objective_Questions``,
read by :func:`evalkit.tasks.gaokao.load_gaokao_bench`) and GAOKAO-MM's questions with figures (read by
:func:`evalkit.tasks.multimodal.load_gaokao_mm`). Each sample keeps its benchmark's own marking (its points,
the multi-select rule of its subject and year, one mark per sub-question of a passage) and gains the
fields the report groups by::

    benchmark  GAOKAO-Bench | GAOKAO-MM
    subject    chinese, math, english, physics, chemistry, biology, history, geography, politics
    modality   text | image
    year, paper, points, items (sub-questions the sample holds: a cloze passage holds several)

Where the data is (``--data DIR``): a folder holding both checkouts as ``gaokao-bench-full/`` and
``gaokao-mm-full/`` (also found as ``GAOKAO-Bench/`` and ``GAOKAO-MM/``, or by their contents), or each
checkout given on its own with ``-T bench=PATH`` and ``-T mm=PATH``. Options pick ``subjects``
(``-T subjects=math,physics`` or 数学,物理), ``modality`` (text, image or all) and ``years``
(``-T years=2018-2022,2010``); a benchmark the selection does not need is not required.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.types import Sample

BENCH, MM = "GAOKAO-Bench", "GAOKAO-MM"
BENCH_DIRS = ("gaokao-bench-full", "GAOKAO-Bench", "gaokao-bench")
MM_DIRS = ("gaokao-mm-full", "GAOKAO-MM", "gaokao-mm")
# subject names: English (as the reports use them) and Chinese, with the file keywords that name them
SUBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "chinese": ("语文", ("Chinese",)),
    "math": ("数学", ("Math",)),
    "english": ("英语", ("English",)),
    "physics": ("物理", ("Physics",)),
    "chemistry": ("化学", ("Chemistry",)),
    "biology": ("生物", ("Biology",)),
    "history": ("历史", ("History",)),
    "geography": ("地理", ("Geography",)),
    "politics": ("政治", ("Political", "Politics")),
}
MODALITIES = ("text", "image")
OPTIONS = ("bench", "mm", "subjects", "modality", "years")


def subject_of_file(keyword: str) -> str:
    """``physics`` for ``2010-2022_Physics_MCQs``; an unknown file is an error naming it."""
    for name, (_, markers) in SUBJECTS.items():
        if any(re.search(rf"(^|_){m}(_|$)", keyword) for m in markers):
            return name
    raise TaskError(f"gaokao-hs: file {keyword!r} names no subject this task knows ({', '.join(SUBJECTS)})")


def _is_bench(folder: Path) -> bool:
    return (folder / "Data" / "Objective_Questions").is_dir()


def _is_mm(folder: Path) -> bool:
    return (folder / "Bench" / "MCQ_prompt.json").is_file() or (
        (folder / "Data").is_dir() and any((folder / "Data").glob("*_MCQs.json")) and not _is_bench(folder))


def _find(root: Path, names: tuple[str, ...], test: Any) -> Path | None:
    for name in names:
        if test(root / name):
            return root / name
    if test(root):
        return root
    return next((d for d in sorted(root.iterdir()) if d.is_dir() and test(d)), None) if root.is_dir() else None


def locate(spec: DatasetSpec, need_bench: bool, need_mm: bool) -> tuple[Path | None, Path | None]:
    """The GAOKAO-Bench and GAOKAO-MM checkouts this run reads (each only when the selection needs it)."""
    bench = Path(str(spec.options["bench"])).expanduser() if spec.options.get("bench") else None
    mm = Path(str(spec.options["mm"])).expanduser() if spec.options.get("mm") else None
    root = spec.path.expanduser() if spec.path is not None else None
    if root is not None and not root.exists():
        if (need_bench and bench is None) or (need_mm and mm is None):
            raise TaskError(f"--data {root}: no such folder (gaokao-hs reads a folder holding gaokao-bench-full/ and "
                            "gaokao-mm-full/, or -T bench=PATH -T mm=PATH)")
        root = None
    if need_bench and bench is None and root is not None:
        bench = _find(root, BENCH_DIRS, _is_bench)
    if need_mm and mm is None and root is not None:
        mm = _find(root, MM_DIRS, _is_mm)
    where = f" in {root}" if root is not None else ""
    if need_bench and (bench is None or not _is_bench(bench)):
        raise TaskError(f"gaokao-hs needs GAOKAO-Bench: no checkout with Data/Objective_Questions{where} "
                        f"({bench or 'give --data DIR holding gaokao-bench-full/ or -T bench=PATH'})")
    if need_mm and (mm is None or not (mm / "Data").is_dir()):
        raise TaskError(f"gaokao-hs needs GAOKAO-MM: no checkout with Data/*.json{where} "
                        f"({mm or 'give --data DIR holding gaokao-mm-full/ or -T mm=PATH'})")
    return (bench if need_bench else None), (mm if need_mm else None)


def parse_subjects(value: Any) -> set[str] | None:
    text = str(value or "all").strip()
    if text in ("", "all"):
        return None
    by_zh = {zh: en for en, (zh, _) in SUBJECTS.items()}
    chosen: set[str] = set()
    for part in (p.strip() for p in re.split(r"[,，]", text) if p.strip()):
        name = by_zh.get(part, part.lower())
        if name not in SUBJECTS:
            raise TaskError(f"-T subjects={text}: no subject {part!r}; the subjects are {', '.join(SUBJECTS)}")
        chosen.add(name)
    return chosen


def parse_modality(value: Any) -> tuple[str, ...]:
    text = str(value or "all").strip().lower()
    if text in ("", "all", "both"):
        return MODALITIES
    if text not in MODALITIES:
        raise TaskError(f"-T modality={value}: choose text, image or all")
    return (text,)


def parse_years(value: Any) -> set[int] | None:
    text = str(value or "all").strip()
    if text in ("", "all"):
        return None
    years: set[int] = set()
    for part in (p.strip() for p in text.split(",") if p.strip()):
        m = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", part)
        if not m:
            raise TaskError(f"-T years={text}: {part!r} is not a year or a range like 2018-2022")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            raise TaskError(f"-T years={text}: the range {part} runs backwards")
        years.update(range(first, last + 1))
    return years


def _keep(sample: Sample, subjects: set[str] | None, years: set[int] | None) -> bool:
    if subjects is not None and sample.metadata["subject"] not in subjects:
        return False
    if years is None:
        return True
    return _year(sample) in years


def _annotate(sample: Sample, benchmark: str, keyword: str, modality: str, prompt: str) -> Sample:
    """The sample with the fields gaokao-hs groups by; its marking (type, points, rule, target) untouched."""
    from evalkit.tasks.gaokao import normalize_category

    meta = dict(sample.metadata)
    year = str(meta.get("year", ""))
    paper = meta.get("paper") or f"{year}-{normalize_category(str(meta.get('category', '')))}"
    items = len(sample.target) if meta.get("type") == "group" and isinstance(sample.target, list | tuple) else 1
    meta.update(benchmark=benchmark, file=keyword, subject=subject_of_file(keyword), modality=modality, year=year,
                paper=paper, items=items, prompt=prompt)
    return replace(sample, metadata=meta)


def bench_samples(checkout: Path) -> Iterator[Sample]:
    """GAOKAO-Bench's objective questions, as its loader reads them, annotated."""
    from evalkit.tasks.gaokao import load_gaokao_bench

    spec = DatasetSpec("gaokao-bench", path=checkout, options={"files": "Objective_Questions/*.json"})
    for sample in load_gaokao_bench(spec):
        keyword = str(sample.metadata.get("file") or sample.id.rsplit("_", 1)[0])
        prefix = str(sample.metadata.get("prompt_prefix") or "")
        yield _annotate(sample, BENCH, keyword, "text", prefix + "\n" if prefix else "")


def mm_samples(checkout: Path) -> Iterator[Sample]:
    """GAOKAO-MM's questions with figures, as its loader reads them, annotated."""
    from evalkit.tasks.multimodal import load_gaokao_mm

    for sample in load_gaokao_mm(DatasetSpec("gaokao-mm", path=checkout)):
        keyword = str(sample.metadata.get("subject") or sample.id.rsplit("_", 1)[0])
        yield _annotate(sample, MM, keyword, "image", str(sample.metadata.get("prompt") or ""))


def load_gaokao_hs(spec: DatasetSpec) -> Iterator[Sample]:
    """Dataset format ``gaokao-hs``: both benchmarks, filtered by subject, modality and year."""
    for key in spec.options:
        if key not in OPTIONS:
            raise TaskError(f"dataset.options.{key} is not an option of gaokao-hs; allowed: {', '.join(OPTIONS)}")
    subjects = parse_subjects(spec.options.get("subjects"))
    modalities = parse_modality(spec.options.get("modality"))
    years = parse_years(spec.options.get("years"))
    bench, mm = locate(spec, "text" in modalities, "image" in modalities)
    seen: set[int] = set()
    kept = 0
    for sample in _all_samples(bench, mm):
        seen.add(_year(sample))
        if _keep(sample, subjects, years):
            kept += 1
            yield sample
    if kept == 0:
        raise TaskError(_empty_selection(spec, modalities, subjects, seen - {0}))


def _all_samples(bench: Path | None, mm: Path | None) -> Iterator[Sample]:
    if bench is not None:
        yield from bench_samples(bench)
    if mm is not None:
        yield from mm_samples(mm)


def _year(sample: Sample) -> int:
    try:
        return int(str(sample.metadata.get("year", ""))[:4])
    except ValueError:
        return 0


def _empty_selection(spec: DatasetSpec, modalities: tuple[str, ...], subjects: set[str] | None, years: set[int]) -> str:
    """One sentence for a selection that picks nothing (a run of it would print 0.0% and exit 0)."""
    chosen = " ".join(f"-T {k}={spec.options[k]}" for k in ("subjects", "modality", "years")
                      if str(spec.options.get(k) or "all").strip() not in ("", "all"))
    span = f"from {min(years)} to {max(years)}" if years else "without a year"
    note = "; GAOKAO-MM has no English questions" if modalities == ("image",) and subjects and "english" in subjects else ""
    return (f"{chosen or 'gaokao-hs'}: no item matches this selection (the {' and '.join(modalities)} questions "
            f"found are {span}{note})")
