"""One shared step keeps a model's reasoning apart from its answer, whichever adapter answered."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import write_mcq

from evalkit.adapters import Adapter, AdapterError, adapters, make_adapter
from evalkit.adapters.base import separate_reasoning, split_think
from evalkit.cache import default_cache_path
from evalkit.results import load_run
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.types import GenerationConfig, Message, Request, Response, Text

THINKER = r'''
import json, re, sys
for line in sys.stdin:
    req = json.loads(line)
    text = "".join(p.get("text", "") for m in req["messages"] for p in m["content"])
    n = int(re.search(r"Question (\d+)", text).group(1))
    right, other = "ABCD"[n % 4], "ABCD"[(n + 1) % 4]
    answer = f"<think>\nMaybe {other}? The answer is {other}. No: it is {right}.\n</think>\n\nThe answer is {right}."
    print(json.dumps({"id": req["id"], "text": answer}), flush=True)
'''


@pytest.mark.parametrize(
    ("text", "answer", "reasoning"),
    [
        ("<think>weigh A and C</think>\n\nThe answer is C.", "The answer is C.", "weigh A and C"),
        ("weigh A and C\n</think>\nThe answer is C.", "The answer is C.", "weigh A and C"),  # opening tag in the prompt
        ("<think>still weighing A and C, the answer might be", "", "still weighing A and C, the answer might be"),
        ("The answer is C.", "The answer is C.", None),
    ],
)
def test_split_think(text: str, answer: str, reasoning: str | None) -> None:
    assert split_think(text) == (answer, reasoning)


def test_reasoning_from_the_server_is_kept_and_a_block_in_the_text_joins_it() -> None:
    resp = separate_reasoning(Response(text="<think>B?</think>So C.", reasoning="First thoughts."))
    assert (resp.text, resp.reasoning) == ("So C.", "First thoughts.\n\nB?")
    failed = Response(error="boom")
    assert separate_reasoning(failed) is failed


def test_every_adapter_goes_through_the_step_and_accepts_its_option() -> None:
    for scheme in adapters.names():
        cls = adapters.get(scheme)
        assert "split_think" in cls.options_doc, scheme
        assert cls.respond is Adapter.respond and cls.finish is Adapter.finish, scheme


def test_a_command_model_is_graded_on_its_answer_not_its_reasoning(tmp_path: Path) -> None:
    program = tmp_path / "thinker.py"
    program.write_text(THINKER)
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 8)))
    out = run_sync(task, make_adapter(f"command:{sys.executable} {program}"),
                   RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
    assert out.summary["metrics"]["accuracy"] == 1.0
    first = next(r for r in load_run(out.path).results if r.id == "q00000")  # written as they finish
    assert first.response == "The answer is A." and first.reasoning.startswith("Maybe B?")


def test_replayed_outputs_with_a_think_block_are_graded_on_the_answer(tmp_path: Path) -> None:
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 4)))
    recorded = tmp_path / "outputs.jsonl"
    recorded.write_text("".join(json.dumps({"id": f"q{i:05d}", "output": f"<think>The answer is {'ABCD'[(i + 2) % 4]}?"
                                            f"</think>The answer is {'ABCD'[i % 4]}."}) + "\n" for i in range(4)))
    out = run_sync(task, make_adapter(f"replay:{recorded}"), RunConfig(output=tmp_path / "run", progress=False))
    assert out.summary["metrics"]["accuracy"] == 1.0
    kept = run_sync(task, make_adapter(f"replay:{recorded}", {"split_think": "false"}),
                    RunConfig(output=tmp_path / "kept", progress=False))
    assert load_run(kept.path).results[0].response.startswith("<think>")


def test_an_answer_cached_before_the_step_existed_is_split_when_served(tmp_path: Path) -> None:
    program = tmp_path / "thinker.py"
    program.write_text(THINKER)
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 2)))
    uri = f"command:{sys.executable} {program}"
    run_sync(task, make_adapter(uri), RunConfig(output=tmp_path / "first", progress=False))
    with sqlite3.connect(default_cache_path()) as db:  # store the answers as an older evalkit did: unsplit
        db.execute("UPDATE responses SET text = '<think>' || reasoning || '</think>' || text, reasoning = NULL")
    again = run_sync(task, make_adapter(uri), RunConfig(output=tmp_path / "again", progress=False))
    results = load_run(again.path).results
    assert all(r.cached for r in results)
    assert all(r.reasoning and r.response.startswith("The answer is") for r in results)
    assert again.summary["metrics"]["accuracy"] == 1.0


def test_the_hf_adapter_answers_through_the_same_step(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = adapters.get("hf")

    async def fake_generate(self: Adapter, request: Request) -> Response:
        return Response(text="<think>A or B</think>B")

    monkeypatch.setattr(cls, "generate", fake_generate)
    adapter = object.__new__(cls)
    adapter.split_think = True
    request = Request((Message("user", (Text("?"),)),), GenerationConfig())
    resp = asyncio.run(adapter.respond(request))
    assert (resp.text, resp.reasoning) == ("B", "A or B")


def test_a_bad_option_value_is_one_sentence() -> None:
    with pytest.raises(AdapterError, match="split_think"):
        make_adapter("reference", {"split_think": "sometimes"})
