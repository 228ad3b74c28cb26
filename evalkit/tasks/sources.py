"""The generic dataset sources: local JSON/JSONL/CSV/Parquet files and Hugging Face ``datasets``.

A loader is ``fn(spec: DatasetSpec) -> Iterable[Sample]``, registered by format name in
:data:`evalkit.tasks.spec.loaders` (entry-point group ``evalkit.loaders``). The loaders here read
rows and map them to samples through ``spec.fields``; layout loaders (GAOKAO-Bench, MathVista, ...)
live in their own modules.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalkit.fileio import utf8_problem
from evalkit.tasks.paths import check_regular_file
from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.types import Image, Sample, Text

FORMAT_BY_SUFFIX = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def _read_rows(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    if not path.exists():
        raise TaskError(f"{path}: dataset file not found")
    check_regular_file(path, "dataset file")
    try:
        yield from _parse_rows(path, fmt)
    except TaskError:
        raise
    except UnicodeDecodeError:
        raise TaskError(f"{path}: not UTF-8 text at {utf8_problem(path)} (is it the {fmt} file you meant?)") from None
    except json.JSONDecodeError as exc:
        raise TaskError(f"{path}: not valid JSON at line {exc.lineno} ({exc.msg})") from None
    except (OSError, ValueError) as exc:  # pandas/pyarrow report a damaged parquet file as ValueError
        raise TaskError(f"{path}: cannot be read as {fmt} ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None


def _parse_rows(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise TaskError(f"{path}: line {n} is not valid JSON ({exc.msg})") from None
    elif fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):  # {"examples": [...]} or {"data": [...]} or {id: row}
            lists = [v for v in data.values() if isinstance(v, list)]
            data = lists[0] if lists else [{"id": k, **v} for k, v in data.items() if isinstance(v, dict)]
        if not isinstance(data, list):
            raise TaskError(f"{path}: expected a list of rows (or an object holding one)")
        yield from data
    elif fmt == "csv":
        with path.open(encoding="utf-8", newline="") as fh:
            yield from csv.DictReader(fh)
    elif fmt == "parquet":  # pyarrow gives plain lists and dicts (pandas would give numpy arrays)
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()
    else:
        raise TaskError(f"{path}: unknown row format {fmt!r}")


def _get(row: dict[str, Any], key: Any) -> Any:
    """A field by name, dotted path (``a.b``), or a list of names joined."""
    if key is None:
        return None
    if isinstance(key, list):
        return [_get(row, k) for k in key]
    cur: Any = row
    for part in str(key).split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


def _images_from(value: Any, base: Path | None) -> list[Image]:
    if value is None:
        return []
    values = value if isinstance(value, list | tuple) else [value]
    out = []
    for v in values:
        if v is None:
            continue
        if isinstance(v, dict) and ("bytes" in v or "path" in v):  # datasets Image column
            v = v.get("bytes") or v.get("path")
        if isinstance(v, str) and base is not None and not Path(v).is_absolute():
            v = str(base / v)
        out.append(Image(v))
    return out


SAMPLE_FIELDS = ("id", "input", "target", "choices", "images", "metadata")


def own_sample(row: dict[str, Any], n: int, base: Path | None = None) -> Sample:
    """A row in evalkit's own sample format: ``id``, ``input`` (text, or parts with images), ``target``,
    ``choices``, ``images`` (paths, placed at ``<image N>`` markers or before the text) and ``metadata``.

    Relative image paths (in ``images`` or in ``input`` parts) are relative to the data file's folder;
    a field evalkit does not read is an error (it would be ignored silently otherwise).
    """
    from evalkit.registry import did_you_mean

    for key in row:
        if key not in SAMPLE_FIELDS:
            raise TaskError(f"row {n}: field {key!r} is not a sample field{did_you_mean(key, SAMPLE_FIELDS)}; "
                            f"allowed: {', '.join(SAMPLE_FIELDS)} (other data goes under metadata)")
    for key in ("id", "input", "target", "choices", "metadata"):
        _check_field(key, key, row.get(key), n, own=True)
    _check_parts(row.get("input"), n)
    sample = Sample.from_dict({k: v for k, v in row.items() if k != "images"})
    parts = [_resolved(p, base) for p in sample.parts] if base is not None else list(sample.parts)
    images = _images_from(row.get("images"), base)
    if not images and parts == list(sample.parts):
        return sample
    return replace(sample, input=(*parts, *images))


_SCALAR = (str, int, float)
_KINDS = {
    "id": ("a text or a number", lambda v, own: isinstance(v, _SCALAR) and not isinstance(v, bool)),
    "input": ("a text (or, in evalkit's sample format, a list of text and image parts)",
              lambda v, own: isinstance(v, str) or (not own and isinstance(v, int | float) and not isinstance(v, bool))
              or (own and isinstance(v, list) and all(isinstance(p, str | dict) for p in v))),
    "target": ("a text, a number or a list of them", lambda v, own: isinstance(v, _SCALAR) or
               (isinstance(v, list) and all(isinstance(x, _SCALAR) for x in v))),
    "choices": ("a list of option texts", lambda v, own: isinstance(v, str) or
                (isinstance(v, list | tuple) and all(isinstance(x, _SCALAR) and not isinstance(x, bool) for x in v))),
    "metadata": ("a mapping", lambda v, own: isinstance(v, dict)),
}


def _check_field(key: str, column: Any, value: Any, n: int, own: bool = False) -> None:
    """One sentence for a row field of the wrong kind (``choices: 7``), naming the row, field and what it
    must be; ``None`` (absent) passes (required fields are checked where they are read)."""
    if value is None:
        return
    what, ok = _KINDS[key]
    if not ok(value, own):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        name = f"{key}' (column {column!r})" if column != key else f"{key}'"
        raise TaskError(f"row {n}: field '{name} must be {what}, not {type(value).__name__} {shown}")


def _check_parts(value: Any, n: int) -> None:
    """Each part of a list ``input`` is a text or ``{"type": "text", "text": …}`` / ``{"type": "image", "path": …}``
    (a part such as ``{"type": "image", "url": …}`` would otherwise fail later as "image <NoneType>")."""
    if not isinstance(value, list):
        return
    for i, part in enumerate(value, 1):
        if isinstance(part, str):
            continue
        kind = part.get("type")
        if (kind == "text" and isinstance(part.get("text"), str)) or \
                (kind == "image" and isinstance(part.get("path") or part.get("source"), str)):
            continue
        shown = repr(part) if len(repr(part)) <= 60 else repr(part)[:57] + "..."
        raise TaskError(f"row {n}: input part {i} must be {{'type': 'text', 'text': …}} or "
                        f"{{'type': 'image', 'path': …}}, not {shown}")


def _resolved(part: Any, base: Path) -> Any:
    """An image part whose path is relative, made relative to ``base`` (the data file's folder)."""
    if isinstance(part, Image) and isinstance(part.source, str) and not part.source.startswith(("http://", "https://")) \
            and not Path(part.source).is_absolute():
        return replace(part, source=str(base / part.source))
    return part


def row_to_sample(row: dict[str, Any], fields: dict[str, Any], n: int, base: Path | None = None) -> Sample:
    """Map one source row to a Sample through ``fields`` (defaults: evalkit's own names)."""
    if not fields and "input" in row and "id" in row:
        return own_sample(row, n, base)
    sid = _get(row, fields.get("id", "id"))
    text = _get(row, fields.get("input", "input"))
    if text is None:
        raise TaskError(f"row {n}: no input field {fields.get('input', 'input')!r}")
    choices = _get(row, fields.get("choices", "choices"))
    for key, value in (("id", sid), ("input", text), ("choices", choices),
                       ("target", _get(row, fields.get("target", "target")))):
        _check_field(key, fields.get(key, key), value, n)
    if isinstance(choices, str):
        choices = json.loads(choices) if choices.startswith("[") else [c for c in choices.split("\n") if c]
    images = _images_from(_get(row, fields.get("images", "images")), base)
    meta_keys = fields.get("metadata", [])
    metadata = {k: _get(row, k) for k in meta_keys} if isinstance(meta_keys, list) else dict(row.get("metadata") or {})
    inp: str | tuple[Any, ...] = str(text) if not images else (Text(str(text)), *images)
    return Sample(
        id=str(sid if sid is not None else n),
        input=inp,
        target=_get(row, fields.get("target", "target")),
        choices=tuple(str(c) for c in choices) if choices else None,
        metadata=metadata,
    )


def load_rows(spec: DatasetSpec) -> Iterator[Sample]:
    if spec.path is None:
        raise TaskError(f"dataset format {spec.format!r} needs a path")
    yield from _samples(_read_rows(spec.path, spec.format), spec.fields, str(spec.path), spec.path.parent)


def load_hf(spec: DatasetSpec) -> Iterator[Sample]:
    """Rows of a Hugging Face dataset (hub id, or local folder), mapped through ``fields``."""
    from evalkit.tasks.hub import load_hf_rows

    yield from _samples(load_hf_rows(spec), spec.fields, str(spec.hf_id or spec.path))


def _samples(rows: Iterable[Any], fields: dict[str, Any], where: str, base: Path | None = None) -> Iterator[Sample]:
    """Rows mapped to samples; a row that does not fit is one sentence naming the source and the row."""
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise TaskError(f"{where}: row {n} is not an object")
        try:
            yield row_to_sample(row, fields, n, base)
        except TaskError as exc:
            raise TaskError(f"{where}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskError(f"{where}: row {n}: {exc}") from None
