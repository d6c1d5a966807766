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
  var scroller = table.closest(".grid-scroll");
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
  var queue = [];          // saves waiting for the network (or a new login) to come back
  var retryTimer = null;
  var needToken = false;   // the session ended: fetch the new page's token before retrying
  var lastCell = null;     // where Escape in the panel returns to
  var panelLesson = null;  // "YYYY-MM-DD/N" of the lesson shown in the panel

  function say(text, kind) {
    text = text || "";
    // The same words again (a second «Сохранено» of the same cell) must be read out again: a
    // live region speaks only when its text changes, so an invisible no-break space tells them apart.
    if (text && statusBox.textContent.replace(/\u00a0$/, "") === text && !/\u00a0$/.test(statusBox.textContent)) {
      text += "\u00a0";
    }
    statusBox.textContent = text;
    statusBox.className = "journal-status" + (kind ? " " + kind : "");
  }

  // Which cell a message is about, as its label names it («Иванов Иван, 05.12, 2 ур.»).
  function cellName(input) { return input.getAttribute("aria-label") || ""; }

  // A refused value: the cell is marked invalid and described by the message (read out with it).
  function markInvalid(input, error) {
    input.classList.add("invalid");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "journal-status");
    input.title = error;
  }
  function clearInvalid(input) {
    input.classList.remove("invalid");
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }

  // The reason for a change in a closed period, asked in the page's own dialog (not
  // window.prompt: the dialog is labelled, styled, and keeps the keyboard in the page).
  // done(reason) gets the trimmed reason, or null when the deputy cancels.
  var reasonDialog = document.getElementById("reason-dialog");
  function askReason(text, done) {
    var back = document.activeElement;
    var field = document.getElementById("reason-input");
    document.getElementById("reason-text").textContent = text;
    field.value = "";
    reasonDialog.returnValue = "";
    function closed() {
      reasonDialog.removeEventListener("close", closed);
      var why = reasonDialog.returnValue === "ok" ? field.value.trim() : "";
      if (back && document.body.contains(back)) back.focus();
      done(why || null);
    }
    reasonDialog.addEventListener("close", closed);
    reasonDialog.showModal();
    field.focus();
  }

  function formatAverage(value) {
    return value === null || value === undefined ? "" : Number(value).toFixed(2).replace(".", ",");
  }

  function cellsOf(row) { return Array.prototype.slice.call(row.querySelectorAll("input.g, input.pg")); }
  function rows() { return Array.prototype.slice.call(table.tBodies[0].rows); }
  function keyOf(c) { return c.dataset.d ? c.dataset.d + "/" + c.dataset.n : "p" + c.dataset.period; }
  function headerOf(lesson) { return table.querySelector('a.lesson-link[data-lesson="' + lesson + '"]'); }
  function focusCell(c) { if (c) { c.focus(); c.select(); } return c; }

  function firstCellOf(lesson) {
    var cells = table.querySelectorAll("input.g");
    for (var i = 0; i < cells.length; i++) if (keyOf(cells[i]) === lesson) return cells[i];
    return null;
  }

  function move(input, dRow, dCol) {
    var row = input.closest("tr");
    var rs = rows();
    var ri = rs.indexOf(row);
    if (dRow !== 0) {
      // the same lesson column in the next row that has it (rows of left students miss some)
      var key = keyOf(input);
      for (var i = ri + dRow; i >= 0 && i < rs.length; i += dRow) {
        var same = cellsOf(rs[i]).filter(function (c) { return keyOf(c) === key; })[0];
        if (same) { focusCell(same); return; }
      }
      // up from the first row: the lesson's header, which opens its panel with Enter
      if (dRow < 0 && input.dataset.d) {
        var link = headerOf(key);
        if (link) headerStop(link).focus();
      }
      return;
    }
    var cells = cellsOf(row);
    focusCell(cells[cells.indexOf(input) + dCol]);
  }

  function post(url, body) {
    // HX-Request makes an ended session answer 401 instead of redirecting to the login page.
    return fetch(url, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json",
                "HX-Request": "true"},
      body: JSON.stringify(body)
    });
  }

  function savedValue(input) { return input.dataset.saved !== undefined ? input.dataset.saved : input.defaultValue; }

  function save(input) {
    if (!canWrite || input.readOnly) return;
    var value = input.value.trim();
    // Already saved, or on its way (Enter saves, then the blur's change event would again).
    if (value === (input._pending !== undefined ? input._pending : savedValue(input))) return;
    var row = input.closest("tr");
    var body, url;
    if (input.classList.contains("pg")) {
      url = "/journals/" + journalId + "/period-grade";
      body = {student: row.dataset.student, period: input.dataset.period, value: value};
    } else {
      url = "/journals/" + journalId + "/cell";
      body = {student: row.dataset.student, date: input.dataset.d, n: input.dataset.n, value: value,
              shown: table.dataset.periodKind};
    }
    if (table.dataset.periodClosed === "1" && !body.reason) {
      input._pending = value;  // asked once, even if Enter and the blur both save
      askReason("Период закрыт. Укажите причину изменения: " + cellName(input) + ".", function (reason) {
        delete input._pending;
        if (!reason) { input.value = savedValue(input); say("Не изменено: период закрыт, причина не указана.", "warn"); return; }
        body.reason = reason;
        send(input, url, body);
      });
      return;
    }
    send(input, url, body);
  }

  function pendingCount() {
    return queue.length + table.querySelectorAll("input.saving").length;
  }

  function send(input, url, body, tokenRetried) {
    // A newer value replaces whatever of this cell still waits for a retry.
    queue = queue.filter(function (q) { return q.input !== input; });
    input._pending = body.value;
    input.classList.remove("saved", "failed");
    clearInvalid(input);
    input.classList.add("saving");
    input.setAttribute("aria-busy", "true");
    // One request per cell at a time, so that the server gets a cell's values in the order typed:
    // a value typed while the previous one is on its way goes when that one is answered.
    if (input._busy) { input._next = {url: url, body: body, tokenRetried: tokenRetried}; return; }
    input._busy = true;
    function overtaken() {
      input._busy = false;
      var next = input._next;
      if (!next) return false;
      input._next = null;
      send(input, next.url, next.body, next.tokenRetried);
      return true;
    }
    function done() {
      input.classList.remove("saving");
      input.removeAttribute("aria-busy");
      delete input._pending;
    }
    post(url, body).then(function (r) {
      return r.text().then(function (text) {
        var data = null, message = "";
        try { data = JSON.parse(text); } catch (err) {
          // an HTML error fragment (access refused, stale page): its words, without the markup
          message = new DOMParser().parseFromString(text, "text/html").body.textContent.trim();
        }
        return {status: r.status, data: data, message: message};
      });
    }).then(function (res) {
      if (overtaken()) return;
      done();
      if (res.status === 200 && res.data && typeof res.data.text === "string") {
        input.value = res.data.text;
        input.dataset.saved = res.data.text;
        input.classList.add("saved");
        input.title = "Сохранено";
        var row = input.closest("tr");
        if ("average" in res.data) {
          row.querySelector("[data-avg]").textContent = formatAverage(res.data.average);
          row.querySelector("[data-forecast]").textContent = res.data.forecast || "";
        }
        var warnings = res.data.warnings || [];
        if (queue.length) sayQueued();
        else if (warnings.length) say(warnings.join(" "), "warn");
        else say("Сохранено. " + cellName(input), "ok");
      } else if (res.status === 401 || res.status === 0) {
        // 0: a redirect (to the login page) — the session has ended.
        needToken = true;
        input.classList.add("failed");
        enqueue(input, url, body);
        say("Сеанс завершён: войдите снова в другой вкладке — несохранённые клетки (" + queue.length +
            ") сохранятся сами после входа.", "error");
      } else if (res.status === 403 && !tokenRetried && /Обновите страницу/.test(res.message)) {
        // The page's token is stale (logged in again elsewhere): fetch a fresh one, retry once.
        needToken = true;
        input.classList.add("failed");
        enqueue(input, url, body, true);
      } else if (res.status === 400 && res.data && res.data.need_reason && !body.reason) {
        // A closed period (perhaps not the one on screen: the year): the deputy gives a reason.
        askReason(res.data.error + " " + cellName(input) + ". Причина:", function (why) {
          if (why) { body.reason = why; send(input, url, body, tokenRetried); }
          else { input.value = savedValue(input); say("Не изменено: период закрыт, причина не указана.", "warn"); }
        });
      } else if (res.status >= 400 && res.status < 500) {
        // The server refused the value: say why, keep what was typed so it can be fixed.
        var error = (res.data && res.data.error) || res.message || "Не сохранено: сервер не принял значение.";
        markInvalid(input, error);
        say(error, "error");
      } else {
        input.classList.add("failed");
        enqueue(input, url, body);
      }
    }, function () {
      if (overtaken()) return;
      done();
      input.classList.add("failed");
      enqueue(input, url, body);
    });
  }

  function sayQueued() {
    say("Нет связи с сервером: несохранённых клеток — " + queue.length + ". Повторяю автоматически, " +
        "не закрывайте страницу.", "error");
  }

  function enqueue(input, url, body, tokenRetried) {
    queue = queue.filter(function (q) { return q.input !== input; });
    queue.push({input: input, url: url, body: body, tokenRetried: tokenRetried});
    input.title = "Не сохранено: нет связи с сервером, повторяю…";
    sayQueued();
    if (!retryTimer) retryTimer = setTimeout(retry, 3000);
  }

  function refreshToken() {
    return fetch(location.pathname + location.search, {credentials: "same-origin", redirect: "manual"})
      .then(function (r) {
        if (r.status !== 200) throw new Error("not logged in");
        return r.text();
      }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var token = JSON.parse(doc.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"];
        if (!token) throw new Error("no token");
        csrf = token;
        needToken = false;
      });
  }

  function retry() {
    retryTimer = null;
    var ready = needToken ? refreshToken() : Promise.resolve();
    ready.then(function () {
      var pending = queue;
      queue = [];
      pending.forEach(function (q) { send(q.input, q.url, q.body, q.tokenRetried); });
    }, function () {
      retryTimer = setTimeout(retry, 3000);
    });
  }

  window.addEventListener("beforeunload", function (e) {
    if (pendingCount()) { e.preventDefault(); e.returnValue = ""; }
  });

  table.addEventListener("keydown", function (e) {
    var target = e.target;
    if (target.matches("a.lesson-link")) { headerKey(e, target); return; }
    if (!target.matches("input.g, input.pg")) return;
    var input = target;
    var k = e.key;
    if (k === "Enter") { e.preventDefault(); save(input); move(input, e.shiftKey ? -1 : 1, 0); }
    else if (k === "ArrowDown") { e.preventDefault(); save(input); move(input, 1, 0); }
    else if (k === "ArrowUp") { e.preventDefault(); save(input); move(input, -1, 0); }
    else if (k === "ArrowRight" && input.selectionEnd === input.value.length) { e.preventDefault(); save(input); move(input, 0, 1); }
    else if (k === "ArrowLeft" && input.selectionStart === 0 && input.selectionEnd === 0) { e.preventDefault(); save(input); move(input, 0, -1); }
    else if (k === "Escape") { input.value = savedValue(input); clearInvalid(input); input.select(); }
    else if (k === "F2") { e.preventDefault(); save(input); showHistory(input); }
  });
  table.addEventListener("change", function (e) { if (e.target.matches("input.g, input.pg")) save(e.target); });
  table.addEventListener("focusin", function (e) {
    if (!e.target.matches("input.g, input.pg")) return;
    lastCell = e.target;
    e.target.select();
    // the date of the cell being typed into is lit up in the header row
    var cur = table.querySelector("thead th.cur");
    var link = e.target.dataset.d ? headerOf(keyOf(e.target)) : null;
    if (cur && (!link || cur !== link.closest("th"))) cur.classList.remove("cur");
    if (link) link.closest("th").classList.add("cur");
  });

  // On a lesson's header: Enter opens the panel (a link), ↓ goes to the first student, ← → to
  // the neighbouring lessons, П (the G key in either layout) marks «посещаемость отмечена» or
  // takes the mark back — everyone present needs no mark in the cells.
  function headerKey(e, link) {
    var links = Array.prototype.slice.call(table.querySelectorAll("a.lesson-link"));
    var i = links.indexOf(link);
    if (e.code === "KeyG" && !e.ctrlKey && !e.altKey && !e.metaKey) { e.preventDefault(); toggleRegister(link); }
    else if (e.key === "ArrowDown") { e.preventDefault(); focusCell(firstCellOf(link.dataset.lesson)); }
    else if (e.key === "ArrowRight" && links[i + 1]) { e.preventDefault(); headerStop(links[i + 1]).focus(); reveal(links[i + 1].closest("th")); }
    else if (e.key === "ArrowLeft" && links[i - 1]) { e.preventDefault(); headerStop(links[i - 1]).focus(); reveal(links[i - 1].closest("th")); }
    else if (e.key === "Home" && links.length) { e.preventDefault(); headerStop(links[0]).focus(); reveal(links[0].closest("th")); }
    else if (e.key === "End" && links.length) { e.preventDefault(); headerStop(links[links.length - 1]).focus(); reveal(links[links.length - 1].closest("th")); }
  }

  // The lesson headers are one tab stop (70 links would be 70 Tab presses): the header last
  // visited — at first today's lesson or the last one before it — takes Tab, the arrows move
  // along the row.
  function headerStop(link) {
    Array.prototype.forEach.call(table.querySelectorAll("a.lesson-link[tabindex='0']"), function (a) {
      if (a !== link) a.setAttribute("tabindex", "-1");
    });
    link.setAttribute("tabindex", "0");
    return link;
  }
  table.addEventListener("focusin", function (e) { if (e.target.matches("a.lesson-link")) headerStop(e.target); });

  function toggleRegister(link, reason) {
    var taken = !!link.querySelector(".mark-r");
    var body = new URLSearchParams({csrf_token: csrf, taken: taken ? "0" : "1", reason: reason || ""});
    var when = link.querySelector(".d").textContent + ", " + link.querySelector(".n").textContent;
    fetch("/journals/" + journalId + "/lessons/" + link.dataset.lesson + "/register", {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}, body: body
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var text = data.error || "Не сохранено.";
          if (r.status === 400 && !reason && data.need_reason) {
            askReason(text, function (why) {
              if (why) toggleRegister(link, why);
              else say("Не изменено: причина не указана.", "warn");
            });
            return;
          }
          say(text, "error");
          return;
        }
        if (taken) {
          link.querySelector(".mark-r").remove();
          say("Отметка «посещаемость отмечена» снята: " + when + ".", "ok");
        } else {
          var mark = document.createElement("span");
          mark.className = "mark-r"; mark.textContent = "✓";
          mark.setAttribute("aria-label", "посещаемость отмечена"); mark.title = "Посещаемость отмечена";
          var after = link.querySelector(".mark-k") || link.querySelector(".n");
          after.insertAdjacentElement("afterend", mark);
          say("Посещаемость отмечена: " + when + ".", "ok");
        }
      });
    }).catch(function () { say("Нет связи с сервером: отметка не сохранена.", "error"); });
  }

  function load(url) {
    return fetch(url, {credentials: "same-origin", headers: {"HX-Request": "true"}}).then(function (r) {
      return r.text().then(function (html) {
        if (r.status === 401) { location.reload(); return; }
        panel.innerHTML = html;
        if (window.htmx) window.htmx.process(panel);
      });
    }, function () {
      say("Нет связи с сервером: панель урока не открылась. Попробуйте ещё раз.", "error");
    });
  }

  function showHistory(input) {
    var row = input.closest("tr");
    panelLesson = keyOf(input);
    var where = input.dataset.period ? "&period=" + input.dataset.period
                                     : "&date=" + input.dataset.d + "&n=" + input.dataset.n;
    load("/journals/" + journalId + "/history?student=" + row.dataset.student + where);
  }

  function openLesson(link) {
    panelLesson = link.dataset.lesson;
    markHeader(link);
    reveal(link.closest("th"));
    return load(link.getAttribute("href")).then(function () {
      // A lesson without a topic starts at the topic; a recorded one at its homework.
      var card = document.getElementById("lesson-card");
      var field = card && card.dataset.topic ? document.getElementById("homework") : null;
      field = field || document.getElementById("topic");
      if (field) field.focus();
    });
  }

  function markHeader(link) {
    var open = table.querySelector("th.open");
    if (open) open.classList.remove("open");
    link.closest("th").classList.add("open");
  }

  table.addEventListener("click", function (e) {
    var a = e.target.closest("a.lesson-link");
    if (!a) return;
    e.preventDefault();
    openLesson(a);
  });

  // A refused form comes back as the panel with the message and the saved values: put back
  // what the teacher typed, so that it can be corrected rather than typed again.
  var typed = null;
  var typeBefore = null;   // the lesson's work type before its form was saved
  panel.addEventListener("htmx:beforeSwap", function (e) {
    var form = e.detail.requestConfig && e.detail.requestConfig.elt;
    var old = document.getElementById("lesson-card");
    typeBefore = old ? old.dataset.workType + "/" + old.dataset.control : null;
    typed = null;
    if (!form || !form.dataset || !form.dataset.form || e.detail.xhr.status < 400) return;
    typed = {kind: form.dataset.form, values: []};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.type !== "hidden" && el.type !== "file" && el.type !== "checkbox") {
        typed.values.push([el.name, el.value]);
      }
    });
  });

  function restoreTyped(card) {
    if (!typed) return;
    var form = card.querySelector('form[data-form="' + typed.kind + '"]');
    typed.values.forEach(function (pair) {
      var el = form && form.elements.namedItem(pair[0]);
      if (el && el.value !== undefined) el.value = pair[1];
    });
    typed = null;
  }

  // After a panel form is answered (htmx swapped the new card in): keep the grid's header in
  // step, and put the keyboard where the teacher goes next.
  panel.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.requestConfig && e.detail.requestConfig.elt;
    var kind = form && form.dataset ? form.dataset.form : null;
    if (!kind) {
      // another control of the panel reloaded it (the КТП item select): the keyboard stays on it
      var again = form && form.name && document.querySelector('#lesson-card [name="' + form.name + '"]');
      if (again && !document.body.contains(form)) again.focus();
      return;
    }
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    var card = document.getElementById("lesson-card");
    if (status === 0 || status >= 500) {
      say((status ? "Не сохранено: ошибка на сервере." : "Не сохранено: нет связи с сервером.") +
          " Введённое осталось в форме — нажмите «Сохранить» ещё раз.", "error");
      return;
    }
    if (!card) return;
    if (status === 200) {
      updateHeader(card);
      if (kind === "topic" && typeBefore !== null && typeBefore !== card.dataset.workType + "/" + card.dataset.control) {
        refreshAverages();
      }
      if (kind === "topic") {
        say("Тема урока сохранена.", "ok");
        if (focusCell(firstCellOf(card.dataset.lesson))) return;
      }
      var again = card.querySelector('form[data-form="' + kind + '"]');
      var field = again && again.querySelector("input:not([type=hidden]), textarea, select");
      if (kind === "homework") field = card.querySelector("#homework");
      if (field) field.focus();
    } else {
      restoreTyped(card);
      var bad = card.querySelector('form[data-form="' + kind + '"]');
      var first = bad && bad.querySelector("input:not([type=hidden]), textarea, select");
      var notice = document.getElementById("lesson-error");
      if (notice && bad) {
        // The field the message names by its label («Время: …»), or the form's first one.
        var said = notice.textContent.trim().toLowerCase(), longest = 0;
        Array.prototype.forEach.call(bad.querySelectorAll("label"), function (label) {
          var own = Array.prototype.filter.call(label.childNodes, function (n) { return n.nodeType === 3; })
            .map(function (n) { return n.textContent; }).join(" ").split(/[(,]/)[0].replace(/\s+/g, " ").trim().toLowerCase();
          if (label.control && own.length > longest && said.indexOf(own) === 0) { first = label.control; longest = own.length; }
        });
      }
      if (first) {
        // The refused field is marked invalid and described by the panel's message.
        if (notice) {
          first.setAttribute("aria-invalid", "true");
          first.setAttribute("aria-describedby", "lesson-error");
        }
        first.focus();
      }
    }
  });

  // A lesson's work type weighs every grade given in it: after it changes, each row's «Ср.» and
  // forecast are read again from the grid page, as the server computes them.
  function refreshAverages() {
    fetch(location.href, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        Array.prototype.forEach.call(doc.querySelectorAll("#journal tbody tr[data-student]"), function (row) {
          var mine = table.querySelector('tr[data-student="' + row.dataset.student + '"]');
          if (!mine) return;
          ["[data-avg]", "[data-forecast]"].forEach(function (sel) {
            var fresh = row.querySelector(sel), shown = mine.querySelector(sel);
            if (fresh && shown) shown.textContent = fresh.textContent;
          });
        });
      })
      .catch(function () { say("Средний балл обновится после перезагрузки страницы.", "error"); });
  }

  function updateHeader(card) {
    var link = headerOf(card.dataset.lesson || "");
    if (!link) return;
    var th = link.closest("th");
    var topic = card.dataset.topic || "";
    var cancelled = card.dataset.status === "cancelled";
    link.title = (topic || "Тема не записана") + (card.dataset.control === "1" ? " · " + card.dataset.workType : "");
    th.classList.toggle("control", card.dataset.control === "1");
    th.classList.toggle("cancelled", cancelled);
    var missing = link.querySelector(".mark-missing");
    if (missing && (topic || cancelled)) missing.remove();
    var k = link.querySelector(".mark-k");
    if (card.dataset.control === "1" && !k) {
      k = document.createElement("span");
      k.className = "mark-k";
      k.setAttribute("aria-label", "оценочная процедура");
      k.textContent = "К";
      link.appendChild(k);
    } else if (card.dataset.control !== "1" && k) {
      k.remove();
    }
  }

  // Escape in the panel: back to the grid, where the teacher was (or the lesson's first cell).
  panel.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.target.matches("select")) return;
    var back = lastCell && document.body.contains(lastCell) ? lastCell : (panelLesson && firstCellOf(panelLesson));
    if (back) { e.preventDefault(); focusCell(back); }
  });
  panel.addEventListener("keyup", function (e) {
    // A select's own Escape closes its list first; the next Escape (keyup) leaves the panel.
    if (e.key !== "Escape" || !e.target.matches("select")) return;
    var back = lastCell && document.body.contains(lastCell) ? lastCell : (panelLesson && firstCellOf(panelLesson));
    if (back) focusCell(back);
  });

  panel.addEventListener("change", function (e) {
    var sel = e.target;
    if (!sel.matches("select[data-position]")) return;
    setGradeType(sel, {student: sel.dataset.student, date: sel.dataset.d, n: sel.dataset.n,
                       position: sel.dataset.position, work_type: sel.value, shown: table.dataset.periodKind});
  });

  function setGradeType(sel, body) {
    post("/journals/" + journalId + "/grade-type", body).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (r.status === 400 && data.need_reason && !body.reason) {
          // A closed period: the deputy gives a reason, as for a cell.
          askReason(data.error + " Причина:", function (why) {
            if (why) { body.reason = why; setGradeType(sel, body); }
            else say("Не изменено: период закрыт, причина не указана.", "warn");
          });
          return;
        }
        if (!r.ok) { say(data.error || "Не сохранено.", "error"); return; }
        var row = table.querySelector('tr[data-student="' + data.student + '"]');
        if (row && "average" in data) {
          row.querySelector("[data-avg]").textContent = formatAverage(data.average);
          row.querySelector("[data-forecast]").textContent = data.forecast || "";
        }
        say("Вид работы изменён, средний балл пересчитан.", "ok");
      });
    }, function () {
      say("Не сохранено: нет связи с сервером.", "error");
    });
  }

  // Bring a lesson's column into sight (unless it is, and `always` is not asked): a little to
  // the right of the middle, so that the lessons before it show too. The names on the left and
  // the averages on the right stay put over the scrolling lessons.
  function reveal(th, always) {
    if (!scroller || !th) return;
    var left = table.querySelector("thead th.name").getBoundingClientRect().right;
    var mean = table.querySelector("thead th.mean");
    var right = Math.min(scroller.getBoundingClientRect().right, mean ? mean.getBoundingClientRect().left : Infinity);
    var col = th.getBoundingClientRect();
    if (!always && col.left >= left - 1 && col.right <= right + 1) return;
    scroller.scrollLeft += col.left - (left + Math.max(0, right - left - col.width) * 0.7);
  }

  // The grid takes the rest of the window's height, so that its sideways scrollbar stays in
  // sight; the panel beside it is as high.
  function fit() {
    if (!scroller) return;
    var top = scroller.getBoundingClientRect().top + window.scrollY;
    var height = Math.max(240, Math.floor(window.innerHeight - top - 8)) + "px";
    scroller.style.maxHeight = height;
    panel.style.maxHeight = window.matchMedia("(max-width: 1100px)").matches ? "" : height;
  }
  fit();
  window.addEventListener("resize", fit);

  // ?lesson=YYYY-MM-DD/N opens that lesson's panel (links from the to-do list); otherwise
  // the grid opens at today's lesson (or the last one before today).
  var wanted = new URLSearchParams(location.search).get("lesson");
  var link = wanted ? headerOf(wanted) : null;
  var allLinks = table.querySelectorAll("a.lesson-link");
  var today = table.dataset.today;
  var past = Array.prototype.filter.call(allLinks, function (a) {
    return a.dataset.lesson.split("/")[0] <= today;
  });
  var current = link || past[past.length - 1] || allLinks[0];
  Array.prototype.forEach.call(allLinks, function (a) { a.setAttribute("tabindex", "-1"); });
  if (current) headerStop(current);
  if (link) {
    reveal(link.closest("th"), true);
    openLesson(link);
  } else if (past.length) {
    reveal(past[past.length - 1].closest("th"), true);
  }

  // «К отметкам»: the skip link goes to the first student's cell of today's lesson (or the last
  // one before today), the place a lesson's grades start.
  var skip = document.getElementById("skip-to-grades");
  if (skip) skip.addEventListener("click", function (e) {
    var target = (current && firstCellOf(current.dataset.lesson)) || table.querySelector("input.g, input.pg");
    if (!target) return;
    e.preventDefault();
    reveal(target.closest("td"), true);
    focusCell(target);
  });
})();
