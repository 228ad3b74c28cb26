/* evalkit report: the sample explorer. Data comes from the JSON block; every text from a model or a
   dataset is put on the page with textContent (never innerHTML), so it shows as text. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("evalkit-data").textContent);
  var PAGE = 50;
  var S = { math: true, task: null, cell: -1, cmp: -1, status: "all", differ: false, search: "", page: 0, rows: [] };
  var rowMaps = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function taskOf(name) { for (var i = 0; i < D.tasks.length; i++) { if (D.tasks[i].name === name) { return D.tasks[i]; } } return null; }
  function cellsOf(name) { var out = []; D.cells.forEach(function (c, i) { if (c.t === name) { out.push(i); } }); return out; }
  function rowMap(ci) {
    if (!rowMaps[ci]) {
      var c = D.cells[ci], t = taskOf(c.t), m = new Int32Array(t.ids.length).fill(-1);
      for (var k = 0; k < c.i.length; k++) { m[c.i[k]] = k; }
      rowMaps[ci] = m;
    }
    return rowMaps[ci];
  }
  function col(c, name, k) { return c[name] ? c[name][k] : ""; }
  function status(c, k) { return D.statuses[c.s[k]]; }
  function pts(c, k) { var p = c.p[k], x = c.x[k]; return (p === null ? "?" : fmt(p)) + " / " + (x === null ? "?" : fmt(x)); }
  function fmt(x) { return Math.round(x * 1000) / 1000; }
  function badge(st) { return el("span", { "class": "st st-" + st }, st); }

  function fillSelect(sel, values, current, blank) {
    sel.textContent = "";
    if (blank) { sel.appendChild(el("option", { value: "" }, "(none)")); }
    values.forEach(function (v) { var o = el("option", { value: v[0] }, v[1]); if (String(v[0]) === String(current)) { o.selected = true; } sel.appendChild(o); });
  }

  function setTask(name, preferModel) {
    S.task = name;
    var cs = cellsOf(name);
    var pick = cs.length ? cs[0] : -1;
    for (var i = 0; i < cs.length; i++) { if (D.cells[cs[i]].model === preferModel) { pick = cs[i]; break; } }
    S.cell = pick;
    S.cmp = -1;
    S.page = 0;
    refreshControls();
    build();
  }

  function refreshControls() {
    fillSelect($("f-task"), D.tasks.map(function (t) { return [t.name, t.name + " (" + t.ids.length + ")"]; }), S.task, false);
    var cs = cellsOf(S.task).map(function (ci) { return [ci, D.cells[ci].m]; });
    fillSelect($("f-model"), cs, S.cell, false);
    fillSelect($("f-compare"), cs.filter(function (v) { return v[0] !== S.cell; }), S.cmp, true);
    $("f-differ").disabled = S.cmp < 0;
  }

  function build() {
    var rows = [];
    if (S.cell >= 0) {
      var c = D.cells[S.cell], t = taskOf(c.t), m = rowMap(S.cell);
      var c2 = S.cmp >= 0 ? D.cells[S.cmp] : null, m2 = c2 ? rowMap(S.cmp) : null;
      var q = S.search.toLowerCase();
      for (var ti = 0; ti < t.ids.length; ti++) {
        var k = m[ti];
        if (k < 0) { continue; }
        if (q && t.ids[ti].toLowerCase().indexOf(q) < 0) { continue; }
        var k2 = m2 ? m2[ti] : -1;
        if (S.status !== "all" && status(c, k) !== S.status && !(c2 && k2 >= 0 && status(c2, k2) === S.status)) { continue; }
        if (S.differ && c2 && k2 >= 0 && c.s[k] === c2.s[k2] && c.v[k] === c2.v[k2]) { continue; }
        rows.push([ti, k, k2]);
      }
    }
    S.rows = rows;
    render();
  }

  function render() {
    var thead = $("samples").tHead, tbody = $("samples").tBodies[0];
    thead.textContent = ""; tbody.textContent = "";
    if (S.cell < 0) { $("explorer-count").textContent = "No samples."; return; }
    var c = D.cells[S.cell], t = taskOf(c.t), c2 = S.cmp >= 0 ? D.cells[S.cmp] : null;
    var hr = el("tr");
    ["id", c.m, "points", "question", "extracted"].forEach(function (h) { hr.appendChild(el("th", null, h)); });
    if (c2) { hr.appendChild(el("th", null, c2.m)); hr.appendChild(el("th", null, "points")); hr.appendChild(el("th", null, "extracted")); }
    thead.appendChild(hr);
    var pages = Math.max(1, Math.ceil(S.rows.length / PAGE));
    if (S.page >= pages) { S.page = pages - 1; }
    var start = S.page * PAGE, end = Math.min(S.rows.length, start + PAGE);
    for (var r = start; r < end; r++) {
      var row = S.rows[r], ti = row[0], k = row[1], k2 = row[2];
      var tr = el("tr", { "data-id": t.ids[ti], "data-row": String(r), tabindex: "0" });
      tr.appendChild(el("td", null, t.ids[ti]));
      var st = el("td"); st.appendChild(badge(status(c, k))); tr.appendChild(st);
      tr.appendChild(el("td", null, pts(c, k)));
      tr.appendChild(el("td", { "class": "q" }, t.q[ti].slice(0, 160)));
      tr.appendChild(el("td", null, String(col(c, "e", k)).slice(0, 60)));
      if (c2) {
        var st2 = el("td");
        if (k2 >= 0) { st2.appendChild(badge(status(c2, k2))); }
        tr.appendChild(st2);
        tr.appendChild(el("td", null, k2 >= 0 ? pts(c2, k2) : "-"));
        tr.appendChild(el("td", null, k2 >= 0 ? String(col(c2, "e", k2)).slice(0, 60) : "-"));
      }
      tbody.appendChild(tr);
    }
    $("explorer-count").textContent = S.rows.length + " of " + t.ids.length + " samples shown for " + c.m + " on " + c.t + (c2 ? ", compared with " + c2.m : "") + ". Click a row for the full answer.";
    $("p-info").textContent = "page " + (S.page + 1) + " of " + pages;
    $("p-prev").disabled = S.page === 0;
    $("p-next").disabled = S.page >= pages - 1;
  }

  /* Math is typeset by the inlined KaTeX (evalkit/mathtext/math.js), from text nodes and spans only;
     unticking "rendered math" shows the LaTeX exactly as written. */
  function mathEl(tag, attrs, text) {
    var e = el(tag, attrs);
    if (S.math && window.evalkitMath) { window.evalkitMath.renderText(e, String(text)); } else { e.textContent = String(text); }
    return e;
  }
  function block(parent, title, text, pre) {
    if (text === undefined || text === null || text === "") { return; }
    parent.appendChild(el("h4", null, title));
    parent.appendChild(mathEl(pre === false ? "div" : "pre", null, text));
  }

  function sideView(c, k, t, ti) {
    var box = el("div", { "class": "side" });
    box.appendChild(el("h3", null, c.m));
    if (k < 0) { box.appendChild(el("p", null, "No answer from this model.")); return box; }
    var kv = el("dl", { "class": "kv" });
    [["status", status(c, k)], ["points", pts(c, k)], ["grader", col(c, "g", k)], ["decided by", col(c, "sg", k)],
     ["extracted answer", col(c, "e", k)], ["normalized", col(c, "n", k)], ["reference", t.tgt[ti]]].forEach(function (p) {
      if (p[1] === "" || p[1] === undefined) { return; }
      var cls = { "class": "f-" + p[0].replace(/ /g, "-") };
      kv.appendChild(el("dt", null, p[0]));
      kv.appendChild(p[0] === "reference" ? mathEl("dd", cls, p[1]) : el("dd", cls, p[1]));
    });
    box.appendChild(kv);
    block(box, "why", col(c, "y", k));
    block(box, "error", col(c, "err", k));
    block(box, "reasoning", col(c, "rs", k));
    var resp = col(c, "r", k);
    box.appendChild(el("h4", null, "response"));
    box.appendChild(resp === "" ? el("pre", { "class": "response" }, "(empty)") : mathEl("pre", { "class": "response" }, resp));
    return box;
  }

  function showRow(r) {
    var row = S.rows[r]; if (!row) { return; }
    var c = D.cells[S.cell], t = taskOf(c.t), ti = row[0];
    var d = $("detail");
    S.open = r;
    d.textContent = "";
    d.hidden = false;
    d.setAttribute("data-id", t.ids[ti]);
    var close = el("button", { type: "button", "class": "close", title: "close (Esc)" }, "close ✕");
    close.addEventListener("click", hideDetail);
    d.appendChild(close);
    Array.prototype.forEach.call($("samples").tBodies[0].rows, function (x) { x.classList.toggle("sel", x.getAttribute("data-row") === String(r)); });
    d.appendChild(el("h3", null, t.ids[ti] + " · " + t.name));
    if (t.meta[ti]) { d.appendChild(el("p", { "class": "note" }, t.meta[ti])); }
    block(d, "question", t.q[ti]);
    var imgs = t.img[ti] || [];
    if (imgs.length) {
      var holder = el("div", { "class": "images" });
      imgs.forEach(function (ix, n) {
        var url = D.images[ix];
        if (typeof url === "string" && url.indexOf("data:image/") === 0) {
          holder.appendChild(el("img", { src: url, alt: "image " + (n + 1), title: D.imageNotes[ix] || "" }));
        } else {
          holder.appendChild(el("p", { "class": "note" }, "[image " + (n + 1) + "] " + (D.imageNotes[ix] || "not embedded")));
        }
      });
      d.appendChild(holder);
    }
    var cols = el("div", { "class": "cols" });
    cols.appendChild(sideView(c, row[1], t, ti));
    if (S.cmp >= 0) { cols.appendChild(sideView(D.cells[S.cmp], row[2], t, ti)); }
    d.appendChild(cols);
    d.scrollTop = 0;
  }

  function hideDetail() { $("detail").hidden = true; }

  function openCell(model, task) {
    setTask(task, model);
    $("explorer").scrollIntoView();
  }

  $("f-task").addEventListener("change", function (e) { setTask(e.target.value); });
  $("f-model").addEventListener("change", function (e) { S.cell = +e.target.value; S.cmp = -1; S.page = 0; refreshControls(); build(); });
  $("f-compare").addEventListener("change", function (e) { S.cmp = e.target.value === "" ? -1 : +e.target.value; S.page = 0; refreshControls(); build(); });
  $("f-differ").addEventListener("change", function (e) { S.differ = e.target.checked; S.page = 0; build(); });
  $("f-search").addEventListener("input", function (e) { S.search = e.target.value; S.page = 0; build(); });
  $("f-status").addEventListener("click", function (e) {
    var b = e.target.closest("button"); if (!b) { return; }
    S.status = b.getAttribute("data-status"); S.page = 0;
    Array.prototype.forEach.call($("f-status").querySelectorAll("button"), function (x) { x.classList.toggle("on", x === b); });
    build();
  });
  $("f-math").addEventListener("change", function (e) { S.math = e.target.checked; var d = $("detail"); if (!d.hidden && S.open !== undefined) { showRow(S.open); } });
  $("p-prev").addEventListener("click", function () { if (S.page > 0) { S.page--; render(); } });
  $("p-next").addEventListener("click", function () { S.page++; render(); });
  $("samples").tBodies[0].addEventListener("click", function (e) {
    var tr = e.target.closest("tr"); if (tr) { showRow(+tr.getAttribute("data-row")); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("tr.lb-row"), function (tr) {
    function go() { openCell(tr.getAttribute("data-model"), tr.getAttribute("data-task")); }
    tr.addEventListener("click", go);
    tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { go(); } });
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { hideDetail(); } });
  window.evalkitReport = { state: S, open: openCell, show: showRow };
  if (D.tasks.length) { setTask(D.tasks[0].name); } else { refreshControls(); render(); }
})();
