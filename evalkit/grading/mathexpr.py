"""A small LaTeX / plain-math expression parser and a bounded numeric evaluator.

This module owns the *expression* level of answer checking: turning ``\\frac{\\sqrt3}{2}``,
``2x+1``, ``sqrt(2)/2``, ``\\sin^2 x`` or a matrix into a tiny AST (plain tuples), and
evaluating that AST either exactly (``Fraction``) or with 40-digit ``mpmath`` numbers at
chosen points. It never imports sympy, so the fast path of grading stays cheap.

Every evaluation is bounded without a worker: integers are capped at ``MAX_BITS`` bits,
powers are sized before they are computed, factorials and sums have hard caps, so an
exponent tower raises :class:`TooBig` instead of hanging.

AST node kinds: ``("num", Fraction, decimals|None)``, ``("sym", name)``, ``("const", name)``,
``("add", [..])``, ``("mul", [..])``, ``("neg", x)``, ``("div", a, b)``, ``("pow", a, b)``,
``("func", name, [args])``, ``("fact", x)``, ``("matrix", [[..]])``, ``("sum", var, lo, hi, body)``,
``("word", text)``, ``("dots",)``.
"""

from __future__ import annotations

import hashlib
import math
import re
from fractions import Fraction
from typing import Any

Node = tuple[Any, ...]

MAX_BITS = 1 << 17  # largest exact integer we build (~40k digits)
MAX_LOG2 = 1 << 17  # largest |log2| of an approximate magnitude
MAX_FACT = 5000
MAX_SUM_TERMS = 2000



class _Context:
    """mpmath's context at 40 digits, made on first use: importing mpmath is ~25 ms of every command's start-up
    and a choice or text task never evaluates an expression. Each attribute is looked up on the context once
    and then kept here (the precision is set once and never changed), so later uses cost what they did."""

    def __getattr__(self, name: str) -> Any:
        ctx = self.__dict__.get("_ctx")
        if ctx is None:
            import mpmath

            ctx = mpmath.MPContext()
            ctx.dps = 40
            self.__dict__["_ctx"] = ctx
        value = getattr(ctx, name)
        self.__dict__[name] = value
        return value


CTX: Any = _Context()


class ParseError(ValueError):
    """The text is not an expression this parser understands."""


class EvalError(ValueError):
    """The expression cannot be evaluated at this point (domain, unknown construct)."""


class TooBig(EvalError):
    """The value would exceed the size bounds (exponent towers, huge factorials)."""


FUNCS = {
    "sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "ln", "log", "exp", "sqrt", "abs", "sign", "sgn", "floor", "ceil", "lg", "arccot", "max", "min", "gcd", "lcm",
}
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}
_FUNC_LETTERS = set("fghFGHPQW")
CONSTS = {"pi": "pi", "infty": "inf", "infin": "inf", "e": "e", "i": "i"}
# commands with no mathematical meaning here
_IGNORED_CMDS = {
    "left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle", "textstyle",
    "quad", "qquad", "limits", "nolimits", "mathrm", "mathbf", "mathit", "mathsf", "rm", "bf", "it", "boldsymbol",
    "mathnormal", "ensuremath", "mbox", "hbox", "text", "textbf", "textit", "textrm", "textnormal", "operatorname",
    "mathbb", "mathcal", "bm", "noindent", "hline", "space", "phantom",
}
_TEXT_CMDS = {"text", "textbf", "textit", "textrm", "textnormal", "mbox", "hbox", "mathrm", "mathbf", "mathit",
              "mathsf", "operatorname", "boldsymbol", "bm", "mathnormal", "rm", "bf"}
_KNOWN_CMDS = (
    FUNCS | GREEK | set(CONSTS) | _IGNORED_CMDS | _TEXT_CMDS
    | {"frac", "dfrac", "tfrac", "cfrac", "sqrt", "cdot", "times", "div", "pm", "mp", "circ", "degree", "sum",
       "prod", "ldots", "cdots", "dots", "infty", "overline", "vec", "hat", "bar", "widehat", "angle", "begin",
       "overrightarrow", "overleftarrow",
       "end", "lfloor", "rfloor", "lceil", "rceil", "binom", "dbinom", "tbinom", "le", "leq", "ge", "geq", "ne",
       "neq", "lt", "gt", "leqslant", "geqslant", "cup", "cap", "in", "mid", "setminus", "emptyset", "varnothing",
       "approx", "to", "rightarrow", "Rightarrow", "triangle", "perp", "parallel", "prime", "colon", "land",
       "lor", "wedge", "vee", "because", "therefore", "forall", "exists", "neg", "equiv", "sim", "cong",
       "bmod", "mod"}
)

_TOKEN = re.compile(
    r"""
    (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+(?![A-Za-z]))?)
  | (?P<cmd>\\+[A-Za-z]+)
  | (?P<word>[A-Za-z]+)
  | (?P<esc>\\[{}|,;:!\ %\#&$_])
  | (?P<rowsep>\\\\)
  | (?P<op>\*\*|<=|>=|!=|==|[-+*/^_()\[\]{}|!,;:=<>'&%.°])
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def _split_cmd(name: str) -> list[str]:
    """``quadx`` -> ``quad`` + letters; a run glued onto a known command splits off."""
    if name in _KNOWN_CMDS:
        return [name]
    for k in range(len(name) - 1, 0, -1):
        if name[:k] in _KNOWN_CMDS:
            return [name[:k], name[k:]]
    return [name]


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split text into (kind, value) tokens; doubled backslashes before a command collapse."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        val = m.group()
        if kind == "space":
            continue
        if kind == "cmd":
            slashes = len(val) - len(val.lstrip("\\"))
            name = val[slashes:]
            if slashes >= 3:
                out.append(("rowsep", "\\\\"))
            elif slashes == 2 and not any(p in _KNOWN_CMDS for p in _split_cmd(name)[:1]):
                out.append(("rowsep", "\\\\"))
                out.append(("word", name))
                continue
            parts = _split_cmd(name)
            out.append(("cmd", parts[0]))
            if len(parts) > 1:
                out.append(("word", parts[1]))
            continue
        if kind == "esc":
            mapped = {"{": ("op", "("), "}": ("op", ")"), "|": ("op", "|"), "%": ("op", "%")}.get(val[1])
            if mapped:
                out.append(mapped)
            continue
        if kind == "op" and val in "{}":
            kind = "brace"
        out.append((kind, val))
    return out


def _word_tokens(word: str) -> list[tuple[str, str]]:
    """A run of letters: a function / constant name, a word, or single-letter symbols."""
    low = word
    if low in FUNCS or low in GREEK or low in ("pi", "infty", "inf", "oo"):
        return [("name", low)]
    for k in range(min(len(word), 6), 1, -1):
        head = word[:k]
        if head in FUNCS and len(word) - k <= 2:
            return [("name", head)] + [("letter", c) for c in word[k:]]
    if len(word) >= 3:
        return [("wordatom", word)]
    return [("letter", c) for c in word]


class Parser:
    """Recursive descent over tokens into the tuple AST."""

    def __init__(self, text: str) -> None:
        raw = tokenize(text)
        toks: list[tuple[str, str]] = []
        for kind, val in raw:
            if kind == "word":
                toks.extend(_word_tokens(val))
            else:
                toks.append((kind, val))
        self.toks = toks
        self.i = 0
        self.abs_depth = 0

    # -- helpers -------------------------------------------------------------------
    def peek(self, off: int = 0) -> tuple[str, str]:
        j = self.i + off
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, kind: str, val: str | None = None) -> bool:
        k, v = self.peek()
        return k == kind and (val is None or v == val)

    def expect(self, kind: str, val: str | None = None) -> tuple[str, str]:
        if not self.at(kind, val):
            raise ParseError(f"expected {val or kind}, found {self.peek()[1]!r}")
        return self.take()

    def skip_ignored(self) -> None:
        while self.at("cmd") and self.peek()[1] in _IGNORED_CMDS - _TEXT_CMDS:
            self.take()

    # -- grammar -------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.expr()
        self.skip_ignored()
        while self.at("op", ".") or self.at("op", ","):
            if self.peek(1)[0] != "eof":
                break
            self.take()
        if not self.at("eof"):
            raise ParseError(f"unexpected {self.peek()[1]!r}")
        return node

    def expr(self) -> Node:
        terms: list[Node] = []
        sign = 1
        self.skip_ignored()
        if self.at("op", "+") or self.at("op", "-"):
            sign = -1 if self.take()[1] == "-" else 1
        t = self.term()
        terms.append(t if sign > 0 else ("neg", t))
        while True:
            self.skip_ignored()
            if self.at("op", "+") or self.at("op", "-"):
                op = self.take()[1]
                t = self.term()
                terms.append(t if op == "+" else ("neg", t))
            else:
                break
        return terms[0] if len(terms) == 1 else ("add", terms)

    def term(self) -> Node:
        node = self.unary()
        while True:
            self.skip_ignored()
            k, v = self.peek()
            if (k == "op" and v == "*") or (k == "cmd" and v in ("cdot", "times")):
                self.take()
                node = _mul(node, self.unary())
            elif (k == "op" and v == "/") or (k == "cmd" and v == "div"):
                self.take()
                node = ("div", node, self.unary())
            elif k == "cmd" and v in ("bmod", "mod"):  # a \bmod b: the remainder
                self.take()
                node = ("func", "mod", [node, self.unary()])
            elif self._starts_primary():
                node = _mul(node, self.unary(implicit=True))
            else:
                return node

    def unary(self, implicit: bool = False) -> Node:
        self.skip_ignored()
        if not implicit and (self.at("op", "-") or self.at("op", "+")):
            op = self.take()[1]
            inner = self.unary()
            return ("neg", inner) if op == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        self.skip_ignored()
        if self.at("op", "^") or self.at("op", "**"):
            self.take()
            if self.at("cmd", "circ") or self.at("op", "°"):
                self.take()
                return _degrees(base)
            if self.at("brace", "{") and self.peek(1) == ("cmd", "circ") and self.peek(2) == ("brace", "}"):
                self.i += 3
                return _degrees(base)
            expo = self.exponent()
            comb = re.fullmatch(r"([CA])_(\d+)", base[1]) if base[0] == "sym" else None
            if comb:  # C_n^k and A_n^k: combinations and arrangements
                n = ("num", Fraction(int(comb.group(2))), None)
                return ("func", "binom" if comb.group(1) == "C" else "perm", [n, expo])
            node: Node = ("pow", base, expo)
            return self._postfix_ops(node)
        return base

    def exponent(self) -> Node:
        self.skip_ignored()
        if self.at("brace", "{"):
            return self._postfix_ops(self.group())
        if self.at("op", "-") or self.at("op", "+"):
            op = self.take()[1]
            inner = self.exponent()
            return ("neg", inner) if op == "-" else inner
        return self.power()

    def _postfix_ops(self, node: Node) -> Node:
        while True:
            if self.at("op", "!"):
                self.take()
                node = ("fact", node)
            elif self.at("op", "°"):
                self.take()
                node = _degrees(node)
            elif self.at("op", "%"):
                self.take()
                node = ("div", node, ("num", Fraction(100), None))
            elif self.at("op", "'"):
                self.take()
                if node[0] == "sym":
                    node = ("sym", node[1] + "'")
                else:
                    raise ParseError("prime on an expression")
            else:
                return node

    def postfix(self) -> Node:
        node = self.primary()
        if self.at("op", "_"):
            self.take()
            sub = self.subscript_text()
            if node[0] == "num" and sub.isdigit():
                node = _base_number(node, int(sub))
            elif node[0] in ("sym", "const", "word"):
                name = node[1] if node[0] != "const" else {"e": "e", "i": "i", "pi": "pi", "inf": "oo"}[node[1]]
                if node[0] == "sym" and node[1] in ("log",):
                    raise ParseError("log base")
                node = ("sym", f"{name}_{sub}")
            else:
                raise ParseError("subscript on an expression")
        return self._postfix_ops(node)

    def subscript_text(self) -> str:
        if self.at("brace", "{"):
            self.take()
            depth = 1
            parts: list[str] = []
            while True:
                k, v = self.take()
                if k == "eof":
                    raise ParseError("unclosed subscript")
                if k == "brace":
                    depth += 1 if v == "{" else -1
                    if depth == 0:
                        break
                    continue
                parts.append(v)
            return "".join(parts)
        k, v = self.take()
        if k == "num" and len(v) > 1 and "." not in v:
            self.toks[self.i - 1] = ("num", v[0])
            self.toks.insert(self.i, ("num", v[1:]))
            return v[0]
        return v


    def _starts_primary(self) -> bool:
        k, v = self.peek()
        if k in ("num", "letter", "name", "wordatom"):
            return True
        if k == "op" and v in ("(", "["):
            return True
        if k == "brace" and v == "{":
            return True
        if k == "op" and v == "|":
            return self.abs_depth == 0
        if k == "cmd":
            return v in ("frac", "dfrac", "tfrac", "cfrac", "sqrt", "binom", "dbinom", "tbinom", "begin", "overline",
                         "vec", "hat", "bar", "widehat", "lfloor", "lceil", "angle", "sum", "prod") \
                or v in FUNCS or v in GREEK or v in CONSTS or v in ("infty", "ldots", "cdots", "dots") or v in _TEXT_CMDS
        return False

    def group(self) -> Node:
        self.expect("brace", "{")
        node = self.expr()
        self.expect("brace", "}")
        return node

    def arg(self) -> Node:
        """A LaTeX argument: a braced group or one token (``\\frac12``)."""
        self.skip_ignored()
        if self.at("brace", "{"):
            return self.group()
        k, v = self.peek()
        if k == "num":
            if len(v) > 1 and "." not in v:
                self.toks[self.i] = ("num", v[1:])
                return _number(v[0])
            self.take()
            return _number(v)
        if k == "letter":
            self.take()
            return ("const", v) if v in ("e", "i") else ("sym", v)
        return self.primary()

    def primary(self) -> Node:
        self.skip_ignored()
        k, v = self.take()
        if k == "num":
            # A LaTeX mixed number: 918\frac{1}{2}
            if self.at("cmd") and self.peek()[1] in ("frac", "dfrac", "tfrac", "cfrac") and "." not in v:
                save = self.i
                self.take()
                a, b = self.arg(), self.arg()
                if a[0] == "num" and b[0] == "num" and a[2] is None and b[2] is None and 0 < a[1] < b[1]:
                    return ("num", Fraction(v) + a[1] / b[1], None)
                self.i = save
            return _number(v)
        if k == "letter":
            if v in ("e", "i"):
                return ("const", v)
            if v in _FUNC_LETTERS and self.at("op", "("):
                return self.function(v)
            return ("sym", v)
        if k == "name":
            if v in ("pi",):
                return ("const", "pi")
            if v in ("infty", "inf", "oo"):
                return ("const", "inf")
            if v in GREEK:
                return ("sym", v)
            return self.function(v)
        if k == "wordatom":
            if self.at("op", "("):
                # an unknown named function: sign(x), Eq(...)
                return self.function(v.lower())
            return ("word", v.lower())
        if k == "op" and v in ("(", "["):
            close = ")" if v == "(" else "]"
            inner = self.expr()
            if self.at("op", ","):
                raise ParseError("tuple inside an expression")
            self.skip_ignored()
            self.expect("op", close)
            return inner
        if k == "brace" and v == "{":
            inner = self.expr()
            self.expect("brace", "}")
            return inner
        if k == "op" and v == "|":
            self.abs_depth += 1
            try:
                inner = self.expr()
            finally:
                self.abs_depth -= 1
            self.skip_ignored()
            self.expect("op", "|")
            return ("func", "abs", [inner])
        if k == "cmd":
            return self.command(v)
        raise ParseError(f"unexpected {v!r}")

    def command(self, name: str) -> Node:
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            a = self.arg()
            b = self.arg()
            return ("div", a, b)
        if name in ("binom", "dbinom", "tbinom"):
            a = self.arg()
            b = self.arg()
            return ("func", "binom", [a, b])
        if name == "sqrt":
            if self.at("op", "["):
                self.take()
                idx = self.expr()
                self.expect("op", "]")
                rad = self.arg()
                return ("pow", rad, ("div", ("num", Fraction(1), None), idx))
            return ("func", "sqrt", [self.arg()])
        if name in CONSTS and name not in ("e", "i"):
            return ("const", CONSTS[name])
        if name in GREEK:
            return ("sym", name)
        if name in ("overline", "vec", "hat", "bar", "widehat", "overrightarrow"):
            inner = self.arg()
            kind = "vec" if name in ("vec", "overrightarrow") else name
            return ("sym", f"{kind}:{_node_key(inner)}")
        if name in _TEXT_CMDS:
            return self.text_group()
        if name in ("lfloor", "lceil"):
            inner = self.expr()
            self.expect("cmd", "rfloor" if name == "lfloor" else "rceil")
            return ("func", "floor" if name == "lfloor" else "ceil", [inner])
        if name == "angle":
            return ("sym", "angle:" + _node_key(self.primary()))
        if name in ("ldots", "cdots", "dots"):
            return ("dots",)
        if name == "begin":
            return self.environment()
        if name in ("sum", "prod"):
            return self.big_operator(name)
        if name in FUNCS:
            return self.function(name)
        raise ParseError(f"unsupported command \\{name}")

    def text_group(self) -> Node:
        """``\\text{...}``: a word, or math when it holds a number or one letter."""
        if not self.at("brace", "{"):
            return self.primary()
        start = self.i
        depth = 0
        parts: list[str] = []
        while True:
            k, v = self.take()
            if k == "eof":
                raise ParseError("unclosed text group")
            if k == "brace":
                depth += 1 if v == "{" else -1
                if depth == 0:
                    break
                if self.i - 1 == start:
                    continue
            parts.append(v)
        content = " ".join(parts).strip()
        if not content:
            return ("num", Fraction(1), None)
        if content in FUNCS:  # \operatorname{arcsin}(x), \mathrm{ln} 2
            return self.function(content)
        try:
            return Parser(content).parse()
        except ParseError:
            return ("word", re.sub(r"\s+", " ", content).lower())

    def function(self, name: str) -> Node:
        power: Node | None = None
        base: Node | None = None
        if name in ("log",) and self.at("op", "_"):
            self.take()
            base = self.arg()
        if self.at("op", "^"):
            self.take()
            power = self.exponent()
        if name in ("log",) and base is None and self.at("op", "_"):
            self.take()
            base = self.arg()
        self.skip_ignored()
        if self.at("op", "(") or self.at("op", "["):
            close = ")" if self.take()[1] == "(" else "]"
            args = [self.expr()]
            while self.at("op", ","):
                self.take()
                args.append(self.expr())
            self.skip_ignored()
            self.expect("op", close)
        elif self.at("brace", "{"):
            args = [self.group()]
        else:
            # \sin 2x: the argument runs over an implicit product of primaries
            arg = self.unary()
            while self._starts_primary() and not (self.at("cmd") and self.peek()[1] in FUNCS) \
                    and not self.at("name"):
                arg = _mul(arg, self.power())
            args = [arg]
        if name in ("ln",):
            node: Node = ("func", "log", args)
        elif name == "lg":
            node = ("func", "log", args + [("num", Fraction(10), None)])
        elif name == "log":
            node = ("func", "log", args + ([base] if base is not None else []))
        else:
            node = ("func", name, args)
        if power is not None:
            if power == ("neg", ("num", Fraction(1), None)) and name in ("sin", "cos", "tan"):
                return ("func", "arc" + name, args)
            return ("pow", node, power)
        return node

    def big_operator(self, name: str) -> Node:
        lo: Node | None = None
        hi: Node | None = None
        var = "k"
        for _ in range(2):
            if self.at("op", "_"):
                self.take()
                self.expect("brace", "{")
                var_tok = self.take()
                var = var_tok[1]
                self.expect("op", "=")
                lo = self.expr()
                self.expect("brace", "}")
            elif self.at("op", "^"):
                self.take()
                hi = self.arg()
        if lo is None or hi is None:
            raise ParseError(f"\\{name} without limits")
        body = self.term()
        return (name, var, lo, hi, body)

    def environment(self) -> Node:
        self.expect("brace", "{")
        env = "".join(self.take()[1] for _ in range(1)).strip()
        while not self.at("brace", "}"):
            env += self.take()[1]
        self.take()
        if env == "array" and self.at("brace", "{"):
            while not self.at("brace", "}"):
                self.take()
            self.take()
        rows: list[list[Node]] = [[]]
        while True:
            self.skip_ignored()
            if self.at("cmd", "end"):
                self.take()
                self.expect("brace", "{")
                while not self.at("brace", "}"):
                    self.take()
                self.take()
                break
            if self.at("eof"):
                raise ParseError("unclosed environment")
            if self.at("rowsep"):
                self.take()
                rows.append([])
                continue
            if self.at("op", "&"):
                self.take()
                continue
            cell = self.cell()
            rows[-1].append(cell)
        rows = [r for r in rows if r]
        if env == "cases":
            raise ParseError("cases is a structure")
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        return ("matrix", rows)

    def cell(self) -> Node:
        return self.expr()


def _mul(a: Node, b: Node) -> Node:
    if a[0] == "mul":
        return ("mul", a[1] + [b])
    return ("mul", [a, b])


def _degrees(node: Node) -> Node:
    return ("mul", [node, ("div", ("const", "pi"), ("num", Fraction(180), None))])


def _number(text: str) -> Node:
    dec = None
    m = re.fullmatch(r"(\d*\.?\d*)[eE]([-+]?\d+)", text)
    if m:
        if abs(int(m.group(2))) > 400:
            raise ParseError("exponent too large")
        places = len(m.group(1).split(".", 1)[1]) if "." in m.group(1) else 0
        return ("num", Fraction(text), max(0, places - int(m.group(2))) or None)
    if "." in text:
        frac_part = text.split(".", 1)[1]
        dec = len(frac_part)
        if dec == 0:
            dec = None
    return ("num", Fraction(text), dec)


def _base_number(node: Node, base: int) -> Node:
    digits = str(node[1])
    if not digits.isdigit() or not 2 <= base <= 36:
        raise ParseError("bad base number")
    try:
        return ("num", Fraction(int(digits, base)), None)
    except ValueError as exc:
        raise ParseError("digit out of base") from exc


def _node_key(node: Node) -> str:
    return repr(node)


def parse(text: str) -> Node:
    """Parse one expression (LaTeX or plain notation) into the tuple AST."""
    text = text.strip()
    if not text:
        raise ParseError("empty")
    return Parser(text).parse()


# ----------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------
Value = Any  # Fraction | mpmath mpc/mpf | tuple of rows (matrix)


def _approx(v: Value) -> Any:
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return CTX.mpf(v.numerator)
        return CTX.mpf(v.numerator) / v.denominator
    return v


def _check(v: Value) -> Value:
    if isinstance(v, Fraction):
        if v.numerator.bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
            raise TooBig("integer too large")
        return v
    if isinstance(v, tuple):
        return v
    try:
        mag = CTX.mag(v)
    except (TypeError, ValueError):
        return v
    if CTX.isnan(v):
        raise EvalError("not a number")
    if CTX.isinf(v):
        return v
    if v != 0 and abs(mag) > MAX_LOG2:
        raise TooBig("magnitude too large")
    return v


def _log2_abs(v: Value) -> float:
    if isinstance(v, Fraction):
        if v == 0:
            return -math.inf
        return v.numerator.bit_length() - v.denominator.bit_length()
    if v == 0:
        return -math.inf
    return float(CTX.mag(v))


def _random_function(name: str, args: list[Value]) -> Value:
    """An unknown function is a fixed pseudo-random function of its (rounded) arguments."""
    key = name + "|" + "|".join(CTX.nstr(_approx(a), 15) if not isinstance(a, tuple) else "m" for a in args)
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return Fraction(h % 1000003, 1000) + Fraction(1, 7)


class Evaluator:
    """Evaluate an AST at an assignment of its symbols (exact where possible)."""

    def __init__(self, env: dict[str, Value] | None = None) -> None:
        self.env = env or {}

    def ev(self, node: Node) -> Value:
        return _check(getattr(self, "_" + node[0])(node))

    def _num(self, node: Node) -> Value:
        return node[1]

    def _sym(self, node: Node) -> Value:
        if node[1] in self.env:
            return self.env[node[1]]
        raise EvalError(f"free symbol {node[1]}")

    def _word(self, node: Node) -> Value:
        raise EvalError(f"word {node[1]!r}")

    def _dots(self, node: Node) -> Value:
        raise EvalError("ellipsis")

    def _const(self, node: Node) -> Value:
        name = node[1]
        if name == "pi":
            return +CTX.pi
        if name == "e":
            return +CTX.e
        if name == "i":
            return CTX.mpc(0, 1)
        if name == "inf":
            return CTX.inf
        raise EvalError(name)

    def _neg(self, node: Node) -> Value:
        v = self.ev(node[1])
        if isinstance(v, tuple):
            return _mat_map(v, lambda x: -x)
        return -v

    def _add(self, node: Node) -> Value:
        vals = [self.ev(t) for t in node[1]]
        acc = vals[0]
        for v in vals[1:]:
            acc = _add(acc, v)
        return acc

    def _mul(self, node: Node) -> Value:
        vals = [self.ev(t) for t in node[1]]
        acc = vals[0]
        for v in vals[1:]:
            acc = _mult(acc, v)
            _check(acc)
        return acc

    def _div(self, node: Node) -> Value:
        a, b = self.ev(node[1]), self.ev(node[2])
        if isinstance(b, tuple):
            raise EvalError("division by a matrix")
        if b == 0:
            raise EvalError("division by zero")
        if isinstance(a, tuple):
            return _mat_map(a, lambda x: _div(x, b))
        return _div(a, b)

    def _pow(self, node: Node) -> Value:
        a, b = self.ev(node[1]), self.ev(node[2])
        if isinstance(a, tuple) or isinstance(b, tuple):
            raise EvalError("matrix power")
        return power(a, b)

    def _fact(self, node: Node) -> Value:
        v = self.ev(node[1])
        if isinstance(v, Fraction) and v.denominator == 1 and v >= 0:
            if v > MAX_FACT:
                raise TooBig("factorial too large")
            return Fraction(math.factorial(int(v)))
        raise EvalError("factorial of a non-integer")

    def _matrix(self, node: Node) -> Value:
        return tuple(tuple(self.ev(c) for c in row) for row in node[1])

    def _sum(self, node: Node) -> Value:
        return self._bigop(node, "sum")

    def _prod(self, node: Node) -> Value:
        return self._bigop(node, "prod")

    def _bigop(self, node: Node, kind: str) -> Value:
        _, var, lo, hi, body = node
        lo_v, hi_v = self.ev(lo), self.ev(hi)
        if not (isinstance(lo_v, Fraction) and isinstance(hi_v, Fraction) and lo_v.denominator == 1
                and hi_v.denominator == 1):
            raise EvalError("sum limits are not integers")
        if hi_v - lo_v > MAX_SUM_TERMS:
            raise TooBig("too many terms")
        acc: Value = Fraction(0 if kind == "sum" else 1)
        saved = self.env.get(var)
        for k in range(int(lo_v), int(hi_v) + 1):
            self.env[var] = Fraction(k)
            v = self.ev(body)
            acc = _add(acc, v) if kind == "sum" else _check(_mult(acc, v))
        if saved is None:
            self.env.pop(var, None)
        else:
            self.env[var] = saved
        return acc

    def _func(self, node: Node) -> Value:
        name = node[1]
        args = [self.ev(a) for a in node[2]]
        if any(isinstance(a, tuple) for a in args):
            raise EvalError("function of a matrix")
        return apply_function(name, args)


def _mat_map(m: tuple, fn: Any) -> tuple:
    return tuple(tuple(fn(x) for x in row) for row in m)


def _add(a: Value, b: Value) -> Value:
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)) or len(a) != len(b) or len(a[0]) != len(b[0]):
            raise EvalError("matrix shapes differ")
        return tuple(tuple(_add(x, y) for x, y in zip(ra, rb, strict=True)) for ra, rb in zip(a, b, strict=True))
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a + b
    return _approx(a) + _approx(b)


def _mult(a: Value, b: Value) -> Value:
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a[0]) != len(b):
            raise EvalError("matrix shapes differ")
        return tuple(
            tuple(_sum_vals([_mult(a[i][k], b[k][j]) for k in range(len(b))]) for j in range(len(b[0])))
            for i in range(len(a))
        )
    if isinstance(a, tuple):
        return _mat_map(a, lambda x: _mult(x, b))
    if isinstance(b, tuple):
        return _mat_map(b, lambda x: _mult(a, x))
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if a.numerator.bit_length() + b.numerator.bit_length() > MAX_BITS + 64:
            raise TooBig("product too large")
        return a * b
    return _approx(a) * _approx(b)


def _sum_vals(vals: list[Value]) -> Value:
    acc = vals[0]
    for v in vals[1:]:
        acc = _add(acc, v)
    return acc


def _div(a: Value, b: Value) -> Value:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return a / b
    return _approx(a) / _approx(b)


def power(a: Value, b: Value) -> Value:
    """a**b, sized before it is computed; exact for rational bases and integer exponents."""
    if isinstance(b, Fraction) and b.denominator == 1 and isinstance(a, Fraction):
        if a == 0 and b < 0:
            raise EvalError("division by zero")
        if a in (0, 1):
            return a
        if a == -1:
            return Fraction(1 if int(b) % 2 == 0 else -1)
        bits = abs(b) * max(a.numerator.bit_length(), a.denominator.bit_length())
        if bits > MAX_BITS:
            raise TooBig("power too large")
        return a ** int(b)
    if isinstance(b, Fraction) and isinstance(a, Fraction) and a > 0:
        # rational power of a rational: exact when it is a perfect power
        exact = _exact_root(a, b)
        if exact is not None:
            return exact
    la = _log2_abs(a)
    bb = _approx(b)
    if isinstance(b, Fraction) or CTX.im(bb) == 0:
        est = abs(float(CTX.re(bb))) * abs(la) if la not in (math.inf, -math.inf) else 0.0
        if est > MAX_LOG2:
            raise TooBig("power too large")
    elif abs(CTX.mag(bb)) > 64:
        raise TooBig("power too large")
    aa = _approx(a)
    if aa == 0:
        if CTX.re(bb) > 0:
            return Fraction(0)
        raise EvalError("zero to a non-positive power")
    if CTX.isinf(aa):
        raise EvalError("infinite base")
    return CTX.power(aa, bb)


def _exact_root(a: Fraction, b: Fraction) -> Fraction | None:
    q = b.denominator
    if q > 64:
        return None
    def iroot(n: int) -> int | None:
        if n.bit_length() > 4096:
            return None
        r = round(n ** (1.0 / q)) if n.bit_length() < 1000 else int(CTX.nint(CTX.root(n, q)))
        for c in (r - 1, r, r + 1):
            if c >= 0 and c**q == n:
                return c
        return None
    num, den = iroot(a.numerator), iroot(a.denominator)
    if num is None or den is None:
        return None
    return power(Fraction(num, den), Fraction(b.numerator))


def apply_function(name: str, args: list[Value]) -> Value:
    """Known elementary functions; unknown names are consistent pseudo-random functions."""
    if name == "sqrt":
        return power(args[0], Fraction(1, 2))
    if name == "abs":
        a = args[0]
        return abs(a) if isinstance(a, Fraction) else CTX.mpf(abs(a))
    if name in ("sign", "sgn"):
        a = _approx(args[0])
        return Fraction(int(CTX.sign(CTX.re(a))))
    if name in ("binom", "perm") and all(isinstance(a, Fraction) and a.denominator == 1 for a in args):
        n, k = int(args[0]), int(args[1])
        if n > MAX_FACT:
            raise TooBig("binomial too large")
        if name == "perm":
            return Fraction(math.perm(n, k) if 0 <= k <= n else 0)
        return Fraction(math.comb(n, k) if 0 <= k <= n else 0)
    if name == "exp":
        a = _approx(args[0])
        if abs(CTX.re(a)) > MAX_LOG2:
            raise TooBig("exp too large")
        return CTX.exp(a)
    if name == "log":
        a = _approx(args[0])
        if a == 0:
            raise EvalError("log of zero")
        if len(args) == 2:
            base = _approx(args[1])
            return CTX.log(a) / CTX.log(base)
        return CTX.log(a)
    if name in ("floor", "ceil"):
        a = args[0]
        if isinstance(a, Fraction):
            return Fraction(math.floor(a) if name == "floor" else math.ceil(a))
        return Fraction(int(CTX.floor(CTX.re(a)) if name == "floor" else CTX.ceil(CTX.re(a))))
    if name == "mod" and len(args) == 2 and all(isinstance(a, Fraction) and a.denominator == 1 for a in args):
        if args[1] == 0:
            raise EvalError("remainder modulo zero")
        return Fraction(int(args[0]) % int(args[1]))
    if name in ("max", "min") and all(isinstance(a, Fraction) for a in args):
        return max(args) if name == "max" else min(args)
    if name in ("gcd", "lcm") and all(isinstance(a, Fraction) and a.denominator == 1 for a in args):
        ints = [int(a) for a in args]
        return Fraction(math.gcd(*ints) if name == "gcd" else math.lcm(*ints))
    trig = {
        "sin": CTX.sin, "cos": CTX.cos, "tan": CTX.tan, "sec": CTX.sec, "csc": CTX.csc, "cot": CTX.cot,
        "arcsin": CTX.asin, "arccos": CTX.acos, "arctan": CTX.atan, "sinh": CTX.sinh, "cosh": CTX.cosh,
        "tanh": CTX.tanh, "arccot": CTX.acot,
    }
    if name in trig:
        a = _approx(args[0])
        if a != 0 and CTX.mag(a) > 64:
            raise TooBig("trig argument too large")
        if name in ("sin", "tan", "arcsin", "arctan", "sinh", "tanh") and a == 0:
            return Fraction(0)
        out = trig[name](a)
        # sin(pi), cos(pi/2): a zero computed to 40 digits is zero (so 1/sin(pi) is a division by zero)
        if name in ("sin", "cos", "tan", "cot") and abs(out) < CTX.mpf(10) ** -32:
            return Fraction(0)
        return out
    return _random_function(name, args)


def free_symbols(node: Node) -> set[str]:
    """Names of the symbols in an AST (summation variables excluded)."""
    out: set[str] = set()

    def walk(n: Node, bound: frozenset[str]) -> None:
        kind = n[0]
        if kind == "sym":
            if n[1] not in bound:
                out.add(n[1])
        elif kind in ("add", "mul"):
            for t in n[1]:
                walk(t, bound)
        elif kind in ("neg", "fact"):
            walk(n[1], bound)
        elif kind in ("div", "pow"):
            walk(n[1], bound)
            walk(n[2], bound)
        elif kind == "func":
            for t in n[2]:
                walk(t, bound)
        elif kind == "matrix":
            for row in n[1]:
                for c in row:
                    walk(c, bound)
        elif kind in ("sum", "prod"):
            walk(n[2], bound)
            walk(n[3], bound)
            walk(n[4], bound | {n[1]})

    walk(node, frozenset())
    return out


def has_kind(node: Node, kinds: set[str]) -> bool:
    """Whether any node of the given kinds occurs in the AST."""
    if node[0] in kinds:
        return True
    for child in node[1:]:
        if isinstance(child, tuple) and child and isinstance(child[0], str):
            if has_kind(child, kinds):
                return True
        elif isinstance(child, list):
            for c in child:
                if isinstance(c, list):
                    if any(has_kind(x, kinds) for x in c):
                        return True
                elif isinstance(c, tuple) and has_kind(c, kinds):
                    return True
    return False


def decimals_in(node: Node) -> list[int]:
    """Decimal places of every decimal literal in the AST (``1.414`` -> 3)."""
    out: list[int] = []

    def walk(n: Any) -> None:
        if isinstance(n, tuple) and n and n[0] == "num":
            if n[2] is not None:
                out.append(n[2])
            return
        if isinstance(n, tuple | list):
            for c in n:
                if isinstance(c, tuple | list):
                    walk(c)

    walk(node)
    return out
