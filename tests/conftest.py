"""Shared fixtures: no network, an isolated cache, and sample files written by the tests."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

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
