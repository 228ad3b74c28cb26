"""GAOKAO-Bench's own objective scoring, end to end, kept to reproduce its published numbers.

:func:`bench_score` reads an answer the way GAOKAO-Bench's scripts do for the item's question type
(``metadata["bench_type"]``: ``single_choice``, ``multi_choice``, ``multi_question_choice``,
``five_out_of_seven``; see :func:`evalkit.grading.letters.gaokao_bench_letters`) and scores it by the
benchmark's rule: one entry per scored answer, each compared as a string with the key and earning its
points when equal; a reading of the wrong length scores every entry zero; a ``multi_choice`` (physics)
answer earns full points when equal to the key, half when every letter it gives is in the key, else
nothing. The ``gaokao`` scorer uses it with ``extract: gaokao-bench``.

evalkit's own reading of the same items (``extract: default``) is a teacher's: see :mod:`evalkit.grading.letters`.
"""

from __future__ import annotations

from typing import Any

from evalkit.grading.letters import BENCH_QUESTION_TYPES, gaokao_bench_letters
from evalkit.types import Sample, Score

__all__ = ["bench_keys", "bench_score", "bench_type_of"]


def bench_type_of(sample: Sample) -> str:
    """The item's GAOKAO-Bench question type: declared by the loader, else from the item's shape."""
    declared = sample.metadata.get("bench_type")
    if declared:
        return str(declared)
    kind = sample.metadata.get("type")
    if kind == "group":
        return "multi_question_choice"
    return "multi_choice" if kind == "multi" else "single_choice"


def bench_keys(sample: Sample) -> list[str]:
    """The key as GAOKAO-Bench stores it: one string per scored answer (``["AC"]`` for a multi-select)."""
    target: Any = sample.target
    if sample.metadata.get("type") == "group":
        return [str(t).strip().upper() for t in target]
    if isinstance(target, list | tuple):
        return ["".join(str(t).strip().upper() for t in target)]
    return [str(target).strip().upper()]


def bench_score(sample: Sample, output: str) -> Score:
    """The points GAOKAO-Bench's own rule gives ``output`` on this item."""
    qtype = bench_type_of(sample)
    mx = sample.max_points
    if qtype not in BENCH_QUESTION_TYPES:
        return Score.error(f"sample {sample.id!r}: bench_type {qtype!r}; allowed: {', '.join(BENCH_QUESTION_TYPES)}",
                           mx)
    keys = bench_keys(sample)
    read = gaokao_bench_letters(output or "", qtype, len(keys))
    got = read if len(read) == len(keys) else ["Z"] * len(keys)  # the benchmark: a wrong count is all wrong
    per = [mx / len(keys)] * len(keys)
    points = 0.0
    for key, answer, p in zip(keys, got, per, strict=True):
        if answer == key:
            points += p
        elif qtype == "multi_choice" and all(ch in key for ch in answer):
            points += p / 2
    why = "as GAOKAO-Bench reads it" if read else "GAOKAO-Bench's rule reads no letter"
    return Score.from_points(points, mx, stage="gaokao-bench", extracted=read if len(read) != 1 else read[0],
                             normalized=read, reason=f"{why}: {' '.join(read) or '-'}; key {' '.join(keys)}",
                             details={"bench_type": qtype})
