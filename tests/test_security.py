"""Issue 10 items 1 and 2: a task file cannot run code, and cannot make evalkit read outside its folders.

Each test plays the attack the red-team pass used. ``docs/security.md`` says what is promised.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import jinja2
import pytest
from conftest import run_evalkit

from evalkit.errors import EvalkitError
from evalkit.tasks import get_task
from evalkit.types import Sample

evalkit = run_evalkit


def _one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# -- item 1: templates render in jinja2's sandbox ------------------------------------------------------
ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('touch MARK').read() }}",
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == '_wrap_close' %}"
    "{{ c.__init__.__globals__['popen']('touch MARK').read() }}{% endif %}{% endfor %}",
    "{{ (cycler|attr('__init__')|attr('__globals__'))['os'].popen('touch MARK').read() }}",
    "{% set g = cycler.__init__.__globals__ %}{{ g.os.system('touch MARK') }}",
    "{{ '{0.__init__.__globals__[os]}'.format(cycler) }}{{ cycler.__init__.__globals__.os.popen('touch MARK') }}",
    "{{ sample.__class__.__init__.__globals__['sys'].modules['os'].popen('touch MARK').read() }}",
]
NOT_CODE = [
    "{{ metadata.update({'target': 'A'}) }}",  # mutation of the sample
    "{{ choices.append('E') }}",
    "{{ 'x' * 10 ** 10 }}",  # a memory bomb
    "{{ range(10 ** 9) | list | length }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxx{% endfor %}{% endfor %}",
]


def _task_file(folder: Path, template: str, name: str = "t") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.jsonl").write_text(json.dumps({"id": "1", "input": "What is 1+1?", "target": "2"}) + "\n")
    task = folder / "task.yaml"
    task.write_text(json.dumps({"name": name, "dataset": {"path": "data.jsonl"}, "prompt": {"template": template},
                                "grader": "exact"}), encoding="utf-8")
    return task


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_template_cannot_run_a_command(payload: str, tmp_path: Path) -> None:
    mark = tmp_path / "pwned"
    task = get_task(str(_task_file(tmp_path / "t", payload.replace("MARK", str(mark)))))
    # refused by the sandbox (an unsafe attribute), or left undefined by it (the `attr` filter)
    with pytest.raises((EvalkitError, jinja2.TemplateError)):
        task.render(task.samples[0])
    assert not mark.exists(), "the template ran a shell command"


@pytest.mark.parametrize("payload", NOT_CODE)
def test_a_template_cannot_change_the_sample_or_exhaust_memory(payload: str, tmp_path: Path) -> None:
    task = get_task(str(_task_file(tmp_path / "t", payload)))
    with pytest.raises(EvalkitError, match="sandbox"):
        task.render(task.samples[0])
    assert task.samples[0].metadata == {} and task.samples[0].target == "2"


def test_an_escaping_template_stops_the_run_in_one_sentence(tmp_path: Path) -> None:
    mark = tmp_path / "pwned"
    task = _task_file(tmp_path / "t", ESCAPES[0].replace("MARK", str(mark)))
    done = evalkit("run", "--task", str(task), "--model", "reference", "--results-dir", str(tmp_path / "r"),
                   "--no-report", "-q")
    assert done.returncode == 2
    assert "refused by the sandbox" in _one_sentence(done.stderr) and str(task) in done.stderr
    assert not mark.exists()


def test_ordinary_templates_still_render(tmp_path: Path) -> None:
    template = ("{% if choices %}{{ question | trim }}\n{% for c in choices %}{{ letters[loop.index0] }}) {{ c }}\n"
                "{% endfor %}{% else %}{{ question | upper }}{% endif %}{{ metadata.get('hint', '') }}")
    task = get_task(str(_task_file(tmp_path / "t", template)))
    assert task.render(task.samples[0])[-1].text == "WHAT IS 1+1?"
    sample = Sample("2", " Pick one ", "A", choices=("x", "y"), metadata={"hint": "!"})
    assert task.render(sample)[-1].text == "Pick one\nA) x\nB) y\n!"


def test_a_rubric_prompt_from_a_task_cannot_reach_into_python_objects() -> None:
    import asyncio

    from evalkit.grading.scorers import rubric

    asked: list[str] = []

    async def judge(prompt: str) -> str:
        asked.append(prompt)
        return "POINTS: 1\nREASON: ok"

    sample = Sample("1", "Prove it.", None, metadata={"rubric": [{"step": "s", "points": 2}], "points": 2})
    score = asyncio.run(rubric(sample, "my proof", judge=judge,
                               prompt="{response.__class__.__mro__} {question.__class__.__base__.__subclasses__}"))
    assert not asked or "<class" not in asked[0], "the prompt leaked Python objects to the judge"
    assert score.status == "error" and "is not allowed" in (score.reason or "")


# -- item 2: data and image paths stay inside the task's folders --------------------------------------
SECRET = "SECRET-TOKEN-7f3a"


def _secret_folder(tmp: Path) -> Path:
    secret = tmp / "secret"
    secret.mkdir()
    (secret / "creds.jsonl").write_text(json.dumps({"id": "s", "input": SECRET, "target": "x"}) + "\n")
    return secret


def _dataset_task(folder: Path, dataset: dict, **extra: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    task = folder / "task.yaml"
    task.write_text(json.dumps({"name": "leak", "dataset": dataset, "grader": "exact", **extra}), encoding="utf-8")
    return task


def _written(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("dataset", [
    {"path": "../../secret/creds.jsonl"},
    {"path": "ABS/creds.jsonl"},
    {"path": "../../../../../../../../../../etc/passwd", "format": "csv", "fields": {"input": "root"}},
])
def test_a_task_file_cannot_read_data_outside_its_folder(dataset: dict, tmp_path: Path) -> None:
    secret = _secret_folder(tmp_path)
    dataset = {**dataset, "path": dataset["path"].replace("ABS", str(secret))}
    task = _dataset_task(tmp_path / "tasks" / "leak", dataset)
    results = tmp_path / "results"
    done = evalkit("run", "--task", str(task), "--model", "reference", "--results-dir", str(results),
                   "--no-report", "-q")
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert "lies outside the folders this task may read" in line and "dataset.path" in line
    assert SECRET not in _written(results) if results.exists() else True
    assert "root:" not in (_written(results) if results.exists() else "")


def test_a_task_file_cannot_point_options_data_outside_either(tmp_path: Path) -> None:
    _secret_folder(tmp_path)
    task = _dataset_task(tmp_path / "tasks" / "leak", {"path": "data.jsonl"}, options={"data": "../../secret/creds.jsonl"})
    with pytest.raises(EvalkitError, match="options.data"):
        get_task(str(task))


HF_LEAKS = {  # what else a task file may name for its loader (a Hugging Face loader reads any local path)
    "hf-folder": ({"hf": "SECRET_DIR", "split": "train"}, {}, "dataset.hf"),
    "data-files": ({"path": ".", "format": "hf", "split": "train", "options": {"data_files": "SECRET_DIR/creds.jsonl"}},
                   {}, "data_files"),
    "data-files-split-dotdot": ({"path": ".", "format": "hf", "split": "train",
                                 "options": {"data_files": {"train": ["ok.jsonl", "../../secret/creds.jsonl"]}}},
                                {}, "data_files"),
    "data-files-file-url": ({"path": ".", "format": "hf", "split": "train",
                             "options": {"data_files": "file://SECRET_DIR/creds.jsonl"}}, {}, "data_files"),
    "task-options": ({"path": ".", "format": "hf", "split": "train"},
                     {"options": {"data_files": "SECRET_DIR/creds.jsonl"}}, "data_files"),
    "hub-files": ({"path": ".", "format": "hub", "split": "train", "options": {"hub_files": "../../secret/{split}.jsonl"}},
                  {}, "hub_files"),
    "bench": ({"path": ".", "format": "gaokao-hs"}, {"options": {"bench": "SECRET_DIR"}}, "bench"),
}


@pytest.mark.parametrize("kind", list(HF_LEAKS))
def test_a_task_file_cannot_name_other_files_for_its_loader(kind: str, tmp_path: Path) -> None:
    secret = _secret_folder(tmp_path)
    dataset, extra, field = json.loads(json.dumps(HF_LEAKS[kind]).replace("SECRET_DIR", str(secret)))
    folder = tmp_path / "tasks" / "leak"
    task = _dataset_task(folder, dataset, **extra)
    (folder / "ok.jsonl").write_text(json.dumps({"id": "1", "input": "fine", "target": "x"}) + "\n")
    with pytest.raises(EvalkitError, match=f"{field}.* lies outside the folders this task may read"):
        get_task(str(task))
    # --data (typed by the user) does not lift the rule for what the file itself names
    if kind.startswith("data-files") or kind == "task-options":
        with pytest.raises(EvalkitError, match="data_files.* lies outside"):
            get_task(str(task), data=str(folder))


@pytest.mark.parametrize("grader", [{"name": "human", "options": {"marks_file": "SECRET_DIR/marks.csv"}},
                                    {"name": "gaokao", "options": {"marks": "SECRET_DIR/marks.csv"}}])
def test_a_task_file_cannot_point_its_grader_at_a_marks_file_elsewhere(grader: dict, tmp_path: Path) -> None:
    secret = _secret_folder(tmp_path)
    (secret / "marks.csv").write_text(f"id,mark\n1,{SECRET}\n")
    grader = json.loads(json.dumps(grader).replace("SECRET_DIR", str(secret)))
    folder = tmp_path / "tasks" / "leak"
    task = _dataset_task(folder, {"path": "data.jsonl"}, grader=grader)
    (folder / "data.jsonl").write_text(json.dumps({"id": "1", "input": "fine", "target": "x"}) + "\n")
    key = next(iter(grader["options"]))
    with pytest.raises(EvalkitError, match=f"grader option '{key}' .* lies outside the folders this task may read"):
        get_task(str(task))
    (folder / "marks.csv").write_text("id,mark\n1,1\n")  # its own marks file is fine
    task = _dataset_task(folder, {"path": "data.jsonl"},
                         grader={**grader, "options": {key: str(folder / "marks.csv")}})
    assert get_task(str(task)).grader.options[key] == str(folder / "marks.csv")


@pytest.mark.parametrize("link", ["file", "folder"])
def test_a_data_folder_cannot_hold_a_link_that_leads_out(link: str, tmp_path: Path) -> None:
    secret = _secret_folder(tmp_path)
    folder = tmp_path / "tasks" / "leak"
    (folder / "data" / "inner").mkdir(parents=True)
    (folder / "data" / "inner" / "ok.jsonl").write_text(json.dumps({"id": "1", "input": "fine", "target": "x"}) + "\n")
    (folder / "data" / "also-ok.jsonl").symlink_to(folder / "data" / "inner" / "ok.jsonl")  # a link inside is fine
    task = _dataset_task(folder, {"path": "data", "format": "hf", "split": "train"})
    get_task(str(task))  # links that stay inside are fine
    if link == "file":
        (folder / "data" / "inner" / "creds.jsonl").symlink_to(secret / "creds.jsonl")
    else:
        (folder / "data" / "more").symlink_to(secret)
    with pytest.raises(EvalkitError, match=r"data file .* \(a link to .*secret.*\) lies outside the folders"):
        get_task(str(task))


def test_a_task_file_may_name_its_own_files_for_its_loader(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    folder = tmp_path / "tasks" / "mine"
    task = _dataset_task(folder, {"path": ".", "format": "hf", "split": "train",
                                  "options": {"data_files": {"train": "rows/*.jsonl"}}})
    (folder / "rows").mkdir()
    (folder / "rows" / "a.jsonl").write_text(json.dumps({"id": "1", "input": "mine", "target": "x"}) + "\n")
    assert [s.text for s in get_task(str(task)).samples] == ["mine"]


def test_the_user_may_point_a_task_at_other_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = _secret_folder(tmp_path)
    task = _dataset_task(tmp_path / "tasks" / "leak", {"path": "../../secret/creds.jsonl"})
    assert get_task(str(task), data=str(secret / "creds.jsonl")).samples[0].text == SECRET  # --data
    assert get_task(str(task), options={"data": str(secret / "creds.jsonl")}).samples[0].text == SECRET  # -T data=
    monkeypatch.setenv("EVALKIT_ALLOW_PATHS", str(secret))
    assert get_task(str(task)).samples[0].text == SECRET  # an explicit opt-in


def _png(path: Path, payload: bytes = b"") -> Path:
    from PIL import Image as PILImage

    PILImage.new("RGB", (4, 4), (200, 10, 10)).save(path, format="PNG")
    if payload:
        with path.open("ab") as fh:
            fh.write(payload)
    return path


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_image_paths_outside_the_task_folder_are_never_read(kind: str, tmp_path: Path) -> None:
    from evalkit.testing.server import ModelServer

    secret = _secret_folder(tmp_path)
    key = _png(secret / "key.png", SECRET.encode())
    folder = tmp_path / "tasks"
    folder.mkdir()
    _png(folder / "ok.png")
    # (paths are absolute but for the ".." one: relative paths in input parts are the trust issue's)
    ref = {"absolute": str(key), "dotdot": str(folder / ".." / "secret" / "key.png"), "symlink": str(folder / "link.png")}[kind]
    if kind == "symlink":
        (folder / "link.png").symlink_to(key)
    rows = [{"id": "1", "input": [{"type": "text", "text": "What colour?"}, {"type": "image", "path": ref}],
             "target": "red"},
            {"id": "2", "input": [{"type": "text", "text": "And this?"}, {"type": "image", "path": str(folder / "ok.png")}],
             "target": "red"}]
    task = folder / "s.jsonl"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with ModelServer("red") as srv:
        done = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url,
                       "--results-dir", str(tmp_path / "results"), "--no-report", "-q", "--no-cache")
        sent = json.dumps(srv.bodies)
    assert done.returncode == 2
    line = _one_sentence(done.stderr)
    assert "sample '1': image" in line and "lies outside the folders this task may read" in line
    # a link inside the folder says where it leads (else "link.png lies outside" reads as nonsense)
    assert (f"(a link to {key.resolve()})" in line) == (kind == "symlink")
    assert base64.b64encode(key.read_bytes()).decode()[:40] not in sent


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_only_regular_image_files_are_read(kind: str, tmp_path: Path) -> None:
    from evalkit.testing.server import ModelServer

    folder = tmp_path / "tasks"
    folder.mkdir()
    env: dict[str, str] = {}
    if kind == "fifo":
        os.mkfifo(folder / "pipe.png")
        ref = str(folder / "pipe.png")
    else:
        ref, env = "/dev/zero", {"EVALKIT_ALLOW_PATHS": "/dev"}
    task = folder / "s.jsonl"
    task.write_text(json.dumps({"id": "1", "input": [{"type": "text", "text": "?"}, {"type": "image", "path": ref}],
                                "target": "red"}) + "\n")
    out = tmp_path / "run"
    with ModelServer("red") as srv:
        done = evalkit("run", "--task", str(task), "--model", "openai:m", "--base-url", srv.url, "--output", str(out),
                       "--no-report", "-q", "--no-cache", "--max-retries", "0", env=env, timeout=60,
                       max_memory=1 << 30)
        requests = srv.requests
    # refused before the first request (issue 15: images are checked before a run starts), never opened
    assert done.returncode == 2 and requests == 0, done.stderr
    line = _one_sentence(done.stderr)
    assert "sample '1': image" in line and "is not a regular file" in line
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".yaml"])
def test_a_task_file_that_is_a_fifo_is_named_not_read(suffix: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / f"task{suffix}")
    done = evalkit("run", "--task", str(tmp_path / f"task{suffix}"), "--model", "reference", "--results-dir",
                   str(tmp_path / "results"), "-q", timeout=60)
    assert done.returncode == 2
    assert "not a regular file" in _one_sentence(done.stderr)  # not "no such task" for a file that is there


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/evalkit-abs-escape", ".hidden", ".."])
def test_a_task_name_never_puts_the_run_outside_the_results_folder(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    task = _task_file(folder, "{{ question }}", name=name)
    results = tmp_path / "a" / "b" / "results"
    done = evalkit("run", "--task", str(task), "--model", "reference", "--results-dir", str(results),
                   "--no-report", "-q")
    assert done.returncode == 0, done.stderr
    runs = [p.parent for p in results.rglob("run.json")]
    assert len(runs) == 1 and runs[0].parent == results and not runs[0].name.startswith(".")
    assert not list(tmp_path.glob("escaped*")) and not list(Path("/tmp").glob("evalkit-abs-escape*"))
