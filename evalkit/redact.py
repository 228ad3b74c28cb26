"""Keeping secrets out of everything evalkit writes or prints.

This module owns the list of secrets a process knows and the scrubbing of text and records:

* **known values**: API keys an adapter read (:func:`remember`), and the values of environment
  variables whose names look secret (``OPENAI_API_KEY``, ``HF_TOKEN``, ``DB_PASSWORD``…) — every
  occurrence, anywhere in a text, becomes ``***``;
* **credentials in URLs**: ``https://user:pass@host`` becomes ``https://***@host``;
* **credential-looking options**: an option (or a key inside a JSON option such as ``extra_body``)
  named like ``api_key``, ``token``, ``password``, ``authorization`` is shown as ``***``, and its
  value joins the known ones.

:mod:`evalkit.fileio` scrubs every file it writes and the CLI scrubs every message it prints, so a
401 body that echoes the ``Authorization`` header, a key in ``-M extra_body=…`` or a password in
``--base-url`` reach neither ``samples.jsonl``, ``run.json``, the reports nor the terminal.

A leaf module: it imports nothing from evalkit.
"""

from __future__ import annotations

import json
import os
import re
import threading
from functools import lru_cache
from typing import Any

MASK = "***"
SECRET_PARTS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "authorization",
                          "authorisation", "credential", "credentials", "cookie", "bearer"})
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@:\"'<>]*(?::[^\s/@\"'<>]*)?@")
MIN_SECRET = 6  # shorter values would mask ordinary words

_lock = threading.Lock()
_remembered: set[str] = set()
_pattern: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)


@lru_cache(maxsize=4096)
def secret_name(name: str) -> bool:
    """Whether an option or variable named ``name`` holds a secret, judged by the words of its name:
    ``OPENAI_API_KEY``, ``access_token``, ``x-api-key``, ``apiKey`` do; ``max_tokens``,
    ``TOKENIZERS_PARALLELISM`` and ``api_key_env`` (which names a variable) do not."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    parts = [p for p in re.split(r"[^a-z0-9]+", words) if p]
    return bool(parts) and parts[-1] != "env" and any(p in SECRET_PARTS for p in parts)


def remember(value: Any) -> None:
    """Add a secret value (an API key, a password) to those scrubbed from everything written."""
    if isinstance(value, str) and len(value.strip()) >= MIN_SECRET:
        with _lock:
            _remembered.add(value.strip())


def known_secrets() -> frozenset[str]:
    """The remembered values plus those of secret-named environment variables."""
    from_env = _env_secrets()
    with _lock:
        return frozenset(_remembered | from_env)


_env_seen: tuple[dict[bytes, bytes] | None, frozenset[str]] = (None, frozenset())


def _env_secrets() -> frozenset[str]:
    """The values of secret-named environment variables, read again only when the environment changed
    (every line written is scrubbed: decoding the whole environment each time cost more than the write)."""
    global _env_seen
    raw = getattr(os.environ, "_data", None)  # CPython's encoded copy: comparing it is one C-level dict compare
    seen, found = _env_seen
    if raw is not None and seen is not None and seen == raw:
        return found
    found = frozenset(v.strip() for k, v in os.environ.items() if secret_name(k) and len(v.strip()) >= MIN_SECRET)
    _env_seen = (dict(raw) if isinstance(raw, dict) else None, found)
    return found


def _secret_pattern() -> re.Pattern[str] | None:
    global _pattern
    values = known_secrets()
    cached_for, pattern = _pattern
    if values != cached_for:
        forms = {form for v in values for form in (v, json.dumps(v)[1:-1])}  # as written, and inside JSON
        pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) if forms else None
        _pattern = (values, pattern)
    return pattern


def scrub_url(url: str) -> str:
    """``url`` without the ``user:password@`` part (shown as ``***@``)."""
    return _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + MASK + "@", url)


def url_password(url: str) -> str | None:
    """The password (or lone user token) in a URL's ``user:password@`` part, if any."""
    m = _URL_CREDENTIALS.search(url)
    if not m:
        return None
    userinfo = m.group(0)[len(m.group("scheme")):-1]
    user, _, password = userinfo.partition(":")
    return password or user or None


def scrub(text: str) -> str:
    """``text`` with every known secret and every URL credential replaced by ``***``."""
    if not text:
        return text
    pattern = _secret_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return scrub_url(text) if "@" in text else text


def scrub_record(value: Any) -> Any:
    """A copy of a JSON-like record with every string scrubbed (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_record(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_record(v) for v in value]
    return value


def redact_options(options: dict[str, Any]) -> dict[str, Any]:
    """A copy of adapter options fit to record: secret-named values (also inside JSON-object strings
    such as ``extra_body``) become ``***`` and are remembered; URLs lose their credentials."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if secret_name(str(key)) and not isinstance(value, dict | list):
            remember(value if isinstance(value, str) else None)
            out[key] = MASK
        elif isinstance(value, dict):
            out[key] = redact_options(value)
        elif isinstance(value, list):
            out[key] = [redact_options(v) if isinstance(v, dict) else _redact_text(v) for v in value]
        else:
            out[key] = _redact_text(value)
    return out


def _redact_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            redacted = redact_options(parsed)
            return value if redacted == parsed else json.dumps(redacted, ensure_ascii=False)
    password = url_password(value)
    if password:
        remember(password)
    return scrub_url(value)
