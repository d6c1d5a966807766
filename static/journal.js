// The journal grid: keyboard entry, save-as-you-go with a visible state, retry on
// network failure (never a silent loss), the lesson panel and the cell history.
(function () {
  "use strict";
  var table = document.getElementById("journal");
  if (!table) return;
  var journalId = table.dataset.journal;
  var canWrite = table.dataset.canWrite === "1";
  var statusBox = document.getElementById("journal-status");
  var panel = document.getElementById("lesson-panel");
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
  var queue = [];          // saves waiting for the network to come back
  var retryTimer = null;

  function say(text, kind) {
    statusBox.textContent = text || "";
    statusBox.className = "journal-status" + (kind ? " " + kind : "");
  }

  function cellsOf(row) { return Array.prototype.slice.call(row.querySelectorAll("input.g, input.pg")); }
  function rows() { return Array.prototype.slice.call(table.tBodies[0].rows); }

  function move(input, dRow, dCol) {
    var row = input.closest("tr");
    var rs = rows();
    var ri = rs.indexOf(row);
    var colIndex = cellsOf(row).indexOf(input);
    var targetRow = rs[ri + dRow];
    if (!targetRow) return;
    var cells = cellsOf(targetRow);
    if (dRow !== 0) {
      // the same lesson column in the next row (rows may miss columns of left students)
      var key = input.dataset.d ? input.dataset.d + "/" + input.dataset.n : "p" + input.dataset.period;
      var same = cells.filter(function (c) {
        return (c.dataset.d ? c.dataset.d + "/" + c.dataset.n : "p" + c.dataset.period) === key;
      })[0];
      if (same) { same.focus(); same.select(); }
      return;
    }
    var next = cells[colIndex + dCol];
    if (next) { next.focus(); next.select(); }
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json"},
      body: JSON.stringify(body)
    });
  }

  function save(input) {
    if (!canWrite || input.readOnly) return;
    var value = input.value.trim();
    if (value === (input.dataset.saved !== undefined ? input.dataset.saved : input.defaultValue)) return;
    var row = input.closest("tr");
    var body, url;
    if (input.classList.contains("pg")) {
      url = "/journals/" + journalId + "/period-grade";
      body = {student: row.dataset.student, period: input.dataset.period, value: value};
    } else {
      url = "/journals/" + journalId + "/cell";
      body = {student: row.dataset.student, date: input.dataset.d, n: input.dataset.n, value: value};
    }
    if (table.dataset.periodClosed === "1" && !body.reason) {
      var reason = window.prompt("Период закрыт. Укажите причину изменения:");
      if (!reason) { input.value = input.dataset.saved !== undefined ? input.dataset.saved : input.defaultValue; return; }
      body.reason = reason;
    }
    send(input, url, body);
  }

  function send(input, url, body) {
    input.classList.remove("saved", "failed", "invalid");
    input.classList.add("saving");
    input.setAttribute("aria-busy", "true");
    post(url, body).then(function (r) {
      return r.json().then(function (data) { return {status: r.status, data: data}; },
                           function () { return {status: r.status, data: {}}; });
    }).then(function (res) {
      input.classList.remove("saving");
      input.removeAttribute("aria-busy");
      if (res.status === 200) {
        input.value = res.data.text;
        input.dataset.saved = res.data.text;
        input.classList.add("saved");
        input.title = "Сохранено";
        var row = input.closest("tr");
        if ("average" in res.data) {
          row.querySelector("[data-avg]").textContent =
            res.data.average === null ? "" : String(res.data.average).replace(".", ",");
          row.querySelector("[data-forecast]").textContent = res.data.forecast || "";
        }
        say((res.data.warnings || []).join(" "), res.data.warnings && res.data.warnings.length ? "warn" : "");
        if (!res.data.warnings || !res.data.warnings.length) say("Сохранено.", "ok");
      } else if (res.status === 401) {
        input.classList.add("failed");
        say("Сеанс истёк: войдите снова в другой вкладке — введённое сохранится после входа.", "error");
        enqueue(input, url, body);
      } else if (res.status >= 400 && res.status < 500) {
        // The server refused the value: say why, keep what was typed so it can be fixed.
        input.classList.add("invalid");
        input.title = res.data.error || "Не сохранено";
        say(res.data.error || "Не сохранено.", "error");
      } else {
        input.classList.add("failed");
        enqueue(input, url, body);
      }
    }, function () {
      input.classList.remove("saving");
      input.classList.add("failed");
      enqueue(input, url, body);
    });
  }

  function enqueue(input, url, body) {
    queue = queue.filter(function (q) { return q.input !== input; });
    queue.push({input: input, url: url, body: body});
    input.title = "Не сохранено: нет связи с сервером, повторяю…";
    say("Нет связи с сервером: несохранённых клеток — " + queue.length + ". Повторяю автоматически.", "error");
    if (!retryTimer) retryTimer = setTimeout(retry, 3000);
  }

  function retry() {
    retryTimer = null;
    var pending = queue;
    queue = [];
    pending.forEach(function (q) { send(q.input, q.url, q.body); });
  }

  window.addEventListener("beforeunload", function (e) {
    if (queue.length || table.querySelector("input.saving")) { e.preventDefault(); e.returnValue = ""; }
  });

  table.addEventListener("keydown", function (e) {
    var input = e.target;
    if (!input.matches("input.g, input.pg")) return;
    var k = e.key;
    if (k === "Enter") { e.preventDefault(); save(input); move(input, e.shiftKey ? -1 : 1, 0); }
    else if (k === "ArrowDown") { e.preventDefault(); save(input); move(input, 1, 0); }
    else if (k === "ArrowUp") { e.preventDefault(); save(input); move(input, -1, 0); }
    else if (k === "ArrowRight" && input.selectionEnd === input.value.length) { e.preventDefault(); save(input); move(input, 0, 1); }
    else if (k === "ArrowLeft" && input.selectionStart === 0) { e.preventDefault(); save(input); move(input, 0, -1); }
    else if (k === "Escape") { input.value = input.dataset.saved !== undefined ? input.dataset.saved : input.defaultValue; input.select(); }
    else if (k === "F2" && input.classList.contains("g")) { e.preventDefault(); showHistory(input); }
  });
  table.addEventListener("change", function (e) { if (e.target.matches("input.g, input.pg")) save(e.target); });
  table.addEventListener("focusin", function (e) { if (e.target.matches("input.g, input.pg")) e.target.select(); });

  function load(url) {
    return fetch(url, {credentials: "same-origin", headers: {"HX-Request": "true"}}).then(function (r) { return r.text(); })
      .then(function (html) {
        panel.innerHTML = html;
        if (window.htmx) window.htmx.process(panel);
      });
  }

  function showHistory(input) {
    var row = input.closest("tr");
    load("/journals/" + journalId + "/history?student=" + row.dataset.student + "&date=" + input.dataset.d + "&n=" + input.dataset.n);
  }

  table.addEventListener("click", function (e) {
    var a = e.target.closest("a.lesson-link");
    if (!a) return;
    e.preventDefault();
    load(a.getAttribute("href")).then(function () {
      var topic = document.getElementById("topic");
      if (topic) topic.focus();
    });
  });

  panel.addEventListener("change", function (e) {
    var sel = e.target;
    if (!sel.matches("select[data-position]")) return;
    post("/journals/" + journalId + "/grade-type", {student: sel.dataset.student, date: sel.dataset.d,
      n: sel.dataset.n, position: sel.dataset.position, work_type: sel.value}).then(function (r) {
      say(r.ok ? "Вид работы изменён: средний балл пересчитан после обновления страницы." : "Не сохранено.", r.ok ? "ok" : "error");
    });
  });

  // ?lesson=YYYY-MM-DD/N opens that lesson's panel (links from the to-do list)
  var wanted = new URLSearchParams(location.search).get("lesson");
  if (wanted) {
    var link = table.querySelector('a.lesson-link[data-lesson="' + wanted + '"]');
    if (link) link.click();
  }
})();
