"""``openai:MODEL`` — any OpenAI-compatible endpoint (vLLM, SGLang, LMDeploy, Ollama, hosted APIs).

This module owns the OpenAI wire format: chat messages with text and image parts (base64 data
URLs of images resized to the configured limits), sampling fields, engine-specific extra fields,
reasoning kept apart from the answer (``reasoning_content``/``reasoning`` fields; a ``<think>…</think>``
block in the text is the shared step of :mod:`evalkit.adapters.base`), token usage, and the plain ``/completions`` endpoint for base models.
Transport, limits and error outcomes come from :mod:`evalkit.adapters.remote`.
"""

from __future__ import annotations

from typing import Any

from evalkit.adapters.base import AdapterError
from evalkit.adapters.http import HTTPResponse
from evalkit.adapters.remote import (
    COMMON_OPTIONS,
    RemoteAdapter,
    ResponseShapeError,
    StreamError,
    opt_bool,
    parse_sse,
)
from evalkit.types import GenerationConfig, Image, Message, Request, Response, Text, Usage

ENDPOINTS = ("chat", "completions")


class OpenAIAdapter(RemoteAdapter):
    scheme = "openai"
    description = (
        "Any OpenAI-compatible endpoint (vLLM, SGLang, LMDeploy, Ollama, OpenAI): openai:MODEL with --base-url; "
        "key from $OPENAI_API_KEY or --api-key-env."
    )
    options_doc = {
        **COMMON_OPTIONS,
        "endpoint": "'chat' (default: /chat/completions) or 'completions' (/completions, for base models)",
        "max_tokens_field": "body field for the token limit: max_tokens (default) or max_completion_tokens",
        "image_detail": "detail hint sent with each image: auto, low or high (default: not sent)",
        "stream": "ask for a server-sent event stream (keeps long generations alive through proxies; default false)",
    }
    default_base_url = "https://api.openai.com/v1"
    default_key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    hosted_hosts = ("api.openai.com",)

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        self.endpoint = str(options.get("endpoint", "chat"))
        if self.endpoint not in ENDPOINTS:
            raise AdapterError(f"-M endpoint={self.endpoint}: expected one of {', '.join(ENDPOINTS)}")
        self.max_tokens_field = str(options.get("max_tokens_field", "max_tokens"))
        self.image_detail = options.get("image_detail")
        self.stream = opt_bool(options, "stream", False)

    def path_for(self, request: Request) -> str:
        return "/chat/completions" if self.endpoint == "chat" else "/completions"

    def build_body(self, request: Request, images: dict[int, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.target}
        if self.endpoint == "chat":
            body["messages"] = [self._message(m, images) for m in request.messages]
        else:
            if images:
                raise AdapterError("the completions endpoint takes text only; use -M endpoint=chat for images")
            body["prompt"] = completion_prompt(request.messages)
        body.update(sampling_fields(request.config, self.max_tokens_field))
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def decode_payload(self, resp: HTTPResponse) -> Any:
        """JSON, or a server-sent event stream folded back into one non-streamed answer."""
        kind = resp.header("content-type") or ""
        if "event-stream" not in kind and not resp.body.lstrip().startswith(b"data:"):
            return super().decode_payload(resp)
        return fold_stream(parse_sse(resp.body), chat=self.endpoint == "chat")

    def _message(self, message: Message, images: dict[int, Any]) -> dict[str, Any]:
        if not message.images:
            return {"role": message.role, "content": message.text}
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, Text):
                parts.append({"type": "text", "text": part.text})
            elif isinstance(part, Image):
                url: dict[str, Any] = {"url": images[id(part)].data_url}
                if self.image_detail:
                    url["detail"] = str(self.image_detail)
                parts.append({"type": "image_url", "image_url": url})
        return {"role": message.role, "content": parts}

    def parse_answer(self, payload: Any) -> Response:
        choices = payload.get("choices") if isinstance(payload, dict) else None
        if not choices:
            raise ResponseShapeError("no choices in the answer")
        choice = choices[0]
        if self.endpoint == "chat":
            message = choice.get("message")
            if not isinstance(message, dict):
                raise ResponseShapeError("choices[0] has no message")
            text = content_text(message.get("content"))
            reasoning = message.get("reasoning_content") or message.get("reasoning") or None
        else:
            text, reasoning = str(choice.get("text") or ""), None
        meta = {"finish_reason": choice["finish_reason"]} if choice.get("finish_reason") else {}
        return Response(text=text, reasoning=reasoning, usage=read_usage(payload.get("usage")), meta=meta)


def fold_stream(events: list[Any], chat: bool) -> dict[str, Any]:
    """Streamed chunks → the payload a non-streamed call would have returned."""
    text: list[str] = []
    reasoning: list[str] = []
    finish = None
    usage = None
    for event in events:
        if not isinstance(event, dict):
            continue
        if event.get("error"):
            err = event["error"]
            raise StreamError(str(err.get("message", err) if isinstance(err, dict) else err))
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = (choice.get("delta") or {}) if chat else {"content": choice.get("text")}
            text.append(str(delta.get("content") or ""))
            reasoning.append(str(delta.get("reasoning_content") or delta.get("reasoning") or ""))
            finish = choice.get("finish_reason") or finish
    message: dict[str, Any] = {"content": "".join(text)}
    if any(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    choice_out: dict[str, Any] = {"message": message} if chat else {"text": message["content"]}
    return {"choices": [{**choice_out, "finish_reason": finish}], "usage": usage}


def sampling_fields(config: GenerationConfig, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """The OpenAI body fields for a generation config (unset fields are left to the server)."""
    out: dict[str, Any] = {}
    if config.max_tokens is not None:
        out[max_tokens_field] = config.max_tokens
    if config.temperature is not None:
        out["temperature"] = config.temperature
    if config.top_p is not None:
        out["top_p"] = config.top_p
    if config.seed is not None:
        out["seed"] = config.seed
    if config.stop:
        out["stop"] = list(config.stop)
    out.update(config.extra)
    return out


def completion_prompt(messages: tuple[Message, ...]) -> str:
    """A base model's prompt: the messages' texts, in order, separated by blank lines."""
    return "\n\n".join(m.text for m in messages if m.text)


def content_text(content: Any) -> str:
    """The answer text from a string or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    raise ResponseShapeError(f"message content is a {type(content).__name__}")


def read_usage(usage: Any) -> Usage:
    if not isinstance(usage, dict):
        return Usage()
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
