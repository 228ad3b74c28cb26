"""The scorer protocol: what a scorer is, how it declares its options, and how they are checked.

A scorer is a function ``fn(sample, output, *, <options>) -> Score``. Its options are its
keyword-only parameters, and their annotations and defaults are its declaration::

    @scorer("choice", accepts="one option letter (A-J) as the target")
    def choice(sample: Sample, output: str, *, extract: Literal["default", "last_capital"] = "default") -> Score:
        ...

The types a task file can spell are understood: ``bool``, ``int``, ``float`` (an integer is a
number too), ``str``, ``None``, ``Literal[...]`` (the allowed values), unions, ``list[T]`` and
``dict[K, V]``; ``Annotated[T, Check(fn)]`` adds a rule no type can say (a pattern that compiles),
where ``fn(value)`` returns what is wrong, or ``None``. A parameter without a default is required.
A keyword-only parameter named ``judge`` is not an option: it receives the judge, an
``async (prompt) -> reply`` callable, and marks the scorer as needing one (``judge=`` on the
decorator says so when it depends on the options).

The ``@scorer`` decorator returns a :class:`Scorer`, the declaration the registry holds: the
function, what it accepts (in words, for people), and whether it needs a judge. A plain function
registered without the decorator is declared by its signature in the same way. Options are checked
against the declaration once, when a task loads (:meth:`evalkit.grading.GraderSpec.check`): an
unknown option is an error naming the option, the scorer, the file and the allowed ones, with the
nearest allowed name; a value of the wrong type or outside its allowed values likewise.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, get_args, get_origin

from evalkit.errors import EvalkitError

Judge = Callable[[str], Awaitable[str]]  # a judge model: the marking prompt in, its reply out


class GraderOptionError(EvalkitError, ValueError):
    """A grader option that the scorer does not take, or a value it cannot use; names where it came from."""


@dataclass(frozen=True)
class Check:
    """A rule on an option's value beyond its type: ``fn(value)`` says what is wrong, or returns ``None``.

    ``says`` describes the values it allows, for listings and messages (``auto | exact | a number``).
    """

    fn: Callable[[Any], str | None]
    says: str = ""


@dataclass(frozen=True)
class OptionSpec:
    """One option of a scorer, read from its keyword-only parameter (``type`` may carry ``Check`` rules)."""

    name: str
    type: Any
    default: Any = None
    required: bool = False

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this option (a sentence fragment), or ``None``."""
        checks = _fit(value, self.type)
        if checks is None:
            return f"is {value!r}; expected {_describe(self.type)}"
        for check in checks:
            why = check.fn(value)
            if why:
                return f"is {value!r}: {why}"
        return None

    def describe(self) -> str:
        """``extract: default | last_capital = 'default'``, for listings and docs."""
        tail = " (required)" if self.required else f" = {self.default!r}"
        return f"{self.name}: {_describe(self.type)}{tail}"


JudgeRule = bool | Callable[[Mapping[str, Any]], bool]
SamplesCheck = Callable[[Sequence[Any], Mapping[str, Any]], "str | None"]


@dataclass(frozen=True)
class Scorer:
    """A scorer's declaration: its function, its options (from the signature), what it accepts, its judge."""

    name: str
    fn: Callable[..., Any]
    accepts: str = ""
    judge: JudgeRule | None = None  # None: from the signature (a keyword-only ``judge`` parameter)
    # what is wrong with the samples a run will grade with these options (one sentence), checked before
    # the first model call; None: the scorer takes any sample its ``accepts`` describes
    check: SamplesCheck | None = None

    def __call__(self, sample: Any, output: str, **options: Any) -> Any:
        return self.fn(sample, output, **options)

    @cached_property
    def options(self) -> dict[str, OptionSpec]:
        """The declared options by name, in the order of the signature."""
        return _options_of(self.fn)

    @cached_property
    def takes_judge(self) -> bool:
        """Whether the function has the keyword-only parameter ``judge``."""
        param = inspect.signature(self.fn).parameters.get("judge")
        return param is not None and param.kind is inspect.Parameter.KEYWORD_ONLY

    def needs_judge(self, options: Mapping[str, Any]) -> bool:
        """Whether grading with these options asks a judge model."""
        rule = self.judge if self.judge is not None else self.takes_judge
        return bool(rule(options)) if callable(rule) else bool(rule)

    def problem(self, options: Mapping[str, Any]) -> str | None:
        """What is wrong with ``options`` for this scorer (one sentence without its place), or ``None``."""
        declared = self.options
        for key, value in options.items():
            spec = declared.get(key)
            if spec is None:
                return unknown_option(key, f"scorer {self.name!r}", list(declared))
            why = spec.problem(value)
            if why:
                return f"option {key!r} of scorer {self.name!r} {why}"
        missing = [o.name for o in declared.values() if o.required and o.name not in options]
        if missing:
            return f"scorer {self.name!r} needs the option {missing[0]!r}"
        return None


def unknown_option(key: str, owner: str, allowed: list[str]) -> str:
    """``option 'tolerence' is not an option of scorer 'math_answer' (did you mean 'tolerance'?); allowed: …``."""
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"option {key!r} is not an option of {owner}{hint}; allowed: {', '.join(sorted(allowed)) or 'none'}"


def scorer(name: str, *, accepts: str, judge: JudgeRule | None = None,
           check: SamplesCheck | None = None) -> Callable[[Callable[..., Any]], Scorer]:
    """Declare a scorer: ``@scorer("name", accepts="what samples it grades")`` over ``fn(sample, output, *, …)``;
    ``check(samples, options)`` says what is wrong with a run's samples before its first model call."""

    def declare(fn: Callable[..., Any]) -> Scorer:
        return Scorer(name, fn, accepts, judge, check)

    return declare


def declared(name: str, obj: Any) -> Scorer:
    """The declaration of a registry entry: a :class:`Scorer` as is, a plain function from its signature."""
    return obj if isinstance(obj, Scorer) else Scorer(name, obj)


# -- options from a signature -------------------------------------------------------------------------------
def _options_of(fn: Callable[..., Any]) -> dict[str, OptionSpec]:
    hints = typing.get_type_hints(fn, include_extras=True)
    out: dict[str, OptionSpec] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY or param.name == "judge":
            continue
        required = param.default is inspect.Parameter.empty
        out[param.name] = OptionSpec(param.name, hints.get(param.name, Any), None if required else param.default,
                                     required)
    return out


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _fit(value: Any, tp: Any) -> tuple[Check, ...] | None:
    """The ``Check`` rules that apply when ``value`` is of type ``tp``; ``None`` when it is not of that type."""
    if get_origin(tp) is typing.Annotated:
        base, *extras = get_args(tp)
        inner = _fit(value, base)
        return None if inner is None else inner + tuple(x for x in extras if isinstance(x, Check))
    if _is_union(tp):
        return next((found for arg in get_args(tp) if (found := _fit(value, arg)) is not None), None)
    return () if _matches(value, tp) else None


def _matches(value: Any, tp: Any) -> bool:
    """Whether ``value`` (as a task file or ``-G`` gives it) is of the plain type ``tp``."""
    if tp is Any:
        return True
    if tp is None or tp is type(None):
        return value is None
    origin = get_origin(tp)
    if origin is Literal:
        return any(value == arg and type(value) is type(arg) for arg in get_args(tp))
    if origin in (list, tuple):
        args = get_args(tp)
        return isinstance(value, list | tuple) and (not args or all(_fit(v, args[0]) is not None for v in value))
    if origin in (dict, Mapping):
        args = get_args(tp)
        return isinstance(value, dict) and (not args or all(
            _fit(k, args[0]) is not None and _fit(v, args[1]) is not None for k, v in value.items()))
    if tp is bool:
        return isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp) if isinstance(tp, type) else True


def _describe(tp: Any) -> str:
    """A type in words: ``default | last_capital``, ``a number``, ``a list of text``."""
    if tp is Any:
        return "any value"
    if tp is None or tp is type(None):
        return "nothing (null)"
    if get_origin(tp) is typing.Annotated:
        base, *extras = get_args(tp)
        says = [x.says for x in extras if isinstance(x, Check) and x.says]
        return says[0] if says else _describe(base)
    if _is_union(tp):
        return " or ".join(_describe(arg) for arg in get_args(tp))
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(str(arg) for arg in get_args(tp))
    if origin in (list, tuple):
        args = get_args(tp)
        return f"a list of {_plural(args[0])}" if args else "a list"
    if origin in (dict, Mapping):
        return "a mapping"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "text"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _plural(tp: Any) -> str:
    words = {str: "text", int: "integers", float: "numbers", bool: "true/false values"}
    return words.get(tp, _describe(tp))
