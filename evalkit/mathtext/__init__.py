"""Math in text shown to people: the vendored KaTeX, and markdown + math rendering of hostile text.

This room owns:

* ``katex/`` — KaTeX (MIT; version and integrity in ``katex/VENDORED.md``), so that the marking room,
  the static HTML report and the printable marking page render math offline. No CDN, ever.
* ``math.js`` — the small script that typesets ``.math`` spans with KaTeX (``trust`` off, so ``\\href``
  and friends stay inert), splits plain strings into text and math without parsing HTML, and toggles
  the raw LaTeX one click away.
* :func:`render_markdown` — a model's answer (or a question) as escaped HTML: markdown without raw
  HTML, links or images, and every math span kept out of markdown's hands and handed to KaTeX.
* :func:`inline_assets` (one ``<style>`` and ``<script>`` block with the fonts as data URIs, for
  self-contained pages) and :func:`asset` (the files, for a server).
"""

from __future__ import annotations

import base64
import re
import secrets
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

KATEX_VERSION = "0.19.1"
HERE = Path(__file__).parent
KATEX_DIR = HERE / "katex"
MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\$([^$]+?)\$|\\\((.+?)\\\)", re.S)
_FONT_SRC = re.compile(r"src:url\(fonts/([\w-]+)\.woff2\) format\(\"woff2\"\)(?:,url\([^)]*\) format\(\"[a-z]+\"\))*")


@lru_cache(maxsize=2)
def katex_css(inline_fonts: bool) -> str:
    """KaTeX's stylesheet with its font list cut to the WOFF2 files shipped (inlined as data URIs on request)."""
    css = (KATEX_DIR / "katex.min.css").read_text(encoding="utf-8")

    def src(m: re.Match[str]) -> str:
        name = m.group(1)
        if not inline_fonts:
            return f'src:url(fonts/{name}.woff2) format("woff2")'
        data = base64.b64encode((KATEX_DIR / "fonts" / f"{name}.woff2").read_bytes()).decode()
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    return _FONT_SRC.sub(src, css)


def asset(name: str) -> tuple[bytes, str] | None:
    """A file the browser may fetch from a server (``katex.min.js``, ``katex.css``, ``fonts/X.woff2``,
    ``math.js``) with its media type; None for anything else."""
    if name == "katex.css":
        return katex_css(False).encode(), "text/css; charset=utf-8"
    if name == "katex.min.js":
        return (KATEX_DIR / name).read_bytes(), "text/javascript; charset=utf-8"
    if name == "math.js":
        return (HERE / name).read_bytes(), "text/javascript; charset=utf-8"
    m = re.fullmatch(r"fonts/([A-Za-z0-9_-]+)\.woff2", name)
    if m and (KATEX_DIR / "fonts" / f"{m.group(1)}.woff2").is_file():
        return (KATEX_DIR / "fonts" / f"{m.group(1)}.woff2").read_bytes(), "font/woff2"
    return None


def _script(text: str) -> str:
    if "</script" in text.lower():
        raise RuntimeError("an inlined script must not contain a closing script tag")
    return text


@lru_cache(maxsize=1)
def inline_assets() -> Markup:
    """KaTeX and ``math.js`` for a self-contained page: a ``<style>`` and two ``<script>`` elements."""
    js = _script((KATEX_DIR / "katex.min.js").read_text(encoding="utf-8"))
    ours = _script((HERE / "math.js").read_text(encoding="utf-8"))
    return Markup(f"<style>{katex_css(True)}</style>\n<script>{js}</script>\n<script>{ours}</script>")


@lru_cache(maxsize=1)
def _markdown() -> object:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
    md.enable("table")
    md.disable(["link", "image", "autolink"])  # a model's text links nowhere
    return md


def math_span(tex: str, display: bool, source: str) -> str:
    """One ``.math`` span: the LaTeX as escaped text (typeset in the browser), its source for "raw"."""
    cls = "math display" if display else "math"
    return f'<span class="{cls}" data-tex="{escape(tex)}" data-src="{escape(source)}">{escape(tex)}</span>'


def render_markdown(text: str | None) -> Markup:
    """Hostile text as safe HTML: markdown (no raw HTML, links or images) with math spans for KaTeX."""
    return _render_markdown(text) if text else Markup("")


@lru_cache(maxsize=4096)
def _render_markdown(text: str) -> Markup:
    nonce = secrets.token_hex(6)
    spans: list[str] = []

    def keep(m: re.Match[str]) -> str:
        display = m.group(1) is not None or m.group(2) is not None
        tex = next(g for g in m.groups() if g is not None)
        spans.append(math_span(tex, display, m.group(0)))
        return f"MATH{nonce}N{len(spans) - 1}E"

    body = MATH.sub(keep, text)
    html = _markdown().render(body)  # type: ignore[attr-defined]
    html = re.sub(f"MATH{nonce}N(\\d+)E", lambda m: spans[int(m.group(1))], html)
    return Markup(html)


def render_plain(text: str | None) -> Markup:
    """Text kept as written (line breaks and all), its math spans typeset: for references and rubrics."""
    return _render_plain(text) if text else Markup("")


@lru_cache(maxsize=8192)
def _render_plain(text: str) -> Markup:
    out, last = [], 0
    for m in MATH.finditer(text):
        out.append(str(escape(text[last:m.start()])))
        display = m.group(1) is not None or m.group(2) is not None
        out.append(math_span(next(g for g in m.groups() if g is not None), display, m.group(0)))
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))
