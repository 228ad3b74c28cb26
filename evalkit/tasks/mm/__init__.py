"""Multimodal benchmark loaders (MathVista, MMMU, ScienceQA, MathVision, CMMMU, OlympiadBench).

Each loader is ``fn(spec: DatasetSpec) -> Iterable[Sample]``, registered lazily as a dataset
format in :mod:`evalkit.tasks.spec`, reading a hub id or a local copy of the same layout
(:mod:`evalkit.tasks.local_copy`). Their tasks are YAML files under ``tasks/`` that name the
format, hub id and split, and grade with the ``by_type`` scorer (:mod:`evalkit.grading.by_type`),
which routes each question type to its scorer.
"""
