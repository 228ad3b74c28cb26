"""A full double-marking round in a real browser against a real `evalkit grade serve`.

Two markers in two browser contexts mark the same answers, interleaved (one with the keyboard, one with
the mouse); marks within the threshold become the mean; one answer beyond it reaches the arbiter, whose
mark lands in the run folder and changes the score card. A hostile answer renders as text and nothing
in it runs. Screenshots of the marking screen and the admin page are written to the test's folder (and to
``$EVALKIT_SCREENSHOTS`` when set: that is how docs/img/ gets them). Skips without Playwright/Chromium.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from marking import HOSTILE, Server, paper_run, samples, set_response

pytestmark = [pytest.mark.browser]
pytest.importorskip("starlette")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    ref, rnd = paper_run(root / "ref", "reference"), paper_run(root / "rnd", "random:1")
    set_response(rnd, 15, HOSTILE)
    return [ref, rnd]


def _steps(page) -> list[int]:  # noqa: ANN001
    return [int(x) for x in page.eval_on_selector_all("tr.step", "rows => rows.map(r => r.dataset.max)")]


def _no_script_ran(page) -> None:  # noqa: ANN001
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#response script, #response img, #response a, #response iframe").count() == 0


def _mark_by_keys(page, gap: int) -> int:  # noqa: ANN001
    """Full marks on every step by pressing its digit, except ``gap`` points off the first; Enter submits."""
    steps = _steps(page)
    given = [max(0, steps[0] - gap), *steps[1:]]
    for v in given:
        page.keyboard.press(str(v))
    assert page.text_content("#total") == str(sum(given))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return sum(given)


def _mark_by_clicks(page, zero: bool) -> int:  # noqa: ANN001
    steps = _steps(page)
    given = [0 if zero else m for m in steps]
    for k, v in enumerate(given, 1):
        page.click(f'tr.step[data-step="{k}"] label:has(input[value="{v}"])')
    with page.expect_navigation():
        page.click("#submit")
    return sum(given)


def _shot(page, name: str, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000
    if os.environ.get("EVALKIT_SCREENSHOTS"):
        shutil.copy(path, Path(os.environ["EVALKIT_SCREENSHOTS"]) / name)


def test_double_marking_round_with_arbitration_in_the_browser(runs, tmp_path, chromium) -> None:
    fresh = []
    for run in runs:
        shutil.copytree(run, tmp_path / run.name)
        fresh.append(tmp_path / run.name)
    laptop = {"width": 1366, "height": 768}
    with Server(fresh, tmp_path / "round.sqlite") as srv:
        a, b, arb, admin = (chromium.new_context(viewport=laptop) for _ in range(4))
        pa, pb = a.new_page(), b.new_page()
        pa.goto(srv.links["王老师"])
        pb.goto(srv.links["李老师"])
        assert pa.url.split("/mark/")[1] == pb.url.split("/mark/")[1]  # the same answer, to both

        expected: dict[str, list[int]] = {}
        hostile_seen = screen = False
        start = time.perf_counter()
        for n in range(10):
            code = pa.text_content("#code")
            assert pb.text_content("#code") == code and pa.text_content("#progress").startswith(f"已评 done {n}")
            pa.wait_for_function("document.querySelectorAll('#response .math.rendered, .question .math.rendered')"
                                 ".length > 0 || !document.querySelector('.math')")
            for page in (pa, pb):
                _no_script_ran(page)
                assert "reference" not in page.content() and "random" not in page.content()  # anonymised
            if "<script>" in pa.text_content("#response"):
                hostile_seen = True
                assert "javascript:window.__pwned=3" in pa.text_content("#response")
                _shot(pa, "marking-hostile.png", tmp_path)
            elif not screen and pa.locator("#response .math.rendered").count() > 3:
                screen = True
                _shot(pa, "marking-screen.png", tmp_path)
            expected[code] = [_mark_by_keys(pa, 1), _mark_by_clicks(pb, zero=(n == 4))]
        per_minute = 20 / ((time.perf_counter() - start) / 60)
        print(f"\nanswers marked per minute in the browser (2 markers, 20 marks): {per_minute:.0f}")
        assert hostile_seen and screen
        assert "队列已完成" in pa.content() and "已评 done <b>10</b>" in pa.content()

        # the one answer beyond the threshold waits for the arbiter, who sees both marks
        flagged = [c for c, (x, y) in expected.items() if abs(x - y) > 2]
        assert len(flagged) == 1
        parb = arb.new_page()
        parb.goto(srv.links["张组长"])
        assert parb.text_content("#code") == flagged[0]
        assert "王老师" in parb.text_content(".others") and "李老师" in parb.text_content(".others")
        final = _mark_by_keys(parb, 3)
        assert "队列已完成" in parb.content()

        padmin = admin.new_page()
        padmin.goto(srv.links["admin"])
        quality = padmin.text_content("#quality")
        assert "王老师" in quality and "90%" in quality  # 9 of 10 answers within the threshold
        _shot(padmin, "marking-admin.png", tmp_path)
        exported = admin.request.get(srv.url + "/admin/marks.csv").text()
        marks = list(csv.DictReader(io.StringIO(exported)))
        assert len(marks) == 21 and {m["role"] for m in marks} == {"marker", "arbiter"}
        run_of = {m["answer"]: m["run"] for m in marks}

        # the marks reach the run folders (the writer runs as marking proceeds)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                s["score"]["grader"] == "arbiter" for run in fresh for s in samples(run).values()):
            time.sleep(0.2)
    totals = {str(r.resolve()): 0.0 for r in fresh}
    for code, (x, y) in expected.items():
        totals[run_of[code]] += final if code in flagged else (x + y) / 2
    for run in fresh:
        summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))["metrics"]
        assert summary["points"] == totals[str(run.resolve())] and summary["arbitration"] == []
        graders = {s["score"]["grader"] for s in samples(run).values()}
        assert graders <= {"human", "arbiter"}
        shown = subprocess.run([sys.executable, "-m", "evalkit.cli", "show", str(run)], capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"}, timeout=120)
        assert f"{totals[str(run.resolve())]:g} / 77" in shown.stdout
