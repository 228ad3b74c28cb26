"""The marking round without a browser: queues, double marking, arbitration, and marks reaching the runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from marking import paper_run, samples

pytest.importorskip("starlette")

from evalkit.serve import open_round  # noqa: E402
from evalkit.serve.store import Store  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    return paper_run(root / "ref", "reference"), paper_run(root / "rnd", "random:1")


@pytest.fixture
def fresh(runs: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    out = []
    for run in runs:
        shutil.copytree(run, tmp_path / run.name)
        out.append(tmp_path / run.name)
    return out[0], out[1]


def _round(fresh: tuple[Path, Path], tmp_path: Path, **kw: object):  # noqa: ANN202
    return open_round(list(fresh), db=tmp_path / "round.sqlite",
                      people=[("a", "marker"), ("b", "marker"), ("c", "marker"), ("boss", "arbiter")], **kw)


def _people(rnd) -> dict:  # noqa: ANN001
    return {p.name: p for p in rnd.store.people()}


def _full(rnd, answer) -> list[dict]:  # noqa: ANN001
    return [{"step": k, "points": s["points"]} for k, s in enumerate(rnd.item(answer).rubric, 1)]


def test_each_answer_goes_to_two_different_markers_shuffled_and_anonymised(fresh, tmp_path) -> None:
    rnd = _round(fresh, tmp_path)
    store, people = rnd.store, _people(rnd)
    assert store.counts() == {"open": 10}
    first_a, first_b = store.current(people["a"]), store.current(people["b"])
    assert first_a == first_b  # both markers are handed the same answer
    assert store.current(people["a"]) == first_a  # until it is marked, the queue stays on it
    assert store.current(people["c"]) != first_a  # a third marker is not needed on it
    codes = {store.answer_by_id(i).code for i in range(1, 11)}
    assert len(codes) == 10 and all(len(c) == 6 for c in codes)
    item = rnd.item(first_a)
    assert str(fresh[0]) not in repr(item) and str(fresh[1]) not in repr(item)  # no run, no model


def test_within_threshold_the_mean_beyond_it_the_arbiter_and_the_runs_follow(fresh, tmp_path) -> None:
    rnd = _round(fresh, tmp_path)
    store, people = rnd.store, _people(rnd)
    ans = store.current(people["a"])
    assert store.current(people["b"]) == ans
    mx = ans.max_points
    assert store.submit(people["a"], ans, mx, _full(rnd, ans)) == "open"
    assert rnd.flush() == 0  # one mark of two: the run keeps what it had
    assert store.submit(people["b"], ans, mx - 1, []) == "done"
    assert rnd.flush() == 1
    path = rnd.runs[ans.run_id][0]
    score = samples(Path(path))[ans.sample_id]["score"]
    assert score["points"] == mx - 0.5 and score["grader"] == "human"
    assert [m["marker"] for m in score["details"]["marks"] if m["grader"] == "human"] == ["a", "b"]

    nxt = store.current(people["a"])
    assert store.current(people["b"]) == nxt
    store.submit(people["a"], nxt, 0, [])
    assert store.submit(people["b"], nxt, nxt.max_points, []) == "arbitration"
    assert [a.code for a in store.arbitration_queue()] == [nxt.code]
    assert store.current(people["boss"]).code == nxt.code
    rnd.flush()
    flagged = samples(Path(rnd.runs[nxt.run_id][0]))[nxt.sample_id]["score"]
    assert flagged["points"] == nxt.max_points / 2 and flagged["details"]["arbitration"] is True
    assert store.submit(people["boss"], store.answer(nxt.code), 3, []) == "arbitrated"
    rnd.flush()
    settled = samples(Path(rnd.runs[nxt.run_id][0]))[nxt.sample_id]["score"]
    assert (settled["points"], settled["grader"], settled["details"]["arbitration"]) == (3, "arbiter", False)
    assert store.arbitration_queue() == []


def test_third_marker_mode_sends_a_wide_gap_to_a_third_marker_first(fresh, tmp_path) -> None:
    rnd = _round(fresh, tmp_path, mode="third")
    store, people = rnd.store, _people(rnd)
    ans = store.current(people["a"])
    assert store.current(people["b"]) == ans
    store.submit(people["a"], ans, 0, [])
    assert store.submit(people["b"], ans, 10, []) == "open"
    assert store.current(people["c"]) == store.answer(ans.code)  # the third marker gets it first
    assert store.submit(people["c"], store.answer(ans.code), 9, []) == "done"
    rnd.flush()
    assert samples(Path(rnd.runs[ans.run_id][0]))[ans.sample_id]["score"]["points"] == 9.5


def test_remarking_replaces_and_restarting_keeps_everything(fresh, tmp_path) -> None:
    rnd = _round(fresh, tmp_path)
    store, people = rnd.store, _people(rnd)
    ans = store.current(people["a"])
    store.submit(people["a"], ans, 2, [])
    store.submit(people["a"], ans, 3, [])
    assert [m["points"] for m in store.marks_of(ans.id)] == [3]
    store.close()
    again = _round(fresh, tmp_path)  # same database: same codes, same marks, same queue position
    assert again.store.answer(ans.code).id == ans.id and len(again.store.all_marks()) == 1
    assert again.store.current(_people(again)["b"]) == again.store.answer(ans.code)
    assert again.store.current(_people(again)["a"]) != again.store.answer(ans.code)
    assert Store(tmp_path / "round.sqlite").db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_form_gives_step_marks_checked_against_the_item(fresh, tmp_path) -> None:
    from dataclasses import replace

    from evalkit.serve.app import read_mark

    rnd = _round(fresh, tmp_path)
    item = rnd.item(rnd.store.current(_people(rnd)["a"]))
    steps = {f"step{k}": str(s["points"]) for k, s in enumerate(item.rubric, 1)}
    total, marks = read_mark(steps, item)
    assert total == item.max_points and [m["points"] for m in marks] == [s["points"] for s in item.rubric]
    with pytest.raises(ValueError, match="step 1: 0.5 is not whole points from 0 to"):
        read_mark({**steps, "step1": "0.5"}, item)
    with pytest.raises(ValueError, match="step 2 has no mark yet"):
        read_mark({"step1": "0"}, item)
    halves = replace(item, metadata={**item.metadata, "half_marks": True})
    assert read_mark({**steps, "step1": "0.5"}, halves)[0] == item.max_points - item.rubric[0]["points"] + 0.5


def test_an_import_by_hand_and_the_room_never_overwrite_each_others_marks(fresh) -> None:
    import threading

    from evalkit.cli_grade import write_marks
    from evalkit.grading.gaokao import Mark
    from evalkit.results import load_run

    run = fresh[0]
    ids = sorted(samples(run))

    def writer(name: str, sid: str) -> None:
        for k in range(8):
            write_marks(load_run(run), {sid: Mark("human", k, 13, marker=name)}, None, {"round": name})

    threads = [threading.Thread(target=writer, args=(f"t{i}", sid)) for i, sid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = samples(run)
    for i, sid in enumerate(ids):  # every writer's last mark survived the others' rewrites
        assert [(m["marker"], m["points"]) for m in final[sid]["score"]["details"]["marks"] if m["grader"] == "human"] \
            == [(f"t{i}", 7)], sid
    assert {e["round"] for e in json.loads((run / "run.json").read_text())["grading"]} == {f"t{i}" for i in range(5)}
