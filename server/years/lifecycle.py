"""A year's life (§3.4.8): planned → current (open) → closed in June (its journals read-only,
still the current year until the next one opens) → an earlier year, readable forever (§1.4.4).

- `status`: 'planned', 'open' (the current year), 'closed' (an earlier year). `closed_at`:
  the year's journals are read-only (the current year is closed before the next one opens;
  the deputy may reopen it, with a reason that goes into the ledger).
- Closing a year closes its study periods through the journal's own `close_period` (the
  ledger's `period` entity) and records who and when (the `academic_year` entry).
- Opening the next year makes it current at once or on a date (`opens_on`, default its first
  day): `roll(conn, today)` — run at the server's start and every few minutes — opens what is
  due and ends the logins of graduates and leavers whose grace period is over.

Plain `def f(conn, …)` functions; every change is a ledger entry in the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from types import SimpleNamespace

from .. import ledger
from ..errors import NotFound
from ..journal import writes as journal_writes
from ..journal.store import journal_info, lesson_columns, students
from ..school.errors import SchoolError
from ..timeutil import now_text, ru_date

STATUS_LABELS = {"planned": "готовится", "open": "текущий", "closed": "закрыт"}
DEFAULT_REASON_CLOSED_BY_OPENING = "учебный год закрыт при открытии следующего"


def year(conn: sqlite3.Connection, year_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM academic_year WHERE id = ?", (year_id,)).fetchone()
    if row is None:
        raise NotFound("Такого учебного года нет.")
    return row


def current(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The current year: the open one (the latest, should there be two)."""
    return conn.execute("SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1").fetchone()


def state(row) -> str:
    """'planned', 'open' or 'closed' as people see it: a current year closed in June is closed."""
    if row["status"] == "planned":
        return "planned"
    return "closed" if row["closed_at"] or row["status"] == "closed" else "open"


def is_closed(row) -> bool:
    return bool(row["closed_at"]) or row["status"] == "closed"


def overview(conn: sqlite3.Connection) -> list[dict]:
    """Every year, newest first, with its state, who closed it and when it opens."""
    rows = conn.execute(
        """
        SELECT y.*, p.last_name || ' ' || substr(p.first_name, 1, 1) || '.' AS closed_by_name,
               (SELECT count(*) FROM class c WHERE c.year_id = y.id AND c.archived_at IS NULL) AS classes,
               (SELECT count(DISTINCT e.student_id) FROM enrollment e JOIN class c ON c.id = e.class_id
                 WHERE c.year_id = y.id) AS students
          FROM academic_year y LEFT JOIN account a ON a.id = y.closed_by LEFT JOIN person p ON p.id = a.person_id
         ORDER BY y.starts_on DESC
        """).fetchall()
    return [{**dict(r), "state": state(r), "state_label": STATUS_LABELS[state(r)], "current": r["status"] == "open"}
            for r in rows]


def editable(conn: sqlite3.Connection, year_id: int) -> sqlite3.Row:
    """The year if its structure may still be changed (planned or current, not closed)."""
    row = year(conn, year_id)
    if is_closed(row):
        raise SchoolError(f"Учебный год {row['name']} закрыт: его классы, нагрузка и расписание не меняются.")
    return row


# --- the checklist ------------------------------------------------------------------------------

def checklist(conn: sqlite3.Connection, year_id: int, period_id: int | None, today: str) -> dict:
    """What is missing before closing a period (or, `period_id` None, the whole year): per class
    and journal, period and year grades not set or н/а, control works without grades, lessons
    without topics. Returns {"periods", "classes": [{name, journals: [...]}], "totals"}."""
    y = year(conn, year_id)
    periods = conn.execute("SELECT * FROM study_period WHERE year_id = ? ORDER BY starts_on, kind",
                           (year_id,)).fetchall()
    if period_id is not None:
        wanted = [p for p in periods if p["id"] == period_id]
        if not wanted:
            raise NotFound("Такого периода нет.")
    else:
        wanted = list(periods)
    journal_ids = [r[0] for r in conn.execute(
        "SELECT id FROM journal WHERE year_id = ? AND archived_at IS NULL ORDER BY id", (year_id,))]
    lessons: dict[int, list] = defaultdict(list)
    for row in conn.execute(
            "SELECT l.id, l.journal_id, l.date, l.lesson_number, l.topic, l.status, wt.is_control"
            " FROM lesson l JOIN journal j ON j.id = l.journal_id JOIN work_type wt ON wt.code = l.work_type"
            " WHERE j.year_id = ? AND j.archived_at IS NULL", (year_id,)):
        lessons[row["journal_id"]].append(row)
    graded: dict[int, set[int]] = defaultdict(set)
    absent: dict[int, set[int]] = defaultdict(set)
    for lid, sid in conn.execute(
            "SELECT DISTINCT g.lesson_id, g.student_id FROM grade g JOIN lesson l ON l.id = g.lesson_id"
            " JOIN journal j ON j.id = l.journal_id JOIN work_type wt ON wt.code = l.work_type"
            " WHERE j.year_id = ? AND wt.is_control = 1", (year_id,)):
        graded[lid].add(sid)
    for lid, sid in conn.execute(
            "SELECT a.lesson_id, a.student_id FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
            " JOIN journal j ON j.id = l.journal_id JOIN work_type wt ON wt.code = l.work_type"
            " WHERE j.year_id = ? AND wt.is_control = 1 AND a.mark IN ('Н', 'Б', 'У')", (year_id,)):
        absent[lid].add(sid)
    grades: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    for jid, pid, sid, value in conn.execute(
            "SELECT pg.journal_id, pg.period_id, pg.student_id, pg.value FROM period_grade pg"
            " JOIN study_period p ON p.id = pg.period_id WHERE p.year_id = ?", (year_id,)):
        grades[(jid, pid)][sid] = value

    by_class: dict[str, list[dict]] = defaultdict(list)
    order: dict[str, tuple] = {}
    totals = {"grades_missing": 0, "grades_na": 0, "controls": 0, "untitled": 0}
    for jid in journal_ids:
        info = journal_info(conn, jid)
        mine = [p for p in wanted if p["kind"] in (info.period_kind, "year")]
        if not mine:
            continue
        entry = {"id": jid, "subject": info.row["subject_name"], "target": info.row["target_name"],
                 "teacher": f"{info.row['t_last']} {info.row['t_first'][:1]}.", "items": []}
        for p in mine:
            start, end = p["starts_on"], p["ends_on"]
            people = students(conn, info, start, end)
            link = f"/journals/{jid}?period={p['id'] if p['kind'] != 'year' else ''}"
            if end <= today or period_id is not None or p["kind"] == "year":
                at_end = [s for s in people if s["to"] is None or s["to"] >= min(end, today)]
                if not info.no_marks:
                    set_ = grades.get((jid, p["id"]), {})
                    missing = [s for s in at_end if s["id"] not in set_]
                    na = [s for s in at_end if set_.get(s["id"]) == "н/а"]
                    if missing:
                        entry["items"].append({"what": "grades_missing", "period": p, "count": len(missing),
                                               "link": link, "names": _names(missing)})
                        totals["grades_missing"] += len(missing)
                    if na:
                        entry["items"].append({"what": "grades_na", "period": p, "count": len(na), "link": link,
                                               "names": _names(na)})
                        totals["grades_na"] += len(na)
            if p["kind"] == "year":
                continue  # the year's lessons are those of its quarters or halves
            in_period = [l_ for l_ in lessons[jid] if start <= l_["date"] <= end]
            for l_ in in_period:
                if not l_["is_control"] or l_["status"] == "cancelled" or l_["date"] > today:
                    continue
                there = [s for s in people if s["from"] <= l_["date"] and (s["to"] is None or s["to"] >= l_["date"])]
                lacking = [s for s in there if s["id"] not in graded[l_["id"]] and s["id"] not in absent[l_["id"]]]
                if lacking:
                    entry["items"].append({"what": "control", "period": p, "count": len(lacking),
                                           "date": l_["date"], "n": l_["lesson_number"],
                                           "link": f"/journals/{jid}/lessons/{l_['date']}/{l_['lesson_number']}",
                                           "grid": link})
                    totals["controls"] += 1
            recorded = {(l_["date"], l_["lesson_number"]): l_ for l_ in in_period}
            untitled = [(d, n) for d, n in lesson_columns(info, start, min(end, today), in_period)
                        if (d, n) not in recorded
                        or (not recorded[(d, n)]["topic"] and recorded[(d, n)]["status"] != "cancelled")]
            if untitled:
                entry["items"].append({"what": "untitled", "period": p, "count": len(untitled),
                                       "first": untitled[0][0], "link": link})
                totals["untitled"] += len(untitled)
        if entry["items"]:
            name = info.row["target_name"] if info.row["class_id"] else "Группы"
            by_class[name].append(entry)
            order[name] = (info.parallel if info.row["class_id"] else 99, name)
    classes = [{"name": n, "journals": by_class[n]} for n in sorted(by_class, key=lambda n: order[n])]
    return {"year": y, "periods": periods, "chosen": wanted[0] if period_id is not None else None,
            "classes": classes, "totals": totals, "clean": not any(totals.values())}


def _names(people: list[dict]) -> str:
    shown = [f"{s['last_name']} {s['first_name'][:1]}." for s in people[:5]]
    return ", ".join(shown) + (f" и ещё {len(people) - 5}" if len(people) > 5 else "")


# --- closing and reopening --------------------------------------------------------------------

def _as_user(actor: int | None) -> SimpleNamespace:
    # The journal's close_period takes the acting user; it reads only the account.
    return SimpleNamespace(account_id=actor)


def close_period(conn: sqlite3.Connection, actor: int | None, period_id: int, reason: str = "") -> int:
    """Close one study period through the journal's own write (the ledger's `period` entity)."""
    p = conn.execute("SELECT * FROM study_period WHERE id = ?", (period_id,)).fetchone()
    if p is None:
        raise NotFound("Такого периода нет.")
    if p["closed_at"]:
        raise SchoolError("Этот период уже закрыт.")
    return journal_writes.close_period(conn, _as_user(actor), period_id, True, reason)


def reopen_period(conn: sqlite3.Connection, actor: int | None, period_id: int, reason: str) -> int:
    p = conn.execute("SELECT * FROM study_period WHERE id = ?", (period_id,)).fetchone()
    if p is None:
        raise NotFound("Такого периода нет.")
    if not p["closed_at"]:
        raise SchoolError("Этот период не закрыт.")
    reason = _reason(reason, "Укажите причину, по которой период открывается снова.")
    if is_closed(year(conn, p["year_id"])):
        raise SchoolError("Учебный год закрыт: сначала откройте его снова.")
    return journal_writes.close_period(conn, _as_user(actor), period_id, False, reason)


def _reason(text: str, message: str) -> str:
    text = " ".join((text or "").split())[:300]
    if not text:
        raise SchoolError(message, "reason")
    return text


def close_year(conn: sqlite3.Connection, actor: int | None, year_id: int, reason: str = "") -> None:
    """The year closes: every study period of it closes, its journals become read-only; the
    ledger records who and when. A planned year cannot close; a closed one is refused."""
    y = year(conn, year_id)
    if y["status"] == "planned":
        raise SchoolError(f"Учебный год {y['name']} ещё не начался: закрыть его нельзя.")
    if y["closed_at"]:
        raise SchoolError(f"Учебный год {y['name']} уже закрыт.")
    for (pid,) in conn.execute("SELECT id FROM study_period WHERE year_id = ? AND closed_at IS NULL ORDER BY id",
                               (year_id,)).fetchall():
        journal_writes.close_period(conn, _as_user(actor), pid, True, reason)
    # An earlier year (a later one already current) becomes 'closed' as well.
    later = conn.execute("SELECT 1 FROM academic_year WHERE status = 'open' AND starts_on > ?",
                         (y["starts_on"],)).fetchone()
    changes = {"closed_at": now_text(), "closed_by": actor}
    if later:
        changes["status"] = "closed"
    ledger.update(conn, actor, "academic_year", year_id, changes, reason)


def reopen_year(conn: sqlite3.Connection, actor: int | None, year_id: int, reason: str) -> None:
    """The deputy reopens a closed year, with a reason (its periods stay closed: a change in
    them is again the deputy's, with a reason)."""
    y = year(conn, year_id)
    if not y["closed_at"]:
        raise SchoolError(f"Учебный год {y['name']} не закрыт.")
    reason = _reason(reason, "Укажите причину, по которой учебный год открывается снова.")
    ledger.update(conn, actor, "academic_year", year_id, {"closed_at": None, "closed_by": None}, reason)


# --- opening the next year ---------------------------------------------------------------------

def schedule_opening(conn: sqlite3.Connection, actor: int | None, year_id: int, on: str | None,
                     today: str) -> bool:
    """The planned year becomes current on `on` (default its first day); at once when that day
    has come. Returns True when it opened now."""
    y = year(conn, year_id)
    if y["status"] != "planned":
        raise SchoolError(f"Учебный год {y['name']} уже открыт.")
    cur = current(conn)
    if cur is not None and cur["starts_on"] > y["starts_on"]:
        raise SchoolError(f"Учебный год {y['name']} раньше текущего {cur['name']}.")
    on = on or y["starts_on"]
    if cur is not None and on <= cur["starts_on"]:
        raise SchoolError(f"Дата открытия должна быть позже начала текущего года ({ru_date(cur['starts_on'])}).")
    if on > y["ends_on"]:
        raise SchoolError(f"Дата открытия позже конца учебного года {y['name']}.")
    ledger.update(conn, actor, "academic_year", year_id, {"opens_on": on})
    if on <= today:
        open_now(conn, actor, year_id)
        return True
    return False


def open_now(conn: sqlite3.Connection, actor: int | None, year_id: int, reason: str = "") -> None:
    """The year becomes the current one; the year before it becomes an earlier year (closed,
    if it was not yet: its journals read-only)."""
    y = year(conn, year_id)
    if y["status"] != "planned":
        return
    for prev in conn.execute("SELECT * FROM academic_year WHERE status = 'open'").fetchall():
        changes: dict = {"status": "closed"}
        if not prev["closed_at"]:
            for (pid,) in conn.execute("SELECT id FROM study_period WHERE year_id = ? AND closed_at IS NULL",
                                       (prev["id"],)).fetchall():
                journal_writes.close_period(conn, _as_user(actor), pid, True, DEFAULT_REASON_CLOSED_BY_OPENING)
            changes.update(closed_at=now_text(), closed_by=actor)
        ledger.update(conn, actor, "academic_year", prev["id"], changes,
                      reason or f"открыт учебный год {y['name']}")
    ledger.update(conn, actor, "academic_year", year_id, {"status": "open", "opens_on": y["opens_on"] or
                                                          y["starts_on"]}, reason)


def roll(conn: sqlite3.Connection, today: str) -> dict:
    """What is due on `today`: planned years whose opening day has come open; graduates and
    leavers whose grace period ended stop logging in (and their parents, unless another child
    still studies here or they work here). Safe to run any number of times."""
    opened = []
    for y in conn.execute("SELECT * FROM academic_year WHERE status = 'planned' AND opens_on IS NOT NULL"
                          " AND opens_on <= ? ORDER BY starts_on", (today,)).fetchall():
        open_now(conn, None, y["id"], f"открытие учебного года по расписанию ({ru_date(y['opens_on'])})")
        opened.append(y["name"])
    from . import promotion  # promotion imports this module
    disabled = promotion.end_leavers_access(conn, today)
    return {"opened": opened, "disabled": disabled}


def day_before(iso: str) -> str:
    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()
