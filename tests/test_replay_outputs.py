"""Recorded outputs are outside text: a null, an object or two different outputs for one sample are never graded.

QA replayed a JSONL whose outputs were ``null`` (a failed call recorded as null), an OpenAI message object and
the same id twice: the null was graded as the answer "None" (wrong), the object as its Python repr (unparsed),
and the later duplicate silently won.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.adapters import make_adapter
from evalkit.adapters.base import AdapterError
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task


def _write(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_a_null_output_is_an_unanswered_sample_not_the_answer_none(tmp_path: Path) -> None:
    task_file = _write(tmp_path / "t.jsonl", {"id": "q1", "input": "2+2?", "target": "4"},
                       {"id": "q2", "input": "3+3?", "target": "6"})
    outputs = _write(tmp_path / "o.jsonl", {"id": "q1", "output": None}, {"id": "q2", "output": 6})
    out = run_sync(get_task(str(task_file)), make_adapter(f"replay:{outputs}"),
                   RunConfig(output=tmp_path / "run", progress=False))
    assert out.summary["counts"]["error"] == 1 and out.summary["counts"]["wrong"] == 0
    assert out.summary["counts"]["correct"] == 1  # a number recorded as a JSON number is its text


@pytest.mark.parametrize(("records", "message"), [
    ([{"id": "q1", "output": {"role": "assistant", "content": "4"}}], r"line 1: 'output' of 'q1' is dict, not text"),
    ([{"id": "q1", "output": ["4"]}], r"line 1: 'output' of 'q1' is list, not text"),
    ([{"id": "q1", "output": "4"}, {"id": "q1", "output": "5"}],
     r"line 2 records 'q1' again with another output \(first on line 1\)"),
])
def test_an_output_that_is_not_one_text_per_sample_is_refused(tmp_path: Path, records: list[dict], message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        make_adapter(f"replay:{_write(tmp_path / 'o.jsonl', *records)}")


def test_the_same_output_recorded_twice_is_fine(tmp_path: Path) -> None:
    adapter = make_adapter(f"replay:{_write(tmp_path / 'o.jsonl', {'id': 'q1', 'output': '4'}, {'id': 'q1', 'output': '4'})}")
    assert adapter.outputs == {"q1": "4"}
