"""Built-in scorers (first cut: exact match and single-choice letters)."""

from __future__ import annotations

import re
from typing import Any

from evalkit.types import Sample, Score

_LETTER = re.compile(r"(?:故选|答案是|答案为|answer is)\s*[:：]?\s*\(?([A-Z])\)?|\\boxed\{([A-Z])\}")


def _points(sample: Sample) -> float:
    return float(sample.metadata.get("points", 1) or 1)


def exact(sample: Sample, output: str, **_: Any) -> Score:
    gold = str(sample.target).strip()
    pred = output.strip()
    mx = _points(sample)
    ok = pred == gold
    return Score(1.0 if ok else 0.0, "correct" if ok else "wrong", mx if ok else 0.0, mx, stage="string",
                 extracted=pred, normalized=pred)


def choice(sample: Sample, output: str, **_: Any) -> Score:
    mx = _points(sample)
    found = [a or b for a, b in _LETTER.findall(output)]
    if not found:
        return Score(0.0, "unparsed", 0.0, mx, stage="letter", reason="no option letter found")
    pred = found[-1]
    gold = str(sample.target).strip().upper()
    ok = pred == gold
    return Score(1.0 if ok else 0.0, "correct" if ok else "wrong", mx if ok else 0.0, mx, stage="letter",
                 extracted=pred, normalized=pred)
