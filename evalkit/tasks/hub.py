"""Hugging Face ``datasets`` access that fails fast and clearly when offline.

``datasets`` is imported only here, only when a task needs the hub. A hub id that is not in the
local cache fails in seconds with one sentence saying how to get it, never a minute of retries:
with ``HF_HUB_OFFLINE=1`` it fails at once, and otherwise one short connection probe to the hub
(at most ``EVALKIT_HUB_PROBE_S`` seconds, default 3, once per process) decides before
``datasets`` starts its own retries.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from evalkit.tasks.spec import DatasetSpec, TaskError


def _offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _how_to_get(source: str) -> str:
    return (f"download it once with `huggingface-cli download --repo-type dataset {source}` "
            "or point the task at a local copy with --data PATH")


def is_cached(hf_id: str) -> bool:
    """Whether the hub cache or the ``datasets`` cache holds anything of ``hf_id``."""
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    hub = Path(os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or home / "hub")
    ds = Path(os.environ.get("HF_DATASETS_CACHE") or home / "datasets")
    org_name = hf_id.replace("/", "--")
    return (hub / f"datasets--{org_name}").is_dir() or (ds / hf_id.replace("/", "___")).is_dir()


@lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """One TCP connection attempt to the hub endpoint, bounded in time."""
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    url = urlparse(endpoint)
    timeout = float(os.environ.get("EVALKIT_HUB_PROBE_S") or 3)
    try:
        socket.create_connection((url.hostname or "", url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=timeout).close()
    except OSError:
        return False
    return True


def _preflight(source: str) -> None:
    if is_cached(source):
        return
    if _offline():
        raise TaskError(f"dataset {source!r} is not in the local cache and HF_HUB_OFFLINE=1; {_how_to_get(source)}")
    if not hub_reachable():
        raise TaskError(f"dataset {source!r} is not in the local cache and the hub cannot be reached; "
                        f"{_how_to_get(source)}")


def _raw_images(ds: Any) -> Any:
    """The dataset with its Image columns left undecoded (``{"bytes", "path"}``), so loaders keep file bytes."""
    import datasets

    for name, feature in getattr(ds, "features", {}).items():
        if isinstance(feature, datasets.Image) and feature.decode:
            ds = ds.cast_column(name, datasets.Image(decode=False))
    return ds


# datasets names a local file ``val-00000-of-00001.parquet`` split "validation"; hub READMEs may say "val"
SPLIT_ALIASES = {"val": "validation", "dev": "validation", "validation": "val"}


def _load_local_or_hub(datasets: Any, source: str, is_local: bool, kwargs: dict[str, Any]) -> Any:
    try:
        return datasets.load_dataset(source, **kwargs)
    except ValueError as exc:
        split = kwargs.get("split")
        if not (is_local and split in SPLIT_ALIASES and "split" in str(exc).lower()):
            raise
        return datasets.load_dataset(source, **{**kwargs, "split": SPLIT_ALIASES[split]})


def load_hf_rows(spec: DatasetSpec) -> Iterator[dict[str, Any]]:
    source = spec.hf_id or (str(spec.path) if spec.path else None)
    if not source:
        raise TaskError("dataset: a Hugging Face source needs 'hf' (a hub id) or 'path' (a local copy)")
    local = Path(source).expanduser()
    offline = _offline()
    if not local.exists():
        _preflight(source)
        os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "3")
        os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "5")
    import datasets

    kwargs: dict[str, Any] = {}
    if spec.config:
        kwargs["name"] = spec.config
    if spec.split:
        kwargs["split"] = spec.split
    if spec.options.get("revision"):
        kwargs["revision"] = str(spec.options["revision"])
    if spec.options.get("data_files"):  # a layout the card's configs do not declare (a parquet export)
        kwargs["data_files"] = spec.options["data_files"]
        kwargs.pop("name", None)
    try:
        if local.exists() and local.is_dir() and any(local.glob("*.arrow")) and not any(local.glob("*.parquet")):
            ds: Any = datasets.load_from_disk(str(local))
            if spec.split and isinstance(ds, datasets.DatasetDict):
                ds = ds[spec.split]
        else:
            ds = _load_local_or_hub(datasets, str(local) if local.exists() else source, local.exists(), kwargs)
    except Exception as exc:  # datasets raises many kinds; the user needs one sentence
        if local.exists():
            detail = str(exc).split("\n")[0][:200]
            raise TaskError(f"--data {local}: could not be read as a Hugging Face dataset"
                            f"{' (split ' + repr(spec.split) + ')' if spec.split else ''}: {detail}") from None
        where = "offline mode" if offline else "no network access or no such dataset"
        raise TaskError(f"dataset {source!r} could not be loaded ({where}: {type(exc).__name__}); {_how_to_get(source)}") from None
    if isinstance(ds, datasets.DatasetDict):
        first = next(iter(ds.values()))
        ds = first
    if spec.options.get("decode_images") is False:
        ds = _raw_images(ds)
    yield from ds
