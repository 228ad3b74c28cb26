/* evalkit marking room: the rubric steps by click or key, and the running total. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("marking");
    if (!form) { return; }
    var steps = Array.prototype.slice.call(form.querySelectorAll("tr.step"));
    var total = document.getElementById("total");
    var active = 0;

    function sum() {
      if (!steps.length) {
        var t = form.querySelector("input[name=total]:checked") || form.querySelector("input[type=number][name=total]");
        total.textContent = t && t.value !== "" ? t.value : "–";
        return;
      }
      var s = 0, complete = true;
      steps.forEach(function (row) {
        var c = row.querySelector("input:checked");
        if (c) { s += Number(c.value); } else { complete = false; }
      });
      total.textContent = complete ? String(s) : s + " …";
    }

    function activate(k) {
      if (!steps.length) { return; }
      active = Math.max(0, Math.min(steps.length - 1, k));
      steps.forEach(function (row, i) { row.classList.toggle("active", i === active); });
    }

    form.addEventListener("change", function (ev) {
      var row = ev.target.closest("tr.step");
      if (row) { activate(steps.indexOf(row)); }
      sum();
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.target.tagName === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      if (/^[0-9]$/.test(ev.key) && steps.length) {
        var input = steps[active].querySelector("input[value='" + ev.key + "']");
        if (input) { input.checked = true; sum(); activate(active + 1); ev.preventDefault(); }
      } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        activate(active + (ev.key === "ArrowDown" ? 1 : -1));
        ev.preventDefault();
      } else if (ev.key === "Enter" && ev.target.tagName !== "BUTTON") {
        ev.preventDefault();
        if (form.reportValidity()) { form.requestSubmit(); }
      }
    });
    activate(0);
    sum();
  });
})();
