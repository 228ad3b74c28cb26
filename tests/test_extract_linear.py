"""Issue 10 item 14: final-answer extraction does work linear in the response's length.

A response of 70 KB of repeated "The answer is " used to cost 25 s (each cue re-read the whole rest of
the text); these tests count the work done (characters handed to the per-cue reader, characters read by
the brace matcher) instead of timing it. ``benchmarks/extraction_speed.py`` measures the time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from evalkit.grading import extract
from evalkit.grading.extract import boxed_all, extract_final_answer


def _count_cue_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch the per-cue reader so that every character it is handed is counted."""
    read: list[int] = []
    original: Callable[[str], Any] = extract._from_cue_text

    def counting(seg: str) -> Any:
        read.append(len(seg))
        return original(seg)

    monkeypatch.setattr(extract, "_from_cue_text", counting)
    return read


@pytest.mark.parametrize("unit", ["The answer is ", "the answer is not ", "答案是", "Final answer: ", "【答案】"])
def test_repeated_cues_are_read_in_linear_work(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    read = _count_cue_reads(monkeypatch)
    for size in (5_000, 20_000):
        read.clear()
        text = unit * (size // len(unit))
        extract_final_answer(text)
        # every cue's sentence is read at most a few times over, never the whole rest per cue
        assert sum(read) <= 4 * len(text), f"{sum(read)} characters read for a {len(text)}-character answer"


def test_the_last_stated_answer_still_wins_among_many_cues() -> None:
    text = "The answer is 3. " * 2_000 + "Checking again, the answer is 7."
    assert extract_final_answer(text) == "7"
    assert extract_final_answer("The answer is 4, the answer is 4, the answer is 4 and the answer is 9") == "9"


class _CountingStr(str):
    """A string that counts the characters read through indexing and slicing."""

    reads = 0

    def __getitem__(self, key: Any) -> str:
        out = super().__getitem__(key)
        _CountingStr.reads += len(out)
        return out


@pytest.mark.parametrize("build", [
    lambda n: "\\boxed{" * n,                       # boxes that never close
    lambda n: "\\boxed{" * n + "1" + "}" * n,       # boxes nested n deep
    lambda n: "\\boxed{1} " * n,                    # many boxes side by side
])
def test_boxes_are_matched_in_linear_work(build: Callable[[int], str]) -> None:
    for n in (1_000, 4_000):
        text = _CountingStr(build(n))
        _CountingStr.reads = 0
        boxes = boxed_all(text)
        assert _CountingStr.reads <= 10 * len(text), f"{_CountingStr.reads} reads for {len(text)} characters"
        assert len(boxes) in (0, 1, n)


def test_boxes_keep_their_meaning() -> None:
    assert boxed_all("\\boxed{a+\\boxed{b}} then \\boxed{c}") == [(0, 19, "a+\\boxed{b}"), (25, 34, "c")]
    assert boxed_all("\\boxed{\\{1\\}} and \\boxed{x") == [(0, 13, "\\{1\\}")]
