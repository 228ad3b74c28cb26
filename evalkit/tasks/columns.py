"""The ``hub`` dataset format: a benchmark table whose columns the task file names.

Most benchmarks on the Hugging Face hub are one table per config and split: a question column,
option columns (one list, or one column per letter), an answer column, maybe images. A task file
says which column is which (``dataset.fields``) and how the answer column is written
(``dataset.options.answer``); this loader turns each row into a :class:`~evalkit.types.Sample`
whose metadata carries the question type (``single`` / ``open``) the ``by_type`` scorer routes on.

``dataset.fields`` (values are the source's column names)::

    id: <column>               optional; default the row number
    input: <column>            the question text (required)
    choices: <column> | [<column>, ...]   a list column, or one column per option (A, B, C, D)
    target: <column>           the answer
    images: <column> | [<column>, ...]    datasets Image columns (or paths inside the copy)
    metadata: [<column>, ...]  kept on the sample (and shown in reports)

``dataset.options``::

    configs: [name, ...]       every config of the benchmark (read in order); -T subjects=a,b picks
    files: pattern | {config: pattern}   the local copy's layout (see evalkit.tasks.local_copy)
    revision, hub_files        where the hub keeps the files when the card declares no configs
    answer: letter | index | text | final | list | raw   how the target column is written
    type: single | open        the question type (default: single when there are choices)
    shuffle: true              options put in a random order, fixed per sample id (GPQA)
    circular: true             rows are CircularEval copies; group = id modulo 1,000,000 (MMBench)
    tolerance: 0.05            relative tolerance for golds that are plain numbers (ChartQA)
"""

from __future__ import annotations

import hashlib
import math
import random
import string
from collections.abc import Iterator
from typing import Any

from evalkit.tasks.local_copy import dataset_rows
from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.types import ContentPart, Image, Sample, Text

LETTERS = string.ascii_uppercase
OPTIONS = ("configs", "files", "revision", "hub_files", "answer", "type", "shuffle", "circular", "tolerance",
           "subjects")
FIELDS = ("id", "input", "choices", "target", "images", "metadata")
ANSWERS = ("letter", "index", "text", "final", "list", "raw")
CIRCULAR_BASE = 1_000_000


def check_spec(spec: DatasetSpec) -> None:
    """Every option and field key is one this loader knows (a typo is an error, not ignored)."""
    for key in spec.options:
        if key not in OPTIONS:
            raise TaskError(f"dataset.options.{key} is not an option of the 'hub' format; "
                            f"allowed: {', '.join(OPTIONS)}")
    for key in spec.fields:
        if key not in FIELDS:
            raise TaskError(f"dataset.fields.{key} is not a sample field; allowed: {', '.join(FIELDS)}")
    if "input" not in spec.fields:
        raise TaskError("dataset.fields.input is required: the column that holds the question")
    answer = spec.options.get("answer", "raw")
    if answer not in ANSWERS:
        raise TaskError(f"dataset.options.answer is {answer!r}; allowed: {', '.join(ANSWERS)}")
    kind = spec.options.get("type")
    if kind not in (None, "single", "open"):
        raise TaskError(f"dataset.options.type is {kind!r}; allowed: single, open")


def selected_configs(spec: DatasetSpec) -> list[str | None]:
    """The configs to read: ``-T subjects=a,b`` among ``options.configs``, else all, else ``spec.config``."""
    known = [str(c) for c in spec.options.get("configs") or []]
    chosen = str(spec.options.get("subjects") or "").strip()
    if not known:
        if chosen and chosen != "all":
            raise TaskError(f"-T subjects={chosen}: this task has one config ({spec.config or 'default'})")
        return [spec.config]
    if not chosen or chosen == "all":
        return list(known)
    lookup = {k.lower(): k for k in known}
    names = [c.strip() for c in chosen.split(",") if c.strip()]
    unknown = [n for n in names if n.lower() not in lookup]
    if unknown:
        raise TaskError(f"-T subjects={chosen}: no config {', '.join(unknown)}; the configs are {', '.join(known)}")
    return [lookup[n.lower()] for n in names]


def load_hub(spec: DatasetSpec) -> Iterator[Sample]:
    """Samples of every selected config (ids prefixed with the config when there are several)."""
    check_spec(spec)
    configs = present_configs(spec, selected_configs(spec))
    prefix = len(configs) > 1 or bool(spec.options.get("configs"))
    for config in configs:
        for n, row in enumerate(dataset_rows(spec, config), 1):
            where = f"{config + ' ' if config else ''}row {n}"
            yield row_sample(row, spec, where, f"{config}/" if prefix and config else "", n)


def present_configs(spec: DatasetSpec, configs: list[str | None]) -> list[str | None]:
    """A local copy read whole (no -T subjects) runs the configs it holds, as the folder-per-config
    loaders do; a config named with -T subjects must be there. No config at all is an error."""
    from evalkit.tasks.local_copy import find_files

    chosen = str(spec.options.get("subjects") or "all").strip()
    if spec.path is None or len(configs) < 2 or chosen != "all" or not spec.path.expanduser().is_dir():
        return configs
    present = []
    first_error: TaskError | None = None
    for config in configs:
        try:
            find_files(spec.path.expanduser(), config, spec.split, spec.options.get("files"))
        except TaskError as exc:
            first_error = first_error or exc
            continue
        present.append(config)
    if not present and first_error is not None:
        raise first_error
    return present


def _column(row: dict[str, Any], column: str, where: str) -> Any:
    if column not in row:
        raise TaskError(f"{where}: no column {column!r} (the row has: {', '.join(map(str, row))})")
    return row[column]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() in ("", "nan")


def _choices(row: dict[str, Any], field: Any, where: str) -> list[str]:
    if field is None:
        return []
    if isinstance(field, list):
        values = [_column(row, str(c), where) for c in field]
        while values and _missing(values[-1]):  # MMBench leaves C/D empty for two-option questions
            values.pop()
        if any(_missing(v) for v in values):
            raise TaskError(f"{where}: an option column between {field[0]} and {field[-1]} is empty")
        return [str(v) for v in values]
    value = _column(row, str(field), where)
    if isinstance(value, str):
        from evalkit.tasks.mm.benchmarks import _parse_list

        return _parse_list(value)
    return [str(v) for v in value or []]


def _shuffled(choices: list[str], sid: str) -> list[str]:
    """The options in an order fixed by the sample id (the same on every machine and run)."""
    seed = int.from_bytes(hashlib.sha256(f"evalkit-shuffle:{sid}".encode("utf-8", "surrogatepass")).digest()[:8],
                          "big")
    order = list(choices)
    random.Random(seed).shuffle(order)
    return order


def _target(value: Any, answer: str, choices: list[str], where: str) -> tuple[Any, dict[str, Any]]:
    """The target in evalkit's form (a letter for options) and what the sample's metadata gains."""
    if answer == "index":
        try:
            idx = int(str(value).strip())
        except ValueError:
            raise TaskError(f"{where}: answer {value!r} is not an option index") from None
        if not 0 <= idx < len(choices):
            raise TaskError(f"{where}: answer index {idx} is outside its {len(choices)} options")
        return LETTERS[idx], {}
    if answer == "letter":
        letter = str(value).strip().strip("()").upper()
        if choices and letter not in LETTERS[: len(choices)]:
            raise TaskError(f"{where}: answer {value!r} is not one of the option letters {LETTERS[:len(choices)]}")
        return letter, {}
    if answer == "text":
        text = str(value).strip()
        hits = [i for i, c in enumerate(choices) if c.strip() == text]
        if len(hits) != 1:
            raise TaskError(f"{where}: answer {text!r} is not exactly one of its options")
        return LETTERS[hits[0]], {"answer_text": text}
    if answer == "final":  # GSM8K: the worked solution ends with "#### <number>"
        text = str(value)
        if "####" not in text:
            raise TaskError(f"{where}: answer has no '#### <final answer>' line")
        return text.rsplit("####", 1)[1].strip().replace(",", ""), {}
    if answer == "list":  # ChartQA: a list of acceptable answers
        golds = [str(v).strip() for v in (value if isinstance(value, list | tuple) else [value]) if not _missing(v)]
        if not golds:
            raise TaskError(f"{where}: answer list is empty")
        return golds[0], ({"alternatives": golds} if len(golds) > 1 else {})
    if _missing(value):
        raise TaskError(f"{where}: answer is empty")
    return str(value).strip(), {}


def _images(row: dict[str, Any], field: Any, where: str) -> list[Image]:
    from evalkit.tasks.mm.benchmarks import to_image

    if field is None:
        return []
    columns = field if isinstance(field, list) else [field]
    out: list[Image] = []
    for col in columns:
        value = _column(row, str(col), where)
        values = value if isinstance(value, list) else [value]
        for v in values:
            img = to_image(v, f"image {len(out) + 1}")
            if img is not None:
                out.append(img)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def row_sample(row: dict[str, Any], spec: DatasetSpec, where: str, prefix: str, n: int) -> Sample:
    """One row as a sample, by the task file's fields and answer rule."""
    fields, opts = spec.fields, spec.options
    raw_id = row.get(str(fields["id"])) if fields.get("id") else None
    sid = prefix + (str(raw_id) if not _missing(raw_id) else str(n))
    where = f"{where} (id {sid})"
    question = str(_column(row, str(fields["input"]), where))
    choices = _choices(row, fields.get("choices"), where)
    if opts.get("shuffle") and choices:
        choices = _shuffled(choices, sid)
    if "target" not in fields:
        raise TaskError("dataset.fields.target is required: the column that holds the answer")
    answer = str(opts.get("answer") or ("letter" if choices else "raw"))
    target, extra = _target(_column(row, str(fields["target"]), where), answer, choices, where)
    kind = opts.get("type") or ("single" if choices else "open")
    meta: dict[str, Any] = {"type": kind, **extra}
    if choices:
        meta["n_choices"] = len(choices)
    if prefix:
        meta["config"] = prefix.rstrip("/")
    for col in fields.get("metadata") or []:
        meta[str(col)] = _plain(row.get(str(col)))
    if opts.get("tolerance") is not None:
        meta["tolerance"] = float(opts["tolerance"])
    if opts.get("circular"):
        try:
            meta["circular_group"] = f"{prefix}{int(str(raw_id)) % CIRCULAR_BASE}"
        except ValueError:
            raise TaskError(f"{where}: circular evaluation needs a numeric id, got {raw_id!r}") from None
    images = _images(row, fields.get("images"), where)
    content: str | tuple[ContentPart, ...] = (Text(question), *images) if images else question
    return Sample(sid, content, target, tuple(choices) if choices else None, meta)
