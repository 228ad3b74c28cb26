"""Hugging Face ``datasets`` access that fails fast and clearly when offline.

``datasets`` is imported only here, only when a task needs the hub. A hub id that is not in the
local cache fails in seconds with one sentence saying how to get it, never a minute of retries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.tasks.task import DatasetSpec, TaskError


def load_hf_rows(spec: DatasetSpec) -> Iterator[dict[str, Any]]:
    source = spec.hf_id or (str(spec.path) if spec.path else None)
    if not source:
        raise TaskError("dataset: a Hugging Face source needs 'hf' (a hub id) or 'path' (a local copy)")
    local = Path(source).expanduser()
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
    if not local.exists():
        os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "3")
        os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "5")
    import datasets

    kwargs: dict[str, Any] = {}
    if spec.config:
        kwargs["name"] = spec.config
    if spec.split:
        kwargs["split"] = spec.split
    try:
        if local.exists() and local.is_dir() and any(local.glob("*.arrow")) and not any(local.glob("*.parquet")):
            ds: Any = datasets.load_from_disk(str(local))
            if spec.split and isinstance(ds, datasets.DatasetDict):
                ds = ds[spec.split]
        else:
            ds = datasets.load_dataset(str(local) if local.exists() else source, **kwargs)
    except Exception as exc:  # datasets raises many kinds; the user needs one sentence
        where = "offline mode" if offline else "no network access or no such dataset"
        raise TaskError(
            f"dataset {source!r} could not be loaded ({where}: {type(exc).__name__}); download it once with "
            f"`huggingface-cli download --repo-type dataset {source}` or point the task at a local copy with --data PATH"
        ) from None
    if isinstance(ds, datasets.DatasetDict):
        first = next(iter(ds.values()))
        ds = first
    yield from ds
