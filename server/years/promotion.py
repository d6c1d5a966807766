"""Promotion by the director's order (§3.4.8): per student a decision — переведён, переведён
условно (academic debt: subjects, a deadline, then ликвидирована or not), оставлен на повторное
обучение, выпущен (9th and 11th, with the attestat outcome), выбыл (where to).

- Proposed from the year grades: any «2» or «н/а» → условно, the 11th → выпущен, a student who
  left → выбыл; the deputy confirms class by class (`promotion` rows), the CSV of decisions goes
  with the order.
- Applying the order moves every student of a class into their next-year class: the old
  enrolment ends the day before the next year begins, the new one starts on its first day;
  subgroups and individual groups follow into their successors. One transaction per class, so
  a power cut leaves each class either as it was or moved, never a student in two classes or
  none; re-running applies what is left (rows already applied are skipped).
- Graduates and leavers keep logging in until the order's `access_until` (default the day
  before the next year); then `end_leavers_access` (lifecycle.roll) disables their accounts and
  their parents', unless another child still studies here. Every record stays."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import defaultdict

from .. import ledger
from ..school.errors import SchoolError
from ..timeutil import now_text, ru_date
from .lifecycle import day_before, year

DECISIONS = {"promoted": "переведён", "conditional": "переведён условно", "repeat": "оставлен на повторное обучение",
             "graduated": "выпущен", "left": "выбыл"}
MOVES = ("promoted", "conditional", "repeat")          # decisions with a class next year
ATTESTATS = ("аттестат", "аттестат с отличием", "справка об обучении")
DEBT_STATUS = {"liquidated": "ликвидирована", "not_liquidated": "не ликвидирована"}
FAILING = ("2", "н/а", "нз")


# --- reading --------------------------------------------------------------------------------------

def order(conn: sqlite3.Connection, year_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM promotion_order WHERE year_id = ?", (year_id,)).fetchone()


def next_year(conn: sqlite3.Connection, year_id: int) -> sqlite3.Row | None:
    """The year after `year_id` (the one its students go on into)."""
    y = year(conn, year_id)
    return conn.execute("SELECT * FROM academic_year WHERE starts_on > ? ORDER BY starts_on LIMIT 1",
                        (y["starts_on"],)).fetchone()


def _lessons_end(conn: sqlite3.Connection, y) -> str:
    row = conn.execute("SELECT max(ends_on) FROM study_period WHERE year_id = ?", (y["id"],)).fetchone()
    return row[0] or y["ends_on"]


def year_students(conn: sqlite3.Connection, year_id: int, class_id: int | None = None) -> list[sqlite3.Row]:
    """The students of the year's classes at its end (those who left during the year are not
    the order's), each with their last class of the year."""
    y = year(conn, year_id)
    where = "AND c.id = :class" if class_id is not None else ""
    return conn.execute(
        f"""
        SELECT e.student_id, e.class_id, c.parallel, c.letter, c.parallel || c.letter AS class_name,
               p.last_name, p.first_name, p.middle_name, s.left_on, s.left_reason
          FROM enrollment e JOIN class c ON c.id = e.class_id
          JOIN person p ON p.id = e.student_id JOIN student s ON s.person_id = e.student_id
         WHERE c.year_id = :year {where} AND (e.to_date IS NULL OR e.to_date >= :end)
           AND e.from_date = (SELECT max(e2.from_date) FROM enrollment e2 JOIN class c2 ON c2.id = e2.class_id
                               WHERE e2.student_id = e.student_id AND c2.year_id = :year)
         ORDER BY c.parallel, c.letter, p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU
        """, {"year": year_id, "class": class_id, "end": _lessons_end(conn, y)}).fetchall()


def _year_grades(conn: sqlite3.Connection, year_id: int, class_id: int | None = None) -> dict[int, list[tuple[str, str]]]:
    """{student: [(subject, year grade)]} from the journals' year period (of one class's students)."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    only = "AND pg.student_id IN (SELECT student_id FROM enrollment WHERE class_id = :class)" if class_id else ""
    for sid, subject, value in conn.execute(
            "SELECT pg.student_id, s.name, pg.value FROM period_grade pg"
            " JOIN study_period p ON p.id = pg.period_id AND p.kind = 'year'"
            " JOIN journal j ON j.id = pg.journal_id JOIN subject s ON s.id = j.subject_id"
            f" WHERE p.year_id = :year {only} ORDER BY s.name COLLATE RU", {"year": year_id, "class": class_id}):
        out[sid].append((subject, value))
    return out


def _next_classes(conn: sqlite3.Connection, year_id: int, next_id: int | None) -> tuple[dict, dict, list]:
    """(successor of each class, {(parallel, letter): class} of the next year, its classes)."""
    if next_id is None:
        return {}, {}, []
    classes = conn.execute("SELECT id, parallel, letter, parallel || letter AS name FROM class"
                           " WHERE year_id = ? AND archived_at IS NULL ORDER BY parallel, letter", (next_id,)).fetchall()
    by_name = {(c["parallel"], c["letter"]): c["id"] for c in classes}
    links = {r[0]: r[1] for r in conn.execute(
        "SELECT l.from_id, l.to_id FROM year_link l JOIN class c ON c.id = l.to_id"
        " WHERE l.kind = 'class' AND c.year_id = ? AND c.archived_at IS NULL", (next_id,))}
    succ = {}
    for c in conn.execute("SELECT id, parallel, letter FROM class WHERE year_id = ?", (year_id,)):
        succ[c["id"]] = links.get(c["id"]) or by_name.get((c["parallel"] + 1, c["letter"]))
    return succ, by_name, classes


def propose(conn: sqlite3.Connection, year_id: int, s, grades: list[tuple[str, str]], succ: dict,
            by_name: dict, next_start: str | None) -> dict:
    """The decision the page offers for one student (a row of year_students)."""
    failing = [subject for subject, v in grades if v in FAILING]
    if s["left_on"]:
        return {"decision": "left", "left_to": s["left_reason"] or "", "next_class_id": None}
    if s["parallel"] == 11:
        if failing:
            attestat = "справка об обучении"
        elif grades and all(v in ("5", "зч", "осв") for _, v in grades):
            attestat = "аттестат с отличием"
        else:
            attestat = "аттестат"
        return {"decision": "graduated", "attestat": attestat, "next_class_id": None}
    proposal = {"decision": "conditional" if failing else "promoted", "next_class_id": succ.get(s["class_id"])}
    if failing:
        proposal["debt"] = "; ".join(failing)
        proposal["debt_until"] = f"{next_start[:4]}-10-15" if next_start else None
    return proposal


def class_decisions(conn: sqlite3.Connection, year_id: int, class_id: int | None = None) -> dict:
    """Every student of the year (or of one class) with the saved decision, or the proposed one."""
    nxt = next_year(conn, year_id)
    succ, by_name, next_classes = _next_classes(conn, year_id, nxt["id"] if nxt else None)
    saved = {r["student_id"]: r for r in conn.execute("SELECT * FROM promotion WHERE year_id = ?", (year_id,))}
    grades = _year_grades(conn, year_id, class_id)
    rows = []
    for s in year_students(conn, year_id, class_id):
        d = saved.get(s["student_id"])
        if d is not None:
            decision = {k: d[k] for k in ("decision", "next_class_id", "debt", "debt_until", "debt_status",
                                           "attestat", "left_to", "confirmed_at", "applied_at")}
        else:
            decision = propose(conn, year_id, s, grades.get(s["student_id"], []), succ, by_name,
                               nxt["starts_on"] if nxt else None)
        rows.append({"student": s, "grades": grades.get(s["student_id"], []),
                     "proposed": d is None, **{"debt": "", "debt_until": None, "debt_status": None, "attestat": "",
                                               "left_to": "", "confirmed_at": None, "applied_at": None,
                                               **decision}})
    return {"next_year": nxt, "next_classes": next_classes, "succ": succ, "rows": rows}


def summary(conn: sqlite3.Connection, year_id: int) -> list[dict]:
    """Per class: students, decisions saved (confirmed), applied, and the count of each decision."""
    data = class_decisions(conn, year_id)
    classes: dict[int, dict] = {}
    for r in data["rows"]:
        s = r["student"]
        c = classes.setdefault(s["class_id"], {"id": s["class_id"], "name": s["class_name"], "students": 0,
                                               "confirmed": 0, "applied": 0,
                                               "decisions": {k: 0 for k in DECISIONS}})
        c["students"] += 1
        c["confirmed"] += bool(r["confirmed_at"])
        c["applied"] += bool(r["applied_at"])
        c["decisions"][r["decision"]] += 1
    return list(classes.values())


# --- writing the decisions -------------------------------------------------------------------------

def _check_open_order(conn: sqlite3.Connection, year_id: int) -> None:
    o = order(conn, year_id)
    if o is not None and o["applied_at"]:
        raise SchoolError("Приказ уже исполнен: решения не меняются.")


def confirm_class(conn: sqlite3.Connection, actor: int | None, year_id: int, class_id: int,
                  decisions: dict[int, dict]) -> int:
    """The deputy confirms a class's decisions: `decisions` {student: {decision, …}} for the
    students given (the others keep the proposal). Returns how many students were confirmed."""
    data = class_decisions(conn, year_id, class_id)
    if not data["rows"]:
        raise SchoolError("В этом классе нет учащихся на конец года.")
    nxt = data["next_year"]
    if nxt is None:
        raise SchoolError("Сначала создайте следующий учебный год: решения о переводе относятся к его классам.")
    next_ids = {c["id"]: c for c in data["next_classes"]}
    now = now_text()
    before = ledger.states(conn, "promotion", "year_id = ? AND class_id = ?", (year_id, class_id))
    for r in data["rows"]:
        s = r["student"]
        if r["applied_at"]:
            continue  # already moved by the order: it stays as applied
        d = {k: r[k] for k in ("decision", "next_class_id", "debt", "debt_until", "attestat", "left_to")}
        d.update({k: v for k, v in decisions.get(s["student_id"], {}).items() if v is not None})
        name = f"{s['last_name']} {s['first_name']}"
        d = _checked(d, name, s, next_ids, nxt)
        conn.execute(
            "INSERT INTO promotion(year_id, student_id, class_id, decision, next_class_id, debt, debt_until,"
            " debt_status, attestat, left_to, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)"
            " ON CONFLICT(year_id, student_id) DO UPDATE SET class_id = excluded.class_id,"
            " decision = excluded.decision, next_class_id = excluded.next_class_id, debt = excluded.debt,"
            " debt_until = excluded.debt_until, attestat = excluded.attestat, left_to = excluded.left_to,"
            " confirmed_at = excluded.confirmed_at",
            (year_id, s["student_id"], class_id, d["decision"], d["next_class_id"], d["debt"], d["debt_until"],
             d["attestat"], d["left_to"], now))
    ledger.record_changes(conn, actor, "promotion", before,
                          ledger.states(conn, "promotion", "year_id = ? AND class_id = ?", (year_id, class_id)),
                          "решения о переводе подтверждены")
    return len(data["rows"])


def _checked(d: dict, name: str, s, next_ids: dict, nxt) -> dict:
    decision = d.get("decision")
    if decision not in DECISIONS:
        raise SchoolError(f"{name}: выберите решение.")
    out = {"decision": decision, "next_class_id": None, "debt": "", "debt_until": None, "attestat": "", "left_to": ""}
    if decision in MOVES:
        target = d.get("next_class_id")
        if decision == "repeat" and (target is None or next_ids.get(target, {"parallel": 0})["parallel"] !=
                                     s["parallel"]):
            same = [c for c in next_ids.values() if c["parallel"] == s["parallel"]]
            same.sort(key=lambda c: (c["letter"] != s["letter"], c["letter"]))
            target = same[0]["id"] if same else None
            if target is None:
                raise SchoolError(f"{name}: в {nxt['name']} нет {s['parallel']}-х классов — создайте класс, "
                                  "в котором учащийся будет учиться повторно.")
        if target not in next_ids:
            raise SchoolError(f"{name}: выберите класс {nxt['name']}, в который переводится учащийся "
                              f"(у {s['class_name']} нет класса-преемника).")
        out["next_class_id"] = target
    if decision == "conditional":
        debt = " ".join(str(d.get("debt") or "").split())[:300]
        if not debt:
            raise SchoolError(f"{name}: перевод условный — укажите предметы академической задолженности.")
        until = d.get("debt_until")
        if not until:
            raise SchoolError(f"{name}: укажите срок ликвидации академической задолженности.")
        out.update(debt=debt, debt_until=until)
    if decision == "graduated":
        if s["parallel"] not in (9, 11):
            raise SchoolError(f"{name}: выпускаются учащиеся 9 и 11 классов.")
        attestat = d.get("attestat") or ("аттестат" if s["parallel"] in (9, 11) else "")
        if attestat not in ATTESTATS:
            raise SchoolError(f"{name}: итог — {', '.join(ATTESTATS)}.")
        out["attestat"] = attestat
    if decision == "left":
        left_to = " ".join(str(d.get("left_to") or "").split())[:200]
        if not left_to:
            raise SchoolError(f"{name}: укажите, куда выбывает учащийся (например, «МБОУ СОШ № 3 г. Тулы»).")
        out["left_to"] = left_to
    return out


def set_debt_status(conn: sqlite3.Connection, actor: int | None, year_id: int, student_id: int,
                    status: str | None) -> None:
    """Academic debt ликвидирована or not (autumn of the next year)."""
    row = conn.execute("SELECT * FROM promotion WHERE year_id = ? AND student_id = ?", (year_id, student_id)).fetchone()
    if row is None or row["decision"] != "conditional":
        raise SchoolError("У этого учащегося нет академической задолженности.")
    if status not in (None, *DEBT_STATUS):
        raise SchoolError("Задолженность: ликвидирована или не ликвидирована.")
    ledger.update(conn, actor, "promotion", (year_id, student_id), {"debt_status": status})


def save_order(conn: sqlite3.Connection, actor: int | None, year_id: int, number: str, signed_on: str | None,
               access_until: str | None) -> None:
    """The order's number and date, and until when graduates and leavers may log in."""
    y = year(conn, year_id)
    nxt = next_year(conn, year_id)
    if nxt is None:
        raise SchoolError("Сначала создайте следующий учебный год.")
    o = order(conn, year_id)
    if o is not None and o["applied_at"]:
        raise SchoolError("Приказ уже исполнен: его номер и дата не меняются.")
    number = " ".join((number or "").split())[:30]
    if not number:
        raise SchoolError("Укажите номер приказа.", "number")
    if not signed_on:
        raise SchoolError("Укажите дату приказа.", "signed_on")
    if signed_on < y["starts_on"] or signed_on > nxt["ends_on"]:
        raise SchoolError("Дата приказа должна быть в конце учебного года.", "signed_on")
    access_until = access_until or day_before(nxt["starts_on"])
    if access_until < signed_on:
        raise SchoolError("Доступ выпускников не может закончиться раньше даты приказа.", "access_until")
    values = {"next_year_id": nxt["id"], "number": number, "signed_on": signed_on, "access_until": access_until}
    if o is None:
        ledger.insert(conn, actor, "promotion_order", {"year_id": year_id, **values})
    else:
        ledger.update(conn, actor, "promotion_order", year_id, values)


# --- applying the order ----------------------------------------------------------------------------

def ready(conn: sqlite3.Connection, year_id: int) -> list[int]:
    """The classes the order still has to move (confirmed, not applied); refuses when the order
    has no number, or some class is not confirmed yet."""
    o = order(conn, year_id)
    if o is None or not o["number"] or not o["signed_on"]:
        raise SchoolError("Сначала укажите номер и дату приказа.")
    rows = summary(conn, year_id)
    waiting = [c["name"] for c in rows if c["confirmed"] < c["students"]]
    if waiting:
        raise SchoolError("Решения не подтверждены по классам: " + ", ".join(waiting) + ".")
    return [c["id"] for c in rows if c["applied"] < c["students"]]


def apply_class(conn: sqlite3.Connection, actor: int | None, year_id: int, class_id: int) -> int:
    """Move one class's students as the order says (one transaction); returns how many moved.
    Rows already applied are skipped, so running it again changes nothing."""
    o = order(conn, year_id)
    if o is None:
        raise SchoolError("Сначала укажите номер и дату приказа.")
    nxt = year(conn, o["next_year_id"])
    rows = conn.execute("SELECT * FROM promotion WHERE year_id = ? AND class_id = ? AND applied_at IS NULL"
                        " AND confirmed_at IS NOT NULL", (year_id, class_id)).fetchall()
    if not rows:
        return 0
    boundary, start = day_before(nxt["starts_on"]), nxt["starts_on"]
    order_text = f"приказ № {o['number']} от {ru_date(o['signed_on'])}"
    ids = [r["student_id"] for r in rows]
    marks = ",".join("?" * len(ids))
    where = (f"student_id IN ({marks})", ids)
    before = {t: ledger.states(conn, t, *where) for t in ("enrollment", "group_member")}
    before["student"] = ledger.states(conn, "student", f"person_id IN ({marks})", ids)
    before["promotion"] = ledger.states(conn, "promotion", "year_id = ? AND class_id = ?", (year_id, class_id))

    # This year's enrolments and group memberships end the day before the next year begins.
    conn.execute(f"UPDATE enrollment SET to_date = ? WHERE student_id IN ({marks}) AND class_id IN"
                 f" (SELECT id FROM class WHERE year_id = ?) AND (to_date IS NULL OR to_date > ?)",
                 [boundary, *ids, year_id, boundary])
    old_groups = conn.execute(
        f"SELECT m.group_id, m.student_id, g.kind, g.class_id FROM group_member m JOIN study_group g ON g.id = m.group_id"
        f" WHERE g.year_id = ? AND m.student_id IN ({marks}) AND (m.to_date IS NULL OR m.to_date >= ?)",
        [year_id, *ids, boundary]).fetchall()
    conn.execute(f"UPDATE group_member SET to_date = ? WHERE student_id IN ({marks}) AND group_id IN"
                 f" (SELECT id FROM study_group WHERE year_id = ?) AND (to_date IS NULL OR to_date > ?)",
                 [boundary, *ids, year_id, boundary])
    links = {r[0]: r[1] for r in conn.execute("SELECT from_id, to_id FROM year_link WHERE kind = 'group'")}
    group_class = {r[0]: r[1] for r in conn.execute("SELECT id, class_id FROM study_group WHERE year_id = ?",
                                                    (nxt["id"],))}
    moves = {r["student_id"]: r for r in rows}
    new_enrolments, new_members, left = [], [], []
    for r in rows:
        if r["decision"] in MOVES:
            new_enrolments.append((r["student_id"], r["next_class_id"], start))
        else:
            why = (f"выпущен ({r['attestat']}), {order_text}" if r["decision"] == "graduated"
                   else f"выбыл: {r['left_to']}, {order_text}")
            left.append((boundary, why, r["student_id"]))
    for g in old_groups:
        target = links.get(g["group_id"])
        r = moves[g["student_id"]]
        if target is None or r["decision"] not in MOVES:
            continue
        # A subgroup's members follow into its successor when they go to that successor's class;
        # electives are chosen anew each year; individual and home groups follow the student.
        if g["kind"] == "subgroup" and group_class.get(target) != r["next_class_id"]:
            continue
        if g["kind"] in ("elective", "igz"):
            continue
        new_members.append((target, g["student_id"], start))
    conn.executemany("INSERT INTO enrollment(student_id, class_id, from_date) SELECT ?, ?, ?"
                     " WHERE NOT EXISTS (SELECT 1 FROM enrollment WHERE student_id = ?1 AND class_id = ?2)",
                     new_enrolments)
    conn.executemany("INSERT OR IGNORE INTO group_member(group_id, student_id, from_date) VALUES (?, ?, ?)",
                     new_members)
    conn.executemany("UPDATE student SET left_on = coalesce(left_on, ?), left_reason = ? WHERE person_id = ?", left)
    now = now_text()
    conn.execute("UPDATE promotion SET applied_at = ? WHERE year_id = ? AND class_id = ? AND applied_at IS NULL"
                 " AND confirmed_at IS NOT NULL", (now, year_id, class_id))
    reason = f"перевод учащихся: {order_text}"
    for t in ("enrollment", "group_member"):
        ledger.record_changes(conn, actor, t, before[t], ledger.states(conn, t, *where), reason)
    ledger.record_changes(conn, actor, "student", before["student"],
                          ledger.states(conn, "student", f"person_id IN ({marks})", ids), reason)
    ledger.record_changes(conn, actor, "promotion", before["promotion"],
                          ledger.states(conn, "promotion", "year_id = ? AND class_id = ?", (year_id, class_id)),
                          reason)
    if not conn.execute("SELECT 1 FROM promotion WHERE year_id = ? AND applied_at IS NULL", (year_id,)).fetchone():
        ledger.update(conn, actor, "promotion_order", year_id, {"applied_at": now}, reason)
    return len(rows)


def end_leavers_access(conn: sqlite3.Connection, today: str) -> int:
    """Graduates and leavers of applied orders whose grace period is over stop logging in, and
    their parents too unless another child still studies here (or they also work here).
    Returns how many accounts were disabled."""
    due = [r[0] for r in conn.execute(
        "SELECT p.student_id FROM promotion p JOIN promotion_order o ON o.year_id = p.year_id"
        " JOIN account a ON a.person_id = p.student_id"
        " WHERE p.decision IN ('graduated', 'left') AND p.applied_at IS NOT NULL AND o.access_until < ?"
        " AND a.disabled_at IS NULL", (today,))]
    parents = [r[0] for r in conn.execute(
        "SELECT DISTINCT g.parent_id FROM promotion p JOIN promotion_order o ON o.year_id = p.year_id"
        " JOIN guardian g ON g.student_id = p.student_id JOIN account a ON a.person_id = g.parent_id"
        " WHERE p.decision IN ('graduated', 'left') AND p.applied_at IS NOT NULL AND o.access_until < :today"
        "   AND a.disabled_at IS NULL"
        "   AND NOT EXISTS (SELECT 1 FROM guardian g2 JOIN enrollment e ON e.student_id = g2.student_id"
        "                    WHERE g2.parent_id = g.parent_id AND (e.to_date IS NULL OR e.to_date >= :today))"
        "   AND NOT EXISTS (SELECT 1 FROM account_role r WHERE r.account_id = a.id AND r.role <> 'parent')",
        {"today": today})]
    people = due + parents
    if not people:
        return 0
    marks = ",".join("?" * len(people))
    before = ledger.states(conn, "account", f"person_id IN ({marks})", people)
    conn.execute(f"UPDATE account SET disabled_at = ? WHERE person_id IN ({marks}) AND disabled_at IS NULL",
                 [now_text(), *people])
    ledger.record_changes(conn, None, "account", before, ledger.states(conn, "account", f"person_id IN ({marks})",
                                                                       people),
                          "выпускники и выбывшие: доступ закончился по приказу о переводе")
    conn.execute(f"DELETE FROM session WHERE account_id IN (SELECT id FROM account WHERE person_id IN ({marks}))",
                 people)
    return len(people)


# --- the CSV for the order ---------------------------------------------------------------------------

def decisions_csv(conn: sqlite3.Connection, year_id: int) -> str:
    """The decisions as a table for the order (UTF-8 with BOM, `;`, as Excel opens it)."""
    data = class_decisions(conn, year_id)
    names = {c["id"]: c["name"] for c in data["next_classes"]}
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["Класс", "Фамилия", "Имя", "Отчество", "Решение", "Класс в следующем году",
                "Академическая задолженность", "Срок ликвидации", "Итог обучения", "Куда выбыл", "Подтверждено"])
    for r in data["rows"]:
        s = r["student"]
        w.writerow([s["class_name"], s["last_name"], s["first_name"], s["middle_name"], DECISIONS[r["decision"]],
                    names.get(r["next_class_id"], ""), r["debt"], ru_date(r["debt_until"]), r["attestat"],
                    r["left_to"], "да" if r["confirmed_at"] else "нет (предложено)"])
    return "\ufeff" + out.getvalue()
