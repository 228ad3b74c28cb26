"""Resume cannot mix settings (issue 15 item 5).

A run folder holds one run: re-running into it resumes only when what decides the answers and
their grades is the same — the generation settings, the prompt, the task definition (version,
grader), the samples, the model's options, the image policy, the judge. Anything else is refused in
one sentence that says what differs, before a request is sent or a byte written.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from conftest import write_mcq
from typer.testing import CliRunner

from evalkit.testing.server import ModelServer


def evalkit(*args: str) -> tuple[int, str]:
    from evalkit.cli import app

    result = CliRunner().invoke(app, [*args, "--no-report", "-q"])
    return result.exit_code, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_changed_temperature_on_resume_is_refused_saying_what_differs(tmp_path: Path) -> None:
    task = write_mcq(tmp_path / "mcq.jsonl", 10)
    run = tmp_path / "run"
    with ModelServer("The answer is A.") as srv:
        base = ["run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "--output", str(run)]
        code, err = evalkit(*base, "--temperature", "0", "--limit", "4")
        assert code == 0, err
        before, requests = snapshot(run), srv.requests
        code, err = evalkit(*base, "--temperature", "0.7")
        assert code == 2 and "generation temperature: 0.0 there, 0.7 now" in err, err
        assert len(err.strip().splitlines()) == 1 and "another --output" in err
        code, err = evalkit(*base, "--temperature", "0", "--seed", "7")
        assert code == 2 and "generation seed: unset there, 7 now" in err, err
        code, err = evalkit(*base, "--temperature", "0", "-M", 'extra_body={"top_k": 20}')
        assert code == 2 and "-M extra_body" in err, err
        code, err = evalkit(*base, "--temperature", "0", "--grader-option", "extract=last_capital")
        assert code == 2 and "grader:" in err, err
        assert snapshot(run) == before and srv.requests == requests  # refused before anything happened

        # the same settings resume (transport options such as the timeout may change), and finish the run
        code, err = evalkit(*base, "--temperature", "0", "-M", "timeout=30")
        assert code == 0, err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["counts"]["n"] == 10


def test_a_changed_prompt_or_changed_samples_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    write_mcq(folder / "data.jsonl", 8)
    spec = {"name": "t", "dataset": {"path": "data.jsonl"}, "grader": "choice",
            "prompt": {"template": "{{ question }}\n{{ options }}"}}
    (folder / "task.yaml").write_text(yaml.safe_dump(spec))
    run = tmp_path / "run"
    args = ["run", "--task", str(folder / "task.yaml"), "--model", "reference", "--output", str(run)]
    code, err = evalkit(*args, "--limit", "3")
    assert code == 0, err
    spec["prompt"]["template"] = "Answer with a letter.\n{{ question }}\n{{ options }}"
    (folder / "task.yaml").write_text(yaml.safe_dump(spec))
    code, err = evalkit(*args)
    assert code == 2 and "the prompt template or system prompt changed" in err, err
    spec["prompt"]["template"] = "{{ question }}\n{{ options }}"
    (folder / "task.yaml").write_text(yaml.safe_dump(spec))
    write_mcq(folder / "data.jsonl", 8, letters="ABCDE")  # the same ids, other choices
    code, err = evalkit(*args)
    assert code == 2 and "the task's samples changed" in err, err
