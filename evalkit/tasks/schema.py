"""The task YAML schema: validate a ``task.yaml`` and build a :class:`Task` from it.

Every mistake is reported as one sentence naming the file, the field and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.grading import GraderSpec
from evalkit.tasks.task import DatasetSpec, Task, TaskError
from evalkit.types import GenerationConfig

TOP_FIELDS = {
    "name": str,
    "description": str,
    "version": (str, int, float),
    "dataset": dict,
    "prompt": (dict, str),
    "grader": (dict, str),
    "metrics": list,
    "generation": dict,
    "modality": str,
    "options": dict,
}
REQUIRED = ("name", "dataset")
DATASET_FIELDS = {"path", "hf", "config", "split", "format", "fields", "options"}
PROMPT_FIELDS = {"template", "system"}
GRADER_FIELDS = {"name", "options"}
MODALITIES = ("text", "image", "mixed")


def _fail(path: Path, field: str, msg: str) -> TaskError:
    return TaskError(f"{path}: field '{field}' {msg}")


def _check_keys(path: Path, prefix: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise _fail(path, f"{prefix}{key}", f"is not allowed here; allowed: {', '.join(sorted(allowed))}")


def parse_dataset(path: Path, data: dict[str, Any], data_override: str | None = None) -> DatasetSpec:
    _check_keys(path, "dataset.", data, DATASET_FIELDS)
    hf_id = data.get("hf")
    raw_path = data_override or data.get("path")
    if not hf_id and not raw_path:
        raise _fail(path, "dataset", "needs 'path' (a local file or folder) or 'hf' (a Hugging Face dataset id)")
    local: Path | None = None
    if raw_path:
        local = Path(str(raw_path)).expanduser()
        if not local.is_absolute():
            local = (Path.cwd() / local) if data_override else (path.parent / local)
    fmt = data.get("format")
    if fmt is None:
        if hf_id and not data_override:
            fmt = "hf"
        elif local is not None and local.suffix in (".jsonl", ".json", ".csv", ".parquet"):
            fmt = local.suffix[1:]
        else:
            raise _fail(path, "dataset.format", "is needed when the path has no .jsonl/.json/.csv/.parquet suffix")
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise _fail(path, "dataset.fields", "must be a mapping of sample field to source column")
    return DatasetSpec(
        format=str(fmt),
        path=local,
        hf_id=hf_id if not data_override else None,
        config=data.get("config"),
        split=data.get("split"),
        fields=fields,
        options=dict(data.get("options") or {}),
    )


def parse_grader(path: Path, data: dict[str, Any] | str | None) -> GraderSpec:
    from evalkit.grading import scorer_registry as scorers

    if data is None:
        return GraderSpec("exact")
    if isinstance(data, str):
        data = {"name": data}
    _check_keys(path, "grader.", data, GRADER_FIELDS)
    name = str(data.get("name", ""))
    if name not in scorers:
        raise _fail(path, "grader.name", f"is {name!r}; allowed: {', '.join(scorers.names())}")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise _fail(path, "grader.options", "must be a mapping")
    return GraderSpec(name, dict(options))


def task_from_yaml(path: Path, data_override: str | None = None, options: dict[str, Any] | None = None) -> Task:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise TaskError(f"{path}: not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise TaskError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: a task file must be a mapping of fields")
    return task_from_dict(path, data, data_override, options)


def task_from_dict(
    path: Path, data: dict[str, Any], data_override: str | None = None, options: dict[str, Any] | None = None
) -> Task:
    for key, value in data.items():
        if key not in TOP_FIELDS:
            raise _fail(path, key, f"is not a task field; allowed: {', '.join(TOP_FIELDS)}")
        if not isinstance(value, TOP_FIELDS[key]):  # type: ignore[arg-type]
            raise _fail(path, key, f"has the wrong type ({type(value).__name__})")
    for key in REQUIRED:
        if key not in data:
            raise _fail(path, key, "is required")
    prompt = data.get("prompt") or {}
    if isinstance(prompt, str):
        prompt = {"template": prompt}
    _check_keys(path, "prompt.", prompt, PROMPT_FIELDS)
    modality = data.get("modality", "text")
    if modality not in MODALITIES:
        raise _fail(path, "modality", f"is {modality!r}; allowed: {', '.join(MODALITIES)}")
    try:
        generation = GenerationConfig.from_dict(data.get("generation"))
    except (TypeError, ValueError) as exc:
        raise _fail(path, "generation", str(exc)) from None
    task_options = {**(data.get("options") or {}), **(options or {})}
    if "data" in task_options and data_override is None:
        data_override = str(task_options["data"])
    metrics = [str(m) for m in data.get("metrics", ["accuracy"])]
    return Task(
        name=str(data["name"]),
        description=str(data.get("description", "")).strip(),
        version=str(data.get("version", "1")),
        dataset=parse_dataset(path, data["dataset"], data_override),
        template=prompt.get("template"),
        system_prompt=prompt.get("system"),
        grader=parse_grader(path, data.get("grader")),
        metrics=metrics,
        generation=generation,
        modality=modality,
        source=str(path),
        options=task_options,
    )
