"""Preparing the next year while this one runs (June): created from this one — its calendar
(the Russian template offered, edited on the form), its classes advanced a parallel (5А → 6А,
the class teacher kept; 11th classes have no successor; 1st classes added empty), the bells,
the groups, the teaching load and the timetable copied as a draft to adjust. Everything goes
into the new (planned) year: nothing in the current one changes. `year_link` records what was
made from what, so that promotion moves a class's students into its successor.

Subjects are the school's, not a year's: the copied load refers to the same subjects."""

from __future__ import annotations

import re
import sqlite3

from .. import ledger
from ..school import structure
from ..school.errors import SchoolError
from ..school.validate import ru_class_name
from . import calendar
from .lifecycle import year

KINDS = ("quarter", "trimester", "half")


def default_kinds(conn: sqlite3.Connection, year_id: int) -> dict[int, str]:
    """Quarters or half-years per parallel of the next year: what the parallel has now (the
    10th takes the 9th's successor's kind from the 10th of this year), else halves for 10–11."""
    now = {r[0]: r[1] for r in conn.execute(
        "SELECT parallel, min(period_kind) FROM class WHERE year_id = ? AND archived_at IS NULL GROUP BY parallel",
        (year_id,))}
    return {p: now.get(p, "half" if p >= 10 else "quarter") for p in range(1, 12)}


def plan(conn: sqlite3.Connection, year_id: int) -> dict:
    """What creating the next year from `year_id` would make (for the form)."""
    y = year(conn, year_id)
    start = int(y["starts_on"][:4]) + 1
    classes = structure.classes(conn, year_id)
    moves = [{"from": c["name"], "to": ru_class_name(c["parallel"] + 1, c["letter"]) if c["parallel"] < 11 else None,
              "teacher": c["ct_last"]} for c in classes]
    firsts = sorted({c["letter"] for c in classes if c["parallel"] == 1}) or ["А"]
    kinds = default_kinds(conn, year_id)
    return {"year": y, "start": start, "calendar": calendar.template(start, "trimester" in kinds.values()),
            "moves": moves, "first_letters": firsts, "kinds": kinds,
            "exists": conn.execute("SELECT id, name FROM academic_year WHERE name = ?",
                                   (f"{start}/{start + 1}",)).fetchone()}


def _renamed(name: str, old: str, new: str) -> str:
    """A group's name with its class's name advanced («5А англ. 1» → «6А англ. 1»)."""
    return re.sub(rf"(?<![0-9]){re.escape(old)}(?![0-9А-ЯЁа-яё])", new, name) if old in name else name


def create_next(conn: sqlite3.Connection, actor: int | None, from_year_id: int, periods: list[dict] | None = None,
                holidays: list[dict] | None = None, kinds: dict[int, str] | None = None,
                first_letters: list[str] | None = None, copy_load: bool = True,
                copy_timetable: bool = True) -> dict:
    """Create the next year from `from_year_id`; returns {"year_id", counts…}. `periods` and
    `holidays` as in calendar.template (default: the template itself)."""
    src = year(conn, from_year_id)
    if src["status"] == "planned":
        raise SchoolError("Следующий год создаётся из текущего или закрытого года.")
    start = int(src["starts_on"][:4]) + 1
    tpl = calendar.template(start)
    periods = tpl["periods"] if periods is None else periods
    holidays = tpl["holidays"] if holidays is None else holidays
    kinds = {**default_kinds(conn, from_year_id), **(kinds or {})}
    if any(k not in KINDS for k in kinds.values()):
        raise SchoolError("Для параллели выберите четверти, триместры или полугодия.")
    if "trimester" in kinds.values() and not any(p["kind"] == "trimester" for p in periods):
        periods = periods + [p for p in calendar.template(start, True)["periods"] if p["kind"] == "trimester"]
    new_id = structure.create_year(conn, actor, tpl["starts_on"], tpl["ends_on"])
    if conn.execute("SELECT status FROM academic_year WHERE id = ?", (new_id,)).fetchone()[0] == "open":
        # No year was open (an earlier one was closed and archived): the new one waits all the same.
        ledger.update(conn, actor, "academic_year", new_id, {"status": "planned"})
    for p in periods:
        structure.save_period(conn, actor, new_id, p["kind"], int(p["number"]), p["starts_on"], p["ends_on"])
    for h in holidays:
        structure.add_holiday(conn, actor, new_id, h["name"], h["starts_on"], h["ends_on"])
    bells = [(b["number"], b["starts_at"], b["ends_at"]) for b in structure.bells(conn, from_year_id)]
    if bells:
        structure.set_bells(conn, actor, new_id, bells, range(0, 13))

    links: list[tuple[str, int, int]] = []
    class_map: dict[int, int] = {}
    names: dict[int, tuple[str, str]] = {}
    for c in structure.classes(conn, from_year_id):
        if c["parallel"] >= 11:
            continue
        teacher = c["class_teacher_id"]
        new = structure.save_class(conn, actor, new_id, c["parallel"] + 1, c["letter"], teacher,
                                   kinds[c["parallel"] + 1])
        class_map[c["id"]] = new
        names[c["id"]] = (c["name"], ru_class_name(c["parallel"] + 1, c["letter"]))
        links.append(("class", c["id"], new))
    letters = first_letters if first_letters is not None else sorted(
        {c["letter"] for c in structure.classes(conn, from_year_id) if c["parallel"] == 1}) or ["А"]
    firsts = 0
    for letter in letters:
        letter = letter.strip().upper()
        if letter:
            structure.save_class(conn, actor, new_id, 1, letter, None, kinds[1])
            firsts += 1

    group_map: dict[int, int] = {}
    for g in conn.execute("SELECT * FROM study_group WHERE year_id = ? AND archived_at IS NULL ORDER BY id",
                          (from_year_id,)).fetchall():
        if g["kind"] == "subgroup":
            if g["class_id"] not in class_map:
                continue
            old, new = names[g["class_id"]]
            name, class_id = _renamed(g["name"], old, new), class_map[g["class_id"]]
        else:
            name, class_id = g["name"], None
        gid = ledger.insert(conn, actor, "study_group", {"year_id": new_id, "name": name, "kind": g["kind"],
                                                         "class_id": class_id})
        group_map[g["id"]] = gid
        links.append(("group", g["id"], gid))

    journals = slots = skipped = 0
    if copy_load:
        journal_map: dict[int, int] = {}
        teachers = {r[0] for r in conn.execute(
            "SELECT a.person_id FROM account a JOIN account_role r ON r.account_id = a.id"
            " JOIN person p ON p.id = a.person_id WHERE r.role = 'teacher' AND p.archived_at IS NULL"
            " AND a.disabled_at IS NULL")}
        for j in conn.execute("SELECT j.* FROM journal j JOIN subject s ON s.id = j.subject_id"
                              " WHERE j.year_id = ? AND j.archived_at IS NULL AND s.archived_at IS NULL ORDER BY j.id",
                              (from_year_id,)).fetchall():
            class_id = class_map.get(j["class_id"]) if j["class_id"] else None
            group_id = group_map.get(j["group_id"]) if j["group_id"] else None
            if class_id is None and group_id is None:
                continue  # the 11th's load: no successor
            if j["teacher_id"] not in teachers:
                skipped += 1  # the teacher no longer teaches here: the row is for the sysadmin to add
                continue
            jid = ledger.insert(conn, actor, "journal", {
                "year_id": new_id, "subject_id": j["subject_id"], "class_id": class_id, "group_id": group_id,
                "teacher_id": j["teacher_id"], "hours_per_week": j["hours_per_week"]})
            journal_map[j["id"]] = jid
            links.append(("journal", j["id"], jid))
        journals = len(journal_map)
        if copy_timetable and journal_map:
            rows = conn.execute(
                f"SELECT journal_id, weekday, lesson_number, room FROM timetable_slot"
                f" WHERE journal_id IN ({','.join('?' * len(journal_map))}) ORDER BY id", list(journal_map)).fetchall()
            conn.executemany("INSERT INTO timetable_slot(journal_id, weekday, lesson_number, room) VALUES (?, ?, ?, ?)",
                             [(journal_map[r[0]], r[1], r[2], r[3]) for r in rows])
            new_ids = list(journal_map.values())
            ledger.record_changes(conn, actor, "timetable_slot", {}, ledger.states(
                conn, "timetable_slot", f"journal_id IN ({','.join('?' * len(new_ids))})", new_ids))
            slots = len(rows)
    for kind, a, b in links:
        ledger.insert(conn, actor, "year_link", {"kind": kind, "from_id": a, "to_id": b})
    return {"year_id": new_id, "classes": len(class_map), "first_classes": firsts, "groups": len(group_map),
            "journals": journals, "slots": slots, "skipped": skipped}


def successor(conn: sqlite3.Connection, kind: str, from_id: int) -> int | None:
    row = conn.execute("SELECT to_id FROM year_link WHERE kind = ? AND from_id = ?", (kind, from_id)).fetchone()
    return row[0] if row else None
