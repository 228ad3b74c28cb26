"""Shared fixtures: no network, an isolated cache, and sample files written by the tests."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield


def write_mcq(path: Path, n: int, letters: str = "ABCD") -> Path:
    """A JSONL of ``n`` multiple-choice samples in evalkit's own sample format."""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "id": f"q{i:05d}",
                "input": f"Question {i}: which option is right?",
                "choices": [f"option {c}" for c in letters],
                "target": letters[i % len(letters)],
            }) + "\n")
    return path


@pytest.fixture
def mcq_file(tmp_path: Path) -> Path:
    return write_mcq(tmp_path / "mcq.jsonl", 40)


def run_evalkit(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
                max_memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """``evalkit ARGS`` in a child process of this checkout; ``max_memory`` bounds its address space (so a
    test of a memory bomb cannot take the machine down when the code under test is wrong)."""
    def limit() -> None:
        if max_memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    full = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True, env=full,
                          timeout=timeout, preexec_fn=limit)


def self_signed_tls(tmp: Path) -> tuple[Any, Path]:
    """A server-side TLS context for 127.0.0.1 and its certificate (to trust); skips without openssl."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx, cert


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--no-first-run", "--disable-extensions", "--hide-scrollbars", "--mute-audio"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (skips cleanly when either is missing)."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        except sync_api.Error as exc:
            pytest.skip(f"Chromium could not start here: {exc}")
        yield browser
        browser.close()
