"""`evalkit regrade`: a finished run's stored answers graded again, without asking the model.

An unchanged grader changes nothing; a grader option change moves exactly the samples it should; failed
samples stay failed; a killed regrade (into a new folder or in place) leaves the original run untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, write_mcq
from typer.testing import CliRunner

from evalkit.cli import app
from evalkit.results import find_runs, load_run

N = 40
# answers whose letter depends on how it is read: the cue says B, the last capital letter is D
TWO_LETTERS = {"q00001": "The answer is B. Option D was tempting.", "q00005": "故选B，因为D不对。"}
MISSING = "q00007"  # no recorded output: the model call failed


def _outputs(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(N):
            sid = f"q{i:05d}"
            if sid == MISSING:
                continue
            letter = "ABCD"[i % 4] if i % 3 else "ABCD"[(i + 1) % 4]  # every third answer wrong
            fh.write(json.dumps({"id": sid, "output": TWO_LETTERS.get(sid, f"The answer is {letter}.")}) + "\n")
    return path


def _run(tmp_path: Path) -> Path:
    task = write_mcq(tmp_path / "mcq.jsonl", N)
    outputs = _outputs(tmp_path / "outputs.jsonl")
    out = tmp_path / "results" / "run"
    res = CliRunner().invoke(app, ["run", "--task", str(task), "--model", f"replay:{outputs}", "--output", str(out),
                                   "--no-report", "-q", "--max-errors", "1"])
    assert res.exit_code == 0, res.output
    return out


def _digest(folder: Path) -> dict[str, str]:
    """Every file of a run folder by content (the lock file says who holds the folder; it is not the run)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def _scores(folder: Path) -> dict[str, dict]:
    return {r["id"]: r["score"] for r in map(json.loads, (folder / "samples.jsonl").read_text().splitlines())}


def test_an_unchanged_grader_changes_nothing(tmp_path: Path) -> None:
    run = _run(tmp_path)
    before = _digest(run)
    res = CliRunner().invoke(app, ["regrade", str(run)])
    assert res.exit_code == 0, res.output
    assert "verdicts moved: 0 of 39" in res.output
    assert "1 failed or skipped sample(s) kept as they were" in res.output
    assert _digest(run) == before  # the original is only read
    new = next(p for p in run.parent.iterdir() if p.name.startswith("run-regraded-"))
    assert _scores(new) == _scores(run)
    old_run, new_run = load_run(run), load_run(new)
    assert new_run.summary["metrics"] == old_run.summary["metrics"]
    assert new_run.summary["counts"] == old_run.summary["counts"]
    failed = next(r for r in new_run.results if r.id == MISSING)
    assert failed.score.status == "error" and failed.error  # a failed call is never scored as wrong
    entry = new_run.record["regraded"][-1]
    assert entry["from"] == "run" and entry["grader"] == {"name": "choice", "options": {}}
    assert entry["grading_code"] and entry["evalkit_version"] and entry["moved"] == 0
    assert entry["grader_changed"] is False
    assert new_run.record["task"]["hash"] == old_run.record["task"]["hash"]
    assert new_run.record["id"] == new.name and new_run.record["status"] == "finished"


def test_a_grader_option_change_moves_exactly_the_expected_samples(tmp_path: Path) -> None:
    run = _run(tmp_path)
    new = tmp_path / "results" / "last-capital"
    res = CliRunner().invoke(app, ["regrade", str(run), "--grader-option", "extract=last_capital",
                                   "--output", str(new)])
    assert res.exit_code == 0, res.output
    old, now = _scores(run), _scores(new)
    moved = {sid for sid in old if old[sid] != now[sid]}
    assert moved == set(TWO_LETTERS)  # B was right; the last capital, D, is not
    assert all(old[s]["status"] == "correct" and now[s]["status"] == "wrong" for s in moved)
    assert now["q00001"]["extracted"] == "D"
    assert "verdicts moved: 2 of 39" in res.output
    assert "correct → wrong: 2" in res.output and "q00001" in res.output
    old_acc, new_acc = load_run(run).summary["metrics"]["accuracy"], load_run(new).summary["metrics"]["accuracy"]
    assert new_acc == pytest.approx(old_acc - 2 / N)
    assert f"{old_acc:.1%}" in res.output and f"{new_acc:.1%}" in res.output  # the new metric beside the old
    record = load_run(new).record
    assert record["task"]["grader"] == {"name": "choice", "options": {"extract": "last_capital"}}
    assert record["regraded"][-1]["grader_changed"] is True
    assert record["task"]["hash"] != load_run(run).record["task"]["hash"]  # never pooled with the old grading
    assert record["regraded"][-1]["moves"] == {"correct → wrong": 2}


def test_in_place_replaces_the_folder_and_the_report_shows_only_the_latest_grading(tmp_path: Path) -> None:
    run = _run(tmp_path)
    res = CliRunner().invoke(app, ["regrade", str(run), "--grader-option", "extract=last_capital", "--in-place"])
    assert res.exit_code == 0, res.output
    assert [p.name for p in run.parent.iterdir()] == ["run"]  # nothing left beside it
    assert {s for s, sc in _scores(run).items() if sc["stage"] == "letter" and sc["status"] == "wrong"} >= set(TWO_LETTERS)
    assert load_run(run).record["regraded"][-1]["in_place"] is True
    # a regrade into a new folder beside the old: a report over both shows the regrade alone
    res = CliRunner().invoke(app, ["regrade", str(run)])
    assert res.exit_code == 0, res.output
    from evalkit.report import aggregate

    board = aggregate(find_runs([run.parent]))
    assert len(board.cells) == 1 and len(board.cells[0].runs) == 1
    assert Path(board.cells[0].runs[0]).name.startswith("run-regraded-")
    assert any("latest grading" in w for w in board.warnings)


def test_what_cannot_be_regraded_is_one_sentence(tmp_path: Path) -> None:
    run = _run(tmp_path)
    # the task's answer key changed since the run
    task = tmp_path / "mcq.jsonl"
    rows = [json.loads(line) for line in task.read_text().splitlines()]
    rows[3]["target"] = "A"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = _digest(run)
    res = CliRunner().invoke(app, ["regrade", str(run)])
    assert res.exit_code == 2 and "q00003" in res.output and "changed" in res.output
    assert "Traceback" not in res.output
    # an option the grader does not take
    res = CliRunner().invoke(app, ["regrade", str(run), "--grader-option", "extrct=last_capital"])
    assert res.exit_code == 2 and "extrct" in res.output
    # a run that did not finish
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "status": "interrupted"}))
    res = CliRunner().invoke(app, ["regrade", str(run)])
    assert res.exit_code == 2 and "interrupted" in res.output
    (run / "run.json").write_text(json.dumps(record))
    assert [p.name for p in run.parent.iterdir()] == ["run"]  # nothing written by a refused regrade
    assert {k: v for k, v in _digest(run).items() if k != "run.json"} == \
        {k: v for k, v in before.items() if k != "run.json"}


SLOW_SCORER = '''
"""A slow copy of the choice scorer, registered from an --include folder."""
import time
from evalkit.grading import scorer_registry
from evalkit.grading.scorers import choice

def slow_choice(sample, output):
    time.sleep(0.02)
    return choice(sample, output)

scorer_registry.add("slow_choice", slow_choice, replace=True)
'''


@pytest.mark.parametrize("in_place", [False, True])
def test_a_killed_regrade_leaves_the_original_run_untouched(tmp_path: Path, in_place: bool) -> None:
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "slow_choice.py").write_text(SLOW_SCORER)
    task = write_mcq(tmp_path / "mcq.jsonl", 200)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "evalkit.cli"]
    run = tmp_path / "results" / "run"
    subprocess.run([*cli, "run", "--include", str(plug), "--task", str(task), "-T", "grader=slow_choice",
                    "--model", "random:4", "--output", str(run), "--no-report", "-q"],
                   check=True, env=env, capture_output=True, timeout=120)
    before = _digest(run)
    cmd = [*cli, "regrade", str(run), "--include", str(plug), "--grade-workers", "1",
           *(["--in-place"] if in_place else [])]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".run") for p in run.parent.iterdir()):
        time.sleep(0.01)
    time.sleep(0.5)  # grading is under way (200 answers at 20 ms on one worker: about 4 s)
    assert proc.poll() is None, "the regrade must be killed while it works"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _digest(run) == before
    assert [r.path.name for r in find_runs([run.parent])] == ["run"]  # nothing a report would read
    # the next regrade finishes, and clears what the killed one left
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "verdicts moved: 0 of 200" in done.stdout
    left = sorted(p.name for p in run.parent.iterdir())
    assert left == (["run"] if in_place else ["run", left[1]]) and all(not n.startswith(".") for n in left)


def test_teachers_marks_stay_the_mark_after_a_regrade(tmp_path: Path) -> None:
    run = tmp_path / "results" / "paper"
    res = CliRunner().invoke(app, ["run", "--task", "gaokao-math", "--model", "random:1", "--output", str(run),
                                   "--no-report", "-q"])
    assert res.exit_code == 0, res.output
    ids = {json.loads(line)["metadata"]["number"]: json.loads(line)["id"]
           for line in (run / "samples.jsonl").read_text().splitlines()}
    sheet = tmp_path / "t.csv"
    sheet.write_text(f"id,mark,marker\n{ids[16]},15,王老师\n{ids[17]},6,王老师\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["grade", "import", str(run), str(sheet)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["regrade", str(run), "--in-place"])
    assert res.exit_code == 0, res.output
    assert "verdicts moved: 0 of" in res.output
    scores = _scores(run)
    assert (scores[ids[16]]["points"], scores[ids[16]]["grader"]) == (15, "human")
    assert (scores[ids[17]]["points"], scores[ids[17]]["grader"]) == (6, "human")
    assert [m["grader"] for m in scores[ids[16]]["details"]["marks"]] == ["answer", "human"]


def test_a_run_folder_in_use_is_not_regraded(tmp_path: Path) -> None:
    from evalkit.results import RunLock

    run = _run(tmp_path)
    lock = RunLock(run, "a test")
    try:
        res = CliRunner().invoke(app, ["regrade", str(run), "--in-place"])
    finally:
        lock.release()
    assert res.exit_code == 2 and "in use" in res.output
