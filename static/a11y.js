// Boxes that scroll sideways (the wide tables on a phone, the journal grid) get a tab stop when,
// and only when, they do scroll: the keyboard can then scroll them with the arrows (WCAG 2.1.1,
// axe's scrollable-region-focusable). Loaded by base.html on every page.
(function () {
  "use strict";
  var BOXES = "table.grid, .table-scroll, .report-table, .grid-scroll, .scroll-box";
  function mark() {
    Array.prototype.forEach.call(document.querySelectorAll(BOXES), function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1 &&
        /auto|scroll/.test(getComputedStyle(el).overflowY);
      if (scrolls && !el.hasAttribute("tabindex")) { el.tabIndex = 0; el.dataset.scrollStop = "1"; }
      else if (!scrolls && el.dataset.scrollStop) { el.removeAttribute("tabindex"); delete el.dataset.scrollStop; }
    });
  }

  // A form refused by the server comes back with its message at the top (role=alert) and the
  // typed values. The school's messages begin with the field's label («Часов в неделю: от 0,5
  // до 40…»): that field is marked invalid, described by the message, shows it under itself,
  // and gets the keyboard. Pages that know their field mark it in the template (login, password);
  // those are left alone.
  function ownText(label) {
    var text = "";
    Array.prototype.forEach.call(label.childNodes, function (n) { if (n.nodeType === 3) text += n.textContent; });
    return text.replace(/\s+/g, " ").replace(/[*:]\s*$/, "").trim();
  }
  function tieError() {
    var notice = document.querySelector("main .notice.error");
    if (!notice || document.querySelector("main [aria-invalid='true']")) return;
    var message = notice.textContent.replace(/\s+/g, " ").trim().toLowerCase();
    var best = null, bestName = "";
    Array.prototype.forEach.call(document.querySelectorAll("main form label"), function (label) {
      var control = label.control;
      var name = ownText(label).toLowerCase();
      if (!control || control.type === "hidden" || name.length < 3) return;
      if (message.indexOf(name) !== 0 || name.length < bestName.length) return;
      if (name.length === bestName.length && !(control.value && best && !best.value)) return;
      best = control; bestName = name;
    });
    if (!best) return;
    if (!notice.id) notice.id = "form-error";
    var note = document.createElement("span");
    note.className = "field-error";
    note.id = notice.id + "-at-field";
    note.textContent = notice.textContent.trim();
    best.insertAdjacentElement("afterend", note);
    best.setAttribute("aria-invalid", "true");
    best.setAttribute("aria-describedby", note.id);
    best.focus();
  }

  function start() { mark(); tieError(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  window.addEventListener("resize", mark);
  document.addEventListener("htmx:afterSettle", mark);
})();
