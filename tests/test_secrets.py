"""Issue 10 item 3: no secret is written or printed.

The red-team pass found the API key in ``samples.jsonl`` and the report (a 401 body echoing the
``Authorization`` header), a key given in ``-M extra_body`` and a password in ``--base-url`` in
``run.json`` (the adapter record and the saved command line) and in error messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, write_mcq

from evalkit.testing.server import Fault, ModelServer

KEY = "sk-test-4f1b2c3d4e5f60718293a4b5"
EXTRA_KEY = "sk-extra-9e8d7c6b5a49382716"
URL_PASSWORD = "hunter2-url-password-31415"


def evalkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "evalkit.cli", *args], capture_output=True, text=True, env=full,
                          timeout=120)


def _everything_written(*folders: Path) -> str:
    out = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                out.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def test_a_401_that_echoes_the_key_never_reaches_the_results_report_or_terminal(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 6)
    out = tmp_path / "run"
    with ModelServer("The answer is A.", faults=[Fault("echo", status=401)]) as srv:
        done = evalkit("run", "--task", str(task), "--model", "openai:gpt-x", "--base-url", srv.url,
                       "--api-key-env", "MY_LLM_CREDS", "--output", str(out), "--max-retries", "0", "--no-cache",
                       env={"MY_LLM_CREDS": KEY})
        assert any(KEY in str(h.get("authorization")) for h in srv.headers), "the key must still be sent"
    assert "invalid request" in (out / "samples.jsonl").read_text()  # the server's words are kept...
    assert KEY not in _everything_written(out), "the API key was written to the run folder"  # ...its key is not
    assert KEY not in done.stdout + done.stderr
    shown = evalkit("show", str(out))
    reports = tmp_path / "reports"
    made = evalkit("report", str(out), "--html", str(reports / "r.html"), "--markdown", str(reports / "b.md"),
                   "--json", str(reports / "b.json"))
    assert made.returncode == 0, made.stderr
    assert KEY not in _everything_written(reports) + shown.stdout + shown.stderr + made.stdout + made.stderr


def test_a_key_in_extra_body_and_a_password_in_the_url_are_not_recorded(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 4)
    out = tmp_path / "run"
    with ModelServer("The answer is A.") as srv:
        url = srv.url.replace("http://", f"http://evalkit:{URL_PASSWORD}@")
        done = evalkit("run", "--task", str(task), "--model", "openai:gpt-x", "--base-url", url,
                       "-M", f'extra_body={{"api_key": "{EXTRA_KEY}", "top_k": 20}}', "--output", str(out),
                       "--no-report", "--no-cache")
        assert done.returncode == 0, done.stderr
        assert srv.bodies[0]["api_key"] == EXTRA_KEY and srv.bodies[0]["top_k"] == 20  # still sent
    written = _everything_written(out)
    run_json = (out / "run.json").read_text()
    for secret in (EXTRA_KEY, URL_PASSWORD):
        assert secret not in written and secret not in done.stdout + done.stderr
    recorded = json.loads(json.loads(run_json)["adapter"]["options"]["extra_body"])
    assert recorded == {"api_key": "***", "top_k": 20}  # the record says what was set, not the secret


def test_a_password_in_the_url_is_not_in_error_messages(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 3)
    out = tmp_path / "run"
    url = f"http://evalkit:{URL_PASSWORD}@127.0.0.1:9/v1"  # nothing listens on port 9: connection refused
    done = evalkit("run", "--task", str(task), "--model", "openai:gpt-x", "--base-url", url, "--output", str(out),
                   "--no-report", "--no-cache", "--max-retries", "0")
    assert "refused" in done.stdout + done.stderr + _everything_written(out)
    assert URL_PASSWORD not in done.stdout + done.stderr + _everything_written(out)


@pytest.mark.parametrize("text,secret", [
    (f"HTTP 401: bad header Authorization: Bearer {KEY}", KEY),
    (f'{{"error": "echo \\"{KEY}\\""}}', KEY),
    (f"see https://me:{URL_PASSWORD}@proxy.example:8080/v1", URL_PASSWORD),
])
def test_scrub_removes_known_keys_and_url_credentials(text: str, secret: str) -> None:
    from evalkit.redact import remember, scrub

    remember(KEY)
    assert secret not in scrub(text) and "***" in scrub(text)


def test_option_names_that_hold_secrets() -> None:
    from evalkit.redact import redact_options, secret_name

    assert all(secret_name(n) for n in ("OPENAI_API_KEY", "api_key", "x-api-key", "apiKey", "HF_TOKEN", "password"))
    assert not any(secret_name(n) for n in ("max_tokens", "max_tokens_field", "api_key_env", "TOKENIZERS_PARALLELISM"))
    assert redact_options({"max_tokens_field": "max_completion_tokens", "api_key": "abcdefgh"}) == {
        "max_tokens_field": "max_completion_tokens", "api_key": "***"}
