"""Loaders for standard multimodal benchmarks on the Hugging Face hub (or a local copy of the layout).

Each loader turns a benchmark's rows into evalkit samples and records the benchmark's answer rule
in the sample (``type``, ``precision``, ``abs_tolerance``, ``alternatives``) so that the
``by_type`` scorer grades it with evalkit's scorers:

=============  ===========================  ==========================================================
format         default source               rows → samples
=============  ===========================  ==========================================================
mathvista      AI4Math/MathVista testmini   ``query`` (the official prompt) + ``decoded_image``; option
                                            text → letter; free-form float answers to ``precision``
mmmu           MMMU/MMMU <Subject> valid.   ``<image N>`` markers placed; ``options`` (a list as text);
                                            open answers may list alternatives
scienceqa      derek-thomas/ScienceQA test  only rows with an image; ``hint`` as context; index → letter
mathvision     MathLLMs/MathVision test     ``<image1>`` marker; letters when there are options
cmmmu          m-a-p/CMMMU <category> val   选择 (letters), 判断 (as two options 正确/错误), 填空 (open)
olympiadbench  Hothan/OlympiadBench train   configs ``OE_MM_maths_zh_CEE`` / ``OE_TO_maths_zh_CEE``;
                                            ``final_answer`` list, ``error`` as absolute tolerance
=============  ===========================  ==========================================================

A local copy is the hub repository's files (``data/<split>-*.parquet``, or one folder per config
holding ``<split>-*.parquet``); pass it with ``--data PATH``. ``datasets`` is imported only when a
loader runs.
"""

from __future__ import annotations

import ast
import io
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.types import ContentPart, Image, Sample, Text

LETTERS = string.ascii_uppercase

MMMU_SUBJECTS = (
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory", "Basic_Medical_Science",
    "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science", "Design", "Diagnostics_and_Laboratory_Medicine",
    "Economics", "Electronics", "Energy_and_Power", "Finance", "Geography", "History", "Literature", "Manage",
    "Marketing", "Materials", "Math", "Mechanical_Engineering", "Music", "Pharmacy", "Physics", "Psychology",
    "Public_Health", "Sociology",
)
CMMMU_CATEGORIES = (
    "art_and_design", "business", "health_and_medicine", "humanities_and_social_sciences", "science",
    "technology_and_engineering",
)
OLYMPIAD_CONFIGS = ("OE_MM_maths_zh_CEE", "OE_TO_maths_zh_CEE")

INSTRUCTIONS = {
    "single_en": "Answer with the option letter.",
    "open_en": "Give the final answer in \\boxed{}.",
    "single_zh": "请直接给出正确选项的字母。",
    "multi_zh": "本题可能有多个正确选项，请给出所有正确选项的字母。",
    "open_zh": "请把最终答案写在 \\boxed{} 中。",
}


# ----- reading rows -------------------------------------------------------------------------


def _configs(spec: DatasetSpec, known: tuple[str, ...], option: str) -> list[str | None]:
    """The configs to read: ``options[option]`` (comma-separated), the spec's config, or all of them.

    For a local copy, "all" means the config folders it has (or the folder itself when it has none),
    and a named config without its folder is an error naming both.
    """
    chosen = str(spec.options.get(option) or spec.config or "")
    lookup = {k.lower(): k for k in known}
    names = [lookup.get(c.strip().lower(), c.strip()) for c in chosen.split(",") if c.strip() and c.strip() != "all"]
    local = spec.path.expanduser() if spec.path is not None else None
    if local is None or not local.is_dir():
        return list(names or known)
    present = sorted(d.name for d in local.iterdir() if d.is_dir() and d.name in known)
    if not names:
        return list(present) if present else [None]
    if present:
        missing = [n for n in names if n not in present]
        if missing:
            raise TaskError(f"-T {option}={chosen}: {', '.join(missing)} not found in {local} "
                            f"(it has {', '.join(present)})")
    return list(names)


def rows(spec: DatasetSpec, config: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of one config and split: from the hub id, or a local copy (``PATH/<config>/`` if present)."""
    from evalkit.tasks.local_copy import dataset_rows

    yield from dataset_rows(spec, config)


def to_image(value: Any, name: str, base: Path | None = None) -> Image | None:
    """An evalkit image from a ``datasets`` Image value (PIL, ``{"bytes", "path"}``), bytes or a path."""
    if value is None:
        return None
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data:
            return Image(bytes(data), label=name)
        value = path
        if not value:
            return None
    if isinstance(value, bytes | bytearray):
        return Image(bytes(value), label=name)
    if isinstance(value, str):
        p = Path(value)
        return Image(str(base / p if base is not None and not p.is_absolute() else p), label=name)
    if hasattr(value, "save"):  # a decoded PIL image: keep its file's bytes when it has them
        return Image(_pil_bytes(value), label=name)
    raise TaskError(f"{name}: unsupported image value of type {type(value).__name__}")


def _pil_bytes(im: Any) -> bytes:
    buf = io.BytesIO()
    fmt = im.format if im.format in ("PNG", "JPEG", "GIF", "WEBP", "BMP") else "PNG"
    if fmt == "JPEG" and im.mode not in ("RGB", "L", "CMYK"):
        fmt = "PNG"
    im.save(buf, format=fmt)
    return buf.getvalue()


def numbered_images(row: dict[str, Any], prefix: str = "image_", count: int = 7) -> list[Image]:
    """``image_1`` … ``image_N`` in order; a gap keeps later numbers aligned with their markers."""
    found: dict[int, Image] = {}
    for i in range(1, count + 1):
        img = to_image(row.get(f"{prefix}{i}"), f"image {i}")
        if img is not None:
            found[i] = img
    if not found:
        return []
    # a gap (image_2 empty, image_3 set) stays a gap: that sample fails when sent, naming the column
    gap = "row {id}: column {col} is empty"
    return [found.get(i) or Image(gap.format(id=row.get("id"), col=f"{prefix}{i}"), label=f"image {i}")
            for i in range(1, max(found) + 1)]


def _parts(text: str, images: list[Image]) -> str | tuple[ContentPart, ...]:
    return (Text(text), *images) if images else text


def _parse_list(value: Any) -> list[str]:
    """A list column, or a list written as text (``"['a', 'b']"``)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return [text]
        return [str(v) for v in parsed] if isinstance(parsed, list | tuple) else [str(parsed)]
    return [text] if text else []


def _strip_dollars(s: str) -> str:
    s = s.strip()
    return s[1:-1].strip() if len(s) > 1 and s.startswith("$") and s.endswith("$") else s


# ----- MathVista ----------------------------------------------------------------------------


def load_mathvista(spec: DatasetSpec) -> Iterator[Sample]:
    """MathVista (``testmini``): the official ``query`` prompt with the figure; answers as the rules say."""
    for n, row in enumerate(rows(spec, spec.config), 1):
        sid = str(row.get("pid") or n)
        img = to_image(row.get("decoded_image"), "image 1") or to_image(row.get("image"), "image 1", spec.path)
        text = str(row.get("query") or row.get("question") or "")
        choices = [str(c) for c in row.get("choices") or []]
        answer = str(row.get("answer", "")).strip()
        meta: dict[str, Any] = {"source": "mathvista", "question_type": row.get("question_type"),
                                "answer_type": row.get("answer_type")}
        if row.get("question_type") == "multi_choice" and choices:
            if answer not in choices:
                raise TaskError(f"MathVista row {sid}: answer {answer!r} is not one of its choices")
            target: Any = LETTERS[choices.index(answer)]
            meta.update(type="single", n_choices=len(choices), answer_text=answer)
        else:
            target = answer
            meta["type"] = "fill"
            kind = row.get("answer_type")
            if kind == "float" and row.get("precision") is not None:
                meta["precision"] = int(row["precision"])
            elif kind == "integer":
                meta["precision"] = 0
            if row.get("unit"):
                meta["unit"] = row["unit"]
        yield Sample(sid, _parts(text, [img] if img else []), target, None, meta)


# ----- MMMU ---------------------------------------------------------------------------------


def load_mmmu(spec: DatasetSpec) -> Iterator[Sample]:
    """MMMU (``validation``), one config per subject (``-T subjects=Math,Physics``; default all 30)."""
    for config in _configs(spec, MMMU_SUBJECTS, "subjects"):
        for n, row in enumerate(rows(spec, config), 1):
            sid = str(row.get("id") or f"{config}_{n}")
            images = numbered_images(row)
            options = _parse_list(row.get("options"))
            answer = str(row.get("answer", "")).strip()
            meta: dict[str, Any] = {"source": "mmmu", "subject": config, "question_type": row.get("question_type")}
            question = str(row.get("question", ""))
            if row.get("question_type") == "multiple-choice" and options:
                meta.update(type="single", n_choices=len(options), instruction=INSTRUCTIONS["single_en"])
                target: Any = answer.upper()
                if target not in LETTERS[: len(options)]:
                    raise TaskError(f"MMMU row {sid}: answer {answer!r} is not an option letter")
                yield Sample(sid, _parts(question, images), target, tuple(options), meta)
                continue
            alternatives = _parse_list(answer) or [answer]
            meta.update(type="open", instruction=INSTRUCTIONS["open_en"])
            if len(alternatives) > 1:
                meta["alternatives"] = alternatives
            yield Sample(sid, _parts(question, images), alternatives[0], None, meta)


# ----- ScienceQA ----------------------------------------------------------------------------


def load_scienceqa(spec: DatasetSpec) -> Iterator[Sample]:
    """ScienceQA, image questions only (``-T all=1`` keeps the text-only ones too)."""
    keep_all = str(spec.options.get("all", "")).lower() in ("1", "true", "yes")
    for n, row in enumerate(rows(spec, spec.config), 1):
        img = to_image(row.get("image"), "image 1")
        if img is None and not keep_all:
            continue
        choices = [str(c) for c in row.get("choices") or []]
        idx = int(row["answer"])
        if not 0 <= idx < len(choices):
            raise TaskError(f"ScienceQA row {n}: answer index {idx} is outside its {len(choices)} choices")
        hint = str(row.get("hint") or "").strip()
        text = (f"Context: {hint}\n" if hint else "") + f"Question: {row.get('question', '')}"
        meta = {"source": "scienceqa", "type": "single", "n_choices": len(choices), "subject": row.get("subject"),
                "grade": row.get("grade"), "instruction": INSTRUCTIONS["single_en"]}
        sid = str(row.get("id") or f"{spec.split or 'row'}_{n}")
        yield Sample(sid, _parts(text, [img] if img else []), LETTERS[idx], tuple(choices), meta)


# ----- MathVision ---------------------------------------------------------------------------


def load_mathvision(spec: DatasetSpec) -> Iterator[Sample]:
    """MATH-Vision (``test`` or ``testmini``): letters when the item has options, else an open answer."""
    for n, row in enumerate(rows(spec, spec.config), 1):
        sid = str(row.get("id") or n)
        img = to_image(row.get("decoded_image"), "image 1") or to_image(row.get("image"), "image 1", spec.path)
        options = [str(o) for o in row.get("options") or []]
        answer = _strip_dollars(str(row.get("answer", "")))
        meta: dict[str, Any] = {"source": "mathvision", "level": row.get("level"), "subject": row.get("subject")}
        question = str(row.get("question", ""))
        if options:
            if answer.upper() not in LETTERS[: len(options)]:
                raise TaskError(f"MathVision row {sid}: answer {answer!r} is not an option letter")
            meta.update(type="single", n_choices=len(options), instruction=INSTRUCTIONS["single_en"])
            yield Sample(sid, _parts(question, [img] if img else []), answer.upper(), tuple(options), meta)
        else:
            meta.update(type="open", instruction=INSTRUCTIONS["open_en"])
            yield Sample(sid, _parts(question, [img] if img else []), answer, None, meta)


# ----- CMMMU --------------------------------------------------------------------------------

TRUE_WORDS = ("对", "正确", "是", "√", "true", "yes")
_IMG_TAG = re.compile(r"<img[^>]*>")


def _number_img_tags(text: str) -> str:
    """CMMMU marks figures with ``<img="...">`` tags; they become ``<image 1>``, ``<image 2>``, … in order."""
    counter = iter(range(1, 1000))
    return _IMG_TAG.sub(lambda _m: f"<image {next(counter)}>", text)


def load_cmmmu(spec: DatasetSpec) -> Iterator[Sample]:
    """CMMMU (``val``), one config per category (``-T subjects=science``; default all six)."""
    for config in _configs(spec, CMMMU_CATEGORIES, "subjects"):
        for n, row in enumerate(rows(spec, config), 1):
            sid = str(row.get("id") or f"{config}_{n}")
            images = numbered_images(row, count=5)
            kind = str(row.get("type", "")).strip()
            answer = str(row.get("answer", "")).strip()
            question = _number_img_tags(str(row.get("question", "")))
            meta: dict[str, Any] = {"source": "cmmmu", "category": config, "cmmmu_type": kind}
            if kind == "选择":
                options = [str(row[f"option{i}"]) for i in range(1, 7) if row.get(f"option{i}") not in (None, "")]
                letters = sorted({c for c in answer.upper() if c in LETTERS[: len(options)]})
                if not letters:
                    raise TaskError(f"CMMMU row {sid}: answer {answer!r} names no option letter")
                multi = len(letters) > 1
                meta.update(type="multi" if multi else "single", n_choices=len(options),
                            instruction=INSTRUCTIONS["multi_zh" if multi else "single_zh"])
                target: Any = letters if multi else letters[0]
                yield Sample(sid, _parts(question, images), target, tuple(options), meta)
            elif kind == "判断":
                right = answer.lower() in TRUE_WORDS
                meta.update(type="single", n_choices=2, instruction=INSTRUCTIONS["single_zh"])
                yield Sample(sid, _parts(question, images), "A" if right else "B", ("正确", "错误"), meta)
            else:
                meta.update(type="open", instruction=INSTRUCTIONS["open_zh"])
                yield Sample(sid, _parts(question, images), answer, None, meta)


# ----- OlympiadBench ------------------------------------------------------------------------

OLYMPIAD_PROMPT = (
    "下面是一道中国高考数学题。请按题目要求推理并计算，过程和结果中的变量与公式用 LaTeX 书写，"
    "最后写出“所以最终答案是\\boxed{{答案}}。”{extra}"
)


def load_olympiadbench(spec: DatasetSpec) -> Iterator[Sample]:
    """OlympiadBench's Gaokao maths subsets (open answers; ``-T subsets=OE_MM_maths_zh_CEE``)."""
    for config in _configs(spec, OLYMPIAD_CONFIGS, "subsets"):
        for n, row in enumerate(rows(spec, config), 1):
            sid = f"{config}_{row.get('id', n)}"
            answers = [_strip_dollars(a) for a in _parse_list(row.get("final_answer"))]
            if not answers:
                raise TaskError(f"OlympiadBench row {sid}: no final_answer")
            multi = bool(row.get("is_multiple_answer")) and len(answers) > 1
            extra = "本题有多个答案，请依次写出，用逗号隔开。" if multi else ""
            if row.get("unit"):
                extra += f"答案的单位是 {row['unit']}，请只写数值。"
            context = str(row.get("context") or "").strip()
            question = (context + "\n" if context else "") + str(row.get("question", ""))
            meta: dict[str, Any] = {"source": "olympiadbench", "subset": config, "type": "fill" if multi else "open",
                                    "answer_type": row.get("answer_type"),
                                    "instruction": OLYMPIAD_PROMPT.format(extra=extra)}
            err = row.get("error")
            if err not in (None, "") and row.get("answer_type") == "Numerical":
                try:
                    meta["abs_tolerance"] = float(str(err).split(",")[0])
                except ValueError:
                    pass
            target: Any = answers if multi else answers[0]
            yield Sample(sid, _parts(question, numbered_images(row, count=5)), target, None, meta)
