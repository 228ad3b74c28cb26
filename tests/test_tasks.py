"""Task definitions: YAML with validation, Python factories, --include, entry points, JSONL files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.tasks import TaskError, get_task, include
from evalkit.types import Image, Text

YAML = """
name: tiny-capitals
description: Capitals of a few countries
version: 2
dataset:
  path: data.csv
  fields: {id: qid, input: question, target: answer, metadata: [region]}
prompt:
  system: Answer with the city only.
  template: "Q: {{ question }}"
grader: exact
metrics: [accuracy]
generation: {max_tokens: 16, temperature: 0}
"""


def _yaml_task(root: Path, text: str = YAML) -> Path:
    d = root / "tiny-capitals"
    d.mkdir(parents=True)
    (d / "task.yaml").write_text(text)
    (d / "data.csv").write_text("qid,question,answer,region\nfr,France?,Paris,EU\njp,Japan?,Tokyo,AS\n")
    return d / "task.yaml"


def test_yaml_task_loads_maps_fields_and_renders(tmp_path: Path) -> None:
    task = get_task(str(_yaml_task(tmp_path)))
    assert task.name == "tiny-capitals" and task.version == "2"
    assert [s.id for s in task.samples] == ["fr", "jp"]
    assert task.samples[1].metadata == {"region": "AS"}
    msgs = task.render(task.samples[0])
    assert msgs[0].role == "system" and msgs[1].text == "Q: France?"
    assert task.generation.max_tokens == 16


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("grader: chioce", "field 'grader.name' is 'chioce'; allowed:"),
        ("modality: video", "field 'modality' is 'video'; allowed: text, image, mixed"),
        ("promt: x", "field 'promt' is not a task field"),
        ("generation: {max_token: 3}", "field 'generation'"),
    ],
)
def test_a_wrong_field_is_one_sentence_naming_file_and_field(tmp_path: Path, bad: str, needle: str) -> None:
    lines = [ln for ln in YAML.splitlines() if not ln.startswith(bad.split(":")[0] + ":")]
    path = _yaml_task(tmp_path, "\n".join(lines) + "\n" + bad + "\n")
    with pytest.raises(TaskError) as err:
        get_task(str(path))
    message = str(err.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_include_folder_with_yaml_and_python_factory(tmp_path: Path) -> None:
    _yaml_task(tmp_path)
    (tmp_path / "squares.py").write_text(
        "from evalkit.tasks import task, Task\n"
        "from evalkit.grading import GraderSpec\n"
        "from evalkit.types import Sample\n"
        "@task('squares')\n"
        "def make(n='3', **_):\n"
        "    return Task('squares', loader=lambda: [Sample(str(i), f'{i}^2?', str(i*i)) for i in range(int(n))],\n"
        "                grader=GraderSpec('exact'))\n"
    )
    names = include(tmp_path)
    assert {"tiny-capitals", "squares"} <= set(names)
    assert len(get_task("squares", options={"n": "5"}).samples) == 5


def test_jsonl_sample_file_is_a_task_with_images(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    PILImage.new("RGB", (4, 4), "red").save(tmp_path / "red.png")
    rec = {"id": "a", "input": [{"type": "text", "text": "Colour of <image 1>?"},
                                {"type": "image", "path": str(tmp_path / "red.png")}],
           "choices": ["red", "blue"], "target": "A"}
    (tmp_path / "s.jsonl").write_text(json.dumps(rec) + "\n")
    task = get_task(str(tmp_path / "s.jsonl"))
    assert task.grader.name == "choice" and task.modality == "image"  # every sample has one
    parts = task.render(task.samples[0])[0].content
    assert [type(p) for p in parts] == [Text, Image, Text]  # the image sits where its marker was
    assert parts[0].text == "Colour of " and parts[2].text.startswith("?")


def test_duplicate_ids_and_bad_rows_name_the_row(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"id": "1", "input": "a"}\n{"id": "1", "input": "b"}\n')
    with pytest.raises(TaskError, match="appears twice"):
        get_task(str(tmp_path / "d.jsonl")).samples  # noqa: B018
    (tmp_path / "e.jsonl").write_text('{"id": "1", "input": "a"}\nnot json\n')
    with pytest.raises(TaskError, match="line 2"):
        get_task(str(tmp_path / "e.jsonl")).samples  # noqa: B018


def test_plugin_task_through_entry_points(tmp_path: Path) -> None:
    site = tmp_path / "site"
    pkg = site / "acme_tasks"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from evalkit.tasks import Task\nfrom evalkit.types import Sample\n"
        "def make(**_):\n"
        "    return Task('acme-one', description='from a plug-in', loader=lambda: [Sample('x', 'hi', 'hi')])\n"
    )
    dist = site / "acme_tasks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-tasks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[evalkit.tasks]\nacme-one = acme_tasks:make\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-m", "evalkit.cli", "list", "tasks"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "acme-one" in out.stdout and "from a plug-in" in out.stdout


def test_the_task_record_imports_no_loader_and_loads_through_the_format_registry(tmp_path: Path) -> None:
    """Arrows run one way: task.py knows formats only by name; the loader is imported when samples are read."""
    rows = tmp_path / "r.jsonl"
    rows.write_text('{"id": "a", "input": "1+1?", "target": "2"}\n', encoding="utf-8")
    code = ("import sys\n"
            "from pathlib import Path\n"
            "from evalkit.tasks.task import DatasetSpec, Task\n"
            "room = sorted(m for m in sys.modules if m.startswith('evalkit.tasks.'))\n"
            "assert room == ['evalkit.tasks.spec', 'evalkit.tasks.task'], room\n"
            f"t = Task('rows', dataset=DatasetSpec('jsonl', path=Path({str(rows)!r})))\n"
            "print(len(t.samples), 'evalkit.tasks.sources' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "True"]
