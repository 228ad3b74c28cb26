"""Open a generated report in headless Chromium: leaderboard rows, a sample, no injected script ran.

Skips when no Chromium is installed (Debian: ``apt-get install chromium``; `.ci/run` installs it).
The screenshot is written to the test's temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.report import write_report
from evalkit.report.browser import BrowserError, Page, find_chromium
from evalkit.report.synthetic import binary_results, gaokao_results, make_result, write_run

pytestmark = [pytest.mark.browser, pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")]

INJECTED = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"


def _report(tmp_path: Path) -> Path:
    a = binary_results([i % 4 != 0 for i in range(120)])
    a[1] = make_result(a[1].id, "wrong", question="What is 1 + 1?", target="2",
                       response=f"I think {INJECTED} the answer is 3", extracted="3", reason="3 != 2")
    write_run(tmp_path / "runs" / "a", a, model="openai:model-a", task="arith")
    write_run(tmp_path / "runs" / "b", binary_results([i % 2 == 0 for i in range(120)]), model="openai:model-b",
              task="arith")
    write_run(tmp_path / "runs" / "g", gaokao_results(0.8), model="openai:model-a", task="gaokao-2024",
              metrics=["points", "accuracy"])
    return write_report([tmp_path / "runs"], tmp_path / "report.html")


def test_report_opens_shows_rows_and_a_sample_without_running_injected_script(tmp_path):
    report = _report(tmp_path)
    try:
        page = Page(report.as_uri(), width=1280, height=1100)
    except BrowserError as exc:
        pytest.skip(f"Chromium could not start here: {exc}")
    with page:
        page.wait_for("document.readyState === 'complete' && !!window.evalkitReport")
        rows = page.evaluate("JSON.stringify(Array.from(document.querySelectorAll('#leaderboard tr.lb-row'))"
                             ".map(r => [r.dataset.task, r.dataset.model, r.querySelector('.score').textContent]))")
        rows = json.loads(rows)
        assert [(t, m) for t, m, _ in rows] == [("arith", "openai:model-a"), ("arith", "openai:model-b"),
                                                 ("gaokao-2024", "openai:model-a")]
        assert rows[0][2].startswith("74.2 [") and rows[1][2].startswith("50.0 [")

        # open model A's samples from its leaderboard row, filter to wrong answers, open the injected one
        page.evaluate("document.querySelector('tr.lb-row[data-model=\"openai:model-a\"][data-task=\"arith\"]').click()")
        page.evaluate("document.querySelector('#f-status button[data-status=\"wrong\"]').click()")
        count = page.evaluate("document.getElementById('explorer-count').textContent")
        assert count.startswith("31 of 120 samples shown for openai:model-a on arith")
        page.evaluate("document.querySelector('#samples tbody tr[data-id=\"q00001\"]').click()")
        page.wait_for("!document.getElementById('detail').hidden")
        response = page.evaluate("document.querySelector('#detail pre.response').textContent")
        assert INJECTED in response
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('#detail script, #detail img[src=\"x\"]').length") == 0
        assert page.evaluate("document.querySelector('#detail .f-reference').textContent") == "2"

        # side by side with model B on the same question
        page.evaluate("const s = document.getElementById('f-compare'); s.value = s.options[1].value;"
                      "s.dispatchEvent(new Event('change'))")
        page.evaluate("document.querySelector('#samples tbody tr[data-id=\"q00001\"]').click()")
        sides = page.evaluate("Array.from(document.querySelectorAll('#detail .side h3')).map(h => h.textContent).join('|')")
        assert sides == "openai:model-a|openai:model-b"

        # LaTeX is made readable by default; unticking "readable math" shows it exactly as written
        assert page.evaluate("window.evalkitReport.readable('$\\\\frac{1}{2}+\\\\sqrt{x}\\\\le x^{2}$')") == "1/2+√x≤x²"
        page.evaluate("document.querySelector('tr.lb-row[data-task=\"gaokao-2024\"]').click()")
        page.evaluate("document.querySelector('#samples tbody tr').click()")
        assert "\\boxed" not in page.evaluate("document.querySelector('#detail pre.response').textContent")
        page.evaluate("document.getElementById('f-math').click()")
        assert "\\boxed{" in page.evaluate("document.querySelector('#detail pre.response').textContent")
        page.evaluate("document.getElementById('f-math').click()")
        shot = page.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 10_000
