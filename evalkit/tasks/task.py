"""The ``Task`` record: what to ask (dataset, prompt), how to grade it, and run defaults.

A task's samples come from its ``loader`` when it has one, else from its ``dataset`` through the
registry of formats in :mod:`evalkit.tasks.spec` (which also holds ``TaskError`` and ``DatasetSpec``,
named here too for existing imports).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from evalkit.grading import GraderSpec
from evalkit.tasks.spec import DatasetSpec, TaskError, load_dataset_spec
from evalkit.types import GenerationConfig, Message, Sample, SampleError

Modality = Literal["text", "image", "mixed"]

__all__ = ["DatasetSpec", "Modality", "Task", "TaskError"]


@dataclass
class Task:
    """A benchmark: its samples (loaded lazily, once), prompt, grader, metrics and defaults."""

    name: str
    description: str = ""
    version: str = "1"
    dataset: DatasetSpec | None = None
    loader: Callable[[], Iterable[Sample]] | None = None
    template: str | None = None
    system_prompt: str | None = None
    grader: GraderSpec = field(default_factory=lambda: GraderSpec("exact"))
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    modality: Modality = "text"
    source: str = ""  # where the definition came from (file path or "module:function")
    options: dict[str, Any] = field(default_factory=dict)
    # what the catalogue says of it: group, homepage, licence, data, fields, rule, checked, fixture
    about: dict[str, Any] = field(default_factory=dict)
    # folders the samples' image files must lie in (see evalkit.tasks.paths); None: not confined
    roots: tuple[Path, ...] | None = None

    @cached_property
    def samples(self) -> list[Sample]:
        if self.loader is not None:
            items = list(self.loader())
        elif self.dataset is not None:
            items = list(load_dataset_spec(self.dataset))
        else:
            raise TaskError(f"task {self.name!r} ({self.source}) has no dataset")
        seen: set[str] = set()
        for s in items:
            if s.id in seen:
                raise TaskError(f"task {self.name!r}: sample id {s.id!r} appears twice; ids must be unique")
            seen.add(s.id)
            try:
                s.blank_points()
            except SampleError as exc:
                raise TaskError(f"task {self.name!r} ({self.source}): {exc}") from None
        if self.roots is not None:
            self._confine_images(items, self.roots)
        if items:
            self.modality = modality_of(items)  # what the samples are, whatever the task file said
        return items

    def _confine_images(self, items: list[Sample], roots: tuple[Path, ...]) -> None:
        from evalkit.tasks.paths import confine

        for s in items:
            for img in s.images:
                path = img.path
                if path is not None and not path.startswith(("http://", "https://")):
                    confine(Path(path), roots, f"task {self.name!r}, sample {s.id!r}: image")

    def render(self, sample: Sample) -> tuple[Message, ...]:
        from evalkit.tasks.prompt import TemplateSecurityError, render_messages

        try:
            return render_messages(sample, self.template, self.system_prompt)
        except TemplateSecurityError as exc:
            raise TemplateSecurityError(f"{self.source or self.name}: {exc}") from None

    @property
    def prompt_hash(self) -> str:
        text = json.dumps([self.template, self.system_prompt], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    @property
    def definition_hash(self) -> str:
        text = json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "dataset": self.dataset.describe() if self.dataset else self.source,
                "grader": self.grader.to_dict(),
                "metrics": self.metrics,
                "generation": self.generation.to_dict(),
                "prompt": self.prompt_hash,
            },
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def dataset_fingerprint(self) -> str:
        """A hash over every sample's id, input, target and choices (images by content hash)."""
        h = hashlib.sha256()
        for s in self.samples:
            # "surrogatepass": a lone surrogate from a data file (valid JSON, not UTF-8) is hashed, not fatal
            h.update(json.dumps(s.to_dict(), ensure_ascii=False, sort_keys=True, default=str)
                     .encode("utf-8", "surrogatepass"))
        return h.hexdigest()[:16]


def modality_of(samples: Sequence[Sample]) -> Modality:
    """``text`` when no sample has an image, ``image`` when every one has, else ``mixed``."""
    with_images = sum(1 for s in samples if s.images)
    return "text" if not with_images else "image" if with_images == len(samples) else "mixed"
