"""The tasks room's leaf: its error, what a dataset is (``DatasetSpec``), and the registry of formats.

Every other module of the room imports from here and this imports nothing of the room, so the
arrows run one way: ``task`` (the record) and ``schema`` (the YAML) name a dataset by its
``format``; :data:`loaders` maps each format to the function that reads it, by a lazy
``"module:attr"`` string (entry-point group ``evalkit.loaders`` for plug-ins), so loading a task's
samples imports the one loader it needs and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.registry import Registry
from evalkit.types import Sample


class TaskError(EvalkitError, ValueError):
    """A task definition or its data is wrong; the message names the file, field or row."""


@dataclass(frozen=True)
class DatasetSpec:
    """Where samples come from: a loader ``format`` plus its arguments.

    ``path`` is absolute once resolved; ``fields`` maps evalkit's sample fields (``id``, ``input``,
    ``target``, ``choices``, ``images``, ``metadata``) to the source's column names.
    """

    format: str
    path: Path | None = None
    hf_id: str | None = None
    config: str | None = None
    split: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.hf_id:
            return f"hf:{self.hf_id}" + (f"/{self.config}" if self.config else "") + (f"[{self.split}]" if self.split else "")
        return f"{self.format}:{self.path}"


Loader = Callable[[DatasetSpec], Iterable[Sample]]
loaders: Registry[Loader] = Registry("dataset format", "evalkit.loaders")

for _name, _target in {
    # generic rows, mapped to samples through ``spec.fields`` (tasks/sources.py)
    "jsonl": "evalkit.tasks.sources:load_rows",
    "json": "evalkit.tasks.sources:load_rows",
    "csv": "evalkit.tasks.sources:load_rows",
    "parquet": "evalkit.tasks.sources:load_rows",
    "hf": "evalkit.tasks.sources:load_hf",
    "hub": "evalkit.tasks.columns:load_hub",  # a hub table whose columns the task file names
    # layout loaders, each in its own module
    "gaokao-paper": "evalkit.tasks.gaokao:load_paper",
    "gaokao-bench": "evalkit.tasks.gaokao:load_gaokao_bench",
    "gaokao-mm": "evalkit.tasks.multimodal:load_gaokao_mm",
    "gaokao-hs": "evalkit.tasks.gaokao_hs:load_gaokao_hs",
    "figures": "evalkit.tasks.figures:load_figures",
    "mathvista": "evalkit.tasks.mm.benchmarks:load_mathvista",
    "mmmu": "evalkit.tasks.mm.benchmarks:load_mmmu",
    "scienceqa": "evalkit.tasks.mm.benchmarks:load_scienceqa",
    "mathvision": "evalkit.tasks.mm.benchmarks:load_mathvision",
    "cmmmu": "evalkit.tasks.mm.benchmarks:load_cmmmu",
    "olympiadbench": "evalkit.tasks.mm.benchmarks:load_olympiadbench",
}.items():
    loaders.add(_name, _target)


def load_dataset_spec(spec: DatasetSpec) -> Iterable[Sample]:
    """The samples of ``spec``, read by the loader registered for its format."""
    try:
        loader = loaders.get(spec.format)
    except LookupError as exc:
        raise TaskError(f"dataset.format: {exc}") from None
    return loader(spec)
