"""How long aggregation and rendering take for 1,000 / 10,000 / 100,000 samples, and how big the report is.

Writes synthetic run folders (two models on one task, half the samples each, ~200-character
responses), then times: reading + aggregating them into a leaderboard (bootstrap CIs),
rendering the self-contained HTML, and — when Playwright and Debian's Chromium are installed — opening
the report in headless Chromium until the first page of samples is drawn, then filtering and opening a sample.

    .venv/bin/python benchmarks/report_scale.py            # 1k, 10k, 100k
    .venv/bin/python benchmarks/report_scale.py 1000 5000  # chosen sizes
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from evalkit.report import load_leaderboard, render_markdown
from evalkit.report.html import write_html
from evalkit.report.synthetic import random_results, write_run


def bench(n: int, root: Path) -> dict[str, float]:
    half = n // 2
    t0 = time.perf_counter()
    write_run(root / "a", random_results(half, 0.72, seed=1), model="openai:model-a", task="synthetic")
    write_run(root / "b", random_results(n - half, 0.70, seed=2), model="openai:model-b", task="synthetic")
    t_write = time.perf_counter() - t0

    t0 = time.perf_counter()
    lb = load_leaderboard([root])
    t_agg = time.perf_counter() - t0
    render_markdown(lb)

    t0 = time.perf_counter()
    out = write_html(lb, root / "report.html")
    t_render = time.perf_counter() - t0
    size = out.stat().st_size
    figures = {"write_s": t_write, "aggregate_s": t_agg, "render_s": t_render, "size_mb": size / 1e6}
    figures.update(browser_times(out))
    return figures


def browser_times(report: Path) -> dict[str, float]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        return {}
    if exe is None:
        return {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu",
                                                                    "--disable-dev-shm-usage"])
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(report.as_uri(), timeout=120_000)
            page.wait_for_function("!!window.evalkitReport && document.querySelectorAll('#samples tbody tr').length > 0",
                                   timeout=120_000)
            t_open = time.perf_counter() - t0
            t1 = time.perf_counter()
            page.evaluate("document.querySelector('#f-status button[data-status=\"wrong\"]').click()")
            page.evaluate("document.querySelector('#samples tbody tr').click()")
            page.wait_for_function("!document.getElementById('detail').hidden")
            t_click = time.perf_counter() - t1
            browser.close()
    except Error as exc:
        print(f"  (browser timing skipped: {exc})")
        return {}
    return {"browser_open_s": t_open, "filter_and_open_sample_s": t_click}


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1_000, 10_000, 100_000]
    print(f"{'samples':>8} {'aggregate':>10} {'render':>8} {'report':>9} {'browser open':>13} {'filter+open':>12}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="evalkit-report-bench-") as tmp:
            f = bench(n, Path(tmp))
        bo = f"{f['browser_open_s']:.2f}s" if "browser_open_s" in f else "-"
        fo = f"{f['filter_and_open_sample_s']:.2f}s" if "filter_and_open_sample_s" in f else "-"
        print(f"{n:>8} {f['aggregate_s']:>9.2f}s {f['render_s']:>7.2f}s {f['size_mb']:>6.1f} MB {bo:>13} {fo:>12}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
