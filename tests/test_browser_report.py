"""Open a generated report in headless Chromium (Playwright): leaderboard rows, a sample, math typeset by
the bundled KaTeX, and no injected script ran.

Skips when Playwright or Chromium is missing (Debian: ``apt-get install chromium``; `.ci/run` installs it).
The screenshot is written to the test's temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.report import write_report
from evalkit.report.synthetic import binary_results, gaokao_results, make_result, write_run

pytestmark = [pytest.mark.browser]

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


def _click(page, selector: str) -> None:
    """A click as the page's own handlers see it (the detail panel may cover the table)."""
    page.eval_on_selector(selector, "e => e.click()")


def test_report_opens_shows_rows_and_a_sample_without_running_injected_script(tmp_path, chromium):
    report = _report(tmp_path)
    page = chromium.new_page(viewport={"width": 1280, "height": 1100})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(report.as_uri())
    page.wait_for_function("document.readyState === 'complete' && !!window.evalkitReport && !!window.katex")
    rows = json.loads(page.evaluate("JSON.stringify(Array.from(document.querySelectorAll('#leaderboard tr.lb-row'))"
                                    ".map(r => [r.dataset.task, r.dataset.model, r.querySelector('.score').textContent]))"))
    assert [(t, m) for t, m, _ in rows] == [("arith", "openai:model-a"), ("arith", "openai:model-b"),
                                             ("gaokao-2024", "openai:model-a")]
    assert rows[0][2].startswith("74.2 [") and rows[1][2].startswith("50.0 [")

    # open model A's samples from its leaderboard row, filter to wrong answers, open the injected one
    _click(page, 'tr.lb-row[data-model="openai:model-a"][data-task="arith"]')
    _click(page, '#f-status button[data-status="wrong"]')
    assert page.text_content("#explorer-count").startswith("31 of 120 samples shown for openai:model-a on arith")
    _click(page, '#samples tbody tr[data-id="q00001"]')
    page.wait_for_selector("#detail:not([hidden])")
    assert INJECTED in page.text_content("#detail pre.response")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('#detail script, #detail img[src=\"x\"]').length") == 0
    assert page.text_content("#detail .f-reference") == "2"

    # side by side with model B on the same question
    page.evaluate("const s = document.getElementById('f-compare'); s.value = s.options[1].value;"
                  "s.dispatchEvent(new Event('change'))")
    _click(page, '#samples tbody tr[data-id="q00001"]')
    sides = page.evaluate("Array.from(document.querySelectorAll('#detail .side h3')).map(h => h.textContent).join('|')")
    assert sides == "openai:model-a|openai:model-b"

    # math is typeset by the bundled KaTeX; unticking "rendered math" shows the LaTeX exactly as written
    _click(page, 'tr.lb-row[data-task="gaokao-2024"]')
    _click(page, "#samples tbody tr")
    assert page.locator("#detail pre.response .katex").count() > 0
    _click(page, "#f-math")
    assert page.locator("#detail pre.response .katex").count() == 0
    assert "\\boxed{" in page.text_content("#detail pre.response")
    _click(page, "#f-math")
    assert page.locator("#detail pre.response .katex").count() > 0
    # KaTeX's own fonts (inlined as data: URIs) load: the page's security policy lets them in
    loaded = page.evaluate("document.fonts.ready.then(fs => Array.from(fs).filter(f => f.status === 'loaded')"
                           ".map(f => f.family))")
    assert any("KaTeX" in family for family in loaded), loaded
    assert not [m for m in console if "Content Security Policy" in m], console[:3]
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests)  # nothing fetched from anywhere
    page.close()
