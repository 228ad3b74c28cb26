"""Math answer equivalence: normalisation, and the comparison policy over answer structures.

This module owns the question "is this predicted answer the gold answer?" for short
answers (not whole responses: see :mod:`evalkit.grading.extract`). Answers are cleaned here
(:func:`prepare`), read into typed structures by :mod:`evalkit.grading.answers`, and compared
here (:func:`equal_struct`). It works in stages and reports which one decided:

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
shown (at least two decimals for an approximation of an exact gold). ``tolerance="exact-key"``
is the Gaokao policy: an exact key (a fraction, a radical, π, a logarithm) is not earned by a decimal
approximation of it ("约为 0.33" for ``\\frac13``), a decimal key still accepts the exact value it
rounds, and a decimal written after ``≈`` must be the value of the exact answer before it
("= \\sqrt{22} ≈ 19.44" earns nothing). Exact-key grading of an item that asks for an approximation
uses ``auto`` instead (the Gaokao scorer decides per item).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from evalkit.grading import mathexpr as mx
from evalkit.grading.answers import (
    COLLECTIONS,
    REAL_SETS,
    AllOf,
    Answer,
    Builder,
    EmptySet,
    Equation,
    Expr,
    Interval,
    ListOf,
    Member,
    Ratio,
    Relation,
    SetOf,
    Text,
    TupleOf,
    UnionOf,
    is_condition_list,
    items_of,
    structure,
    text_of,
)
from evalkit.grading.mathexpr import CTX, EvalError, Node, TooBig

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
_EULER = re.compile(r"\\(?:text|textrm|textnormal|mathrm|mathit|operatorname)\s*\{\s*e\s*\}|\{\s*\\rm\s+e\s*\}")
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
    s = _EULER.sub(" e ", s)  # \text{e}, \mathrm{e}, {\rm e}: Euler's number, not a unit
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
    approx: str = ""  # the decimal written after "≈" when the exact value before it was kept


def prepare(answer: str) -> Prepared:
    """Clean one short answer: delimiters, escapes, approximations, units, currency, percent."""
    s = clean_latex(strip_math_delims(clean_latex(answer)))
    s = strip_math_delims(s)
    m = _APPROX_TAIL.match(s)
    approx = ""
    if m and m.group(1).strip():
        head = m.group(1).strip()
        tail = re.split(r"\\approx|\\sim(?:eq)?", s, maxsplit=1)[1].strip()
        s = tail if is_label(head) and tail else head
        approx = "" if s == tail else tail
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
    return Prepared(s.strip(), percent, units, degrees, approx)


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

    tolerance: str = "auto"  # auto | exact | exact-key | a relative tolerance as text
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
    if ctx.tolerance not in ("auto", "exact-key"):
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
            if ctx.tolerance == "exact-key":
                ctx.policy = f"exact key: its value rounded to {pdec} places is not accepted"
                ctx.notes.append(f"a decimal approximation ({pdec} places) of an exact key")
                return False
            ctx.policy = f"prediction rounded to {pdec} places"
            return True
        return False
    if ctx.tolerance == "exact-key":
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


_EVALUATED = re.compile(r"\\(?:lim|sum|prod|int|bmod|mod|pmod)(?![A-Za-z])")  # "\lim_{x\to0} … = 1": a value


def _strip_label(node: Answer) -> Answer:
    """``k = 1`` -> ``1``; a chain of three or more sides, or one with no symbols, keeps its last side."""
    if not isinstance(node, Equation):
        return node
    if len(node.sides) >= 3 or is_label(node.texts[0]) or _EVALUATED.search(node.texts[0]):
        return node.sides[-1]
    if all(isinstance(x, Expr) and not mx.free_symbols(x.ast) for x in node.sides):
        return node.sides[-1]
    return node


_TRIG_OF_NAME = re.compile(r"\\?(?:sin|cos|tan|cot|sec|csc)(?:\^\{?2\}?)?\s*(?:\\angle\s*)?(?:\d?\s*(?:\\[A-Za-z]+|[A-Za-z]{1,3})"
                           r"(?:_\{?\w\}?)?|(?:\\left)?\([^()=]{1,24}(?:\\right)?\))")


def _strip_trig_label(node: Answer) -> Answer:
    """``\\cos\\alpha = \\frac35`` → ``\\frac35``: a trigonometric value of a named angle, answered with its value.

    Only used when the other side is not an equation: ``\\sin x = a`` and ``\\cos x = a`` stay different equations.
    """
    if isinstance(node, Equation) and len(node.sides) == 2 and _TRIG_OF_NAME.fullmatch(node.texts[0].strip()):
        return node.sides[-1]
    return node


def _unwrap(node: Answer) -> Answer:
    while isinstance(node, ListOf) and len(node.items) == 1:
        node = node.items[0]
    return node


def equal_struct(g: Answer, p: Answer, ctx: Ctx) -> bool | None:
    """Compare two answer structures; ``None`` means undecided (unparseable)."""
    g, p = _unwrap(g), _unwrap(p)
    if squash(text_of(g)) and squash(text_of(g)) == squash(text_of(p)):
        return True
    g, p = _interval_as_tuple(g, p), _interval_as_tuple(p, g)
    g, p = _vector_as_tuple(g, p), _vector_as_tuple(p, g)
    if isinstance(g, Member) and not isinstance(p, Member):
        return equal_struct(g.set, p, ctx)
    if isinstance(p, Member) and not isinstance(g, Member):
        return equal_struct(g, p.set, ctx)
    if isinstance(g, Equation) and isinstance(p, Equation):
        r = _equations(g, p, ctx)
        if r:
            return r
    if isinstance(g, Equation) or isinstance(p, Equation):
        g2, p2 = _strip_label(g), _strip_label(p)
        if g2 is g and p2 is p and isinstance(g, Equation) != isinstance(p, Equation):
            g2, p2 = _strip_trig_label(g), _strip_trig_label(p)  # "cos α = 3/5" for the value 3/5
        if g2 is not g or p2 is not p:
            return equal_struct(g2, p2, ctx)
        return False
    gc, pc = is_condition_list(g), is_condition_list(p)
    if (gc and (isinstance(p, REAL_SETS) or pc)) or (pc and isinstance(g, REAL_SETS)):
        return _real_sets(g, p, ctx)
    if (isinstance(g, REAL_SETS) and isinstance(p, SetOf)) or (isinstance(p, REAL_SETS) and isinstance(g, SetOf)):
        return _real_sets(g, p, ctx)
    if isinstance(g, COLLECTIONS) or isinstance(p, COLLECTIONS):
        return _collections(g, p, ctx)
    if isinstance(g, REAL_SETS) or isinstance(p, REAL_SETS):
        return _real_sets(g, p, ctx)
    if isinstance(g, Ratio) or isinstance(p, Ratio):
        return _ratios(g, p, ctx)
    if isinstance(g, Expr) and isinstance(p, Expr):
        if mx.has_kind(g.ast, {"word"}) or mx.has_kind(p.ast, {"word"}):
            ctx.stage = "string"
            return _text_norm(g.text) == _text_norm(p.text)
        return expr_equal(g.ast, p.ast, ctx)
    if isinstance(g, Text) or isinstance(p, Text):
        a, b = _text_norm(text_of(g)), _text_norm(text_of(p))
        ctx.stage = "string"
        if isinstance(g, Text) and isinstance(p, Text) or (a and b):
            return a == b if (a and b) else None
    return None


def _open_pair(node: Answer) -> Answer:
    """An open interval ``(a, b)`` read as the pair it may also be."""
    if isinstance(node, Interval) and node.is_open:
        return TupleOf((node.lo, node.hi), "(")
    return node


def _interval_as_tuple(node: Answer, other: Answer) -> Answer:
    """``(a, b)`` is a pair, not an open interval, when compared with a tuple, set or list."""
    return _open_pair(node) if isinstance(other, COLLECTIONS) else node


def _vector_as_tuple(node: Answer, other: Answer) -> Answer:
    """A one-row or one-column matrix compared with a tuple or list is read as that tuple."""
    if isinstance(node, Expr) and node.ast[0] == "matrix" and isinstance(other, TupleOf | ListOf | Interval):
        rows = node.ast[1]
        cells = rows[0] if len(rows) == 1 else [r[0] for r in rows] if all(len(r) == 1 for r in rows) else None
        if cells is not None:
            return TupleOf(tuple(Expr(c, "") for c in cells), "(")
    return node


def _text_norm(s: str) -> str:
    s = _TEXT_WRAP.sub(r"\1", s)
    s = re.sub(r"[\s{}\\$()]", "", s)
    return s.casefold()


def _equations(g: Equation, p: Equation, ctx: Ctx) -> bool | None:
    gs, ps = g.sides, p.sides
    if len(gs) != 2 or len(ps) != 2 or not all(isinstance(x, Expr) for x in gs + ps):
        return None
    gl, gr, pl, pr = (x.ast for x in gs + ps)  # type: ignore[union-attr]
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


def _flatten_tuples(node: ListOf) -> list[Answer] | None:
    """A list of tuples as one list of their items (``(1,2);(3,4)`` against ``1,2,3,4``)."""
    if all(isinstance(it, TupleOf) for it in node.items):
        return [x for it in node.items for x in it.items]  # type: ignore[union-attr]
    return None


def _collections(g: Answer, p: Answer, ctx: Ctx) -> bool | None:
    """Lists, sets and tuples item by item: in order where a tuple is involved, else matched one to one."""
    if isinstance(g, Interval) and isinstance(p, TupleOf) and len(p.items) == 2:
        g = TupleOf((g.lo, g.hi), g.left)
    elif isinstance(p, Interval) and isinstance(g, TupleOf) and len(g.items) == 2:
        p = TupleOf((p.lo, p.hi), p.left)
    gi, pi = list(items_of(g)), list(items_of(p))
    by_label = _match_labels(gi, pi, ctx)
    if by_label is not None:
        return by_label
    gi = [_strip_label(x) for x in gi]
    pi = [_strip_label(x) for x in pi]
    if any(isinstance(x, TupleOf) for x in gi):
        pi = [_open_pair(x) for x in pi]
    if any(isinstance(x, TupleOf) for x in pi):
        gi = [_open_pair(x) for x in gi]
    ordered = _ordered(g, p)
    if isinstance(g, TupleOf) and isinstance(p, TupleOf) and g.bracket != p.bracket \
            and "cases" not in (g.bracket, p.bracket) and len(gi) != 2:
        return False  # (1, 2, 3) is not [1, 2, 3]
    if isinstance(g, ListOf) and isinstance(p, ListOf):
        fg, fp = _flatten_tuples(g), _flatten_tuples(p)
        if fg is not None and fp is None and not any(isinstance(x, TupleOf) for x in pi):
            gi = fg
        elif fp is not None and fg is None and not any(isinstance(x, TupleOf) for x in gi):
            pi = fp
    if len(gi) != len(pi):
        if not (isinstance(g, _BAGS) and isinstance(p, _BAGS)):
            return False
        gi, pi = _dedupe(gi, ctx), _dedupe(pi, ctx)
        if len(gi) != len(pi):
            return False
    if ordered:
        if not all(equal_struct(a, b, ctx) for a, b in zip(gi, pi, strict=True)):
            return False
    elif not _matched_one_to_one(gi, pi, ctx):
        return False
    ctx.stage = "structure" if ctx.stage == "numeric" else ctx.stage
    return True


_BAGS = (SetOf, ListOf, Expr, Equation)  # where repeated items may collapse before counting


def _ordered(g: Answer, p: Answer) -> bool:
    """Items compare in order when a tuple meets a tuple, a list or a set."""
    return isinstance(g, TupleOf) and isinstance(p, COLLECTIONS) or isinstance(p, TupleOf) and isinstance(g, ListOf | SetOf)


def _matched_one_to_one(gi: list[Answer], pi: list[Answer], ctx: Ctx) -> bool:
    used = [False] * len(pi)
    for a in gi:
        j = next((j for j, b in enumerate(pi) if not used[j] and equal_struct(a, b, ctx)), None)
        if j is None:
            return False
        used[j] = True
    return True


def _labels(items: list[Answer]) -> dict[str, Answer] | None:
    out: dict[str, Answer] = {}
    for it in items:
        if not isinstance(it, Equation) or len(it.sides) != 2 or not is_label(it.texts[0]):
            return None
        out[squash(it.texts[0])] = it.sides[1]
    return out if len(out) == len(items) else None


def _match_labels(gi: list[Answer], pi: list[Answer], ctx: Ctx) -> bool | None:
    """``a=1, b=2`` against ``b=2, a=1``: when both sides name the same unknowns, match by name."""
    gl, pl = _labels(gi), _labels(pi)
    if gl is None or pl is None or set(gl) != set(pl) or len(gl) < 2:
        return None
    ctx.stage = "structure"
    return all(equal_struct(gl[k], pl[k], ctx) for k in gl)


def _dedupe(items: list[Answer], ctx: Ctx) -> list[Answer]:
    out: list[Answer] = []
    for it in items:
        if not any(equal_struct(it, o, ctx) for o in out):
            out.append(it)
    return out


def _ratios(g: Answer, p: Answer, ctx: Ctx) -> bool | None:
    if not (isinstance(g, Ratio) and isinstance(p, Ratio)):
        quotient = _ratio_value(g) if isinstance(g, Ratio) else _ratio_value(p)
        other = p if isinstance(g, Ratio) else g
        if quotient is None or not isinstance(other, Expr):
            return False
        r = expr_equal(quotient.ast, other.ast, ctx) if isinstance(g, Ratio) else expr_equal(other.ast, quotient.ast, ctx)
        if r:
            ctx.notes.append("a ratio a:b read as a/b")
        return r
    gp, pp = g.texts, p.texts
    timeish = all(re.fullmatch(r"\d{2}", x) for x in gp[1:] + pp[1:])
    if timeish:
        gv = [int(x) for x in gp] + [0] * (3 - len(gp))
        pv = [int(x) for x in pp] + [0] * (3 - len(pp))
        ctx.stage = "structure"
        return gv[:3] == pv[:3]
    if len(gp) != len(pp):
        return False
    return all(equal_struct(a, b, ctx) for a, b in zip(g.parts, p.parts, strict=True))


def _ratio_value(node: Ratio) -> Expr | None:
    """``\\sqrt6:4`` as the value ``\\sqrt6/4`` (not a time such as ``4:30``)."""
    if len(node.parts) != 2 or not all(isinstance(x, Expr) for x in node.parts):
        return None
    if re.fullmatch(r"\d{2}", node.texts[1].strip()):
        return None
    a, b = node.parts
    return Expr(("div", a.ast, b.ast), f"{node.texts[0]}/{node.texts[1]}")  # type: ignore[union-attr]


# -- real sets (intervals, unions, inequalities, set-builder) ------------------------------
def _is_condition(node: Answer) -> bool:
    return isinstance(node, Relation) or is_condition_list(node)


def _real_sets(g: Answer, p: Answer, ctx: Ctx) -> bool | None:
    if isinstance(g, Interval) and isinstance(p, Interval):
        if (g.left, g.right) != (p.left, p.right):
            return False
        return bool(equal_struct(g.lo, p.lo, ctx)) and bool(equal_struct(g.hi, p.hi, ctx))
    if ctx.strict_sets and _is_condition(p) and not _is_condition(g):
        ctx.notes.append("the gold is a set or interval; a condition is not accepted for it")
        return False
    gs, ps = _as_real_set(g), _as_real_set(p)
    if gs is None or ps is None:
        return None
    ctx.stage = "structure"
    return _same_set(gs, ps)


RealSet = tuple[Any, list[Any]]  # (membership function, critical points)


def _const_value(node: Answer) -> Any:
    if not isinstance(node, Expr) or mx.free_symbols(node.ast):
        raise EvalError("not a constant")
    v = _eval(node.ast, {})
    if isinstance(v, tuple):
        raise EvalError("a matrix is not a number")
    return v


def _as_real_set(node: Answer) -> RealSet | None:
    try:
        return _real_set(node)
    except (EvalError, ZeroDivisionError, ValueError, TypeError, IndexError):
        return None


def _real_set(node: Answer) -> RealSet | None:
    if isinstance(node, Interval):
        lo, hi = _const_value(node.lo), _const_value(node.hi)
        lc, hc = node.left == "[", node.right == "]"
        lo_m, hi_m = _mp(lo), _mp(hi)

        def member(t: Any) -> bool:
            tv = _mp(t)
            return (tv > lo_m or (lc and tv == lo_m)) and (tv < hi_m or (hc and tv == hi_m))

        return member, [v for v in (lo, hi) if not CTX.isinf(_mp(v))]
    if isinstance(node, UnionOf):
        parts = [_real_set(x) for x in node.parts]
        if any(x is None for x in parts):
            return None
        return (lambda t: any(m(t) for m, _ in parts)), [c for _, cs in parts for c in cs]  # type: ignore[misc]
    if isinstance(node, SetOf):
        vals = [_const_value(x) for x in node.items]
        return (lambda t: any(_close_exact(t, v) for v in vals)), vals
    if isinstance(node, Expr):
        v = _const_value(node)
        return (lambda t: _close_exact(t, v)), [v]
    if isinstance(node, Member):
        return _real_set(node.set)
    if isinstance(node, Builder):
        return _condition(node.condition, node.var)
    if isinstance(node, EmptySet):
        return (lambda t: False), []
    if _is_condition(node):
        return _condition(node, None)
    return None


def _condition(node: Answer, var: str | None) -> RealSet | None:
    if isinstance(node, Member):
        return _real_set(node.set)
    if isinstance(node, ListOf | AllOf):
        parts = [_condition(x, var) for x in node.items]
        if not parts or any(x is None for x in parts):
            return None
        combine = any if isinstance(node, ListOf) else all
        return (lambda t: combine(m(t) for m, _ in parts)), [c for _, cs in parts for c in cs]  # type: ignore[misc]
    if not isinstance(node, Relation):
        return None
    sides, ops = node.sides, node.ops
    if not all(isinstance(x, Expr) for x in sides):
        return None
    asts = [x.ast for x in sides]  # type: ignore[union-attr]
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


def _region(node: Relation, names: list[str]) -> RealSet | None:
    """An inequality in several variables, as a membership test on a fixed grid of points."""
    if len(names) > 4:
        return None
    sides, ops = [x.ast for x in node.sides], node.ops  # type: ignore[union-attr]
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
    if tolerance == "exact-key" and pp.approx and not _approximates(pp.text, pp.approx):
        return Verdict(False, "numeric", gp.text, pp.text, f"the decimal {pp.approx} after ≈ is not the value of "
                       f"{pp.text} (a wrong value does not earn the exact one)", policy="exact-key")
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
                       unparsed=isinstance(ps, Text) and not isinstance(gs, Text))
    stage = ctx.stage
    reason = "equal" if result else "not equal"
    if ctx.notes:
        reason += " (" + "; ".join(ctx.notes) + ")"
    return Verdict(bool(result), stage, gp.text, pp.text, reason, policy=ctx.policy)


def _approximates(exact: str, decimal: str) -> bool:
    """Whether ``decimal`` (written after ≈) is the value of ``exact`` rounded or truncated; True when unsure."""
    dm = re.fullmatch(r"\s*(-?\d+(?:\.(\d+))?)\s*(?:\\%|%)?\s*", decimal)
    if dm is None:
        return True
    node = _strip_label(_unwrap(structure(exact)))
    if not isinstance(node, Expr) or mx.free_symbols(node.ast):
        return True
    try:
        value = _eval(node.ast, {})
    except (EvalError, ZeroDivisionError, ValueError, OverflowError, TypeError):
        return True
    if isinstance(value, tuple):
        return True
    places = len(dm.group(2) or "")
    target = Fraction(dm.group(1)) / (100 if "%" in decimal else 1)
    return _rounds_to(value, target, places + (2 if "%" in decimal else 0)) or _rounds_to(value, target, max(places - 1, 0))


def _degree_variants(gp: Prepared, pp: Prepared, ps: Answer, gs: Answer, ctx: Ctx) -> bool | None:
    """``48°`` also equals ``\\frac{4\\pi}{15}`` (radians): convert the side in degrees."""
    plain, deg = (gs, ps) if pp.degrees else (ps, gs)
    if not (isinstance(plain, Expr) and isinstance(deg, Expr)):
        return None
    rad = Expr(("mul", [deg.ast, ("div", ("const", "pi"), ("num", Fraction(180), None))]), "")
    r = equal_struct(plain, rad, ctx) if pp.degrees else equal_struct(rad, plain, ctx)
    if r:
        ctx.notes.append("degrees converted to radians")
    return r


def _percent_variants(gp: Prepared, pp: Prepared, ps: Answer, gs: Answer, ctx: Ctx) -> bool | None:
    """``10%`` equals ``10`` and ``0.1``: try the side without % both as is and divided by 100."""
    plain, pct = (gs, ps) if pp.percent else (ps, gs)
    if not (isinstance(plain, Expr) and isinstance(pct, Expr)):
        return None
    scaled = Expr(("div", pct.ast, ("num", Fraction(100), None)), "")
    r = equal_struct(plain, scaled, ctx) if pp.percent else equal_struct(scaled, plain, ctx)
    if r:
        ctx.notes.append("percent read as a fraction")
    return r
