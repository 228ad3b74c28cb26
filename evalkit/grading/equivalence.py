"""Math answer equivalence: normalisation, answer structure, and the comparison policy.

This module owns the question "is this predicted answer the gold answer?" for short
answers (not whole responses: see :mod:`evalkit.grading.extract`). It works in stages and
reports which one decided:

``string``     the normalised strings are equal;
``numeric``    both sides evaluate (exactly, or at chosen points for expressions with
               variables) to the same values under the tolerance policy;
``structure``  sets / tuples / intervals / equations / matrices matched item by item;
``symbolic``   sympy proved it, in a killable worker with time and memory bounds
               (:mod:`evalkit.grading.bounded`); only reached when the cheap stages cannot
               evaluate an expression (sums with symbolic limits, domain errors...).

Tolerance policy (recorded in ``Verdict.policy``): exact by default. When one side is a
decimal approximation (a literal like ``1.414`` or ``16386.17``) and the other side is not,
the decimal side is accepted if it is the other value rounded or truncated to the decimals
shown (at least two decimals for an approximation of an exact gold).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from evalkit.grading import mathexpr as mx
from evalkit.grading.mathexpr import CTX, EvalError, Node, ParseError, TooBig

# ----------------------------------------------------------------------------------------
# verdicts
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of one comparison: equal or not, which stage decided, and why."""

    equal: bool
    stage: str
    gold: str = ""
    pred: str = ""
    reason: str = ""
    policy: str = "exact"
    unparsed: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # noqa: ANN204 - allows ``ok, stage, normalized = math_equal(...)``
        yield self.equal
        yield self.stage
        yield (self.gold, self.pred)


# ----------------------------------------------------------------------------------------
# normalisation of a short answer string
# ----------------------------------------------------------------------------------------
_KNOWN = "|".join(sorted(mx._KNOWN_CMDS | {"boxed", "fbox", "pmatrix", "bmatrix"}, key=len, reverse=True))
_DOUBLE_ESC = re.compile(r"(?<!\\)\\\\(?=(?:" + _KNOWN + r")(?![A-Za-z]))")
_UNICODE = {
    "−": "-", "–": "-", "×": r"\times ", "÷": "/", "·": r"\cdot ", "π": r"\pi ", "∞": r"\infty ", "≤": r"\le ",
    "≥": r"\ge ", "≠": r"\ne ", "√": r"\sqrt ", "∪": r"\cup ", "∩": r"\cap ", "∈": r"\in ", "≈": r"\approx ",
    "（": "(", "）": ")", "，": ",", "；": ";", "：": ":", "【": "[", "】": "]", "﹣": "-", "＋": "+", "＝": "=",
    "＜": "<", "＞": ">", "⩽": r"\le ", "⩾": r"\ge ", "′": "'", "º": "°", "²": "^2", "³": "^3", "∶": ":",
    "…": r"\ldots ", "∣": r"\mid ", "根号": r"\sqrt ",
    "α": r"\alpha ", "β": r"\beta ", "γ": r"\gamma ", "δ": r"\delta ", "ε": r"\varepsilon ", "θ": r"\theta ",
    "λ": r"\lambda ", "μ": r"\mu ", "σ": r"\sigma ", "φ": r"\varphi ", "ω": r"\omega ", "ρ": r"\rho ",
}
_SPACING = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|displaystyle|textstyle|limits)(?![A-Za-z])"
                      r"|(?<!\\)\\[,;:!]|(?<!\\)\\ (?=\S)|~")
_QUAD = re.compile(r"\\q?quad(?![A-Za-z])")
_FRAC = re.compile(r"\\[dtc]frac(?![A-Za-z])")
_PERCENT = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\s(?:percent(?:age)?|pct)\b|\\text\{\s*(?:percent|pct)\s*\})\s*$",
                      re.IGNORECASE)
_UNIT_WORDS = (
    "cm|mm|km|m|dm|kg|g|mg|ml|mL|L|l|s|sec|min|h|hr|ft|in|yd|mi|lb|oz|cm\\^2|cm\\^3|m\\^2|m\\^3|km\\^2"
)
_TEXT_TAIL = re.compile(
    r"(?<=[\d}).\s])\s*\\(?:text|textnormal|mbox|mathrm|textbf|textrm|operatorname)\s*\{\s*[^{}]*\}\s*(?:\^\s*\{?\s*\d\s*\}?)?\s*$"
)
_WORD_TAIL = re.compile(r"(?<=[\d}).])\s*(?:[A-Za-z][A-Za-z.]{2,}(?:\s+[A-Za-z][A-Za-z.]{2,})*)\s*(?:\^\s*\{?\d\}?)?\s*$")
_SHORT_UNIT_TAIL = re.compile(r"(?<=[\d}).])\s+(?:" + _UNIT_WORDS + r")\s*(?:\^\s*\{?\s*\d\s*\}?|[²³])?\s*$")
_GLUED_UNIT_TAIL = re.compile(r"(?<=\d)(?:" + _UNIT_WORDS + r")(?:[²³])\s*$")
_CJK_TAIL = re.compile(r"(?<=[\d}).a-zA-Z])\s*[\u3400-\u9fff]+[\u3400-\u9fff\s]*$")
_CURRENCY = re.compile(r"^\s*(?:\\\$|\$|¥|￥|€|£|USD|RMB)\s*|\s*(?:\\\$|\$|€|£|元|美元|dollars?|yuan|euros?)\s*$")
_APPROX_TAIL = re.compile(r"^(.+?)\s*(?:\\approx|\\sim(?:eq)?)\s*.*$", re.DOTALL)
_INT_QUALIFIER = re.compile(
    r"\s*[,，;；]?\s*\(?\s*(?:\\text\{\s*(?:where|for)\s*\}\s*)?[a-zA-Z]\s*(?:\\in|∈)\s*"
    r"(?:\\mathbb\s*\{?\s*[ZN]\s*\}?|\\mathbf\s*\{?\s*[ZN]\s*\}?|[ZN](?:\^\*|\^\{\*\}|\*|_\+|\^\+)?)\s*\)?\s*$"
    r"|\s*[,，]?\s*\(?\s*[a-zA-Z]\s*为(?:正)?整数\s*\)?\s*$"
)
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox|operatorname|boldsymbol|bm)\s*\{([^{}]*)\}")


def clean_latex(text: str) -> str:
    """Undo double escaping, map Unicode math, drop spacing commands (keeps meaning)."""
    s = text.replace("\f", "\\f").replace("\x0c", "\\f")
    s = _DOUBLE_ESC.sub(r"\\", s)
    s = re.sub(r"(\d)\s*\{\s*,\s*\}\s*(?=\d{3})", r"\1", s)
    s = re.sub(r"(\d),\s*\\!\s*(?=\d{3})", r"\1", s)
    for k, v in _UNICODE.items():
        if k in s:
            s = s.replace(k, v)
    s = _SPACING.sub(" ", s)
    s = _QUAD.sub("  ", s)
    s = _FRAC.sub(r"\\frac", s)
    s = s.replace("\\lt", "<").replace("\\gt", ">")
    s = re.sub(r"\\(?:leqslant|leq|le)(?![A-Za-z])", r" \\le ", s)
    s = re.sub(r"\\(?:geqslant|geq|ge)(?![A-Za-z])", r" \\ge ", s)
    s = re.sub(r"\\(?:neq|ne)(?![A-Za-z])", r" \\ne ", s)
    s = s.replace("<=", r" \le ").replace(">=", r" \ge ").replace("!=", r" \ne ").replace("==", "=")
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\degree|°", "°", s)
    s = re.sub(r"(\d)\{,\}(?=\d{3})", r"\1", s)
    s = re.sub(r"(\d),\s*\\!\s*(?=\d{3})", r"\1", s)
    s = s.replace("\\!", "")
    s = re.sub(r"\\(?:dots|ldots|cdots)", r"\\ldots ", s)
    s = re.sub(r"\\(?:varnothing|emptyset)(?![A-Za-z])|∅|\\\{\s*\\\}", r"\\emptyset ", s)
    s = s.replace("\\{", " \\{ ").replace("\\}", " \\} ")
    return re.sub(r"\s+", " ", s).strip()


def strip_math_delims(s: str) -> str:
    s = s.strip()
    changed = True
    while changed and s:
        changed = False
        for a, b in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
                s = s[len(a): len(s) - len(b)].strip()
                changed = True
        m = re.fullmatch(r"\\(?:boxed|fbox)\s*\{(.*)\}", s, re.DOTALL)
        if m and _balanced(m.group(1)):
            s = m.group(1).strip()
            changed = True
        elif re.match(r"\\(?:boxed|fbox)\s*\{", s) and _balanced(s[s.index("{") + 1:]):
            s = s[s.index("{") + 1:].strip()
            changed = True
        if s.endswith((".", "。")) and not re.search(r"\d\.$", s):
            s = s[:-1].rstrip()
            changed = True
    s = s.replace("$", " ")
    return s.strip()


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@dataclass
class Prepared:
    """A cleaned answer string plus what normalisation removed (percent, units)."""

    text: str
    percent: bool = False
    units: str = ""
    degrees: bool = False


def prepare(answer: str) -> Prepared:
    """Clean one short answer: delimiters, escapes, approximations, units, currency, percent."""
    s = clean_latex(strip_math_delims(clean_latex(answer)))
    s = strip_math_delims(s)
    m = _APPROX_TAIL.match(s)
    if m and m.group(1).strip():
        head = m.group(1).strip()
        tail = re.split(r"\\approx|\\sim(?:eq)?", s, maxsplit=1)[1].strip()
        s = tail if is_label(head) and tail else head
    s = re.sub(r"^\\therefore\s*|^\\because\s*", "", s)
    s = _INT_QUALIFIER.sub("", s).strip() or s
    tw = re.fullmatch(r"\\(?:text|textrm|textnormal|mbox|mathrm)\s*\{([^{}]*)\}", s)
    if tw and re.match(r"\s*[-+]?\d", tw.group(1)):
        return prepare(tw.group(1))
    qm = re.fullmatch(r"(['\"`])(.+)\1", s)
    if qm:
        s = qm.group(2).strip()
    tm = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:\\text\{\s*)?([AaPp])\.?\s*[Mm]\.?\s*\}?", s)
    if tm:
        hour = int(tm.group(1)) % 12 + (12 if tm.group(4) in "Pp" else 0)
        s = f"{hour:02d}:{tm.group(2)}" + (f":{tm.group(3)}" if tm.group(3) else "")
    percent = False
    m = _PERCENT.search(s)
    if m and m.start() > 0:
        s = s[: m.start()].strip()
        percent = True
    units = ""
    for pat in (_TEXT_TAIL, _SHORT_UNIT_TAIL, _GLUED_UNIT_TAIL, _CJK_TAIL, _WORD_TAIL):
        m = pat.search(s)
        if m and m.start() > 0 and _looks_numeric_head(s[: m.start()]):
            units = s[m.start():].strip()
            s = s[: m.start()].strip()
            break
    s2 = _CURRENCY.sub("", s).strip()
    if s2:
        s = s2
    if not percent:
        m = _PERCENT.search(s)
        if m and m.start() > 0:
            s = s[: m.start()].strip()
            percent = True
    s = re.sub(r"^\{\s*(.*?)\s*\}$", lambda mm: mm.group(1) if _balanced(mm.group(1)) and "," not in mm.group(1)
               else mm.group(0), s)
    if s.endswith("}") and s.count("}") > s.count("{"):
        s = s[:-1].rstrip()  # a stray closing brace left by a truncated box
    s = re.sub(r"^(-?\d+)\.\s+(\d+)\.?$", r"\1.\2", s)  # "0. 98": a decimal broken by a space
    s = _thousands(s)
    degrees = False
    dm = re.fullmatch(r"(.*?[\d}])\s*°", s)
    if dm and "°" not in dm.group(1) and not re.search(r"[A-Za-z]", dm.group(1).replace("\\frac", "")):
        s, degrees = dm.group(1).strip(), True
    return Prepared(s.strip(), percent, units, degrees)


def _looks_numeric_head(head: str) -> bool:
    head = head.strip()
    return bool(head) and bool(re.search(r"[\d}).]$", head)) and not re.search(r"[=<>]", head[-3:])


def _thousands(s: str) -> str:
    if re.fullmatch(r"[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?", s):
        return s.replace(",", "")
    if re.fullmatch(r"[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?", s):
        return s.replace(" ", "")
    s = re.sub(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+\.\d+)(?![\d,])", lambda m: m.group(1).replace(",", ""), s)
    m = re.fullmatch(r"(\d+) (\d+)/(\d+)", s)
    if m and int(m.group(2)) < int(m.group(3)):
        return f"({m.group(1)}+{m.group(2)}/{m.group(3)})"
    return s


def squash(s: str) -> str:
    """The form used by the ``string`` stage: no spaces, no braces around single tokens, case kept."""
    s = _TEXT_WRAP.sub(r"\1", s)
    s = re.sub(r"\s+", "", s)
    s = re.sub(r"\{(\w)\}", r"\1", s)
    return s


# ----------------------------------------------------------------------------------------
# structure
# ----------------------------------------------------------------------------------------
_OPEN = "([{"
_CLOSE = ")]}"
_REL_RE = re.compile(r"\\le|\\ge|\\ne|<|>|=|\\in(?![A-Za-z])|\\notin")


def _depth_scan(s: str) -> list[int]:
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
        if ch in _OPEN:
            d += 1
        elif ch in _CLOSE:
            d = max(0, d - 1)
        i += 1
    return depths


def split_top(s: str, seps: list[str]) -> list[str]:
    """Split on any separator that stands at bracket depth 0."""
    depths = _depth_scan(s)
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
    return [p.strip() for p in parts]


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


def structure(s: str, depth: int = 0) -> tuple:
    """The shape of an answer: list, set, tuple, interval, relation, equation, or expression."""
    s = s.strip().rstrip(".").strip() if not re.search(r"\d\.$", s.strip()) else s.strip()
    if depth > 6:
        return ("text", s)
    if not s:
        return ("text", "")
    s = re.sub(r"^\\(?:text|mathrm)\{\s*(?:and|or)\s*\}\s*|^(?:and|or)\s+", "", s)
    s = re.sub(r"^(?:[（(]\d[)）]\s*[.:：、]|[①②③④⑤⑥])\s*(?=\S)", "", s)  # "(1). x ; (2). y" part labels
    if re.search(r"\\pm|\\mp|±|∓", s):
        return _expand_pm(s, depth)
    # environments first: cases -> ordered list of relations
    m = re.fullmatch(r"\\begin\{cases\}(.*)\\end\{cases\}", s, re.DOTALL)
    if m:
        rows = [r for r in split_top(m.group(1).replace("&", " "), ["\\\\"]) if r]
        return ("tuple", [structure(r, depth + 1) for r in rows], "cases")
    semi = split_top(s, [";"])
    if len(semi) > 1 and all(len(split_top(p, [","])) > 1 for p in semi if p):
        return ("list", [("tuple", [structure(x, depth + 1) for x in split_top(p, [","]) if x], "(")
                         for p in semi if p])
    s = re.sub(r"(?<=[\d)\]}])or(?=[A-Z(\[{\\\d-])", " or ", s)
    parts = [p for p in split_top(s, _LIST_SEPS) if p]
    if len(parts) > 1:
        return ("list", [structure(p, depth + 1) for p in parts])
    if len(parts) == 1 and parts[0] != s:
        return structure(parts[0], depth + 1)
    # unions and set-builder
    if s in ("\\emptyset", "\\{\\}"):
        return ("emptyset",)
    if "\\cup" in s:
        pieces = split_top(s, ["\\cup"])
        if len(pieces) > 1:
            return ("union", [structure(p, depth + 1) for p in pieces])
    inner = _strip_outer(s, "\\{", "\\}")
    if inner is not None:
        mid = split_top(inner, ["\\mid", "|", ":"])
        if len(mid) == 2 and mid[0] and re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?(?:\s*\\in\s*\\mathbb\{?R\}?)?", mid[0]):
            var = mid[0].split("\\in")[0].strip()
            conj = [c for c in split_top(mid[1], ["且", "\\text{且}", "\\text{ and }", " and ", "\\land", "\\wedge", ","])
                    if c]
            if len(conj) > 1:
                return ("builder", var, ("all", [structure(c, depth + 1) for c in conj]))
            return ("builder", var, structure(mid[1], depth + 1))
        items = [p for p in split_top(inner, [",", ";"]) if p]
        return ("set", [structure(p, depth + 1) for p in items])
    # relations (equations, inequalities, membership)
    rel = _relation(s, depth)
    if rel is not None:
        return rel
    # brackets: tuple / interval
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and _top_closed(s[1:-1]):
        items = [p for p in split_top(s[1:-1], [",", ";"])]
        if len(items) == 2 and all(items):
            return ("interval", structure(items[0], depth + 1), structure(items[1], depth + 1), s[0], s[-1])
        if len(items) > 2 or (len(items) == 2 and all(items)):
            return ("tuple", [structure(p, depth + 1) for p in items], s[0])
    if s.startswith("{") and s.endswith("}") and _top_closed(s[1:-1]):
        items = [p for p in split_top(s[1:-1], [","]) if p]
        if len(items) > 1:
            return ("set", [structure(p, depth + 1) for p in items])
    inner = _strip_outer(s, "\\langle", "\\rangle")
    if inner is not None:
        return ("tuple", [structure(p, depth + 1) for p in split_top(inner, [","])], "(")
    # ratios and clock times
    if ":" in s and "\\begin" not in s:
        pieces = [p.strip() for p in split_top(s, [":"])]
        if len(pieces) > 1 and all(pieces):
            return ("ratio", [structure(p, depth + 1) for p in pieces], [p for p in pieces])
    return _expr_or_text(s)


def _expand_pm(s: str, depth: int) -> tuple:
    s = re.sub(r"±|\\pm(?![A-Za-z])", lambda _: "\\pm ", s)
    s = re.sub(r"∓|\\mp(?![A-Za-z])", lambda _: "\\mp ", s)
    n = s.count("\\pm") + s.count("\\mp")
    if n > 3:
        return ("text", s)
    parts = [p for p in split_top(s, [","]) if p]
    if len(parts) > 1:
        return ("list", [structure(p, depth + 1) for p in parts])
    variants = []
    for sign in ("+", "-"):
        other = "-" if sign == "+" else "+"
        v = s.replace("\\pm", sign).replace("\\mp", other)
        variants.append(structure(v, depth + 1))
    return ("list", variants)


def _relation(s: str, depth: int) -> tuple | None:
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
        return ("member", sides[0], structure(sides[1], depth + 1))
    if all(k == "=" for k in kinds):
        return ("eq", [structure(x, depth + 1) for x in sides], sides)
    if any(k in ("\\in", "\\notin") for k in kinds):
        return ("text", s)
    return ("rel", [structure(x, depth + 1) for x in sides], kinds, sides)


def _expr_or_text(s: str) -> tuple:
    try:
        node = mx.parse(s)
    except (ParseError, RecursionError, IndexError, ValueError, ZeroDivisionError):
        return ("text", s)
    return ("expr", node, s)


# ----------------------------------------------------------------------------------------
# comparison
# ----------------------------------------------------------------------------------------
_PRIMES = [Fraction(p, q) for p, q in ((23, 13), (31, 17), (47, 19), (53, 29), (61, 23), (37, 11), (59, 31),
                                        (71, 37), (41, 23), (67, 29), (79, 43), (83, 41))]


def _assignments(names: list[str], n: int = 3) -> list[dict[str, Fraction]]:
    out = []
    for k in range(n):
        env = {}
        for j, name in enumerate(names):
            env[name] = _PRIMES[(k * 5 + j * 3) % len(_PRIMES)] + k
        out.append(env)
    return out


@dataclass
class Ctx:
    """Options and running notes for one comparison."""

    tolerance: str = "auto"  # auto | exact | a relative tolerance as text
    symbolic: bool = True
    strict_sets: bool = True  # a gold set/interval does not accept a bare condition ("x>1")
    timeout: float = 3.0
    notes: list[str] = field(default_factory=list)
    stage: str = "numeric"
    policy: str = "exact"
    too_big: bool = False


def _is_decimal_literal(node: Node) -> int | None:
    """Decimal places when the node is a bare (possibly negated) decimal literal."""
    if node[0] == "neg":
        return _is_decimal_literal(node[1])
    if node[0] == "num":
        return node[2]
    # 2.31e-3 written as 2.31 \times 10^{-3}
    if node[0] == "mul" and len(node[1]) == 2 and node[1][0][0] == "num" and node[1][0][2] is not None:
        p = node[1][1]
        if p[0] == "pow" and p[1] == ("num", Fraction(10), None):
            e = p[2]
            sign = 1
            if e[0] == "neg":
                sign, e = -1, e[1]
            if e[0] == "num" and e[1].denominator == 1:
                return node[1][0][2] - sign * int(e[1])
    return None


def _sig_digits(node: Node) -> int:
    while node[0] == "neg":
        node = node[1]
    if node[0] == "num":
        v = abs(node[1])
        text = f"{float(v):.15g}".replace(".", "").lstrip("0")
        return max(len(text), (node[2] or 0))
    return 99


def _mp(v: Any) -> Any:
    return mx._approx(v)


def _close_exact(a: Any, b: Any) -> bool:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a == b
    x, y = _mp(a), _mp(b)
    if CTX.isinf(x) or CTX.isinf(y):
        return x == y
    diff = abs(x - y)
    scale = max(abs(x), abs(y))
    if scale == 0:
        return True
    if isinstance(a, Fraction) and a == 0 or isinstance(b, Fraction) and b == 0:
        return diff < CTX.mpf(10) ** -30
    return diff <= scale * CTX.mpf(10) ** -25


def _rounds_to(exact: Any, approx: Any, places: int) -> bool:
    """Whether ``approx`` is ``exact`` rounded or truncated to ``places`` decimals."""
    x = _mp(exact)
    if CTX.im(x) != 0 and abs(CTX.im(x)) > CTX.mpf(10) ** -30:
        return False
    x = CTX.re(x)
    y = CTX.re(_mp(approx))
    unit = CTX.mpf(10) ** (-places)
    if abs(x - y) <= unit / 2 * (1 + CTX.mpf(10) ** -12):
        return True
    trunc = CTX.floor(abs(x) / unit) * unit * (1 if x >= 0 else -1)
    return abs(trunc - y) <= unit * CTX.mpf(10) ** -9


def values_equal(g: Any, p: Any, gnode: Node, pnode: Node, ctx: Ctx) -> bool:
    """Compare two evaluated values under the tolerance policy."""
    if isinstance(g, tuple) or isinstance(p, tuple):
        if not (isinstance(g, tuple) and isinstance(p, tuple)):
            return False
        if len(g) != len(p) or any(len(r) != len(q) for r, q in zip(g, p, strict=True)):
            return False
        gc = gnode[1] if gnode[0] == "matrix" else None
        pc = pnode[1] if pnode[0] == "matrix" else None
        for i, (r, q) in enumerate(zip(g, p, strict=True)):
            for j, (x, y) in enumerate(zip(r, q, strict=True)):
                gn = gc[i][j] if gc is not None else gnode
                pn = pc[i][j] if pc is not None else pnode
                if not (_close_exact(x, y) or _approx_ok(x, y, gn, pn, ctx)):
                    return False
        return True
    if _close_exact(g, p):
        return True
    return _approx_ok(g, p, gnode, pnode, ctx)


def _approx_ok(g: Any, p: Any, gnode: Node, pnode: Node, ctx: Ctx) -> bool:
    if ctx.tolerance == "exact":
        return False
    if ctx.tolerance not in ("auto",):
        try:
            rel = float(ctx.tolerance)
        except ValueError:
            rel = 0.0
        x, y = _mp(g), _mp(p)
        if abs(x - y) <= rel * max(abs(x), abs(y)):
            ctx.policy = f"relative tolerance {rel:g}"
            return True
        return False
    gdec, pdec = _is_decimal_literal(gnode), _is_decimal_literal(pnode)
    if gdec is not None and pdec is None:
        if _rounds_to(p, g, gdec):
            ctx.policy = f"gold is a decimal approximation ({gdec} places)"
            return True
        return False
    if pdec is not None and gdec is None:
        if pdec >= 2 and _sig_digits(pnode) >= 2 and _rounds_to(g, p, pdec):
            ctx.policy = f"prediction rounded to {pdec} places"
            return True
        return False
    if gdec is None and pdec is None:
        gd, pd = mx.decimals_in(gnode), mx.decimals_in(pnode)
        if pd and not gd and min(pd) >= 2:
            unit = CTX.mpf(10) ** (-min(pd))
            x, y = _mp(g), _mp(p)
            if abs(x - y) <= unit * max(1, abs(x)):
                ctx.policy = f"decimals in the prediction ({min(pd)} places)"
                return True
    return False


def _eval(node: Node, env: dict[str, Any]) -> Any:
    return mx.Evaluator(dict(env)).ev(node)


def compare_exprs(g: Node, p: Node, ctx: Ctx) -> bool | None:
    """Numeric comparison of two expression ASTs; ``None`` when it cannot decide."""
    if mx.has_kind(g, {"word", "dots"}) or mx.has_kind(p, {"word", "dots"}):
        return None
    names = sorted(mx.free_symbols(g) | mx.free_symbols(p))
    envs = _assignments(names) if names else [{}]
    decided = 0
    for env in envs:
        try:
            gv = _eval(g, env)
            pv = _eval(p, env)
        except TooBig:
            ctx.too_big = True
            return None
        except (EvalError, ZeroDivisionError, ValueError, OverflowError, TypeError):
            continue
        if not values_equal(gv, pv, g, p, ctx):
            return False
        decided += 1
    if decided == 0:
        return None
    # variables are taken positive; with one variable made negative both sides must still agree wherever
    # both are real, so |x| is not x (but \sqrt{1/n} stays 1/\sqrt{n}: they differ only off the real line)
    for name in names[:3]:
        neg = dict(envs[0])
        neg[name] = -neg[name]
        try:
            gv, pv = _eval(g, neg), _eval(p, neg)
        except (EvalError, ZeroDivisionError, ValueError, OverflowError, TypeError):
            continue
        if _is_real(gv) and _is_real(pv) and not values_equal(gv, pv, g, p, ctx):
            return False
    return True


def _is_real(v: Any) -> bool:
    if isinstance(v, Fraction):
        return True
    if isinstance(v, tuple):
        return all(_is_real(x) for row in v for x in row)
    im = CTX.im(_mp(v))
    return abs(im) <= CTX.mpf(10) ** -30 * max(1, abs(CTX.re(_mp(v))))


def _sym_compare(g: Node, p: Node, ctx: Ctx) -> bool | None:
    if not ctx.symbolic:
        return None
    from evalkit.grading.bounded import symbolic_equal

    res = symbolic_equal(g, p, timeout=ctx.timeout)
    if res.status == "ok":
        ctx.stage = "symbolic"
        return res.equal
    ctx.notes.append(res.reason)
    if res.status == "timeout":
        ctx.stage = "timeout"
    return None


def expr_equal(g: Node, p: Node, ctx: Ctx) -> bool | None:
    r = compare_exprs(g, p, ctx)
    if r is not None:
        return r
    if ctx.too_big:
        ctx.notes.append("a value exceeds the size bounds (exponent tower or huge number)")
        return None
    return _sym_compare(g, p, ctx)


_LABEL_RE = re.compile(r"[A-Za-z\\{}_^()|:,' ]+|\\frac\{[^{}]*\}\{[^{}]*\}")


def is_label(text: str) -> bool:
    """``k``, ``f(x)``, ``|AB|``, ``A:B``, ``x_{1}``, ``(p,q)``, ``\\frac{NO}{BO}``: names, not values."""
    t = text.strip()
    if not t or re.search(r"[+\-*/=<>]", re.sub(r"_\{[^{}]*\}|_\w", "", t)):
        return False
    if any(w in mx.FUNCS for w in re.findall(r"[A-Za-z]+", t)):
        return False
    t2 = re.sub(r"_\{[^{}]*\}|_\w|\^\{?\d\}?", "", t)
    if re.search(r"\d", t2):
        return False
    if re.fullmatch(r"\\?[A-Za-z]+", t2) and t2.lstrip("\\") in ("pi", "infty", "e", "i"):
        return False
    return bool(_LABEL_RE.fullmatch(t2)) or t2.startswith("\\frac")


def _strip_label(node: tuple) -> tuple:
    """``k = 1`` -> ``1``; a chain of three or more sides, or one with no symbols, keeps its last side."""
    if node[0] != "eq":
        return node
    sides, texts = node[1], node[2]
    if len(sides) >= 3:
        return sides[-1]
    if is_label(texts[0]):
        return sides[-1]
    if all(x[0] == "expr" and not mx.free_symbols(x[1]) for x in sides):
        return sides[-1]
    return node


def _unwrap(node: tuple) -> tuple:
    while node[0] == "list" and len(node[1]) == 1:
        node = node[1][0]
    return node


def equal_struct(g: tuple, p: tuple, ctx: Ctx) -> bool | None:
    """Compare two answer structures; ``None`` means undecided (unparseable)."""
    g, p = _unwrap(g), _unwrap(p)
    if squash(_text_of(g)) and squash(_text_of(g)) == squash(_text_of(p)):
        return True
    g, p = _interval_as_tuple(g, p), _interval_as_tuple(p, g)
    g, p = _vector_as_tuple(g, p), _vector_as_tuple(p, g)
    gk, pk = g[0], p[0]
    if gk == "member" and pk != "member":
        return equal_struct(g[2], p, ctx)
    if pk == "member" and gk != "member":
        return equal_struct(g, p[2], ctx)
    if gk == "eq" and pk == "eq":
        r = _equations(g, p, ctx)
        if r:
            return r
    if gk == "eq" or pk == "eq":
        g2, p2 = _strip_label(g), _strip_label(p)
        if (g2, p2) != (g, p):
            return equal_struct(g2, p2, ctx)
        if gk == "eq" and pk == "eq":
            return False
        return False
    _sets = ("interval", "union", "builder", "rel", "emptyset")
    gc, pc = _is_condition_list(g), _is_condition_list(p)
    if (gc and (pk in _sets or pc)) or (pc and gk in _sets):
        return _real_sets(g, p, ctx)
    if (gk in _sets and pk == "set") or (pk in _sets and gk == "set"):
        return _real_sets(g, p, ctx)
    if gk in ("list", "set", "tuple") or pk in ("list", "set", "tuple"):
        return _collections(g, p, ctx)
    if gk in _sets or pk in _sets:
        return _real_sets(g, p, ctx)
    if gk == "ratio" or pk == "ratio":
        return _ratios(g, p, ctx)
    if gk == "expr" and pk == "expr":
        if mx.has_kind(g[1], {"word"}) or mx.has_kind(p[1], {"word"}):
            ctx.stage = "string"
            return _text_norm(g[2]) == _text_norm(p[2])
        return expr_equal(g[1], p[1], ctx)
    if gk == "text" or pk == "text":
        a, b = _text_norm(_text_of(g)), _text_norm(_text_of(p))
        ctx.stage = "string"
        if gk == pk == "text" or (a and b):
            return a == b if (a and b) else None
    return None


def _interval_as_tuple(node: tuple, other: tuple) -> tuple:
    """``(a, b)`` is a pair, not an open interval, when compared with a tuple, set or list."""
    if node[0] == "interval" and node[3] == "(" and node[4] == ")" and other[0] in ("tuple", "set", "list"):
        return ("tuple", [node[1], node[2]], "(")
    return node


def _vector_as_tuple(node: tuple, other: tuple) -> tuple:
    """A one-row or one-column matrix compared with a tuple or list is read as that tuple."""
    if node[0] == "expr" and node[1][0] == "matrix" and other[0] in ("tuple", "list", "interval"):
        rows = node[1][1]
        cells = rows[0] if len(rows) == 1 else [r[0] for r in rows] if all(len(r) == 1 for r in rows) else None
        if cells is not None:
            return ("tuple", [("expr", c, "") for c in cells], "(")
    return node


def _text_of(node: tuple) -> str:
    kind = node[0]
    if kind in ("expr", "text"):
        return node[-1] if kind == "expr" else node[1]
    return ""


def _text_norm(s: str) -> str:
    s = _TEXT_WRAP.sub(r"\1", s)
    s = re.sub(r"[\s{}\\$()]", "", s)
    return s.casefold()


def _equations(g: tuple, p: tuple, ctx: Ctx) -> bool | None:
    gs, ps = g[1], p[1]
    if len(gs) != 2 or len(ps) != 2 or not all(x[0] == "expr" for x in gs + ps):
        return None
    gl, gr, pl, pr = gs[0][1], gs[1][1], ps[0][1], ps[1][1]
    # same left side: compare the right sides with the full value policy (a+b=0.5 vs a+b=\frac12)
    for a, b, c, d in ((gl, gr, pl, pr), (gr, gl, pr, pl)):
        if compare_exprs(a, c, Ctx(tolerance="exact")) is True:
            r = expr_equal(b, d, ctx)
            if r:
                return True
    gd = ("add", [gl, ("neg", gr)])
    pd = ("add", [pl, ("neg", pr)])
    names = sorted(mx.free_symbols(gd) | mx.free_symbols(pd))
    if not names:
        return None
    ratios = []
    for env in _assignments(names, 4):
        try:
            a, b = _mp(_eval(gd, env)), _mp(_eval(pd, env))
        except (EvalError, ZeroDivisionError, ValueError, OverflowError, TypeError):
            continue
        if b == 0 and a == 0:
            continue
        if b == 0 or a == 0:
            return False
        ratios.append(a / b)
    if len(ratios) < 2:
        return None
    ok = all(abs(r - ratios[0]) <= abs(ratios[0]) * CTX.mpf(10) ** -20 for r in ratios)
    if ok:
        ctx.stage = "structure"
    return ok


def _flatten_tuples(node: tuple) -> list[tuple] | None:
    items = node[1]
    if all(it[0] == "tuple" for it in items):
        return [x for it in items for x in it[1]]
    return None


def _collections(g: tuple, p: tuple, ctx: Ctx) -> bool | None:
    gk, pk = g[0], p[0]
    gi = list(g[1]) if gk in ("list", "set", "tuple") else [g]
    pi = list(p[1]) if pk in ("list", "set", "tuple") else [p]
    if gk == "interval" and pk == "tuple" and len(pi) == 2:
        gi = [g[1], g[2]]
        gk = "tuple"
    if pk == "interval" and gk == "tuple" and len(gi) == 2:
        pi = [p[1], p[2]]
        pk = "tuple"
    by_label = _match_labels(gi, pi, ctx)
    if by_label is not None:
        return by_label
    gi = [_strip_label(x) for x in gi]
    pi = [_strip_label(x) for x in pi]
    if any(x[0] == "tuple" for x in gi):
        pi = [_interval_as_tuple(x, ("tuple",)) for x in pi]
    if any(x[0] == "tuple" for x in pi):
        gi = [_interval_as_tuple(x, ("tuple",)) for x in gi]
    ordered = gk == "tuple" and pk in ("tuple", "list", "set") or pk == "tuple" and gk in ("list", "set")
    if gk == "tuple" and pk == "tuple" and g[2] != p[2] and "cases" not in (g[2], p[2]):
        if len(gi) != 2 and g[2] in "([" and p[2] in "([":
            return False
    if gk == "list" and pk == "list" or gk == "set" or pk == "set":
        ordered = ordered and not (gk == "set" and pk == "set")
    if gk == "list" and pk == "list":
        fg, fp = _flatten_tuples(g), _flatten_tuples(p)
        if fg is not None and fp is None and all(x[0] != "tuple" for x in pi):
            gi = fg
        elif fp is not None and fg is None and all(x[0] != "tuple" for x in gi):
            pi = fp
    if len(gi) != len(pi):
        if gk in ("set", "list", "expr", "eq") and pk in ("set", "list", "expr", "eq"):
            gu = _dedupe(gi, ctx)
            pu = _dedupe(pi, ctx)
            if len(gu) == len(pu):
                gi, pi = gu, pu
            else:
                return False
        else:
            return False
    if ordered:
        for a, b in zip(gi, pi, strict=True):
            if not equal_struct(a, b, ctx):
                return False
        ctx.stage = "structure" if ctx.stage == "numeric" else ctx.stage
        return True
    used = [False] * len(pi)
    for a in gi:
        found = False
        for j, b in enumerate(pi):
            if not used[j] and equal_struct(a, b, ctx):
                used[j] = True
                found = True
                break
        if not found:
            return False
    ctx.stage = "structure" if ctx.stage == "numeric" else ctx.stage
    return True


def _labels(items: list[tuple]) -> dict[str, tuple] | None:
    out: dict[str, tuple] = {}
    for it in items:
        if it[0] != "eq" or len(it[1]) != 2 or not is_label(it[2][0]):
            return None
        out[squash(it[2][0])] = it[1][1]
    return out if len(out) == len(items) else None


def _match_labels(gi: list[tuple], pi: list[tuple], ctx: Ctx) -> bool | None:
    """``a=1, b=2`` against ``b=2, a=1``: when both sides name the same unknowns, match by name."""
    gl, pl = _labels(gi), _labels(pi)
    if gl is None or pl is None or set(gl) != set(pl) or len(gl) < 2:
        return None
    ctx.stage = "structure"
    return all(equal_struct(gl[k], pl[k], ctx) for k in gl)


def _dedupe(items: list[tuple], ctx: Ctx) -> list[tuple]:
    out: list[tuple] = []
    for it in items:
        if not any(equal_struct(it, o, ctx) for o in out):
            out.append(it)
    return out


def _ratios(g: tuple, p: tuple, ctx: Ctx) -> bool | None:
    if g[0] != "ratio" or p[0] != "ratio":
        return False
    gp, pp = g[2], p[2]
    timeish = all(re.fullmatch(r"\d{2}", x) for x in gp[1:] + pp[1:])
    if timeish:
        gv = [int(x) for x in gp] + [0] * (3 - len(gp))
        pv = [int(x) for x in pp] + [0] * (3 - len(pp))
        ctx.stage = "structure"
        return gv[:3] == pv[:3]
    if len(gp) != len(pp):
        return False
    return all(equal_struct(a, b, ctx) for a, b in zip(g[1], p[1], strict=True))


# -- real sets (intervals, unions, inequalities, set-builder) ------------------------------
_CONDITIONS = ("rel",)


def _is_condition_list(node: tuple) -> bool:
    """``x<-1 或 x>3``: a list whose items are all inequalities."""
    return node[0] == "list" and len(node[1]) > 1 and all(x[0] == "rel" for x in node[1])


def _real_sets(g: tuple, p: tuple, ctx: Ctx) -> bool | None:
    if g[0] == "interval" and p[0] == "interval":
        if (g[3], g[4]) != (p[3], p[4]):
            return False
        return bool(equal_struct(g[1], p[1], ctx)) and bool(equal_struct(g[2], p[2], ctx))
    if ctx.strict_sets and (p[0] in _CONDITIONS or _is_condition_list(p)) \
            and not (g[0] in _CONDITIONS or _is_condition_list(g)):
        ctx.notes.append("the gold is a set or interval; a condition is not accepted for it")
        return False
    gs, ps = _as_real_set(g), _as_real_set(p)
    if gs is None or ps is None:
        return None
    ctx.stage = "structure"
    return _same_set(gs, ps)


RealSet = tuple[Any, list[Any]]  # (membership function, critical points)


def _const_value(node: tuple) -> Any:
    if node[0] != "expr" or mx.free_symbols(node[1]):
        raise EvalError("not a constant")
    v = _eval(node[1], {})
    if isinstance(v, tuple):
        raise EvalError("a matrix is not a number")
    return v


def _as_real_set(node: tuple) -> RealSet | None:
    try:
        return _real_set(node)
    except (EvalError, ZeroDivisionError, ValueError, TypeError, IndexError):
        return None


def _real_set(node: tuple) -> RealSet | None:
    kind = node[0]
    if kind == "interval":
        lo, hi = _const_value(node[1]), _const_value(node[2])
        lc, hc = node[3] == "[", node[4] == "]"
        lo_m, hi_m = _mp(lo), _mp(hi)

        def member(t: Any) -> bool:
            tv = _mp(t)
            return (tv > lo_m or (lc and tv == lo_m)) and (tv < hi_m or (hc and tv == hi_m))

        return member, [v for v in (lo, hi) if not CTX.isinf(_mp(v))]
    if kind == "union":
        parts = [_real_set(x) for x in node[1]]
        if any(x is None for x in parts):
            return None
        return (lambda t: any(m(t) for m, _ in parts)), [c for _, cs in parts for c in cs]
    if kind == "set":
        vals = [_const_value(x) for x in node[1]]
        return (lambda t: any(_close_exact(t, v) for v in vals)), vals
    if kind == "expr":
        v = _const_value(node)
        return (lambda t: _close_exact(t, v)), [v]
    if kind == "member":
        return _real_set(node[2])
    if kind == "builder":
        return _condition(node[2], node[1])
    if kind == "emptyset":
        return (lambda t: False), []
    if kind == "rel" or _is_condition_list(node):
        return _condition(node, None)
    return None


def _condition(node: tuple, var: str | None) -> RealSet | None:
    if node[0] == "member":
        return _real_set(node[2])
    if node[0] in ("list", "all"):
        parts = [_condition(x, var) for x in node[1]]
        if not parts or any(x is None for x in parts):
            return None
        combine = any if node[0] == "list" else all
        return (lambda t: combine(m(t) for m, _ in parts)), [c for _, cs in parts for c in cs]
    if node[0] != "rel":
        return None
    sides, ops = node[1], node[2]
    if not all(x[0] == "expr" for x in sides):
        return None
    asts = [x[1] for x in sides]
    nonconst = [a for a in asts if mx.free_symbols(a)]
    if not nonconst:
        return None
    if all(a == nonconst[0] for a in nonconst) and _atomic(nonconst[0]):
        target = nonconst[0]

        def subst(a: Node, t: Any) -> Any:
            return t if a == target else _eval(a, {})
    else:
        names = set().union(*(mx.free_symbols(a) for a in nonconst))
        if len(names) != 1:
            return _region(node, sorted(names))
        name = next(iter(names))

        def subst(a: Node, t: Any) -> Any:
            return _eval(a, {name: t})

    crit = []
    for a in asts:
        if not mx.free_symbols(a):
            crit.append(_eval(a, {}))

    def member(t: Any) -> bool:
        vals = [_mp(subst(a, t)) for a in asts]
        for (x, y), op in zip(zip(vals, vals[1:], strict=False), ops, strict=True):
            ok = {"<": x < y, ">": x > y, "\\le": x <= y, "\\ge": x >= y, "\\ne": x != y, "=": x == y}.get(op)
            if not ok:
                return False
        return True

    return member, crit


def _region(node: tuple, names: list[str]) -> RealSet | None:
    """An inequality in several variables, as a membership test on a fixed grid of points."""
    if len(names) > 4:
        return None
    sides, ops = [x[1] for x in node[1]], node[2]
    grid = [Fraction(k, 3) - 5 for k in range(31)]

    def member(t: Any) -> bool:
        k = int(t)
        env = {n: grid[(k * (7 + 5 * j) + 3 * j) % len(grid)] for j, n in enumerate(names)}
        vals = [_mp(_eval(a, env)) for a in sides]
        return all({"<": x < y, ">": x > y, "\\le": x <= y, "\\ge": x >= y, "\\ne": x != y}.get(op, False)
                   for (x, y), op in zip(zip(vals, vals[1:], strict=False), ops, strict=True))

    return member, [Fraction(k) for k in range(40)]


def _atomic(a: Node) -> bool:
    return a[0] == "sym" or (a[0] == "func" and a[1] not in mx.FUNCS)


def _same_set(a: RealSet, b: RealSet) -> bool:
    crit: list[Any] = []
    for c in a[1] + b[1]:
        crit.extend([c, -_mp(c) if not isinstance(c, Fraction) else -c])
    pts: list[Any] = [Fraction(x) for x in (-10**6, -1000, -37, -10, -3, -1, 0, 1, 3, 10, 37, 1000, 10**6)]
    pts += [Fraction(k, 7) for k in range(-20, 21, 3)]
    eps = CTX.mpf(10) ** -12
    for c in crit:
        cm = _mp(c)
        if CTX.isinf(cm) or CTX.im(cm) != 0:
            continue
        pts.extend([c, cm - eps * max(1, abs(cm)), cm + eps * max(1, abs(cm))])
    reals = sorted({float(CTX.re(_mp(x))) for x in crit if not CTX.isinf(_mp(x)) and CTX.im(_mp(x)) == 0})
    pts.extend(Fraction((x + y) / 2) for x, y in zip(reals, reals[1:], strict=False))
    for t in pts:
        try:
            if a[0](t) != b[0](t):
                return False
        except (EvalError, ZeroDivisionError, ValueError, TypeError):
            continue
    return True


# ----------------------------------------------------------------------------------------
# public entry
# ----------------------------------------------------------------------------------------
def _decimal_comma(text: str) -> str | None:
    m = re.fullmatch(r"([-+]?\d+),(\d+)", text.strip())
    if m and (len(m.group(2)) != 3 or m.group(1).lstrip("+-") == "0"):
        return f"{m.group(1)}.{m.group(2)}"
    return None


def math_equal(gold: str, pred: str, *, tolerance: str = "auto", symbolic: bool = True,
               timeout: float = 3.0, sets: str = "strict") -> Verdict:
    """Whether ``pred`` is mathematically the same answer as ``gold`` (short answers).

    Returns a :class:`Verdict` (iterable as ``(equal, stage, (gold_norm, pred_norm))``).
    Never raises for odd input; anything it cannot read is ``unparsed``.
    """
    try:
        return _math_equal(gold, pred, tolerance, symbolic, timeout, sets)
    except RecursionError:
        return Verdict(False, "bounds", gold, pred, "answer nested too deeply to compare", unparsed=True)
    except Exception as exc:  # noqa: BLE001 - a model's answer must never crash grading
        if os.environ.get("EVALKIT_GRADING_DEBUG"):
            raise
        return Verdict(False, "error", gold, pred, f"grader could not compare: {type(exc).__name__}: {exc}",
                       unparsed=True)


_ALTERNATIVES = re.compile(r"\s*(?:\\#\s*\\#|##)\s*")
_GOLD_NOTE = re.compile(r"\s*[（(][^()（）]*[\u3400-\u9fff][^()（）]*[)）]\s*[.。]?\s*$")


def _math_equal(gold: str, pred: str, tolerance: str, symbolic: bool, timeout: float,
                sets: str = "strict") -> Verdict:
    alternatives = [a for a in _ALTERNATIVES.split(gold) if a.strip(" $")]
    if len(alternatives) > 1:  # "3/10 ## 0.3": any accepted form
        verdicts = [_math_equal(a if a.count("$") % 2 == 0 else a.strip("$"), pred, tolerance, symbolic, timeout, sets)
                    for a in alternatives]
        return next((v for v in verdicts if v.equal), verdicts[0])
    note = _GOLD_NOTE.search(gold)
    if note and note.start() > 0:  # "2（满足 1<e≤√5 皆可）": a marker's note, not part of the answer
        gold = gold[: note.start()]
    if len(gold) > 5000 or len(pred) > 5000:
        return Verdict(False, "bounds", gold[:80], pred[:80], "answer longer than 5000 characters", unparsed=True)
    gp, pp = prepare(gold), prepare(pred)
    if not pp.text:
        return Verdict(False, "string", gp.text, "", "empty answer", unparsed=True)
    if squash(gp.text) == squash(pp.text):
        return Verdict(True, "string", gp.text, pp.text, "same text after normalisation")
    ctx = Ctx(tolerance=tolerance, symbolic=symbolic, timeout=timeout, strict_sets=sets != "lenient")
    gs, ps = structure(gp.text), structure(pp.text)
    result = equal_struct(gs, ps, ctx)
    if not result and gp.percent != pp.percent:
        result = _percent_variants(gp, pp, ps, gs, ctx) or result
    if not result and gp.degrees != pp.degrees:
        result = _degree_variants(gp, pp, ps, gs, ctx) or result
    if not result:
        for gt, pt in ((gp.text, _decimal_comma(pp.text)), (_decimal_comma(gp.text), pp.text)):
            if gt and pt:
                r2 = equal_struct(structure(gt), structure(pt), ctx)
                if r2:
                    result = True
                    ctx.notes.append("read a comma as a decimal comma")
                    break
    if result is None:
        reason = "; ".join(ctx.notes) or "could not read the answer as mathematics"
        if ctx.too_big:
            return Verdict(False, "bounds", gp.text, pp.text, reason, unparsed=False)
        if ctx.stage == "timeout":
            return Verdict(False, "timeout", gp.text, pp.text, reason)
        return Verdict(False, "string", gp.text, pp.text, reason + "; texts differ",
                       unparsed=ps[0] == "text" and gs[0] != "text")
    stage = ctx.stage
    reason = "equal" if result else "not equal"
    if ctx.notes:
        reason += " (" + "; ".join(ctx.notes) + ")"
    return Verdict(bool(result), stage, gp.text, pp.text, reason, policy=ctx.policy)


def _degree_variants(gp: Prepared, pp: Prepared, ps: tuple, gs: tuple, ctx: Ctx) -> bool | None:
    """``48°`` also equals ``\\frac{4\\pi}{15}`` (radians): convert the side in degrees."""
    plain, deg = (gs, ps) if pp.degrees else (ps, gs)
    if plain[0] != "expr" or deg[0] != "expr":
        return None
    rad = ("expr", ("mul", [deg[1], ("div", ("const", "pi"), ("num", Fraction(180), None))]), "")
    r = equal_struct(plain, rad, ctx) if pp.degrees else equal_struct(rad, plain, ctx)
    if r:
        ctx.notes.append("degrees converted to radians")
    return r


def _percent_variants(gp: Prepared, pp: Prepared, ps: tuple, gs: tuple, ctx: Ctx) -> bool | None:
    """``10%`` equals ``10`` and ``0.1``: try the side without % both as is and divided by 100."""
    plain, pct = (gs, ps) if pp.percent else (ps, gs)
    if plain[0] != "expr" or pct[0] != "expr":
        return None
    scaled = ("expr", ("div", pct[1], ("num", Fraction(100), None)), "")
    r = equal_struct(plain, scaled, ctx) if pp.percent else equal_struct(scaled, plain, ctx)
    if r:
        ctx.notes.append("percent read as a fraction")
    return r
