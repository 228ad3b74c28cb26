"""Multimodal benchmark loaders (MathVista, MMMU, ScienceQA, MathVision, CMMMU, OlympiadBench).

Each loader is ``fn(spec: DatasetSpec) -> Iterable[Sample]``, registered lazily as a dataset
format in :mod:`evalkit.tasks.sources`, reading a hub id or a local copy of the same layout.
Their tasks grade with the ``by_type`` scorer (:mod:`evalkit.grading.by_type`), which routes each
question type to its scorer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.grading import GraderSpec
from evalkit.tasks.task import DatasetSpec, Task

TEMPLATE = (
    "{{ question }}{% if options %}\n{{ options }}{% endif %}"
    "{% if metadata.get('instruction') %}\n{{ metadata.get('instruction') }}{% endif %}"
)
SPEC_OPTIONS = ("subjects", "subsets", "all")


def hub_task(name: str, fmt: str, hf: str, split: str, description: str, options: dict[str, Any],
             *, version: str = "1", template: str = TEMPLATE, grader_options: dict[str, Any] | None = None) -> Task:
    """A benchmark task over a hub dataset; ``--data PATH`` reads a local copy of the same layout.

    ``-T split=...`` and ``-T hf=...`` override the split and the hub id; ``subjects``/``subsets``/``all``
    are handed to the loader.
    """
    data = options.get("data")
    path = Path(str(data)).expanduser().resolve() if data else None
    spec = DatasetSpec(
        format=fmt,
        path=path,
        hf_id=None if path else str(options.get("hf") or hf),
        split=str(options.get("split") or split),
        options={k: v for k, v in options.items() if k in SPEC_OPTIONS},
    )
    return Task(name=name, description=description, version=version, dataset=spec, template=template,
                grader=GraderSpec("by_type", dict(grader_options or {})), metrics=["accuracy"], modality="image",
                source=f"evalkit.tasks.mm:{fmt}", options=dict(options))
