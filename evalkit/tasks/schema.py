"""The task YAML schema: validate a ``task.yaml`` and build a :class:`Task` from it.

Every mistake is reported as one sentence naming the file, the field and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evalkit.fileio import read_text
from evalkit.grading import GraderOptionError, GraderSpec
from evalkit.tasks.paths import confine, hf_cache_roots, inside, root_of, task_roots
from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.tasks.task import Task
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
    "about": dict,
}
REQUIRED = ("name", "dataset")
DATASET_FIELDS = {"path", "hf", "config", "split", "format", "fields", "options"}
PROMPT_FIELDS = {"template", "system"}
GRADER_FIELDS = {"name", "options"}
MODALITIES = ("text", "image", "mixed")
ABOUT_FIELDS = {"group", "title", "homepage", "paper", "licence", "gated", "data", "fields", "rule", "checked",
                "fixture", "notes"}
GROUPS = ("gaokao", "knowledge", "math", "multimodal", "other")
SPEC_OVERRIDES = ("split", "config", "hf")  # -T KEY=VALUE that re-point a hub dataset
DATA_PATH_OPTIONS = ("bench", "mm")  # dataset options that name a data folder, as --data does
FILE_OPTIONS = ("data_files", "hub_files")  # loader options naming the files a Hugging Face loader reads
REMOTE_SCHEMES = ("http://", "https://", "hf://")


def _fail(path: Path, field: str, msg: str) -> TaskError:
    return TaskError(f"{path}: field '{field}' {msg}")


def _check_keys(path: Path, prefix: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise _fail(path, f"{prefix}{key}", f"is not allowed here; allowed: {', '.join(sorted(allowed))}")


def parse_dataset(path: Path, data: dict[str, Any], data_override: str | None = None,
                  confined_to: tuple[Path, ...] | None = None) -> DatasetSpec:
    """The dataset of a task file; with ``confined_to``, a local path must lie inside those folders."""
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
        if confined_to is not None:
            confine(local, confined_to, f"{path}: field '{'options.data' if data_override else 'dataset.path'}'")
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
    try:
        return GraderSpec(name, dict(options)).check(str(path))
    except GraderOptionError as exc:
        raise TaskError(str(exc)) from None


def parse_about(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The catalogue block: where a benchmark comes from, its licence, fields, rule and fixture."""
    _check_keys(path, "about.", data, ABOUT_FIELDS)
    if "group" in data and data["group"] not in GROUPS:
        raise _fail(path, "about.group", f"is {data['group']!r}; allowed: {', '.join(GROUPS)}")
    about = dict(data)
    if data.get("fixture"):
        fixture = (path.parent / str(data["fixture"])).resolve()
        if not fixture.exists():
            raise _fail(path, "about.fixture", f"names {fixture}, which does not exist")
        about["fixture"] = str(fixture)
    return about


def apply_task_options(path: Path, spec: DatasetSpec, declared: dict[str, Any],
                       given: dict[str, Any]) -> DatasetSpec:
    """-T options reach the dataset: declared ones as loader options, split/config/hf re-point a hub id.

    A -T key the task file does not declare is an error naming the keys it does take.
    """
    from dataclasses import replace

    allowed = [*declared, *(SPEC_OVERRIDES if spec.hf_id or spec.format in ("hub", "hf") else ())]
    for key in given:
        if key != "data" and key not in allowed:
            takes = ", ".join(allowed) if allowed else "none"
            raise TaskError(f"-T {key}={given[key]}: task file {path} takes no option {key!r}; it takes: {takes}")
    values = {**declared, **{k: v for k, v in given.items() if k in declared}}
    overrides = {k: str(given[k]) for k in SPEC_OVERRIDES if k in given}
    if "hf" in overrides:
        overrides["hf_id"] = overrides.pop("hf")
        if spec.path is not None:  # --data wins over the hub id
            overrides.pop("hf_id")
    return replace(spec, options={**spec.options, **values}, **overrides)


def task_from_yaml(path: Path, data_override: str | None = None, options: dict[str, Any] | None = None) -> Task:
    import yaml

    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise TaskError(f"{path}: not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise TaskError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}: a task file must be a mapping of fields")
    return task_from_dict(path, data, data_override, options)


def _check_template(path: Path, template: Any) -> None:
    """A prompt template that does not parse is found when the task loads, naming the file and line."""
    if template is None:
        return
    if not isinstance(template, str):
        raise _fail(path, "prompt.template", f"must be text, not {type(template).__name__}")
    import jinja2

    from evalkit.tasks.prompt import sandbox

    try:
        sandbox().parse(template)
    except jinja2.TemplateSyntaxError as exc:
        raise _fail(path, "prompt.template", f"does not parse (template line {exc.lineno}: {exc.message})") from None


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
    _check_template(path, prompt.get("template"))
    modality = data.get("modality", "text")
    if modality not in MODALITIES:
        raise _fail(path, "modality", f"is {modality!r}; allowed: {', '.join(MODALITIES)}")
    try:
        generation = GenerationConfig.from_dict(data.get("generation"))
    except (TypeError, ValueError) as exc:
        raise _fail(path, "generation", str(exc)) from None
    declared = dict(data.get("options") or {})
    task_options = {**declared, **(options or {})}
    from_user = data_override is not None or "data" in (options or {})  # typed by the user: --data, -T data=
    if "data" in task_options and data_override is None:
        data_override = str(task_options["data"])
    # a task file outside evalkit's own folder may only point at data inside its folder (or allowed ones)
    confined_to = None if (from_user or _is_builtin(path)) else task_roots(path.parent)
    metrics = [str(m) for m in data.get("metrics", ["accuracy"])]
    dataset = apply_task_options(path, parse_dataset(path, data["dataset"], data_override, confined_to), declared,
                                 options or {})
    grader = parse_grader(path, data.get("grader"))
    if not _is_builtin(path):
        confine_named_files(path, dataset, set(options or {}))
        confine_grader_files(path, grader, dataset)
    name, description, about = str(data["name"]), str(data.get("description", "")).strip(), data.get("about") or {}
    named = named_after_data(dataset) if data_override else None
    if named is not None:  # the task's own data was replaced by data that names itself (a Gaokao paper)
        name, description = named
        about = {k: v for k, v in about.items() if k == "group"}  # the card described the data it had
    return Task(
        name=name,
        description=description,
        version=str(data.get("version", "1")),
        dataset=dataset,
        template=prompt.get("template"),
        system_prompt=prompt.get("system"),
        grader=grader,
        metrics=metrics,
        generation=generation,
        modality=modality,
        source=str(path),
        options=task_options,
        about=parse_about(path, about),
        roots=dataset_roots(path.parent, dataset),
    )


def named_after_data(dataset: DatasetSpec) -> tuple[str, str] | None:
    """``(name, description)`` when the dataset's loader says its data names itself (``loader.identity``:
    a Gaokao paper file has its paper name and title), else None."""
    from evalkit.tasks.spec import loaders

    if dataset.path is None or dataset.format not in loaders:
        return None
    identity = getattr(loaders.get(dataset.format), "identity", None)
    return identity(dataset.path) if identity is not None else None


def _is_builtin(path: Path) -> bool:
    from evalkit.tasks import builtin_task_dir

    return inside(path, [builtin_task_dir().resolve()])


def confine_named_files(path: Path, dataset: DatasetSpec, typed: set[str]) -> None:
    """Every other file or folder a task file names for its loader stays inside the task's roots.

    Beyond ``dataset.path``, a task file can name what a loader reads through a local ``hf:`` folder,
    the ``data_files``/``hub_files`` loader options (read by Hugging Face ``datasets``, relative to the
    local data folder) and the folder options ``bench``/``mm``. What the user typed (``--data``, ``-T``)
    is theirs to name; what the file names must lie in its folder, its data's folder or an allowed one.
    """
    roots = task_roots(path.parent, root_of(dataset.path) if dataset.path is not None else None)
    base: Path | None = dataset.path
    if dataset.hf_id and "hf" not in typed:
        local = Path(dataset.hf_id).expanduser()
        if local.is_absolute() or local.exists() or dataset.hf_id.startswith("."):
            confine(local.absolute(), roots, f"{path}: field 'dataset.hf' (a local folder)")
            base = local.absolute()
    for key in FILE_OPTIONS:
        if key in typed or not dataset.options.get(key):
            continue
        for entry in _flat_entries(dataset.options[key]):
            if entry.startswith(REMOTE_SCHEMES):
                continue
            local = Path(entry.removeprefix("file://")).expanduser()
            if "://" in entry and not entry.startswith("file://"):
                raise TaskError(f"{path}: option '{key}' {entry!r} is not a file this task may read")
            if not local.is_absolute():
                if base is None and ".." not in local.parts:
                    continue  # a file inside the hub repository
                local = (base or path.parent) / local
            confine(local, roots, f"{path}: option '{key}'")
    for key in DATA_PATH_OPTIONS:
        if key not in typed and dataset.options.get(key):
            confine(Path(str(dataset.options[key])).expanduser().absolute(), roots, f"{path}: option '{key}'")
    if base is not None and base.is_dir():  # a folder loader reads what it finds: no link in it may lead out
        _no_links_out(base, dataset_roots(path.parent, dataset), f"{path}: data file")


def _no_links_out(folder: Path, roots: tuple[Path, ...], what: str) -> None:
    """Every symlink under ``folder`` (files and folders, not followed) must lead inside ``roots``."""
    for top, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            entry = Path(top) / name
            if entry.is_symlink():
                confine(entry, roots, what)


GRADER_FILE_OPTIONS = ("marks", "marks_file")  # grader options naming a file of teachers' marks


def confine_grader_files(path: Path, grader: GraderSpec, dataset: DatasetSpec) -> None:
    """A marks file a task file names in its grader's options stays inside the task's roots too (it is
    read as the grader runs; a ``--grader-option`` typed by the user is theirs to name)."""
    roots = task_roots(path.parent, root_of(dataset.path) if dataset.path is not None else None)
    for key in GRADER_FILE_OPTIONS:
        value = grader.options.get(key)
        if isinstance(value, str) and value:
            confine(Path(value).expanduser().absolute(), roots, f"{path}: grader option '{key}'")


def _flat_entries(value: Any) -> list[str]:
    """The file names in a ``data_files`` value: a string, a list, or a mapping of split to either."""
    if isinstance(value, dict):
        return [e for v in value.values() for e in _flat_entries(v)]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def dataset_roots(task_folder: Path | None, dataset: DatasetSpec) -> tuple[Path, ...]:
    """The folders a task's samples may read images from: its own folder, its data's folder (and the
    Hugging Face cache for a hub dataset), and the folders the user allowed."""
    folders = [task_folder, root_of(dataset.path) if dataset.path is not None else None]
    # data folders a task takes as options (gaokao-hs: -T bench=PATH -T mm=PATH), named by the user as --data is
    folders += [root_of(Path(str(dataset.options[k]))) for k in DATA_PATH_OPTIONS if dataset.options.get(k)]
    if dataset.format in ("hf", "hub") or dataset.hf_id:
        folders += hf_cache_roots()
    return task_roots(*folders)
