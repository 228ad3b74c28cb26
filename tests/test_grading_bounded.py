"""Hard time and memory bounds: size pre-checks, the killable sympy worker, odd inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.grading import GraderSpec, bounded, grade
from evalkit.grading.equivalence import math_equal
from evalkit.grading.mathexpr import Evaluator, TooBig, parse
from evalkit.types import Sample


@pytest.fixture(autouse=True, scope="module")
def _stop_worker():
    yield
    bounded.shutdown()


@pytest.mark.parametrize(
    "text",
    [
        "9^{9^{9^{9}}}",
        "3^3^3^3^3",
        "\\frac{7^{7^{7^{7}}}+1}{2}",
        "e^{e^{e^{e^{10}}}}",
        "100000!",
        "2^{10^{8}}",
        "\\sin\\left(10^{10^{10}}\\right)",
        "1e999999",
    ],
)
def test_towers_and_huge_numbers_finish_fast_as_wrong(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast means decided by the size checks, before anything is computed: the sympy worker is never asked."""
    def asked(*args: object) -> bounded.SymResult:
        raise AssertionError("the symbolic worker was asked to compare a value beyond the size bounds")

    monkeypatch.setattr(bounded.SympyWorker, "compare", asked)
    for gold, pred in (("5", text), (text, "5")):
        s = grade(Sample("p", "", gold), pred, GraderSpec("math_answer"))
        assert s.status in ("wrong", "unparsed") and s.reason
        assert s.stage in ("bounds", "string"), s


def test_evaluator_refuses_before_computing() -> None:
    with pytest.raises(TooBig):
        Evaluator().ev(parse("5^{5^{5^{5}}}"))


def test_precheck_rejects_towers_and_huge_literals() -> None:
    assert "tower" in bounded.precheck(parse("x^{2^{3^{4}}}"))
    assert "large" in bounded.precheck(parse("1" * 2000 + "x"))
    assert bounded.precheck(parse("x^2+1")) is None
    res = bounded.symbolic_equal(parse("x^{2^{3^{4}}}"), parse("x"))
    assert res.status == "rejected"


def test_worker_is_killed_on_timeout_and_restarted() -> None:
    bounded.warm_up()
    assert bounded._WORKER is not None
    sleeper = bounded._WORKER._proc
    assert sleeper is not None
    res = bounded.probe("sleep", 30, timeout=0.5)
    assert res.status == "timeout" and "0.5s" in res.reason
    assert sleeper.poll() is not None  # killed, not left sleeping out its 30 s
    # the next comparison gets a fresh worker
    ok = bounded.symbolic_equal(parse("\\sum_{k=1}^{n} k"), parse("\\sum_{k=1}^{n} k"), timeout=20)
    assert ok.status == "ok" and ok.equal


def test_worker_memory_bound() -> None:
    res = bounded.probe("alloc", 8 * 1024**3, timeout=20)
    assert res.status == "error" and "memory" in res.reason
    assert bounded.probe("sleep", 0, timeout=20).status == "ok"


def test_slow_symbolic_comparison_is_a_timeout_verdict() -> None:
    v = math_equal("\\sum_{k=1}^{n} k^{40} (k+1)^{40}", "\\sum_{k=1}^{n} (k^2+k)^{40} + 1", timeout=0.2)
    assert not v.equal and v.reason


PATHOLOGICAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mathgrade" / "pathological.jsonl"


@pytest.mark.skipif(not PATHOLOGICAL.exists(), reason="shared pathological inputs not present")
def test_reported_pathological_inputs_finish_within_the_bound() -> None:
    # inputs reported to hang or exhaust memory in other graders (no verdicts are read from the file)
    for line in PATHOLOGICAL.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["input"]
        for gold, pred in (("0", text), (text, "0")):
            s = grade(Sample("p", "", gold), pred, GraderSpec("math_answer", {"timeout": 2.0}))
            assert s.status in ("wrong", "unparsed") and s.reason
