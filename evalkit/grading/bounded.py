"""Symbolic comparison with hard bounds: a killable sympy worker per grading process.

This module owns every use of sympy in grading. A comparison is sent (as the small tuple
AST of :mod:`evalkit.grading.mathexpr`, never as text for ``eval``) to one persistent
child process (``python -m evalkit.grading.bounded``, framed pickles over its stdin/stdout,
so it works from any script, with or without a ``__main__`` guard). The child runs with ``RLIMIT_AS`` (memory) and ``RLIMIT_CPU`` set; the parent
waits at most ``timeout`` seconds for the answer and kills the child when it is late, then
starts a fresh one for the next comparison. Before anything reaches sympy, the AST is
checked for exponent towers, huge integer literals and oversized trees.

sympy is imported only inside the child.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
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
            "floor": sp.floor, "ceil": sp.ceiling, "binom": sp.binomial, "arccot": sp.acot, "mod": sp.Mod,
        }
        if name == "log":
            return sp.log(args[0], args[1]) if len(args) == 2 else sp.log(args[0])
        if name in table:
            return table[name](*args)
        return sp.Function(name)(*args)
    raise ValueError(f"cannot convert {kind}")


def _send(fd: Any, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fd.write(struct.pack(">I", len(data)) + data)
    fd.flush()


def _recv_blocking(fd: Any) -> Any:
    head = fd.read(4)
    if len(head) < 4:
        raise EOFError
    (n,) = struct.unpack(">I", head)
    return pickle.loads(fd.read(n))


def _compare_in_child(msg: tuple, sp: Any) -> tuple[str, bool, str]:  # pragma: no cover - runs in the child
    if msg[0] == "__probe__":  # used by tests: ("__probe__", "sleep"|"alloc", amount)
        try:
            if msg[1] == "sleep":
                time.sleep(float(msg[2]))
            else:
                _block = bytearray(int(msg[2]))  # noqa: F841 - allocation is the point
            return ("ok", True, "")
        except MemoryError:
            return ("error", False, "memory bound reached")
    g, p = msg[0], msg[1]
    try:
        a, b = to_sympy(g, sp), to_sympy(p, sp)
        if any(getattr(x, "has", lambda *_: False)(sp.zoo, sp.nan) for x in (a, b)):
            return ("error", False, "an expression is undefined (division by zero)")
        if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
            eq = isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase) and a.shape == b.shape \
                and all(sp.simplify(x - y) == 0 for x, y in zip(a, b, strict=True))
        else:
            diff = a - b
            eq = diff == 0 or sp.simplify(diff) == 0 or bool(a.equals(b))
        return ("ok", bool(eq), "")
    except MemoryError:
        return ("error", False, "memory bound reached")
    except Exception as exc:  # noqa: BLE001 - the worker reports any sympy failure as a reason
        return ("error", False, f"sympy: {type(exc).__name__}")


def serve(memory: int) -> None:  # pragma: no cover - runs in the child
    """The child's loop: length-prefixed pickles in on stdin, verdicts out on stdout."""
    from evalkit.procs import die_with_parent

    die_with_parent(os.getppid())  # a busy comparison never outlives the grader that asked for it
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    except (ImportError, ValueError, OSError):
        pass
    import sympy as sp

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    _send(out, ("ready", True, ""))
    while True:
        try:
            msg = _recv_blocking(inp)
        except (EOFError, OSError):
            return
        if msg is None:
            return
        _send(out, _compare_in_child(msg, sp))


class SympyWorker:
    """One persistent child process; killed on timeout and restarted on the next call."""

    def __init__(self, memory: int = MEMORY_LIMIT) -> None:
        self.memory = memory
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "evalkit.grading.bounded", str(self.memory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        ready = self._read(_STARTUP_GRACE)
        if ready is None:
            self.kill()
            raise OSError("symbolic worker did not start")

    def _read(self, timeout: float) -> Any:
        """One framed reply, or ``None`` when it does not arrive within ``timeout`` seconds."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = b""
        need = 4
        length: int | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, max(need - len(buf), 1))
            if not chunk:
                raise EOFError
            buf += chunk
            if length is None and len(buf) >= 4:
                (length,) = struct.unpack(">I", buf[:4])
                buf = buf[4:]
                need = length
            if length is not None and len(buf) >= length:
                return pickle.loads(buf[:length])

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def compare(self, g: Any, p: Any, timeout: float, extra: Any = None) -> SymResult:
        with self._lock:
            if self._pid != os.getpid():  # forked: the child belongs to the parent process
                self._proc = None
                self._pid = os.getpid()
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self.kill()
                    self._start()
                assert self._proc is not None and self._proc.stdin is not None
                _send(self._proc.stdin, (g, p) if extra is None else (g, p, extra))
                reply = self._read(timeout)
                if reply is not None:
                    status, equal, reason = reply
                    return SymResult(status, equal, reason)
            except (EOFError, OSError, BrokenPipeError, pickle.UnpicklingError):
                self.kill()
                return SymResult("error", False, "symbolic worker died (memory bound)")
            self.kill()
            return SymResult("timeout", False, f"symbolic comparison stopped after {timeout:g}s")


_WORKER: SympyWorker | None = None
_STARTUP_GRACE = 30.0


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
    return _WORKER.compare("__probe__", kind, timeout, amount)


def warm_up() -> None:
    """Start the worker now (its start-up, about half a second, is then not paid by a comparison)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = SympyWorker()
    with _WORKER._lock:
        if _WORKER._proc is None:
            _WORKER._start()


def shutdown() -> None:
    """Stop the worker (tests and benchmarks call this at the end)."""
    global _WORKER
    if _WORKER is not None:
        _WORKER.kill()
        _WORKER = None


if __name__ == "__main__":  # pragma: no cover - the worker process
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else MEMORY_LIMIT)
