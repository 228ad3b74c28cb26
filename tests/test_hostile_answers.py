"""Issue 10 items 9, 11, 12: what a model server sends, and a broken cache, cost at most one sample.

9: one lone surrogate in an answer (``"\\ud83d"``, valid JSON) made the run unfinishable.
11: a server announcing an 8 GB body drove memory to 3 GB.
12: a locked, corrupt, read-only or full cache crashed the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_evalkit, self_signed_tls, write_mcq

from evalkit.testing.server import Fault, ModelServer
from evalkit.types import GenerationConfig, Message, Request, Response, Text

evalkit = run_evalkit


def _records(run: Path) -> list[dict]:
    raw = (run / "samples.jsonl").read_bytes()
    raw.decode("utf-8")  # strict: the file is valid UTF-8
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


# -- item 9 -----------------------------------------------------------------------------------------
def _surrogate_task(tmp: Path) -> Path:
    task = write_mcq(tmp / "mcq.jsonl", 6)
    rows = [json.loads(line) for line in task.read_text().splitlines()]
    rows[1]["input"] = "A question from a data file with a lone surrogate \ud83d in it: which option?"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))  # json.dumps writes it as the escape \ud83d
    return task


def _answer(request: dict) -> str:
    return "\ud83d" if "Question 2:" in json.dumps(request) else "The answer is A."


def test_a_lone_surrogate_costs_nothing_but_its_own_sample(tmp_path: Path) -> None:
    task = _surrogate_task(tmp_path)
    env = {"EVALKIT_CACHE_DIR": str(tmp_path / "cache")}
    with ModelServer(_answer) as srv:
        first = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                        "--output", str(tmp_path / "a"), env=env)
        assert first.returncode == 0, first.stderr
        records = {r["id"]: r for r in _records(tmp_path / "a")}
        assert len(records) == 6
        assert records["q00002"]["response"] == "\ufffd" and records["q00002"]["score"]["status"] == "unparsed"
        assert r"\ud83d" in json.dumps(records["q00001"]["prompt"])  # the data's own text, escaped in the file
        assert any("lone surrogate" in json.dumps(b) for b in srv.bodies)  # ...and sent as the JSON escape
        sent = srv.requests
        # the cached answers are served again, the surrogate one included, and the report reads it all
        second = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                         "--output", str(tmp_path / "b"), env=env)
        assert second.returncode == 0, second.stderr
        assert srv.requests == sent and all(r["cached"] for r in _records(tmp_path / "b"))
    assert evalkit("report", str(tmp_path / "a"), "--html", str(tmp_path / "r.html"), "-q").returncode == 0


# -- item 11: response bodies are capped; the client goes through a proxy -----------------------------
def _ask(adapter: Any) -> Response:
    async def go() -> Response:
        try:
            return await adapter.respond(Request((Message("user", (Text("What is 1+1?"),)),), GenerationConfig()))
        finally:
            await adapter.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("kind", ["huge", "flood"])
def test_an_endless_or_announced_huge_body_ends_that_sample_not_the_run(kind: str, tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 4)
    out = tmp_path / "run"
    with ModelServer("The answer is A.", faults=[Fault(kind, match="Question 1:")]) as srv:
        done = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "--output", str(out),
                       "-M", "max_response_bytes=2000000", "--no-cache", "--no-report", "--max-errors", "1",
                       max_memory=1 << 30, timeout=60)
    assert done.returncode == 0, done.stderr
    records = {r["id"]: r for r in _records(out)}
    assert len(records) == 4 and records["q00001"]["score"]["status"] == "error"
    assert "more than the 2,000,000 bytes allowed" in records["q00001"]["error"]
    assert all(r["score"]["status"] != "error" for sid, r in records.items() if sid != "q00001")


def test_the_default_limit_refuses_an_8_gb_announcement_without_reading_it() -> None:
    from evalkit.adapters import make_adapter

    with ModelServer("A", faults=[Fault("huge")]) as srv:
        resp = _ask(make_adapter("openai:m", {"base_url": srv.url}))
    assert resp.error and "announced a 8,000,000,000-byte response body" in resp.error and not resp.retryable


def test_http_requests_go_through_the_proxy_unless_no_proxy_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.adapters import make_adapter
    from evalkit.testing.proxy import LocalProxy

    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with ModelServer("via the proxy") as srv, LocalProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        resp = _ask(make_adapter("openai:m", {"base_url": srv.url}))
        assert resp.ok and resp.text == "via the proxy"
        assert proxy.seen == [f"POST http://127.0.0.1:{srv.port}/v1/chat/completions"]
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        assert _ask(make_adapter("openai:m", {"base_url": srv.url})).ok
        monkeypatch.delenv("NO_PROXY")
        assert _ask(make_adapter("openai:m", {"base_url": srv.url, "proxy": "none"})).ok
        assert len(proxy.seen) == 1  # NO_PROXY and -M proxy=none went direct
        assert srv.requests == 3





def test_https_goes_through_an_authenticating_proxy_in_a_connect_tunnel(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from evalkit.adapters import make_adapter
    from evalkit.testing.proxy import LocalProxy

    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    ctx, cert = self_signed_tls(tmp_path)
    with ModelServer("secure via the tunnel", ssl_context=ctx) as srv, LocalProxy(auth=("corp", "s3cret-proxy-pw")) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://corp:s3cret-proxy-pw@"))
        resp = _ask(make_adapter("openai:m", {"base_url": srv.url, "ca_file": str(cert)}))
        assert resp.ok and resp.text == "secure via the tunnel", resp.error
        assert proxy.seen == [f"CONNECT 127.0.0.1:{srv.port}"]
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://corp:wrong@"))
        refused = _ask(make_adapter("openai:m", {"base_url": srv.url, "ca_file": str(cert)}))
    assert refused.error and "refused the tunnel" in refused.error and "407" in refused.error
    assert "wrong" not in refused.error and not refused.retryable


def test_a_proxy_password_is_not_recorded(tmp_path: Path) -> None:
    from evalkit.testing.proxy import LocalProxy

    task = write_mcq(tmp_path / "mcq.jsonl", 2)
    out = tmp_path / "run"
    with ModelServer("The answer is A.") as srv, LocalProxy(auth=("corp", "pw-9f8e7d6c5b")) as proxy:
        done = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "--output", str(out),
                       "-M", f"proxy={proxy.url.replace('http://', 'http://corp:pw-9f8e7d6c5b@')}", "--no-cache",
                       "--no-report")
        assert done.returncode == 0, done.stderr
        assert len(proxy.seen) >= 1
    assert "pw-9f8e7d6c5b" not in (out / "run.json").read_text() + done.stdout + done.stderr


# -- item 12: the response cache is an optimisation ------------------------------------------------------
def _run_with_cache(tmp: Path, cache_dir: Path, n: int = 6) -> tuple[subprocess.CompletedProcess[str], Path]:
    task = write_mcq(tmp / "mcq.jsonl", n)
    out = tmp / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "EVALKIT_CACHE_DIR": str(cache_dir)}
    with ModelServer("The answer is A.") as srv:
        done = subprocess.run([sys.executable, "-m", "evalkit.cli", "run", "--task", str(task), "--model", "openai:m",
                               "--base-url", srv.url, "--output", str(out), "--no-report", "-q"],
                              capture_output=True, text=True, env=env, timeout=60)
    return done, out


def _assert_warned_once_and_finished(done: subprocess.CompletedProcess[str], out: Path, cache: Path, n: int) -> None:
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: the response cache")]
    assert len(warnings) == 1 and str(cache) in warnings[0] and "goes on without it" in warnings[0], done.stderr
    assert "Traceback" not in done.stderr
    assert len(_records(out)) == n and json.loads((out / "summary.json").read_text())["counts"]["n"] == n


def test_a_corrupt_cache_file_is_named_once_and_skipped(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "responses.sqlite").write_bytes(b"this is not a database, it is a text file " * 200)
    done, out = _run_with_cache(tmp_path, cache_dir)
    _assert_warned_once_and_finished(done, out, cache_dir / "responses.sqlite", 6)
    assert "not a database" in done.stderr


def test_a_cache_locked_by_another_process_is_skipped_at_once(tmp_path: Path) -> None:
    import sqlite3

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    holder = sqlite3.connect(cache_dir / "responses.sqlite", isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the cache for the whole run
    try:
        done, out = _run_with_cache(tmp_path, cache_dir)
    finally:
        holder.close()
    _assert_warned_once_and_finished(done, out, cache_dir / "responses.sqlite", 6)
    assert "locked" in done.stderr


def test_a_cache_folder_that_cannot_be_made_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    done, out = _run_with_cache(tmp_path, blocker / "cache")
    _assert_warned_once_and_finished(done, out, blocker / "cache" / "responses.sqlite", 6)


def test_a_cache_on_a_full_disk_is_skipped(tmp_path: Path) -> None:
    import sqlite3

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    db = sqlite3.connect(cache_dir / "responses.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, text TEXT, reasoning TEXT, prompt_tokens INT,"
               " completion_tokens INT, latency REAL)")
    db.commit()
    db.close()
    # every write to the cache's journal answers ENOSPC, as on a full disk; the run's own folder is elsewhere
    (cache_dir / "responses.sqlite-wal").unlink(missing_ok=True)
    (cache_dir / "responses.sqlite-wal").symlink_to("/dev/full")
    done, out = _run_with_cache(tmp_path, cache_dir, n=8)
    _assert_warned_once_and_finished(done, out, cache_dir / "responses.sqlite", 8)


def test_a_cache_write_that_fails_at_the_end_of_a_run_is_reported_not_raised(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The red team's full disk struck at the last flush, after every sample: no summary was written."""
    import sqlite3

    from evalkit.cache import ResponseCache

    cache = ResponseCache(tmp_path / "responses.sqlite")

    class FullDisk:
        def executemany(self, *_: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        def close(self) -> None:
            pass

    cache._db = FullDisk()  # type: ignore[assignment]
    for i in range(3):
        cache.put(f"k{i}", Response(text="The answer is A."))
    cache.close()  # the last flush fails: one warning, no exception
    cache.put("k9", Response(text="later"))
    assert cache.get("k9") is None and cache.disabled == "database or disk is full"
    err = capsys.readouterr().err
    assert err.count("warning: the response cache") == 1 and str(tmp_path / "responses.sqlite") in err
