"""What every JSON-over-HTTP model adapter shares: options, the API key, the request loop, outcomes.

This module owns turning one model call into exactly one :class:`~evalkit.types.Response`:
it parses ``-M key=value`` strings into typed options, reads the API key from the environment
(never storing it in options, identity, results or logs), holds the lean keep-alive client and
the per-endpoint :class:`~evalkit.adapters.limiter.AdaptiveLimiter`, and maps every way a call
can end — answer, HTTP error, ``Retry-After``, dropped or hung connection, malformed JSON — to a
response whose ``error``/``retryable``/``retry_after`` tell the runner what to do. Subclasses
(``openai``, ``anthropic``) only build the body and read the answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from evalkit.adapters.base import Adapter, AdapterError
from evalkit.adapters.http import (
    DEFAULT_MAX_BODY,
    HTTPClient,
    HTTPResponse,
    Proxy,
    TransportError,
    proxy_for,
    split_url,
)
from evalkit.adapters.limiter import AdaptiveLimiter
from evalkit.redact import redact_options, remember, scrub, scrub_url, url_password
from evalkit.types import Image, Request, Response

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
OVERLOAD_STATUSES = frozenset({429, 503, 529})
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

COMMON_OPTIONS: dict[str, str] = {
    "base_url": "endpoint root, e.g. http://127.0.0.1:8000/v1 (also --base-url)",
    "api_key_env": "name of the environment variable holding the API key (also --api-key-env)",
    "timeout": "seconds to wait for one answer before it counts as a retryable timeout (default 600)",
    "max_concurrency": "most requests in flight to this endpoint (default 256; the run's --concurrency also applies)",
    "adaptive": "adapt the in-flight limit: halve on 429/503/timeouts, grow back while latency holds (default true)",
    "min_concurrency": "the adaptive limit never goes below this (default 4)",
    "image_max_side": "longest image side in pixels sent to the model (openai 2048, anthropic 1568)",
    "image_max_pixels": "most pixels per image (openai 2048*2048, anthropic 1150000)",
    "image_max_bytes": "largest encoded image in bytes (default 5 MiB)",
    "image_format": "re-encoding format for resized images: PNG (default) or JPEG",
    "extra_body": "JSON object merged into every request body (engine-specific fields)",
    "ca_file": "PEM file of certificate authorities to trust for an https endpoint (default: the system's)",
    "verify": "verify the https endpoint's certificate (default true; false only for testing)",
    "max_response_bytes": "largest response body read; a larger one ends that sample with an error "
                          "(default 268435456, 256 MiB)",
    "proxy": "HTTP proxy URL (http://[user:password@]host:port), or 'none'; default: $HTTPS_PROXY / "
             "$HTTP_PROXY, except hosts in $NO_PROXY",
}


class ResponseShapeError(ValueError):
    """A well-formed JSON answer that lacks what the protocol promises (e.g. no choices)."""


class StreamError(Exception):
    """A streamed answer that carried an error event instead of finishing."""


def parse_sse(body: bytes) -> list[Any]:
    """The JSON ``data:`` payloads of a server-sent event stream, up to ``[DONE]``."""
    events: list[Any] = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = b"\n".join(line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:"))
        if not data:
            continue
        if data == b"[DONE]":
            break
        events.append(json.loads(data))
    return events


def opt_bool(options: dict[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise AdapterError(f"-M {name}={value!r}: expected true or false")


def opt_number(options: dict[str, Any], name: str, default: Any, kind: type = int) -> Any:
    value = options.get(name, default)
    if value is None or value == "none":
        return None
    try:
        number = kind(eval_product(value) if kind is int and isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise AdapterError(f"-M {name}={value!r}: expected {'an integer' if kind is int else 'a number'}") from None
    if number < 0:
        raise AdapterError(f"-M {name}={value!r}: must not be negative")
    return number


def eval_product(text: str) -> int:
    """``"2048*2048"`` → 4194304; plain integers pass through."""
    result = 1
    for factor in text.split("*"):
        result *= int(factor.strip())
    return result


def opt_json(options: dict[str, Any], name: str) -> dict[str, Any]:
    value = options.get(name)
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise AdapterError(f"-M {name}: not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(parsed, dict):
        raise AdapterError(f"-M {name}: expected a JSON object like '{{\"top_k\": 20}}'")
    return parsed


def parse_retry_after(resp: HTTPResponse) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, ``Retry-After`` seconds or HTTP date."""
    ms = resp.header("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = resp.header("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_message(body: bytes) -> str:
    """The server's own words from an error body (``{"error": {"message": ...}}`` or the text)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip() or "(empty body)"
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
        if isinstance(err, str):
            return err[:500]
    return json.dumps(payload)[:200]


class RemoteAdapter(Adapter):
    """Base for adapters that POST JSON to an HTTP endpoint. Subclasses set the class attributes below."""

    transport_options = frozenset(
        {"timeout", "max_concurrency", "adaptive", "min_concurrency", "stream", "ca_file", "verify", "api_key_env",
         "max_response_bytes", "proxy"}
    )

    default_base_url: ClassVar[str] = ""
    default_key_env: ClassVar[str] = ""
    base_url_env: ClassVar[str] = ""  # environment variable that may hold the base URL
    hosted_hosts: ClassVar[tuple[str, ...]] = ()  # hosts that always need a key
    image_defaults: ClassVar[dict[str, int]] = {
        "image_max_side": 2048, "image_max_pixels": 2048 * 2048, "image_max_bytes": 5 * 1024 * 1024}

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        if not target:
            raise AdapterError(f"--model {self.scheme}:MODEL: name the model after the colon")
        base = options.get("base_url") or (os.environ.get(self.base_url_env) if self.base_url_env else None)
        base = str(base or self.default_base_url).rstrip("/")
        remember(url_password(base))  # credentials in a URL are never sent, shown or written
        self.base_url = scrub_url(base)
        try:
            split_url(self.base_url)
        except ValueError as exc:
            raise AdapterError(f"--base-url: {exc}") from None
        self.timeout = opt_number(options, "timeout", 600.0, float)
        self.max_concurrency = max(1, opt_number(options, "max_concurrency", 256))
        self.adaptive = opt_bool(options, "adaptive", True)
        self.extra_body = opt_json(options, "extra_body")
        redact_options(self.extra_body)  # remembers any key in it, so no output shows it
        self.verify = opt_bool(options, "verify", True)
        self.ca_file = options.get("ca_file") or None
        if self.ca_file and not Path(self.ca_file).is_file():
            raise AdapterError(f"-M ca_file={self.ca_file}: no such file")
        self.image_profile = self._image_profile(options)
        self.max_response_bytes = max(1, opt_number(options, "max_response_bytes", DEFAULT_MAX_BODY))
        self.proxy = self._proxy(options.get("proxy"))
        self._key = self._api_key(options)
        self._client: HTTPClient | None = None
        self.min_concurrency = min(self.max_concurrency, max(1, opt_number(options, "min_concurrency", 4)))
        self.limiter = AdaptiveLimiter(self.max_concurrency, min_limit=self.min_concurrency)

    # ----- configuration ------------------------------------------------------------------

    def _api_key(self, options: dict[str, Any]) -> str | None:
        env = options.get("api_key_env")
        if env:
            key = os.environ.get(str(env))
            if not key:
                raise AdapterError(f"--api-key-env {env}: the environment variable {env} is not set")
            remember(key)
            return key
        key = os.environ.get(self.default_key_env)
        remember(key)
        host = split_url(self.base_url)[1]
        if not key and host in self.hosted_hosts:
            raise AdapterError(f"--model {self.uri}: set {self.default_key_env} (or name another variable with --api-key-env)")
        return key or None

    def _image_profile(self, options: dict[str, Any]) -> Any:
        from evalkit.images import ImageProfile

        fmt = str(options.get("image_format", "PNG")).upper()
        if fmt not in ("PNG", "JPEG"):
            raise AdapterError(f"-M image_format={fmt}: expected PNG or JPEG")
        limits = {name: opt_number(options, name, default) for name, default in self.image_defaults.items()}
        return ImageProfile(max_side=limits["image_max_side"], max_pixels=limits["image_max_pixels"],
                            max_bytes=limits["image_max_bytes"], format=fmt)

    def _proxy(self, option: Any) -> Proxy | None:
        """The proxy to reach the endpoint through: ``-M proxy=URL|none``, else the environment's."""
        scheme, host, port, _ = split_url(self.base_url)
        try:
            if option is None or option == "":
                return proxy_for(scheme, host, port)
            if str(option).lower() in ("none", "off", "false", "0"):
                return None
            return Proxy.parse(str(option))
        except ValueError as exc:
            raise AdapterError(f"{'-M proxy' if option else 'proxy'}: {exc}") from None

    def _ssl_context(self) -> Any:
        if not self.base_url.startswith("https:"):
            return None
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def identity(self) -> dict[str, Any]:
        ident = super().identity()
        ident["base_url"] = self.base_url
        return ident

    @property
    def endpoint_key(self) -> str:
        return self.base_url

    # ----- subclass hooks -----------------------------------------------------------------

    def path_for(self, request: Request) -> str:
        raise NotImplementedError

    def build_body(self, request: Request, images: dict[int, Any]) -> dict[str, Any]:
        """The JSON body; ``images`` maps ``id(Image)`` to its :class:`~evalkit.images.EncodedImage`."""
        raise NotImplementedError

    def parse_answer(self, payload: Any) -> Response:
        """Text, reasoning and usage from a 200 answer; raise :class:`ResponseShapeError` if absent."""
        raise NotImplementedError

    def decode_payload(self, resp: HTTPResponse) -> Any:
        """The answer's JSON (a ``ValueError`` when it is not JSON); streaming adapters override this."""
        return json.loads(resp.body)

    # ----- the call -----------------------------------------------------------------------

    async def generate(self, request: Request) -> Response:
        try:
            images = await self._encode_images(request)
            body = json.dumps({**self.build_body(request, images), **self.extra_body}, ensure_ascii=False)
        except ValueError as exc:  # ImageError and unsupported content are ValueErrors
            return Response(error=str(exc), retryable=False)
        meta: dict[str, Any] = {}
        if images:
            meta["images"] = [{"sha256": e.sha256, "width": e.width, "height": e.height, "mime": e.mime}
                              for e in images.values()]
        # a lone surrogate in a prompt goes out as the JSON escape \udXXX, never as an encoding error
        return await self._send(self.path_for(request), body.encode("utf-8", "backslashreplace"), meta)

    async def _encode_images(self, request: Request) -> dict[int, Any]:
        found: list[Image] = [img for m in request.messages for img in m.images]
        if not found:
            return {}
        from evalkit.images import encode_image

        profile = self.image_profile
        encoded = await asyncio.to_thread(lambda: [encode_image(img, profile) for img in found])
        return {id(img): enc for img, enc in zip(found, encoded, strict=True)}

    def _http(self) -> HTTPClient:
        if self._client is None:
            headers = {"Accept": "application/json", "User-Agent": "evalkit", **self.auth_headers(self._key)}
            self._client = HTTPClient(self.base_url, headers, ssl_context=self._ssl_context(),
                                      max_body=self.max_response_bytes, proxy=self.proxy)
        return self._client

    async def _send(self, path: str, body: bytes, meta: dict[str, Any]) -> Response:
        client = self._http()
        limiter = self.limiter if self.adaptive else None
        if limiter is not None:
            await limiter.acquire()
        start = time.perf_counter()
        try:
            if self.timeout:
                async with asyncio.timeout(self.timeout):
                    resp = await client.post(path, body)
            else:
                resp = await client.post(path, body)
        except TimeoutError:
            if limiter is not None:
                limiter.on_overload()
            return Response(error=f"timed out: no answer from {self.base_url} within {self.timeout:g} s",
                            latency_s=time.perf_counter() - start, retryable=True, meta=meta)
        except TransportError as exc:
            unusable = (f"no model server answers at {self.base_url} ({exc}); start it, or give the right "
                        "--base-url") if exc.connect else None
            return Response(error=f"{self.base_url}: {exc}", latency_s=time.perf_counter() - start,
                            retryable=exc.retryable, meta=meta, unusable=unusable)
        except asyncio.CancelledError:  # the runner's own timeout: count it as pressure
            if limiter is not None:
                limiter.on_overload()
            raise
        finally:
            if limiter is not None:
                limiter.release()
        latency = time.perf_counter() - start
        return self._outcome(resp, latency, meta)

    def _outcome(self, resp: HTTPResponse, latency: float, meta: dict[str, Any]) -> Response:
        status = resp.status
        if 200 <= status < 300:
            try:
                payload = self.decode_payload(resp)
            except StreamError as exc:
                return Response(error=f"{self.base_url}: the stream ended with an error: {exc}",
                                latency_s=latency, retryable=True, meta=meta)
            except ValueError:
                snippet = resp.body[:60].decode("utf-8", "replace")
                return Response(error=f"malformed JSON from {self.base_url} (starts {snippet!r})",
                                latency_s=latency, retryable=True, meta=meta)
            try:
                answer = self.parse_answer(payload)
            except (ResponseShapeError, KeyError, IndexError, TypeError, AttributeError) as exc:
                return Response(error=f"unexpected answer shape from {self.base_url}: {exc}",
                                latency_s=latency, retryable=False, meta=meta)
            if self.adaptive:
                self.limiter.on_success(latency)
            return Response(text=answer.text, usage=answer.usage, latency_s=latency, reasoning=answer.reasoning,
                            meta={**meta, **answer.meta})
        message = f"HTTP {status} from {self.base_url}: {scrub(error_message(resp.body))}"
        if status in (401, 403):
            message += f" (check the API key in ${self.key_env})"
        if status in OVERLOAD_STATUSES and self.adaptive:
            self.limiter.on_overload()
        retryable = status in RETRYABLE_STATUSES
        return Response(error=message, latency_s=latency, retryable=retryable,
                        retry_after=parse_retry_after(resp) if retryable else None, meta=meta,
                        unusable=self._unusable(status, message))

    @property
    def key_env(self) -> str:
        """The environment variable the API key is read from (``--api-key-env``, else the adapter's default)."""
        return str(self.options.get("api_key_env") or self.default_key_env)

    def _unusable(self, status: int, message: str) -> str | None:
        """The sentence for a status that says the endpoint cannot serve this run at all, else None."""
        if status in (401, 403):
            state = "is set" if self._key else "is not set"
            return (f"{self.base_url} refused the API key (HTTP {status}); check the key in ${self.key_env} "
                    f"(it {state}), or name another variable with --api-key-env")
        if status == 404:
            return (f"{self.base_url} does not serve the model {self.target!r} ({message}); check the model "
                    "name and the --base-url")
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
