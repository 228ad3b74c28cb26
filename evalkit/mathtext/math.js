/* evalkit: math in text shown to people, rendered with the vendored KaTeX.
   Text is never parsed as HTML here: renderText() splits a string into text nodes and .math spans
   (textContent only); render() typesets every .math span with trust off, so \href, \url and
   \includegraphics stay inert. toggleRaw() shows the LaTeX exactly as written, and back. */
(function () {
  "use strict";
  var MATH = /\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\$([^$]+?)\$|\\\(([\s\S]+?)\\\)/g;
  var OPTIONS = {throwOnError: false, trust: false, strict: "ignore", maxExpand: 500, maxSize: 20};

  function typeset(el) {
    var tex = el.getAttribute("data-tex");
    if (tex === null) { tex = el.textContent; el.setAttribute("data-tex", tex); }
    if (!window.katex) { return; }
    try {
      window.katex.render(tex, el, Object.assign({displayMode: el.classList.contains("display")}, OPTIONS));
      el.classList.add("rendered");
    } catch (e) {
      el.textContent = tex;
    }
  }

  function render(root) {
    var nodes = (root || document).querySelectorAll(".math");
    for (var i = 0; i < nodes.length; i++) {
      if (!nodes[i].classList.contains("rendered") && !nodes[i].closest(".raw-math")) { typeset(nodes[i]); }
    }
  }

  function renderText(el, text) {
    el.textContent = "";
    var last = 0, m;
    MATH.lastIndex = 0;
    while ((m = MATH.exec(text)) !== null) {
      if (m.index > last) { el.appendChild(document.createTextNode(text.slice(last, m.index))); }
      var span = document.createElement("span");
      var display = m[1] !== undefined || m[2] !== undefined;
      span.className = display ? "math display" : "math";
      span.textContent = m[1] || m[2] || m[3] || m[4] || "";
      span.setAttribute("data-tex", span.textContent);
      span.setAttribute("data-src", m[0]);
      el.appendChild(span);
      last = MATH.lastIndex;
    }
    if (last < text.length) { el.appendChild(document.createTextNode(text.slice(last))); }
    if (!el.closest(".raw-math")) { render(el); }
  }

  function showRaw(root, raw) {
    var scope = root || document.body;
    scope.classList.toggle("raw-math", raw);
    var nodes = scope.querySelectorAll(".math");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      if (raw) {
        el.textContent = el.getAttribute("data-src") || el.getAttribute("data-tex") || el.textContent;
        el.classList.remove("rendered");
      } else {
        typeset(el);
      }
    }
  }

  window.evalkitMath = {render: render, renderText: renderText, showRaw: showRaw};
  document.addEventListener("DOMContentLoaded", function () {
    render(document);
    var toggles = document.querySelectorAll("[data-math-toggle]");
    for (var i = 0; i < toggles.length; i++) {
      toggles[i].addEventListener("click", function (ev) {
        var raw = !document.body.classList.contains("raw-math");
        showRaw(document.body, raw);
        ev.currentTarget.setAttribute("aria-pressed", raw ? "true" : "false");
      });
    }
  });
})();
