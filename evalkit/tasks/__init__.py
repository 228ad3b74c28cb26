"""The tasks room: task definitions, their registry and their data sources.

Where tasks come from, in order:

1. the built-in task folder (``tasks/`` in a checkout, ``evalkit/_builtin_tasks`` in a wheel),
2. folders given with ``--include DIR`` (``*/task.yaml``, ``*.yaml`` and ``*.py`` files),
3. Python factories decorated with :func:`task`,
4. plug-in packages through the entry-point group ``evalkit.tasks``
   (value: a ``"module:factory"`` or a path-returning function),
5. a plain JSONL file of samples in evalkit's sample format, given as ``--task FILE.jsonl``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evalkit.registry import Registry
from evalkit.tasks.spec import DatasetSpec, TaskError
from evalkit.tasks.task import Task

TaskFactory = Callable[..., Task]
tasks: Registry[TaskFactory | Path] = Registry("task", "evalkit.tasks")
_scanned: set[Path] = set()


def task(name: str) -> Callable[[TaskFactory], TaskFactory]:
    """Register a Python task factory: ``@task("my-task") def make(**options) -> Task``."""

    def deco(fn: TaskFactory) -> TaskFactory:
        tasks.add(name, fn, replace=True)
        return fn

    return deco


def builtin_task_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_builtin_tasks"
    if packaged.is_dir():
        return packaged
    return here.parent / "tasks"


def include(folder: str | Path) -> list[str]:
    """Register every task definition found in ``folder``; returns the names found."""
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise TaskError(f"--include {folder}: not a folder")
    if root in _scanned:
        return []
    _scanned.add(root)
    names: list[str] = []
    for yml in sorted([*root.glob("*/task.yaml"), *root.glob("*.yaml"), *root.glob("*/*.task.yaml")]):
        names.append(_register_yaml(yml))
    for py in sorted([*root.glob("*.py"), *root.glob("*/task.py")]):
        if py.name.startswith("_"):
            continue
        before = set(tasks._entries)
        _import_file(py)
        names.extend(sorted(set(tasks._entries) - before))
    return names


def _register_yaml(path: Path) -> str:
    import yaml

    try:
        head = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        head = {}  # named after its file; loading it reports what is wrong
    if not isinstance(head, dict):
        head = {}
    name = str(head.get("name") or (path.parent.name if path.name == "task.yaml" else path.stem))
    tasks.add(name, path, replace=True)
    return name


def _import_file(path: Path) -> None:
    mod_name = f"evalkit_user_tasks.{path.parent.name}_{path.stem}".replace("-", "_")
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise TaskError(f"{path}: cannot import")
    module = importlib.util.module_from_spec(spec)
    if "evalkit_user_tasks" not in sys.modules:  # a parent package, so functions of these modules pickle by name
        package = types.ModuleType("evalkit_user_tasks")
        package.__path__ = []
        sys.modules["evalkit_user_tasks"] = package
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)


def _ensure_builtins() -> None:
    d = builtin_task_dir()
    if d.is_dir():
        include(d)


def get_task(name: str, *, data: str | None = None, options: dict[str, Any] | None = None) -> Task:
    """The task a ``--task`` argument names: a registered name, a YAML file, or a JSONL of samples."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml", ".json") and path.is_file():
        from evalkit.tasks.gaokao import is_paper_file

        if is_paper_file(path):  # a Gaokao paper is a task: the built-in paper's prompts, named after it
            if data is not None:
                raise TaskError(f"--data {data}: the paper {path.name} is its own data; give it as --task")
            return get_task(PAPER_TASK, data=str(path.resolve()), options=options)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        from evalkit.tasks.schema import task_from_yaml

        return task_from_yaml(path.resolve(), data, options)
    if path.suffix == ".jsonl" and path.is_file():
        if data is not None:
            raise TaskError(f"--data {data}: the JSONL task {path.name} is its own data; give the file as --task")
        return jsonl_task(path.resolve(), options)
    if path.suffix in (".yaml", ".yml", ".json", ".jsonl") and path.exists() and not path.is_file():
        raise TaskError(f"--task {name!r}: not a regular file")  # a folder, a FIFO or a device: never read
    _ensure_builtins()
    try:
        entry = tasks.get(name)
    except LookupError:
        known = ", ".join(tasks.names())
        raise TaskError(f"--task {name!r}: no such task, YAML file or JSONL file; known tasks: {known}") from None
    if isinstance(entry, Path):
        from evalkit.tasks.schema import task_from_yaml

        return task_from_yaml(entry, data, options)
    opts = dict(options or {})
    if data is not None:
        opts["data"] = data
    _check_factory_options(name, entry, opts)
    result: Any = entry(**opts)
    if isinstance(result, str | Path):  # entry point that returns a YAML path
        from evalkit.tasks.schema import task_from_yaml

        return task_from_yaml(Path(result), data, options)
    if isinstance(result, Task) and result.roots is None and result.dataset is not None \
            and result.dataset.path is not None:
        from evalkit.tasks.schema import dataset_roots

        result.roots = dataset_roots(None, result.dataset)  # a Python task's data: images stay in its folder
    result.grader.check(result.source or name)  # a factory's grader options, checked as a YAML file's are
    return result


def _check_factory_options(name: str, factory: Callable[..., Any], options: dict[str, Any]) -> None:
    """A -T option (or --data) that a Python task factory does not take is one sentence, not a TypeError."""
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    takes = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key, value in options.items():
        if key not in takes:
            flag = "--data" if key == "data" else f"-T {key}={value}"
            raise TaskError(f"{flag}: task {name!r} takes no option {key!r}; it takes: {', '.join(takes) or 'none'}")


JSONL_OPTIONS = ("grader",)
PAPER_TASK = "gaokao-math"  # the task whose prompts, grader and metrics a paper file given as --task uses


def jsonl_task(path: Path, options: dict[str, Any] | None = None) -> Task:
    """A task made from a JSONL file of samples in evalkit's own format (-T grader=NAME picks the scorer)."""
    from evalkit.grading import GraderSpec
    from evalkit.tasks.paths import task_roots

    for key, value in (options or {}).items():
        if key not in JSONL_OPTIONS:
            raise TaskError(f"-T {key}={value}: a JSONL task ({path.name}) takes no option {key!r}; "
                            f"it takes: {', '.join(JSONL_OPTIONS)}")

    spec = DatasetSpec(format="jsonl", path=path)
    t = Task(name=path.stem, description=f"samples from {path.name}", dataset=spec, source=str(path),
             options=dict(options or {}), roots=task_roots(path.parent))
    samples = t.samples
    if samples:
        t.grader = GraderSpec(_jsonl_grader(samples, (options or {}).get("grader")))
    t.grader.check(str(path))
    return t


def _jsonl_grader(samples: list[Any], asked: str | None) -> str:
    """The scorer of a JSONL task: -T grader, else the samples' own metadata.grader, else by their kind —
    choice when every sample has choices, math_answer when none has, by_type (each sample by its kind)
    when they mix."""
    if asked:
        return str(asked)
    named = {s.metadata.get("grader") for s in samples}
    if len(named) == 1 and None not in named:
        return str(named.pop())
    with_choices = sum(1 for s in samples if s.choices)
    if with_choices == len(samples):
        return "choice"
    return "math_answer" if with_choices == 0 else "by_type"


def list_tasks() -> list[str]:
    _ensure_builtins()
    return tasks.names()


__all__ = ["DatasetSpec", "Task", "TaskError", "get_task", "include", "list_tasks", "task", "tasks"]
