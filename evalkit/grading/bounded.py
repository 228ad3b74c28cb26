"""Symbolic comparison with hard bounds: a killable sympy worker per grading process.

This module owns every use of sympy in grading. A comparison is sent (as the small tuple
AST of :mod:`evalkit.grading.mathexpr`, never as text for ``eval``) to one persistent
child process. The child runs with ``RLIMIT_AS`` (memory) and ``RLIMIT_CPU`` set; the parent
waits at most ``timeout`` seconds for the answer and kills the child when it is late, then
starts a fresh one for the next comparison. Before anything reaches sympy, the AST is
checked for exponent towers, huge integer literals and oversized trees.

sympy is imported only inside the child.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from evalkit.grading.mathexpr import Node

MEMORY_LIMIT = 1536 * 1024 * 1024  # bytes of address space for the worker
MAX_NODES = 400
MAX_LITERAL_BITS = 4096


@dataclass(frozen=True)
class SymResult:
    """``status`` is ``ok`` (``equal`` holds the answer), ``timeout``, ``rejected`` or ``error``."""

    status: str
    equal: bool = False
    reason: str = ""


# ----------------------------------------------------------------------------------------
# pre-checks (parent side, cheap)
# ----------------------------------------------------------------------------------------
def precheck(node: Node) -> str | None:
    """A reason to refuse the AST before sympy sees it, or ``None`` when it looks safe."""
    count = 0

    def walk(n: Any, pow_depth: int) -> str | None:
        nonlocal count
        if not (isinstance(n, tuple) and n and isinstance(n[0], str)):
            return None
        count += 1
        if count > MAX_NODES:
            return "expression too large for symbolic comparison"
        kind = n[0]
        if kind == "num":
            v: Fraction = n[1]
            if v.numerator.bit_length() > MAX_LITERAL_BITS or v.denominator.bit_length() > MAX_LITERAL_BITS:
                return "integer literal too large"
            return None
        if kind == "pow":
            if pow_depth >= 2 and _numeric_tree(n[2]):
                return "exponent tower rejected before evaluation"
            r = walk(n[1], pow_depth)
            return r or walk(n[2], pow_depth + 1)
        if kind == "fact" and n[1][0] == "num" and n[1][1] > 2000:
            return "factorial too large"
        for child in n[1:]:
            if isinstance(child, list):
                for c in child:
                    items = c if isinstance(c, list) else [c]
                    for x in items:
                        r = walk(x, pow_depth)
                        if r:
                            return r
            else:
                r = walk(child, pow_depth)
                if r:
                    return r
        return None

    return walk(node, 0)


def _numeric_tree(n: Node) -> bool:
    from evalkit.grading.mathexpr import free_symbols

    return not free_symbols(n)


# ----------------------------------------------------------------------------------------
# the worker (child side)
# ----------------------------------------------------------------------------------------
def to_sympy(node: Node, sp: Any) -> Any:
    """Build a sympy expression from the tuple AST (child side only)."""
    kind = node[0]
    if kind == "num":
        return sp.Rational(node[1].numerator, node[1].denominator)
    if kind == "sym":
        return sp.Symbol(node[1], positive=True)
    if kind == "const":
        return {"pi": sp.pi, "e": sp.E, "i": sp.I, "inf": sp.oo}[node[1]]
    if kind == "add":
        return sp.Add(*[to_sympy(t, sp) for t in node[1]])
    if kind == "mul":
        return sp.Mul(*[to_sympy(t, sp) for t in node[1]])
    if kind == "neg":
        return -to_sympy(node[1], sp)
    if kind == "div":
        return to_sympy(node[1], sp) / to_sympy(node[2], sp)
    if kind == "pow":
        return sp.Pow(to_sympy(node[1], sp), to_sympy(node[2], sp))
    if kind == "fact":
        return sp.factorial(to_sympy(node[1], sp))
    if kind == "matrix":
        return sp.Matrix([[to_sympy(c, sp) for c in row] for row in node[1]])
    if kind in ("sum", "prod"):
        var = sp.Symbol(node[1], integer=True)
        body = to_sympy(node[4], sp).subs(sp.Symbol(node[1], positive=True), var)
        op = sp.Sum if kind == "sum" else sp.Product
        return op(body, (var, to_sympy(node[2], sp), to_sympy(node[3], sp)))
    if kind == "func":
        args = [to_sympy(a, sp) for a in node[2]]
        name = node[1]
        table = {
            "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "sec": sp.sec, "csc": sp.csc, "cot": sp.cot,
            "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
            "tanh": sp.tanh, "exp": sp.exp, "sqrt": sp.sqrt, "abs": sp.Abs, "sign": sp.sign, "sgn": sp.sign,
            "floor": sp.floor, "ceil": sp.ceiling, "binom": sp.binomial, "arccot": sp.acot,
        }
        if name == "log":
            return sp.log(args[0], args[1]) if len(args) == 2 else sp.log(args[0])
        if name in table:
            return table[name](*args)
        return sp.Function(name)(*args)
    raise ValueError(f"cannot convert {kind}")


def _child_main(conn: Any, memory: int) -> None:  # pragma: no cover - runs in the child
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass
    import sympy as sp

    conn.send(("ready", True, ""))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        if msg[0] == "__probe__":  # used by tests: ("__probe__", "sleep"|"alloc", amount)
            try:
                if msg[1] == "sleep":
                    import time

                    time.sleep(float(msg[2]))
                else:
                    _block = bytearray(int(msg[2]))  # noqa: F841 - allocation is the point
                conn.send(("ok", True, ""))
            except MemoryError:
                conn.send(("error", False, "memory bound reached"))
            continue
        g, p = msg
        try:
            a, b = to_sympy(g, sp), to_sympy(p, sp)
            if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
                eq = isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase) and a.shape == b.shape \
                    and all(sp.simplify(x - y) == 0 for x, y in zip(a, b, strict=True))
            else:
                diff = a - b
                eq = diff == 0 or sp.simplify(diff) == 0 or bool(a.equals(b))
            conn.send(("ok", bool(eq), ""))
        except MemoryError:
            conn.send(("error", False, "memory bound reached"))
        except Exception as exc:  # noqa: BLE001 - the worker reports any sympy failure as a reason
            conn.send(("error", False, f"sympy: {type(exc).__name__}"))


class SympyWorker:
    """One persistent child process; killed on timeout and restarted on the next call."""

    def __init__(self, memory: int = MEMORY_LIMIT) -> None:
        self.memory = memory
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child_main, args=(child, self.memory), daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        if not parent.poll(_STARTUP_GRACE):
            self.kill()
            raise OSError("symbolic worker did not start")
        parent.recv()

    def kill(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def compare(self, g: Any, p: Any, timeout: float, extra: Any = None) -> SymResult:
        with self._lock:
            if self._pid != os.getpid():  # forked: the child belongs to the parent process
                self._proc = self._conn = None
                self._pid = os.getpid()
            try:
                if self._proc is None or not self._proc.is_alive():
                    self.kill()
                    self._start()
                self._conn.send((g, p) if extra is None else (g, p, extra))
                if self._conn.poll(timeout):
                    status, equal, reason = self._conn.recv()
                    return SymResult(status, equal, reason)
            except (EOFError, OSError, BrokenPipeError):
                self.kill()
                return SymResult("error", False, "symbolic worker died (memory bound)")
            self.kill()
            return SymResult("timeout", False, f"symbolic comparison stopped after {timeout:g}s")


_WORKER: SympyWorker | None = None
_STARTUP_GRACE = 20.0


def symbolic_equal(g: Node, p: Node, timeout: float = 3.0) -> SymResult:
    """Compare two ASTs with sympy in the bounded worker (pre-checked first)."""
    global _WORKER
    for node in (g, p):
        reason = precheck(node)
        if reason:
            return SymResult("rejected", False, reason)
    if _WORKER is None:
        _WORKER = SympyWorker()
    return _WORKER.compare(g, p, timeout)


def probe(kind: str, amount: float, timeout: float = 3.0) -> SymResult:
    """Ask the worker to sleep or allocate (for tests of the time and memory bounds)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = SympyWorker()
    return _WORKER.compare("__probe__", kind, timeout, amount)  # type: ignore[arg-type]


def shutdown() -> None:
    """Stop the worker (tests and benchmarks call this at the end)."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.kill()
        _WORKER = None
