"""The anthropic adapter (Messages API over plain HTTP) against a real local server."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path

import pytest

from evalkit.adapters import AdapterError, make_adapter
from evalkit.testing import Fault, ModelServer
from evalkit.types import GenerationConfig, Image, Message, Request, Response, Text


def ask(adapter, request: Request) -> Response:
    async def go() -> Response:
        try:
            return await adapter.generate(request)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def test_messages_body_headers_thinking_and_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    request = Request(
        (Message("system", (Text("Be brief."),)), Message("user", (Text("Pick one."),))),
        GenerationConfig(temperature=0.2, stop=("###",), seed=3),
    )
    with ModelServer({"content": "B", "reasoning_content": "B fits best"}) as srv:
        adapter = make_adapter("anthropic:claude-test", {"base_url": srv.url})
        resp = ask(adapter, request)
        body, headers = srv.bodies[0], srv.headers[0]
    assert (resp.text, resp.reasoning) == ("B", "B fits best")
    assert resp.usage.prompt_tokens == 2 and resp.usage.completion_tokens == 1
    assert resp.meta["finish_reason"] == "end_turn"
    assert body["system"] == "Be brief." and body["max_tokens"] == 4096
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Pick one."}]}]
    assert body["temperature"] == 0.2 and body["stop_sequences"] == ["###"] and "seed" not in body
    assert headers["x-api-key"] == "sk-ant-secret" and headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers and "sk-ant" not in repr(adapter.identity())


def test_images_go_as_base64_blocks_within_anthropic_limits(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    path = tmp_path / "tall.png"
    PILImage.new("RGB", (500, 3000), (10, 200, 10)).save(path)
    with ModelServer("green") as srv:
        adapter = make_adapter("anthropic:claude-test", {"base_url": srv.url})
        resp = ask(adapter, Request((Message("user", (Image(path), Text("Colour?"))),)))
        block = srv.bodies[0]["messages"][0]["content"][0]
    assert resp.ok and block["type"] == "image" and block["source"]["media_type"] == "image/png"
    sent = PILImage.open(io.BytesIO(base64.b64decode(block["source"]["data"], validate=True)))
    assert max(sent.size) <= 1568 and sent.size[0] * sent.size[1] <= 1_150_000
    assert resp.meta["images"][0]["sha256"] == Image(path).sha256


def test_overloaded_529_is_retryable_with_its_wait_and_401_is_final() -> None:
    faults = [Fault("status", match="busy", status=529, retry_after="3"), Fault("status", match="nokey", status=401)]
    with ModelServer("fine", faults=faults) as srv:
        busy = ask(make_adapter("anthropic:c", {"base_url": srv.url}), Request((Message("user", (Text("busy"),)),)))
        denied = ask(make_adapter("anthropic:c", {"base_url": srv.url}), Request((Message("user", (Text("nokey"),)),)))
    assert busy.retryable and busy.retry_after == 3.0 and "HTTP 529" in (busy.error or "")
    assert not denied.retryable and "ANTHROPIC_API_KEY" in (denied.error or "")


def test_hosted_endpoint_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    with pytest.raises(AdapterError, match="ANTHROPIC_API_KEY"):
        make_adapter("anthropic:claude-sonnet")
