"""``anthropic:MODEL`` — Claude models through the Messages API over plain HTTP (no SDK needed).

This module owns the Messages wire format: system prompts lifted out of the turns, images as
base64 blocks (resized to Anthropic's limits by default), ``max_tokens`` always sent (the API
requires it), stop sequences, ``thinking`` blocks kept apart from the answer as reasoning, and
token usage. Transport, limits and error outcomes come from :mod:`evalkit.adapters.remote`.
"""

from __future__ import annotations

from typing import Any

from evalkit.adapters.remote import COMMON_OPTIONS, RemoteAdapter, ResponseShapeError, opt_number
from evalkit.types import Image, Message, Request, Response, Text, Usage

API_VERSION = "2023-06-01"


class AnthropicAdapter(RemoteAdapter):
    scheme = "anthropic"
    description = "Claude models via the Messages API (plain HTTP): anthropic:MODEL; key from $ANTHROPIC_API_KEY."
    options_doc = {
        **COMMON_OPTIONS,
        "default_max_tokens": "max_tokens sent when the run sets none (the API requires one; default 4096)",
        "anthropic_version": f"value of the anthropic-version header (default {API_VERSION})",
    }
    default_base_url = "https://api.anthropic.com/v1"
    default_key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    hosted_hosts = ("api.anthropic.com",)
    image_defaults = {"image_max_side": 1568, "image_max_pixels": 1_150_000, "image_max_bytes": 5 * 1024 * 1024}

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        self.default_max_tokens = opt_number(options, "default_max_tokens", 4096) or 4096
        self.version = str(options.get("anthropic_version", API_VERSION))

    def auth_headers(self, key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": self.version}
        if key:
            headers["x-api-key"] = key
        return headers

    def path_for(self, request: Request) -> str:
        return "/messages"

    def build_body(self, request: Request, images: dict[int, Any]) -> dict[str, Any]:
        config = request.config
        body: dict[str, Any] = {"model": self.target, "max_tokens": config.max_tokens or self.default_max_tokens}
        system = "\n\n".join(m.text for m in request.messages if m.role == "system")
        if system:
            body["system"] = system
        body["messages"] = [self._message(m, images) for m in request.messages if m.role != "system"]
        if config.temperature is not None:
            body["temperature"] = config.temperature
        if config.top_p is not None:
            body["top_p"] = config.top_p
        if config.stop:
            body["stop_sequences"] = list(config.stop)
        body.update(config.extra)
        return body

    @staticmethod
    def _message(message: Message, images: dict[int, Any]) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, Text):
                if part.text:
                    blocks.append({"type": "text", "text": part.text})
            elif isinstance(part, Image):
                enc = images[id(part)]
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": enc.mime, "data": enc.b64}})
        return {"role": message.role, "content": blocks}

    def parse_answer(self, payload: Any) -> Response:
        blocks = payload.get("content") if isinstance(payload, dict) else None
        if not isinstance(blocks, list):
            raise ResponseShapeError("no content blocks in the answer")
        text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        thinking = "\n".join(str(b.get("thinking", "")) for b in blocks if b.get("type") == "thinking")
        usage = payload.get("usage") or {}
        meta = {"finish_reason": payload["stop_reason"]} if payload.get("stop_reason") else {}
        return Response(text=text, reasoning=thinking or None, meta=meta,
                        usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)))
