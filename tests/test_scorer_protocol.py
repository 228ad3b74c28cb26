"""Scorers declare their options; a task's grader options are checked once, when it loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import pytest
import yaml

from evalkit.grading import GraderOptionError, GraderSpec, declaration, grade, needs_judge, scorer_registry
from evalkit.grading.protocol import Check, scorer
from evalkit.tasks import TaskError, get_task, list_tasks
from evalkit.types import Sample, Score

BUILTIN_YAML = sorted(Path(__file__).resolve().parent.parent.glob("tasks/*/task.yaml"))


def test_every_built_in_task_loads_with_options_its_scorer_declares() -> None:
    for name in list_tasks():
        task = get_task(name)
        assert task.grader.problem is None, name


@pytest.mark.parametrize("path", BUILTIN_YAML, ids=lambda p: p.parent.name)
def test_a_typo_in_a_built_in_task_files_grader_options_fails_at_load(path: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    grader = data["grader"] if isinstance(data.get("grader"), dict) else {"name": data.get("grader", "exact")}
    options = grader.get("options") or {}
    declared = list(declaration(grader["name"]).options)
    (tmp_path / "s.jsonl").write_text('{"id": "a", "input": "?", "target": "A"}\n', encoding="utf-8")
    data["dataset"] = {"path": "s.jsonl"}  # the grader is checked whatever the data; this keeps the copy self-contained
    for key in list(options) or declared[:1]:
        typo = key[:-1] + key[-1] * 2  # graders -> graderss, extract -> extractt
        value = options.get(key, declaration(grader["name"]).options[key].default)
        changed = {**data, "grader": {**grader, "options": {**options, typo: value}}}
        copy = tmp_path / "task.yaml"
        copy.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
        with pytest.raises(TaskError) as info:
            get_task(str(copy))
        message = str(info.value)
        assert str(copy) in message and repr(typo) in message and repr(grader["name"]) in message
        assert f"did you mean {key!r}" in message and "allowed:" in message and key in message.split("allowed:")[1]


@pytest.mark.parametrize("name", ["gaokao-mm", "figures"])
def test_a_typo_in_a_factory_tasks_options_is_named_with_the_allowed_ones(name: str) -> None:
    task = get_task(name)
    allowed = list(declaration(task.grader.name).options)
    typo = allowed[0] + "s"
    with pytest.raises(GraderOptionError, match=rf"{typo!r} is not an option of scorer {task.grader.name!r} "
                                                rf"\(did you mean {allowed[0]!r}\?\); allowed: "):
        task.grader.with_options({typo: {}}, f"task {name}")


def test_a_new_tasks_typo_and_wrong_type_fail_at_load(tmp_path: Path) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"id": "a", "input": "1/2?", "target": "0.5"}) + "\n", encoding="utf-8")
    task = tmp_path / "mine.yaml"
    base = {"name": "mine", "dataset": {"path": "s.jsonl"}, "grader": {"name": "math_answer"}}
    task.write_text(yaml.safe_dump({**base, "grader": {"name": "math_answer", "options": {"tolerence": 0.01}}}))
    with pytest.raises(TaskError, match=r"mine\.yaml: grader option 'tolerence' is not an option of scorer "
                                        r"'math_answer' \(did you mean 'tolerance'\?\); allowed: extract, sets, "
                                        r"timeout, tolerance"):
        get_task(str(task))
    task.write_text(yaml.safe_dump({**base, "grader": {"name": "math_answer", "options": {"timeout": "soon"}}}))
    with pytest.raises(TaskError, match=r"option 'timeout' of scorer 'math_answer' is 'soon'; expected seconds"):
        get_task(str(task))
    task.write_text(yaml.safe_dump({**base, "grader": {"name": "multi_select", "options": {"rule": "generous"}}}))
    with pytest.raises(TaskError, match=r"'rule' of scorer 'multi_select' is 'generous': allowed: gaokao-2024"):
        get_task(str(task))
    task.write_text(yaml.safe_dump({**base, "grader": {"name": "regex"}}))
    with pytest.raises(TaskError, match=r"scorer 'regex' needs the option 'pattern'"):
        get_task(str(task))


def test_nested_options_of_by_type_are_checked_against_the_named_scorer() -> None:
    spec = GraderSpec("by_type", {"math_answer": {"tolerance": "0.01"}, "choice": {"extract": "last_capital"}})
    assert spec.check("here") is spec
    with pytest.raises(GraderOptionError, match=r"option 'choice' of scorer 'by_type' .*'extact' is not an option "
                                                r"of scorer 'choice' \(did you mean 'extract'\?\)"):
        GraderSpec("by_type", {"choice": {"extact": "last_capital"}}).check("here")


def test_gaokao_declares_its_graders_and_when_it_needs_a_judge() -> None:
    assert needs_judge(GraderSpec("gaokao", {"graders": "answer+judge"}))
    assert needs_judge(GraderSpec("gaokao", {"grader": ["judge"]}))
    assert not needs_judge(GraderSpec("gaokao", {}))
    assert not needs_judge(GraderSpec("gaokao", {"graders": ["teacher"]}))
    with pytest.raises(GraderOptionError, match=r"'graders' of scorer 'gaokao' is \['teacher'\]: allowed: answer"):
        GraderSpec("gaokao", {"graders": ["teacher"]}).check("paper.yaml")
    with pytest.raises(GraderOptionError, match=r"'threshold' of scorer 'gaokao' is -1"):
        GraderSpec("gaokao", {"threshold": -1}).check("paper.yaml")


def test_an_unchecked_spec_grades_as_an_error_naming_the_option() -> None:
    s = grade(Sample("q", "", "2"), "2", GraderSpec("math_answer", {"tolerence": 0.1}))
    assert s.status == "error" and "tolerence" in s.reason and "tolerance" in s.reason


def _points_for_length(sample: Sample, output: str, *, per_char: float = 1.0,
                       unit: Literal["chars", "words"] = "chars") -> Score:
    n = len(output) if unit == "chars" else len(output.split())
    return Score.from_points(min(sample.max_points, n * per_char), sample.max_points)


def test_a_plain_function_is_declared_by_its_signature() -> None:
    scorer_registry.add("length_test", _points_for_length, replace=True)
    decl = declaration("length_test")
    assert list(decl.options) == ["per_char", "unit"] and not decl.needs_judge({})
    assert GraderSpec("length_test", {"unit": "words", "per_char": 1}).check("x").problem is None
    with pytest.raises(GraderOptionError, match=r"'unit' of scorer 'length_test' is 'lines'; expected chars \| words"):
        GraderSpec("length_test", {"unit": "lines"}).check("x")
    with pytest.raises(GraderOptionError, match=r"'per_char' of scorer 'length_test' is True; expected a number"):
        GraderSpec("length_test", {"per_char": True}).check("x")


def _even(n: int) -> str | None:
    return None if n % 2 == 0 else "must be even"


@scorer("declared_test", accepts="anything")
def _declared(sample: Sample, output: str, *, step: Annotated[int, Check(_even, "an even number")] = 2) -> Score:
    return Score.right(True, sample.max_points)


def test_a_decorated_scorer_checks_its_rules_and_describes_its_options() -> None:
    scorer_registry.add("declared_test", _declared, replace=True)
    assert declaration("declared_test").accepts == "anything"
    assert [o.describe() for o in declaration("declared_test").options.values()] == ["step: an even number = 2"]
    with pytest.raises(GraderOptionError, match=r"'step' of scorer 'declared_test' is 3: must be even"):
        GraderSpec("declared_test", {"step": 3}).check("x")
    assert grade(Sample("q", "", ""), "", GraderSpec("declared_test", {"step": 4})).status == "correct"


def test_grader_option_typo_stops_the_run_before_any_model_call(tmp_path: Path) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"id": "a", "input": "1/2?", "target": "0.5"}) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "evalkit.cli", "run", "--task", str(samples), "--model", "reference",
                           "--grader-option", "tolerence=0.01", "--results-dir", str(tmp_path / "results"),
                           "--quiet", "--no-report"], capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1",
                                                                                             "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2, done.stderr
    assert "--grader-option" in done.stderr and "'tolerence'" in done.stderr and "did you mean 'tolerance'" in done.stderr
    assert not (tmp_path / "results").exists()
