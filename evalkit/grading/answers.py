"""The shape of a short answer: typed nodes, and the reader that builds them from cleaned text.

:func:`structure` reads an answer (already cleaned by :func:`evalkit.grading.equivalence.prepare`)
into one of the nodes below: a list of answers side by side, a set, a tuple, an interval, a union, a
set-builder, a membership, an equation, a relation (inequalities), a ratio, an expression (parsed by
:mod:`evalkit.grading.mathexpr`) or, failing all of those, text. :mod:`evalkit.grading.equivalence`
compares two such nodes. Each node is a small frozen record: what an answer *is* can be read off its
class, never off a position in a tuple.

This module also owns the one bracket-aware splitter, :func:`split_top`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalkit.grading.mathexpr import Node


# ----------------------------------------------------------------------------------------
# the nodes
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Text:
    """Words, or anything that is not readable as mathematics."""

    text: str


@dataclass(frozen=True, slots=True)
class Expr:
    """A mathematical expression: its parsed tree and the text it was read from."""

    ast: Node
    text: str


@dataclass(frozen=True, slots=True)
class EmptySet:
    """``\\emptyset``, ``\\{\\}``."""


@dataclass(frozen=True, slots=True)
class ListOf:
    """Answers side by side (``1, 2``, ``x=1 或 x=2``): order-free, like the solutions of an equation."""

    items: tuple[Answer, ...]


@dataclass(frozen=True, slots=True)
class SetOf:
    """``\\{1, 2\\}``: order-free, duplicates allowed to collapse."""

    items: tuple[Answer, ...]


@dataclass(frozen=True, slots=True)
class TupleOf:
    """``(1, 2, 3)``, ``\\langle a, b\\rangle`` or a ``cases`` environment: ordered.

    ``bracket`` is the opening bracket (``(`` or ``[``), or ``cases``.
    """

    items: tuple[Answer, ...]
    bracket: str


@dataclass(frozen=True, slots=True)
class Interval:
    """``(a, b]`` and the like; ``(a, b)`` is read as a pair when compared with a tuple, set or list."""

    lo: Answer
    hi: Answer
    left: str  # "(" or "["
    right: str  # ")" or "]"

    @property
    def is_open(self) -> bool:
        return self.left == "(" and self.right == ")"


@dataclass(frozen=True, slots=True)
class UnionOf:
    """``A \\cup B``."""

    parts: tuple[Answer, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Conditions that hold together (``x>1 且 x<3`` inside a set-builder)."""

    items: tuple[Answer, ...]


@dataclass(frozen=True, slots=True)
class Builder:
    """``\\{x \\mid condition\\}``: the set of values of ``var`` that meet the condition."""

    var: str
    condition: Answer


@dataclass(frozen=True, slots=True)
class Member:
    """``x \\in S``: answers the set ``S`` (``name`` is the text left of ``\\in``)."""

    name: str
    set: Answer


@dataclass(frozen=True, slots=True)
class Equation:
    """``a = b`` (or a chain ``a = b = c``): its sides read, and as written."""

    sides: tuple[Answer, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Relation:
    """An inequality or a chain of them (``1 < x \\le 3``): sides, operators between them, sides as written."""

    sides: tuple[Answer, ...]
    ops: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ratio:
    """``3:4`` or a clock time ``20:34``: the parts read, and as written."""

    parts: tuple[Answer, ...]
    texts: tuple[str, ...]


Answer = (Text | Expr | EmptySet | ListOf | SetOf | TupleOf | Interval | UnionOf | AllOf | Builder | Member
          | Equation | Relation | Ratio)
COLLECTIONS = (ListOf, SetOf, TupleOf)
REAL_SETS = (Interval, UnionOf, Builder, Relation, EmptySet)  # sets of reals, and conditions that define one


def text_of(node: Answer) -> str:
    """The text an expression or a text answer was read from; ``""`` for any other node."""
    return node.text if isinstance(node, Expr | Text) else ""


def items_of(node: Answer) -> tuple[Answer, ...]:
    """The items of a list, set or tuple; any other node is one item."""
    return node.items if isinstance(node, ListOf | SetOf | TupleOf) else (node,)


def is_condition_list(node: Answer) -> bool:
    """``x<-1 或 x>3``: a list whose items are all inequalities."""
    return isinstance(node, ListOf) and len(node.items) > 1 and all(isinstance(x, Relation) for x in node.items)


# ----------------------------------------------------------------------------------------
# splitting at bracket depth 0
# ----------------------------------------------------------------------------------------
_OPEN = "([{"
_CLOSE = ")]}"
_REL_RE = re.compile(r"\\le|\\ge|\\ne|<|>|=|\\in(?![A-Za-z])|\\notin")


def _depth_scan(s: str, opening: str = _OPEN, closing: str = _CLOSE) -> list[int]:
    """Bracket depth before each character (``\\{``/``\\}`` and ``\\left``-free brackets count)."""
    depths = []
    d = 0
    i = 0
    n = len(s)
    env = 0
    while i < n:
        depths.append(d + env)
        ch = s[i]
        if s.startswith("\\begin", i):
            env += 1
        elif s.startswith("\\end", i):
            env = max(0, env - 1)
        if ch in opening:
            d += 1
        elif ch in closing:
            d = max(0, d - 1)
        i += 1
    return depths


def split_top(s: str, seps: list[str], *, brackets: tuple[str, str] = (_OPEN, _CLOSE), strip: bool = True) -> list[str]:
    """Split on any separator that stands at bracket depth 0 (``(0,1)`` and ``[0,2)`` stay whole).

    ``brackets`` are the opening and closing characters that count; ``strip=False`` keeps each part as
    it stands (spaces and all).
    """
    depths = _depth_scan(s, *brackets)
    parts: list[str] = []
    start = 0
    i = 0
    while i < len(s):
        if depths[i] == 0:
            hit = next((sep for sep in seps if s.startswith(sep, i)), None)
            word = hit is not None and hit.isascii() and hit.isalpha()
            if hit is not None and not (word and i > 0 and (s[i - 1].isalnum() or s[i - 1] == "\\")) \
                    and not (word and i + len(hit) < len(s) and s[i + len(hit)].isalpha()):
                if hit == "\\\\" or not hit.startswith("\\") or not (i + len(hit) < len(s) and s[i + len(hit)].isalpha()):
                    parts.append(s[start:i])
                    i += len(hit)
                    start = i
                    continue
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts] if strip else parts


_LIST_SEPS = [";", ",", "、", "\\text{ and }", "\\text{and}", "\\text{ or }", "\\text{or}", " and ", " or ", "或", "和", "及",
              "以及", "\\text{或}", "\\text{和}", "\\\\"]


def _strip_outer(s: str, a: str, b: str) -> str | None:
    if s.startswith(a) and s.endswith(b):
        inner = s[len(a): len(s) - len(b)]
        if _top_closed(inner):
            return inner.strip()
    return None


def _top_closed(inner: str) -> bool:
    d = 0
    for ch in inner:
        if ch in _OPEN:
            d += 1
        elif ch in _CLOSE:
            d -= 1
            if d < 0:
                return False
    return d == 0


# ----------------------------------------------------------------------------------------
# reading an answer
# ----------------------------------------------------------------------------------------
def structure(s: str, depth: int = 0) -> Answer:
    """The shape of an answer: list, set, tuple, interval, relation, equation, or expression."""
    s = s.strip().rstrip(".").strip() if not re.search(r"\d\.$", s.strip()) else s.strip()
    if depth > 6:
        return Text(s)
    if not s:
        return Text("")
    s = re.sub(r"^\\(?:text|mathrm)\{\s*(?:and|or)\s*\}\s*|^(?:and|or)\s+", "", s)
    s = re.sub(r"^(?:[（(]\d[)）]\s*[.:：、]|[①②③④⑤⑥])\s*(?=\S)", "", s)  # "(1). x ; (2). y" part labels
    if re.search(r"\\pm|\\mp|±|∓", s):
        return _expand_pm(s, depth)
    # environments first: cases -> ordered list of relations
    m = re.fullmatch(r"\\begin\{cases\}(.*)\\end\{cases\}", s, re.DOTALL)
    if m:
        rows = [r for r in split_top(m.group(1).replace("&", " "), ["\\\\"]) if r]
        return TupleOf(_read(rows, depth), "cases")
    semi = split_top(s, [";"])
    if len(semi) > 1 and all(len(split_top(p, [","])) > 1 for p in semi if p):
        return ListOf(tuple(TupleOf(_read([x for x in split_top(p, [","]) if x], depth), "(") for p in semi if p))
    s = re.sub(r"(?<=[\d)\]}])or(?=[A-Z(\[{\\\d-])", " or ", s)
    parts = [p for p in split_top(s, _LIST_SEPS) if p]
    if len(parts) > 1:
        return ListOf(_read(parts, depth))
    if len(parts) == 1 and parts[0] != s:
        return structure(parts[0], depth + 1)
    return _sets(s, depth) or _relation(s, depth) or _brackets(s, depth) or _expr_or_text(s)


def _read(texts: list[str], depth: int) -> tuple[Answer, ...]:
    return tuple(structure(t, depth + 1) for t in texts)


def _sets(s: str, depth: int) -> Answer | None:
    """Unions, set-builder notation and ``\\{…\\}`` sets."""
    if s in ("\\emptyset", "\\{\\}"):
        return EmptySet()
    if "\\cup" in s:
        pieces = split_top(s, ["\\cup"])
        if len(pieces) > 1:
            return UnionOf(_read(pieces, depth))
    inner = _strip_outer(s, "\\{", "\\}")
    if inner is None:
        return None
    mid = split_top(inner, ["\\mid", "|", ":"])
    if len(mid) == 2 and mid[0] and re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?(?:\s*\\in\s*\\mathbb\{?R\}?)?", mid[0]):
        var = mid[0].split("\\in")[0].strip()
        conj = [c for c in split_top(mid[1], ["且", "\\text{且}", "\\text{ and }", " and ", "\\land", "\\wedge", ","]) if c]
        if len(conj) > 1:
            return Builder(var, AllOf(_read(conj, depth)))
        return Builder(var, structure(mid[1], depth + 1))
    return SetOf(_read([p for p in split_top(inner, [",", ";"]) if p], depth))


def _brackets(s: str, depth: int) -> Answer | None:
    """Tuples and intervals, ``{a, b}`` sets, ``\\langle…\\rangle`` vectors, ratios and clock times."""
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and _top_closed(s[1:-1]):
        items = split_top(s[1:-1], [",", ";"])
        if len(items) == 2 and all(items):
            return Interval(structure(items[0], depth + 1), structure(items[1], depth + 1), s[0], s[-1])
        if len(items) > 2 or (len(items) == 2 and all(items)):
            return TupleOf(_read(items, depth), s[0])
    if s.startswith("{") and s.endswith("}") and _top_closed(s[1:-1]):
        items = [p for p in split_top(s[1:-1], [","]) if p]
        if len(items) > 1:
            return SetOf(_read(items, depth))
    inner = _strip_outer(s, "\\langle", "\\rangle")
    if inner is not None:
        return TupleOf(_read(split_top(inner, [","]), depth), "(")
    if ":" in s and "\\begin" not in s:
        pieces = [p.strip() for p in split_top(s, [":"])]
        if len(pieces) > 1 and all(pieces):
            return Ratio(_read(pieces, depth), tuple(pieces))
    return None


def _expand_pm(s: str, depth: int) -> Answer:
    s = re.sub(r"±|\\pm(?![A-Za-z])", lambda _: "\\pm ", s)
    s = re.sub(r"∓|\\mp(?![A-Za-z])", lambda _: "\\mp ", s)
    n = s.count("\\pm") + s.count("\\mp")
    if n > 3:
        return Text(s)
    parts = [p for p in split_top(s, [","]) if p]
    if len(parts) > 1:
        return ListOf(_read(parts, depth))
    variants = []
    for sign in ("+", "-"):
        other = "-" if sign == "+" else "+"
        v = s.replace("\\pm", sign).replace("\\mp", other)
        variants.append(structure(v, depth + 1))
    return ListOf(tuple(variants))


def _relation(s: str, depth: int) -> Answer | None:
    """Equations, inequalities and membership: the relation signs at bracket depth 0."""
    depths = _depth_scan(s)
    ops: list[tuple[int, str]] = []
    for m in _REL_RE.finditer(s):
        if depths[m.start()] == 0:
            op = m.group()
            if op in ("<", ">") and m.start() > 0 and s[m.start() - 1] == "\\":
                continue
            ops.append((m.start(), op))
    if not ops:
        return None
    sides: list[str] = []
    start = 0
    kinds: list[str] = []
    for pos, op in ops:
        sides.append(s[start:pos].strip())
        kinds.append(op)
        start = pos + len(op)
    sides.append(s[start:].strip())
    if any(not x for x in sides):
        return None
    if kinds == ["\\in"]:
        return Member(sides[0], structure(sides[1], depth + 1))
    if all(k == "=" for k in kinds):
        return Equation(_read(sides, depth), tuple(sides))
    if any(k in ("\\in", "\\notin") for k in kinds):
        return Text(s)
    return Relation(_read(sides, depth), tuple(kinds), tuple(sides))


def _expr_or_text(s: str) -> Answer:
    from evalkit.grading.mathexpr import ParseError, parse  # imported when an answer is first read

    try:
        node = parse(s)
    except (ParseError, RecursionError, IndexError, ValueError, ZeroDivisionError):
        return Text(s)
    return Expr(node, s)
