"""Local copies of hub datasets: find one config's split among the files, and read its rows.

A local copy is what ``huggingface-cli download --repo-type dataset ID --local-dir DIR`` leaves (or
a benchmark's own release unpacked). The files of one config and split are found by a pattern with
``{config}`` and ``{split}`` placeholders, the way a dataset card's ``data_files`` name them
(``{config}/{split}-*.parquet``, ``data/{split}-*``, ``aime2025-I.jsonl``, ``{split}/{config}.csv``).
A task may declare its own pattern (``dataset.options.files``: one pattern, or a mapping of config to
pattern); without one the usual hub layouts are tried in order (:data:`DEFAULT_PATTERNS`).

Rows are read by evalkit itself — Parquet with pyarrow, JSON Lines, JSON and CSV — so a local copy
needs neither network nor the ``datasets`` cache. A ``datasets`` Image value (``{"bytes", "path"}``)
with no bytes and a relative path is resolved against the data file's folder and must stay inside
the copy. A folder written by ``Dataset.save_to_disk`` is read through ``datasets``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from evalkit.tasks.spec import DatasetSpec, TaskError

SUFFIXES = (".parquet", ".jsonl", ".json", ".csv")
DEFAULT_PATTERNS = (
    "{config}/{split}-*",
    "{config}/{split}/*",
    "{config}/{split}.*",
    "data/{split}-*",
    "data/{split}.*",
    "{split}-*",
    "{split}.*",
    "{split}/*",
)
# the names a card may give a split, and what the files may be called instead
SPLIT_ALIASES = {"val": ("validation", "dev"), "validation": ("val", "dev"), "dev": ("val", "validation")}


def patterns_for(files: Any, config: str | None) -> tuple[str, ...]:
    """The glob patterns a task declares for ``config`` (``files``: a pattern or config → pattern)."""
    if files is None:
        return DEFAULT_PATTERNS
    if isinstance(files, Mapping):
        if config is None or config not in files:
            known = ", ".join(str(k) for k in files)
            raise TaskError(f"dataset.options.files has no pattern for config {config!r}; it has: {known}")
        files = files[config]
    if isinstance(files, str):
        return (files,)
    if isinstance(files, list | tuple) and all(isinstance(f, str) for f in files):
        return tuple(files)
    raise TaskError("dataset.options.files must be a pattern, a list of patterns, or a mapping of config to pattern")


def find_files(root: Path, config: str | None, split: str | None, files: Any = None) -> list[Path]:
    """The data files of ``config``/``split`` under ``root`` (a file is its own answer)."""
    if root.is_file():
        return [root]
    splits = [split] if split else [""]
    if split and split in SPLIT_ALIASES:
        splits += list(SPLIT_ALIASES[split])
    tried: list[str] = []
    for pattern in patterns_for(files, config):
        if "{config}" in pattern and not config:
            continue
        for name in splits:
            glob = pattern.format(config=config or "", split=name)
            tried.append(glob)
            found = sorted(p for p in root.glob(glob) if p.is_file() and p.suffix in SUFFIXES)
            if found:
                return found
    where = f"config {config!r}, " if config else ""
    raise TaskError(f"--data {root}: no data files for {where}split {split!r} "
                    f"(looked for {', '.join(dict.fromkeys(tried))})")


def is_saved_dataset(root: Path) -> bool:
    """Whether ``root`` is a folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``."""
    return root.is_dir() and ((root / "dataset_info.json").is_file() or (root / "dataset_dict.json").is_file())


def read_local(root: Path, config: str | None, split: str | None, files: Any = None) -> Iterator[dict[str, Any]]:
    """Rows of one config and split of a local copy at ``root``."""
    root = root.expanduser()
    if not root.exists():
        raise TaskError(f"--data {root}: no such file or folder")
    saved = root / config if config and is_saved_dataset(root / config) else root
    if is_saved_dataset(saved) and not any(saved.glob("*.parquet")):
        yield from _saved_rows(saved, split)
        return
    base = root if root.is_dir() else root.parent
    for path in find_files(root, config, split, files):
        for row in read_file(path):
            yield _resolve_image_paths(row, path.parent, base, path)


def read_file(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of one Parquet, JSON Lines, JSON or CSV file, as plain Python values."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several kinds for a bad file
            raise TaskError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
        yield from table.to_pylist()
        return
    from evalkit.tasks.sources import _read_rows

    fmt = {".jsonl": "jsonl", ".json": "json", ".csv": "csv"}[path.suffix]
    try:
        for n, row in enumerate(_read_rows(path, fmt), 1):
            if not isinstance(row, dict):
                raise TaskError(f"{path}: row {n} is not an object")
            yield row
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: not valid {fmt.upper()} ({type(exc).__name__})") from None


def _saved_rows(folder: Path, split: str | None) -> Iterator[dict[str, Any]]:
    import datasets

    ds: Any = datasets.load_from_disk(str(folder))
    if isinstance(ds, datasets.DatasetDict):
        names = [split, *SPLIT_ALIASES.get(split or "", ())]
        chosen = next((n for n in names if n in ds), None)
        if chosen is None:
            raise TaskError(f"--data {folder}: no split {split!r} (it has {', '.join(ds)})")
        ds = ds[chosen]
    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Image) and feature.decode:
            ds = ds.cast_column(name, datasets.Image(decode=False))
    yield from ds


def _resolve_image_paths(row: dict[str, Any], folder: Path, base: Path, source: Path) -> dict[str, Any]:
    """``{"bytes": None, "path": "img/1.png"}`` values get a path inside the copy, checked."""
    for key, value in row.items():
        if isinstance(value, dict) and set(value) <= {"bytes", "path"} and not value.get("bytes") and value.get("path"):
            row[key] = {"bytes": None, "path": str(_inside(folder / str(value["path"]), base, source, key))}
    return row


def _inside(path: Path, base: Path, source: Path, column: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(base.resolve()):
        raise TaskError(f"{source}: column {column!r} names an image outside the data folder ({path})")
    return resolved


def hub_rows(spec: DatasetSpec, config: str | None) -> Iterator[dict[str, Any]]:
    """Rows of one config from the Hugging Face hub (or its cache), through ``datasets``."""
    from dataclasses import replace

    from evalkit.tasks.hub import load_hf_rows

    options: dict[str, Any] = {"decode_images": False}
    if spec.options.get("revision"):
        options["revision"] = spec.options["revision"]
    if spec.options.get("hub_files"):  # the card declares no configs: name the files (e.g. a parquet export)
        split = spec.split or "train"
        options["data_files"] = {split: str(spec.options["hub_files"]).format(config=config or "", split=split)}
    yield from load_hf_rows(replace(spec, format="hf", path=None, config=config, options=options))


def dataset_rows(spec: DatasetSpec, config: str | None) -> Iterator[dict[str, Any]]:
    """Rows of one config and split: from ``spec.path`` (a local copy) when given, else the hub."""
    if spec.path is not None:
        yield from read_local(spec.path, config, spec.split, spec.options.get("files"))
    elif spec.hf_id:
        yield from hub_rows(spec, config)
    else:
        raise TaskError("dataset: needs 'hf' (a hub id) or a local copy given with --data PATH")
