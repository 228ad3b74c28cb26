"""The openai adapter against a real local HTTP server: wire format, images, reasoning, limits, faults."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import write_mcq

from evalkit.adapters import AdapterError, make_adapter
from evalkit.adapters.limiter import AdaptiveLimiter
from evalkit.results import load_run
from evalkit.runner import RunConfig, run_sync
from evalkit.tasks import get_task
from evalkit.testing import Fault, ModelServer
from evalkit.types import GenerationConfig, Image, Message, Request, Response, Text


def ask(adapter: Any, text: str = "What is 1+1?", config: GenerationConfig | None = None,
        images: tuple[Image, ...] = ()) -> Response:
    async def go() -> Response:
        try:
            request = Request((Message("user", (Text(text), *images)),), config or GenerationConfig())
            return await adapter.respond(request)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def right_letter(body: dict[str, Any]) -> str:
    """Answers sample i of ``write_mcq`` correctly (its target is ABCD[i % 4])."""
    text = str(body["messages"][-1]["content"])
    i = int(re.search(r"Question (\d+)", text).group(1))  # type: ignore[union-attr]
    return f"The answer is {'ABCD'[i % 4]}."


def test_chat_body_sampling_fields_key_and_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret-123")
    with ModelServer("Two.") as srv:
        adapter = make_adapter("openai:tiny-model", {
            "base_url": srv.url, "api_key_env": "MY_KEY", "extra_body": '{"top_k": 20}'})
        config = GenerationConfig(max_tokens=64, temperature=0.0, top_p=0.9, seed=7, stop=("\n\n",),
                                  extra={"repetition_penalty": 1.1})
        resp = ask(adapter, config=config)
        assert resp.ok and resp.text == "Two."
        assert resp.usage.prompt_tokens == 3 and resp.usage.completion_tokens == 1
        body = srv.bodies[0]
        assert body["model"] == "tiny-model"
        assert body["messages"] == [{"role": "user", "content": "What is 1+1?"}]
        assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"]) == (64, 0.0, 0.9, 7)
        assert body["stop"] == ["\n\n"] and body["top_k"] == 20 and body["repetition_penalty"] == 1.1
        assert srv.headers[0]["authorization"] == "Bearer sk-secret-123"
        assert "sk-secret" not in repr(adapter.identity())
        assert adapter.identity()["options"]["api_key_env"] == "MY_KEY"


def test_reasoning_is_kept_apart_from_the_answer() -> None:
    with ModelServer({"content": "So B.", "reasoning_content": "B is larger."}) as srv:
        resp = ask(make_adapter("openai:m", {"base_url": srv.url}))
        assert (resp.text, resp.reasoning) == ("So B.", "B is larger.")
    with ModelServer("<think>\nweigh A and C\n</think>\n\nThe answer is C.") as srv:
        resp = ask(make_adapter("openai:m", {"base_url": srv.url}))
        assert (resp.text, resp.reasoning) == ("The answer is C.", "weigh A and C")
        kept = ask(make_adapter("openai:m", {"base_url": srv.url, "split_think": "false"}))
        assert kept.text.startswith("<think>") and kept.reasoning is None


def test_completions_endpoint_for_base_models_and_chunked_bodies() -> None:
    with ModelServer(" 42", chunked=True) as srv:
        resp = ask(make_adapter("openai:base", {"base_url": srv.url, "endpoint": "completions"}), "Q: 6*7?\nA:")
        assert resp.ok and resp.text == " 42"
        assert srv.bodies[0]["prompt"] == "Q: 6*7?\nA:" and "messages" not in srv.bodies[0]


def test_image_reaches_the_server_as_a_data_url_of_the_resized_image(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    path = tmp_path / "wide.png"
    PILImage.new("RGB", (1200, 400), (200, 30, 30)).save(path)
    original = Image(path)
    with ModelServer("It is red.") as srv:
        adapter = make_adapter("openai:vl", {"base_url": srv.url, "image_max_side": "300", "image_format": "JPEG"})
        resp = ask(adapter, "What colour?", images=(original,))
        assert resp.ok and resp.text == "It is red."
        parts = srv.bodies[0]["messages"][0]["content"]
        assert parts[0] == {"type": "text", "text": "What colour?"}
        url = parts[1]["image_url"]["url"]
        assert url.startswith("data:image/jpeg;base64,")
        sent = PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1], validate=True)))
        assert sent.format == "JPEG" and sent.size == (300, 100)
        assert sent.getpixel((150, 50))[0] > 150  # still red
        assert resp.meta["images"][0]["sha256"] == original.sha256


def test_unreadable_image_is_an_error_on_that_sample_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with ModelServer() as srv:
        resp = ask(make_adapter("openai:vl", {"base_url": srv.url}), images=(Image(bad),))
        assert resp.error and "bad.png" in resp.error and not resp.retryable
        assert srv.requests == 0


def test_connections_are_kept_alive_and_in_flight_is_bounded() -> None:
    with ModelServer("ok", latency=0.02) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url, "max_concurrency": "4"})

        async def many() -> list[Response]:
            try:
                return await asyncio.gather(*(adapter.generate(
                    Request((Message("user", (Text(f"q{i}"),)),))) for i in range(40)))
            finally:
                await adapter.aclose()

        responses = asyncio.run(many())
        assert all(r.ok for r in responses)
        assert srv.requests == 40 and srv.max_in_flight == 4
        assert srv.connections == 4


def test_user_mistakes_are_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AdapterError, match="NOPE_KEY is not set"):
        make_adapter("openai:m", {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "NOPE_KEY"})
    with pytest.raises(AdapterError, match="OPENAI_API_KEY"):
        make_adapter("openai:gpt-4o")
    with pytest.raises(AdapterError, match="max_concurrency='lots'"):
        make_adapter("openai:m", {"base_url": "http://127.0.0.1:9/v1", "max_concurrency": "lots"})
    with pytest.raises(AdapterError, match="--base-url"):
        make_adapter("openai:m", {"base_url": "localhost:8000"})
    with pytest.raises(AdapterError, match="no option"):
        make_adapter("openai:m", {"base_url": "http://127.0.0.1:9/v1", "temprature": "0"})


def test_refused_connection_is_a_retryable_error() -> None:
    with ModelServer() as srv:
        url = srv.url
    resp = ask(make_adapter("openai:m", {"base_url": url}))
    assert resp.error and "could not connect" in resp.error and resp.retryable


def test_https_to_a_plain_http_server_says_to_write_http() -> None:
    """A local server that answers a TLS hello with an HTTP 400 (as uvicorn does): the sentence says http://."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        resp = ask(make_adapter("openai:m", {"base_url": f"https://127.0.0.1:{port}/v1"}))
    finally:
        listener.close()
    assert resp.error and "does not speak TLS" in resp.error and "write http:// in --base-url" in resp.error
    assert resp.unusable and "does not speak TLS" in resp.unusable and not resp.retryable


def test_each_fault_ends_as_its_own_outcome() -> None:
    faults = [
        Fault("status", match="A-401", status=401),
        Fault("status", match="A-429", status=429, retry_after="2.5"),
        Fault("status", match="A-500", status=500),
        Fault("malformed", match="A-bad"),
        Fault("close", match="A-drop"),
        Fault("hang", match="A-hang"),
    ]
    with ModelServer("fine", faults=faults) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url, "timeout": "1.5"})

        async def each() -> dict[str, Response]:
            try:
                names = ["A-401", "A-429", "A-500", "A-bad", "A-drop", "A-hang", "A-ok"]
                got = await asyncio.gather(*(adapter.generate(Request((Message("user", (Text(n),)),)))
                                             for n in names))
                return dict(zip(names, got, strict=True))
            finally:
                await adapter.aclose()

        out = asyncio.run(each())
    assert "HTTP 401" in out["A-401"].error and "OPENAI_API_KEY" in out["A-401"].error  # type: ignore[operator]
    assert not out["A-401"].retryable
    assert out["A-429"].retryable and out["A-429"].retry_after == 2.5
    assert out["A-500"].retryable and "injected HTTP 500" in out["A-500"].error  # type: ignore[operator]
    assert out["A-bad"].retryable and "malformed JSON" in out["A-bad"].error  # type: ignore[operator]
    assert out["A-drop"].retryable and "closed" in out["A-drop"].error  # type: ignore[operator]
    assert out["A-hang"].retryable and "timed out" in out["A-hang"].error  # type: ignore[operator]
    assert out["A-ok"].ok and out["A-ok"].text == "fine"


def test_faults_end_on_the_right_samples_through_the_runner(tmp_path: Path) -> None:
    """401, a 429 burst, 500, a hung connection and malformed JSON: errors where due, nothing else lost."""
    faults = [
        Fault("status", match="Question 3:", status=401),
        Fault("status", match="Question 5:", status=500),
        Fault("hang", match="Question 7:"),
        Fault("malformed", match="Question 9:"),
        Fault("status", status=429, retry_after="0.05", times=12),  # a burst on whatever comes first
    ]
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 40)))
    with ModelServer(right_letter, faults=faults) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url})
        cfg = RunConfig(output=tmp_path / "run", progress=False, concurrency=8, max_retries=2,
                        timeout_s=0.5, backoff_base_s=0.001, use_cache=False)
        out = run_sync(task, adapter, cfg)
        statuses = dict(srv.statuses)
    results = {r.id: r for r in load_run(out.path).results}
    assert len(results) == 40
    errors = {i: r.error for i, r in results.items() if r.score.status == "error"}
    assert set(errors) == {"q00003", "q00005", "q00007", "q00009"}, errors
    assert "HTTP 401" in errors["q00003"] and results["q00003"].attempts == 1
    assert "HTTP 500" in errors["q00005"] and results["q00005"].attempts == 3
    assert "no answer" in errors["q00007"] or "timed out" in errors["q00007"]
    assert "malformed JSON" in errors["q00009"] and results["q00009"].attempts == 3
    others = [r for i, r in results.items() if i not in errors]
    assert all(r.score.status == "correct" for r in others)
    assert statuses["429"] == 12 and out.stats.retries >= 12
    assert out.summary["counts"]["error"] == 4


def test_limiter_halves_on_overload_and_grows_back_while_latency_holds() -> None:
    async def go() -> None:
        lim = AdaptiveLimiter(8)
        for _ in range(8):
            await lim.acquire()
        waiter = asyncio.ensure_future(lim.acquire())
        await asyncio.sleep(0)
        assert not waiter.done() and lim.in_flight == 8
        lim.on_overload()
        lim.on_overload()  # same burst: counted once
        assert lim.limit == 4.0 and lim.overloads == 2
        for _ in range(5):
            lim.release()
        await asyncio.sleep(0)
        assert waiter.done() and lim.in_flight == 4
        for i in range(40):  # answers of varying length, steady on average: it grows back
            lim.on_success(0.01 * (1 + i % 3))
        assert lim.limit == 8.0
        assert lim.max_in_flight == 8

    asyncio.run(go())


def test_limiter_stops_growing_when_the_server_starts_queueing() -> None:
    lim = AdaptiveLimiter(64, min_limit=1, initial=4)
    for _ in range(200):
        lim.on_success(0.1)
    grown = lim.limit
    assert grown > 4
    for _ in range(50):  # latency climbs to 5x its long-run average: the server is queueing
        lim.on_success(0.5)
    assert lim.limit - grown < 1.0


def test_429_burst_shrinks_the_endpoint_limit() -> None:
    faults = [Fault("status", status=429, retry_after="0", times=5)]
    with ModelServer("ok", latency=0.01, faults=faults) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url, "max_concurrency": "16"})

        async def burst() -> list[Response]:
            try:
                return await asyncio.gather(*(adapter.generate(
                    Request((Message("user", (Text(f"q{i}"),)),))) for i in range(16)))
            finally:
                await adapter.aclose()

        got = asyncio.run(burst())
    assert sum(1 for r in got if r.retryable and r.retry_after == 0) == 5
    assert adapter.limiter.limit < 16 and adapter.limiter.overloads == 5


def test_an_image_question_through_the_runner_sends_the_resized_image(tmp_path: Path) -> None:
    import json

    from PIL import Image as PILImage

    png = tmp_path / "chart.png"
    PILImage.new("RGB", (1600, 800), (20, 20, 220)).save(png)
    samples = tmp_path / "img.jsonl"
    samples.write_text(json.dumps({
        "id": "img1", "target": "B", "choices": ["red", "blue"],
        "input": [{"type": "text", "text": "What colour is the chart?"}, {"type": "image", "path": str(png)}],
    }) + "\n")
    with ModelServer("The answer is B.") as srv:
        adapter = make_adapter("openai:vl", {"base_url": srv.url, "image_max_side": "400"})
        out = run_sync(get_task(str(samples)), adapter, RunConfig(output=tmp_path / "run", progress=False,
                                                                  use_cache=False))
        parts = [p for m in srv.bodies[0]["messages"] for p in (m["content"] if isinstance(m["content"], list) else [])]
    urls = [p["image_url"]["url"] for p in parts if p.get("type") == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
    sent = PILImage.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1], validate=True)))
    assert sent.size == (400, 200)
    assert out.summary["metrics"]["accuracy"] == 1.0
    assert "base64" not in (out.path / "samples.jsonl").read_text()


def test_silently_closed_keep_alive_connections_are_reopened_not_failed() -> None:
    with ModelServer("ok", keep_alive=False) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url})

        async def sequential_then_parallel() -> list[Response]:
            try:
                got = [await adapter.generate(Request((Message("user", (Text(f"s{i}"),)),))) for i in range(10)]
                got += await asyncio.gather(*(adapter.generate(Request((Message("user", (Text(f"p{i}"),)),)))
                                              for i in range(10)))
                return got
            finally:
                await adapter.aclose()

        got = asyncio.run(sequential_then_parallel())
        assert all(r.ok for r in got), [r.error for r in got if not r.ok]
        assert srv.requests == 20 and srv.connections == 20


def test_https_endpoint_with_a_trusted_or_untrusted_certificate(tmp_path: Path) -> None:
    from conftest import self_signed_tls

    ctx, cert = self_signed_tls(tmp_path)
    with ModelServer("secure", ssl_context=ctx) as srv:
        assert srv.url.startswith("https://")
        trusted = ask(make_adapter("openai:m", {"base_url": srv.url, "ca_file": str(cert)}))
        untrusted = ask(make_adapter("openai:m", {"base_url": srv.url}))
        unverified = ask(make_adapter("openai:m", {"base_url": srv.url, "verify": "false"}))
    assert trusted.ok and trusted.text == "secure" and unverified.ok
    assert untrusted.error and "certificate verify failed" in untrusted.error and not untrusted.retryable


def _rate_limited_endpoint(adaptive: bool, n: int = 150, workers: int = 24, capacity: int = 6) -> dict[str, Any]:
    """``n`` requests from ``workers`` callers to an endpoint that refuses more than ``capacity`` in flight.

    Runs on a virtual clock, so the outcome is the same on any machine under any load. Each caller
    goes through the limiter as the HTTP adapter does (acquire, send, release, then report the
    outcome) and retries a refusal after the server's ``Retry-After`` of 0.02 s.
    """
    from evalkit.testing.virtual_time import VirtualTimeLoop

    loop = VirtualTimeLoop()
    limiter = AdaptiveLimiter(workers, min_limit=2, clock=loop.time)
    server = {"in_flight": 0, "refused": 0, "answered": 0}
    todo = iter(range(n))

    async def send() -> bool:
        if adaptive:
            await limiter.acquire()
        start = loop.time()
        try:
            refused = server["in_flight"] >= capacity
            server["in_flight"] += 1
            await asyncio.sleep(0.001 if refused else 0.01)
            server["in_flight"] -= 1
            server["refused" if refused else "answered"] += 1
        finally:
            if adaptive:
                limiter.release()
        if adaptive and refused:
            limiter.on_overload()
        elif adaptive:
            limiter.on_success(loop.time() - start)
        return not refused

    async def caller() -> None:
        for _ in todo:
            while not await send():
                await asyncio.sleep(0.02)

    async def everyone() -> None:
        await asyncio.gather(*(caller() for _ in range(workers)))

    try:
        loop.run_until_complete(everyone())
    finally:
        loop.close()
    return {**server, "limit": limiter.limit}


def test_adaptive_limit_finds_a_rate_limited_servers_capacity() -> None:
    """Against an endpoint that refuses more than 6 in flight, adapting avoids most refusals; all finish."""
    adaptive, fixed = _rate_limited_endpoint(adaptive=True), _rate_limited_endpoint(adaptive=False)
    assert adaptive["answered"] == fixed["answered"] == 150
    assert adaptive["refused"] * 3 < fixed["refused"], (adaptive, fixed)
    assert 2 <= adaptive["limit"] < 2 * 6
    assert _rate_limited_endpoint(adaptive=True) == adaptive  # the same on any machine


def test_adaptive_limit_hears_every_refusal_of_a_real_server(tmp_path: Path) -> None:
    """Through the runner and a real rate-limited server: each 429 reaches the limiter; all samples finish."""
    task = get_task(str(write_mcq(tmp_path / "mcq.jsonl", 60)))
    with ModelServer(right_letter, latency=0.01, capacity=6) as srv:
        adapter = make_adapter("openai:m", {"base_url": srv.url, "adaptive": "true", "min_concurrency": "2"})
        cfg = RunConfig(output=tmp_path / "run", progress=False, concurrency=24, max_retries=50,
                        backoff_base_s=0.001, use_cache=False)
        out = run_sync(task, adapter, cfg)
        refused = srv.statuses["429"]
    assert out.summary["metrics"]["accuracy"] == 1.0 and out.summary["counts"]["error"] == 0
    assert adapter.limiter.overloads == refused
    assert adapter.limiter.min_limit <= adapter.limiter.limit <= adapter.limiter.max_limit


def test_streamed_answers_are_folded_back_with_reasoning_and_usage() -> None:
    with ModelServer({"content": "The answer is C.", "reasoning_content": "C fits"}) as srv:
        resp = ask(make_adapter("openai:m", {"base_url": srv.url, "stream": "true"}))
        assert srv.bodies[0]["stream"] is True and srv.bodies[0]["stream_options"] == {"include_usage": True}
    assert (resp.text, resp.reasoning) == ("The answer is C.", "C fits")
    assert resp.usage.completion_tokens == 4 and resp.meta["finish_reason"] == "stop"
    with ModelServer(" 42") as srv:
        base = ask(make_adapter("openai:b", {"base_url": srv.url, "endpoint": "completions", "stream": "true"}))
    assert base.text == " 42"


def test_a_stream_that_carries_an_error_is_a_retryable_error() -> None:
    from evalkit.adapters.http import HTTPResponse

    adapter = make_adapter("openai:m", {"base_url": "http://127.0.0.1:9/v1"})
    body = b'data: {"choices": [{"delta": {"content": "The"}}]}\n\ndata: {"error": {"message": "engine overloaded"}}\n\n'
    resp = adapter._outcome(HTTPResponse(200, "OK", {"content-type": "text/event-stream"}, body), 0.1, {})
    assert resp.retryable and "engine overloaded" in (resp.error or "")
