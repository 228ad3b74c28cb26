"""The command adapter with real subprocesses: the JSON-lines protocol, crashes, restarts, images."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import write_mcq

from evalkit.adapters import AdapterError, make_adapter
from evalkit.results import load_run
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.types import GenerationConfig, Image, Message, Request, Response, Text

PROGRAM = r'''
import json, re, sys
logs = [a[len("--log="):] for a in sys.argv if a.startswith("--log=")]
log = open(logs[0], "a") if logs else None
held = []
for line in sys.stdin:
    req = json.loads(line)
    if log:
        log.write(line); log.flush()
    text = "".join(p.get("text", "") for m in req["messages"] for p in m["content"])
    if "CRASH" in text or "always-crash" in sys.argv:
        print("boom: cannot handle this one", file=sys.stderr, flush=True)
        sys.exit(3)
    m = re.search(r"Question (\d+)", text)
    answer = {"id": req["id"], "text": f"The answer is {'ABCD'[int(m.group(1)) % 4]}." if m else "ok",
              "usage": {"prompt_tokens": len(text.split()), "completion_tokens": 4}}
    if "FAIL" in text:
        answer = {"id": req["id"], "error": "model refused", "retryable": False}
    print("debug noise on stdout")
    if "reverse-pairs" in sys.argv:
        held.append(answer)
        if len(held) < 2:
            continue
        for a in reversed(held):
            print(json.dumps(a), flush=True)
        held = []
    else:
        print(json.dumps(answer), flush=True)
'''


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(PROGRAM)
    return path


def cmd(program: Path, *args: str) -> str:
    return " ".join([sys.executable, str(program), *args])


def ask_all(adapter: Any, texts: list[str], images: tuple[Image, ...] = ()) -> list[Response]:
    async def go() -> list[Response]:
        try:
            return await asyncio.gather(*(adapter.generate(Request(
                (Message("user", (Text(t), *images)),), GenerationConfig(max_tokens=5))) for t in texts))
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def test_a_whole_run_through_a_program_scores_and_sends_the_protocol(tmp_path: Path, program: Path) -> None:
    log = tmp_path / "requests.jsonl"
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 12)))
    adapter = make_adapter(f"command:{cmd(program, '--log=' + str(log))}", {"max_in_flight": "4"})
    out = run_sync(task, adapter, RunConfig(output=tmp_path / "run", progress=False, use_cache=False))
    assert out.summary["metrics"]["accuracy"] == 1.0
    first = json.loads(log.read_text().splitlines()[0])
    assert set(first) == {"id", "sample_id", "messages", "config"}
    assert first["messages"][-1]["role"] == "user"
    assert first["messages"][-1]["content"][0]["type"] == "text"
    assert adapter.starts == 1
    assert load_run(out.path).results[0].usage.completion_tokens == 4


def test_a_crash_is_an_error_on_the_sample_in_flight_and_the_program_restarts(tmp_path: Path,
                                                                               program: Path) -> None:
    path = tmp_path / "mcq.jsonl"
    write_mcq(path, 10)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[4]["input"] += " CRASH"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    adapter = make_adapter(f"command:{cmd(program)}")
    out = run_sync(get_task(str(path)), adapter, RunConfig(output=tmp_path / "run", progress=False,
                                                           use_cache=False, concurrency=4))
    results = {r.id: r for r in load_run(out.path).results}
    errors = {i: r.error for i, r in results.items() if r.score.status == "error"}
    assert list(errors) == ["q00004"]
    assert "exited with code 3" in errors["q00004"] and "boom" in errors["q00004"]
    assert all(r.score.status == "correct" for i, r in results.items() if i != "q00004")
    assert adapter.starts == 2


def test_restarts_are_bounded(program: Path) -> None:
    adapter = make_adapter(f"command:{cmd(program, 'always-crash')}", {"max_restarts": "2"})
    got = ask_all(adapter, [f"q{i}" for i in range(6)])
    assert all(not r.ok and not r.retryable for r in got)
    assert sum("exited with code 3 while answering" in (r.error or "") for r in got) == 3
    assert sum("not starting it again" in (r.error or "") for r in got) == 3
    assert adapter.starts == 3


def test_answers_are_matched_by_id_and_program_errors_are_kept(program: Path) -> None:
    adapter = make_adapter(f"command:{cmd(program, 'reverse-pairs')}", {"max_in_flight": "2"})
    got = ask_all(adapter, ["Question 1", "Question 2", "FAIL please", "Question 3"])
    assert [r.text for r in got] == ["The answer is B.", "The answer is C.", "", "The answer is D."]
    assert got[2].error == "model refused" and not got[2].retryable


def test_images_go_as_paths_or_data_urls(tmp_path: Path, program: Path) -> None:
    from PIL import Image as PILImage

    png = tmp_path / "dot.png"
    PILImage.new("RGB", (8, 8), "blue").save(png)
    for mode in ("path", "data_url"):
        log = tmp_path / f"{mode}.jsonl"
        adapter = make_adapter(f"command:{cmd(program, '--log=' + str(log))}", {"images": mode})
        assert ask_all(adapter, ["look"], images=(Image(png),))[0].text == "ok"
        part = json.loads(log.read_text())["messages"][0]["content"][1]
        assert part["path"] == str(png) and len(part["sha256"]) == 64
        assert ("data_url" in part) == (mode == "data_url")
        if mode == "data_url":
            assert part["data_url"].startswith("data:image/png;base64,")


def test_user_mistakes_name_the_program() -> None:
    with pytest.raises(AdapterError, match="no-such-model-program"):
        make_adapter("command:no-such-model-program --fast")
    with pytest.raises(AdapterError, match="name the program"):
        make_adapter("command:")
    with pytest.raises(AdapterError, match="images=inline"):
        make_adapter(f"command:{sys.executable}", {"images": "inline"})
