"""The catalogue view of the tasks: their group, where their data is, and an example prompt.

A task file's ``about:`` block (see ``docs/tasks.md``) says where a benchmark comes from, its
licence, its fields and answer rule, which sources were checked for them, and where its fixture is
(a handful of rows in the real schema, written for evalkit's tests). This module turns that into
what ``evalkit list tasks`` and ``evalkit show-task`` print; it reads no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.tasks.task import Task
from evalkit.types import Image, Message, Sample, Text

GROUP_ORDER = ("gaokao", "multimodal", "knowledge", "math", "other")
GROUP_TITLES = {"gaokao": "Gaokao", "multimodal": "Multimodal", "knowledge": "Knowledge", "math": "Math",
                "other": "Other"}


@dataclass(frozen=True)
class DataStatus:
    """Where a task's data is: ``where`` in a few words, and whether it can be read here now."""

    where: str
    available: bool


def group_of(task: Task) -> str:
    """The task's catalogue group: its ``about.group``, else a guess from its name and modality."""
    group = task.about.get("group")
    if group in GROUP_ORDER:
        return str(group)
    if task.name.startswith("gaokao"):
        return "gaokao"
    return "multimodal" if task.modality != "text" else "other"


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def data_status(task: Task) -> DataStatus:
    """Bundled with evalkit, on the hub (cached here or not), or to be given with ``--data``."""
    from evalkit.tasks import builtin_task_dir

    spec = task.dataset
    if spec is None:
        return DataStatus("built in", True)
    if spec.path is not None:
        if spec.path.exists():
            where = "bundled" if _inside(spec.path, builtin_task_dir()) else f"local {spec.path}"
            return DataStatus(where, True)
        return DataStatus(f"needs --data (not found: {spec.path})", False)
    if spec.hf_id:
        from evalkit.tasks.hub import is_cached

        gated = ", gated" if task.about.get("gated") else ""
        cached = is_cached(spec.hf_id)
        return DataStatus(f"hub {spec.hf_id}{gated}{', cached' if cached else ''}", cached)
    return DataStatus("needs --data", False)


def describe_source(task: Task) -> str:
    """One line: the hub id, config and split (or the local path) the task reads."""
    spec = task.dataset
    if spec is None:
        return task.source
    parts = []
    if spec.hf_id:
        parts.append(f"hub {spec.hf_id}")
    elif spec.path is not None:
        parts.append(f"local {spec.path}")
    configs = spec.options.get("configs")
    if configs:
        parts.append(f"{len(configs)} configs")
    elif spec.config:
        parts.append(f"config {spec.config}")
    if spec.split:
        parts.append(f"split {spec.split}")
    parts.append(f"format {spec.format}")
    return ", ".join(parts)


def fixture_task(task: Task) -> Task | None:
    """The same task reading its fixture, when the task file names one."""
    from evalkit.tasks import get_task

    fixture = task.about.get("fixture")
    if not fixture:
        return None
    return get_task(task.name, data=str(fixture))


def example(task: Task) -> tuple[Sample, tuple[Message, ...], str] | None:
    """The first sample, rendered, and where it came from: the task's own data when it is here, else its fixture."""
    source: Task | None = task if data_status(task).available else fixture_task(task)
    if source is None or not source.samples:
        return None
    where = "fixture" if source is not task else "data"
    sample = source.samples[0]
    return sample, source.render(sample), where


def prompt_text(messages: tuple[Message, ...]) -> str:
    """The rendered messages as plain text, images shown as ``[image N: WxH]`` placeholders."""
    lines: list[str] = []
    for msg in messages:
        body = []
        for n, part in enumerate(msg.content, 1):
            if isinstance(part, Text):
                body.append(part.text)
            elif isinstance(part, Image):
                body.append(f"[{part.label or f'image {n}'}: {_size(part)}]\n")
        lines.append(f"[{msg.role}]\n" + "".join(body))
    return "\n".join(lines)


def _size(image: Image) -> str:
    try:
        import io

        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(image.data())) as im:
            return f"{im.width}x{im.height}"
    except Exception:  # noqa: BLE001 - a preview never fails the listing; the run reports bad images
        return "unreadable"


def card(task: Task) -> dict[str, Any]:
    """What ``show-task`` prints, in order."""
    about = task.about
    return {
        "group": group_of(task),
        "title": about.get("title", ""),
        "source": describe_source(task),
        "data": about.get("data") or data_status(task).where,
        "homepage": about.get("homepage", ""),
        "paper": about.get("paper", ""),
        "licence": about.get("licence", ""),
        "fields": (task.dataset.fields if task.dataset is not None else {}),
        "columns": about.get("fields") or {},
        "rule": about.get("rule", ""),
        "grader": task.grader.to_dict(),
        "metrics": task.metrics,
        "checked": about.get("checked") or [],
    }
