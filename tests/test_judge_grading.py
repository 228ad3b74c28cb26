"""Issue 10 item 13: in judge mode only the judge call runs on the event loop.

Judge-mode grading used to run all of a scorer on the runner's loop with no time limit: the
deterministic marking (reading answers, math equivalence, the ``answer`` grader's key results) of one
hostile answer could stall every sample in flight. Here a plug-in makes that marking slow for one
answer (as a hostile one can) and the run must treat it like any other slow grade: stopped at the
grading time limit in a killable worker, stage ``timeout``, while the judge marks the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_evalkit

from evalkit.testing.server import ModelServer

SLOW_MARKING = '''
"""Makes the gaokao scorer's deterministic marking of one answer take 60 s (a hostile answer's effect)."""
import time

from evalkit.grading import gaokao

_real = gaokao._sync_mark


def slow_sync_mark(name, sample, output, marks_file):
    if "HOSTILE" in output:
        time.sleep(60)
    return _real(name, sample, output, marks_file)


gaokao._sync_mark = slow_sync_mark
'''


def _model(request: dict) -> str:
    text = json.dumps(request, ensure_ascii=False)
    return "HOSTILE working that takes the marker forever" if "16." in text and "解答题" in text else "故选A"


def test_slow_deterministic_marking_in_judge_mode_stops_at_the_time_limit(tmp_path: Path) -> None:
    (tmp_path / "plug").mkdir()
    (tmp_path / "plug" / "slow_marking.py").write_text(SLOW_MARKING)
    out = tmp_path / "run"
    with ModelServer(_model) as model, ModelServer("【步骤得分】无\n【总分】2分") as judge:
        done = run_evalkit(
            "run", "--include", str(tmp_path / "plug"), "--task", "gaokao-math-judge", "--model", "openai:m",
            "--base-url", model.url, "--judge", "openai:j", "-J", f"base_url={judge.url}",
            "--grader-option", 'graders=["answer", "judge"]', "--grade-timeout", "2", "--output", str(out),
            "--no-cache", "--no-report", "-q", timeout=50)
        judged = judge.requests
    assert done.returncode in (0, 3), done.stderr
    scores = {json.loads(line)["metadata"]["number"]: json.loads(line)["score"]
              for line in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()}
    assert scores[16]["stage"] == "timeout" and "longer than 2s" in scores[16]["reason"]
    assert judged >= 4  # the judge marked the other solutions meanwhile
    assert all(scores[n]["grader"] != "" for n in (15, 17, 18, 19))
