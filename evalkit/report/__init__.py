"""The report room: leaderboards across runs, statistics, renderers and regression checks.

Public surface:

* :func:`load_leaderboard` / :func:`aggregate` — run folders into a :class:`Leaderboard`;
* :func:`render_markdown` / :func:`render_json` — the same tables as text;
* :func:`write_report` — one self-contained HTML file for a set of run folders;
* :mod:`evalkit.report.check` — regression checks against a baseline with exit codes.
"""

from __future__ import annotations

from evalkit.report.aggregate import GroupSpec, Leaderboard, ReportError, aggregate, load_leaderboard
from evalkit.report.html import render_html, write_html, write_report
from evalkit.report.markdown import render_json, render_markdown

__all__ = ["GroupSpec", "Leaderboard", "ReportError", "aggregate", "load_leaderboard", "render_json",
           "render_html", "render_markdown", "write_html", "write_report"]
