"""One generic, lazy plug-in registry used by tasks, adapters and scorers.

A registry maps a name to either an object or a ``"module:attr"`` string that is imported only
when the name is first used, so heavy back ends cost nothing until chosen. Third-party plug-ins
join through an entry-point group (``evalkit.tasks``, ``evalkit.adapters``, ``evalkit.scorers``),
read once, on the first look-up that misses the built-ins.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from evalkit.errors import EvalkitError

T = TypeVar("T")


class RegistryError(EvalkitError, LookupError):
    """A name that no registry entry answers to."""


class Registry(Generic[T]):
    """Name → object, with lazy ``"module:attr"`` targets and an entry-point group."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._plugins_loaded = entry_point_group is None

    def add(self, name: str, target: T | str, *, replace: bool = False) -> None:
        if name in self._entries and not replace and self._entries[name] is not target:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form: ``@registry.register("name")``."""

        def deco(obj: T) -> T:
            self.add(name, obj, replace=True)
            return obj

        return deco

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group or ""):
            self._entries.setdefault(ep.name, ep.value)

    def get(self, name: str) -> T:
        if name not in self._entries:
            self._load_plugins()
        if name not in self._entries:
            raise RegistryError(f"unknown {self.kind} {name!r}{did_you_mean(name, self.names())}; "
                                f"known: {', '.join(self.names()) or 'none'}")
        target = self._entries[name]
        if isinstance(target, str):
            target = load_object(target)
            self._entries[name] = target
        return target

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def load_object(spec: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def did_you_mean(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """``"; did you mean 'accuracy'?"`` for a near miss among ``known`` (a typo), else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name), sorted(str(k) for k in known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
