"""A small school for the year-lifecycle tests: year 2027/2028 with the Russian calendar, classes
1А, 5А, 9А, 11А of three students each, two subjects, a timetable, grades and year grades —
built through the program's own functions (so `audit verify` holds), at fixed dates."""

from __future__ import annotations

from pathlib import Path

from server import clock
from server.accounts import store as accounts
from server.accounts.passwords import hash_password
from server.db import connect_sync, migrate
from server.journal import bulk
from server.journal.store import journal_info
from server.school import people, structure
from server.years import calendar

PASSWORD = "god-parol"
START = 2027
CLASSES = [(1, "А"), (5, "А"), (9, "А"), (11, "А")]
SUBJECTS = ["Математика", "Русский язык"]


def build(data: Path) -> dict:
    """The school in `data`; returns ids the tests need."""
    migrate(data / "zhurnal.sqlite3")
    conn = connect_sync(data / "zhurnal.sqlite3")
    pw = hash_password(PASSWORD)
    out: dict = {"students": {}, "classes": {}, "journals": {}}
    try:
        conn.execute("BEGIN IMMEDIATE")
        with clock.frozen_at(f"{START}-08-30T10:00:00Z"):
            structure.set_up_school(conn, None, "Школа № 1")
            year_id = structure.create_year(conn, None, f"{START}-09-01", f"{START + 1}-08-31")
            tpl = calendar.template(START)
            for p in tpl["periods"]:
                structure.save_period(conn, None, year_id, p["kind"], p["number"], p["starts_on"], p["ends_on"])
            for h in tpl["holidays"]:
                structure.add_holiday(conn, None, year_id, h["name"], h["starts_on"], h["ends_on"])
            structure.save_bell(conn, None, year_id, 1, "08:30", "09:15")
            structure.save_bell(conn, None, year_id, 2, "09:25", "10:10")

            def person(last, first, login, roles):
                pid = accounts.create_person(conn, None, last, first, "Петровна")
                accounts.create_account(conn, None, pid, login, pw, set(roles), False)
                return pid

            person("Директорова", "Анна", "director", {"director"})
            out["deputy"] = person("Завучева", "Ольга", "deputy", {"deputy"})
            person("Админов", "Пётр", "sysadmin", {"sysadmin"})
            teachers = [person("Учителева", f"Мария{i}", f"teacher{i}", {"teacher"}) for i in (1, 2, 3, 4)]
            subjects = {s: structure.save_subject(conn, None, s) for s in SUBJECTS}
            n = 0
            for k, (parallel, letter) in enumerate(CLASSES):
                cid = structure.save_class(conn, None, year_id, parallel, letter, teachers[k])
                out["classes"][f"{parallel}{letter}"] = cid
                for i in range(3):
                    n += 1
                    sid = person(f"Ученик{parallel}{'абв'[i]}", "Иван", f"s{parallel}{i}", {"student"})
                    people.enrol(conn, None, sid, cid, "очная", f"{START}-09-01")
                    out["students"][f"s{parallel}{i}"] = sid
                for s, subject_id in subjects.items():
                    jid = structure.save_journal(conn, None, year_id, subject_id, cid, None, teachers[k], 2)
                    out["journals"][(f"{parallel}{letter}", s)] = jid
                    day = 1 if s == "Математика" else 2
                    structure.add_slot(conn, None, jid, day, 1 + k % 2)
            # A parent with a child in 11А (graduating) and one in 5А; another with only an 11th grader.
            both = person("Родителева", "Нина", "parent1", {"parent"})
            only = person("Родителев", "Олег", "parent2", {"parent"})
            for parent, child in ((both, "s110"), (both, "s50"), (only, "s111")):
                people.link_parent(conn, None, parent, out["students"][child], "мать")
                people.record_consent(conn, None, parent, out["students"][child], True, "electronic")
        out["year_id"] = year_id
        conn.execute("COMMIT")
        # Year grades in May 2028, as the teachers set them: s51 fails mathematics.
        with clock.frozen_at(f"{START + 1}-05-20T12:00:00Z"):
            conn.execute("BEGIN IMMEDIATE")
            year_period = conn.execute("SELECT id FROM study_period WHERE year_id = ? AND kind = 'year'",
                                       (year_id,)).fetchone()[0]
            infos = {jid: journal_info(conn, jid) for jid in out["journals"].values()}
            ctx = bulk.Context.load(conn, infos, f"{START + 1}-05-20")
            accounts_of = {r[0]: r[1] for r in conn.execute("SELECT person_id, id FROM account")}
            rows = []
            for (cls, subject), jid in out["journals"].items():
                if cls == "1А":
                    continue  # no marks in the 1st class
                for i in range(3):
                    sid = out["students"][f"s{cls[:-1]}{i}"]
                    value = "2" if (cls, subject, i) == ("5А", "Математика", 1) else ("5" if i == 0 else "4")
                    rows.append(bulk.PeriodGradeIn(jid, year_period, sid, value,
                                                   accounts_of[infos[jid].row["teacher_id"]]))
            bulk.add_period_grades(conn, ctx, rows)
            conn.execute("COMMIT")
        out["year_period"] = year_period
    finally:
        conn.close()
    return out
