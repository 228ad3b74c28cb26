"""Multimodal benchmark loaders (MathVista, MMMU, ScienceQA, MathVision, CMMMU, OlympiadBench).

Each loader is ``fn(spec: DatasetSpec) -> Iterable[Sample]``, registered lazily as a dataset
format in :mod:`evalkit.tasks.sources`, reading a hub id or a local copy of the same layout.
Importing this package registers the ``by_type`` scorer that grades mixed question types.
"""

from __future__ import annotations

from evalkit.grading import scorer_registry

scorer_registry.add("by_type", "evalkit.tasks.mm.scoring:by_type", replace=True)
