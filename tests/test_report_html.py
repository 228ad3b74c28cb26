"""The self-contained HTML report: escaping, embedded data safety, thumbnails, size statement."""

from __future__ import annotations

import json
import re

from PIL import Image as PILImage

from evalkit.report import load_leaderboard, render_html, write_report
from evalkit.report.html import EmbedLimits, safe_json, sample_data
from evalkit.report.synthetic import binary_results, gaokao_results, make_result, write_run

EVIL = "</script><script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">\u2028"


def _data_block(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="evalkit-data">(.*?)</script>', html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_safe_json_cannot_close_the_script_tag():
    text = str(safe_json({"r": EVIL, "amp": "a & b"}))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"r": EVIL, "amp": "a & b"}


def test_model_and_dataset_text_is_escaped_everywhere(tmp_path):
    results = binary_results([True, False, True])
    results.append(make_result("evil", "wrong", question=EVIL, response=EVIL, target=EVIL, extracted=EVIL,
                               reason=EVIL))
    write_run(tmp_path / "run", results, model="<b>bold-model</b>", task="<i>task</i>")
    out = write_report([tmp_path / "run"], tmp_path / "report.html")
    html = out.read_text(encoding="utf-8")
    # our script elements only (data, KaTeX, its typesetter, the explorer); no model/dataset text as markup
    assert html.count("<script") == 4
    assert "<b>bold-model</b>" not in html and "&lt;b&gt;bold-model&lt;/b&gt;" in html
    assert "<i>task</i>" not in html
    data = _data_block(html)
    [cell] = data["cells"]
    assert EVIL in cell["r"] and data["tasks"][0]["q"][-1] == EVIL


def test_report_is_self_contained_and_states_its_size(tmp_path):
    write_run(tmp_path / "a", binary_results([True] * 30 + [False] * 10), model="m:a", task="t")
    write_run(tmp_path / "g", gaokao_results(0.7), model="m:a", task="paper", metrics=["points"])
    out = write_report([tmp_path], tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    m = re.search(r"This report is ([\d.]+) (kB|MB)", html)
    assert m is not None
    stated = float(m.group(1)) * (1e3 if m.group(2) == "kB" else 1e6)
    assert abs(stated - out.stat().st_size) / out.stat().st_size < 0.01
    # leaderboard rows, charts and the Gaokao grid are in the static HTML
    assert html.count('class="lb-row"') == 2
    body = html[:html.index('<script type="application/json"')]  # (KaTeX's own code mentions <svg)
    assert body.count("<svg") == 4  # 2 score charts, section bars, heat map
    assert "katex" in html and "data:font/woff2;base64," in html  # math typeset offline
    assert "Total / 150" in html and "<sup>J</sup>" in html


def test_images_are_embedded_as_capped_thumbnails(tmp_path):
    big = tmp_path / "figure.png"
    PILImage.new("RGB", (2400, 1600), (20, 90, 200)).save(big)
    part = {"type": "image", "path": str(big), "sha256": "f" * 64}
    results = [make_result("a", "correct", images=[part]), make_result("b", "wrong", images=[part]),
               make_result("c", "wrong", images=[{"type": "image", "path": str(tmp_path / "gone.png"), "sha256": "0"}])]
    write_run(tmp_path / "run", results, model="m", task="t")
    lb = load_leaderboard([tmp_path / "run"])
    data = sample_data(lb, EmbedLimits(thumb_side=200, thumb_bytes=20_000))
    assert len(data["images"]) == 2  # deduplicated by content hash
    url = data["images"][0]
    assert url.startswith("data:image/jpeg;base64,") and len(url) < 30_000
    assert data["images"][1] is None and "not found" in data["imageNotes"][1]
    assert data["tasks"][0]["img"] == [[0], [0], [1]]


def test_long_texts_are_cut_with_a_note(tmp_path):
    write_run(tmp_path / "run", [make_result("a", "wrong", response="x" * 5000)], model="m", task="t")
    html = render_html(load_leaderboard([tmp_path / "run"]), limits=EmbedLimits(max_text=1000))
    [cell] = _data_block(html)["cells"]
    assert cell["r"][0].startswith("x" * 1000) and "4000 more characters" in cell["r"][0]


def _without_timestamp(html: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "<generated>", html)


def test_the_report_a_run_writes_is_the_one_evalkit_report_writes_and_needs_no_pandas(tmp_path):
    """`evalkit run` writes its report at the end by default; it must be exactly what `evalkit report` writes
    for that run (papers, sections, breakdowns, intervals), and it is written without importing pandas
    (pandas alone cost more time and memory than the whole report)."""
    import os
    import subprocess
    import sys

    from conftest import REPO, run_evalkit

    run = tmp_path / "run"
    done = run_evalkit("run", "--task", "gaokao-math", "--model", "random:3", "--output", str(run), "-q")
    assert done.returncode == 0, done.stderr
    assert (run / "report.html").is_file()
    again = run_evalkit("report", str(run), "--html", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    at_end = (run / "report.html").read_text(encoding="utf-8")
    assert "Total / 150" in at_end and "random:3" in at_end
    assert _without_timestamp(at_end) == _without_timestamp((tmp_path / "again.html").read_text(encoding="utf-8"))
    probe = ("import sys; from evalkit.report import write_report; "
             f"write_report([{str(run)!r}], {str(tmp_path / 'probe.html')!r}); "
             "print('pandas' in sys.modules)")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert imported.returncode == 0 and imported.stdout.strip() == "False", imported.stderr


def test_the_compiled_template_is_kept_and_a_bad_or_unwritable_cache_costs_nothing(tmp_path, monkeypatch):
    write_run(tmp_path / "run", binary_results([True, False, True]), model="m", task="t")
    lb = load_leaderboard([tmp_path / "run"])
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    first = _without_timestamp(render_html(lb))
    kept = list((tmp_path / "cache" / "report-templates").glob("*/*"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0
    assert _without_timestamp(render_html(lb)) == first  # from the kept code
    kept[0].write_bytes(b"not jinja bytecode")
    assert _without_timestamp(render_html(lb)) == first  # compiled again
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(blocked))  # no folder can be made under a file
    assert _without_timestamp(render_html(lb)) == first
