"""The demo school's journals (server/demo/journal.py): a КТП and lessons up to yesterday in
every journal, written through the bulk path (server/journal/bulk.py) so that the audit
chain holds, with the journal's rules kept. The academic year follows today's date, so the
checks adapt to how much of it has passed."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import date, datetime, timedelta

import pytest
from conftest import login
from test_journal import lessons_of

from server import clock
from server.accounts.store import User
from server.cli import main as cli_main
from server.db import Database
from server.demo.journal import EMPTY_TAIL, SHOWCASE, _Generator, load
from server.journal import bulk, store, writes
from server.ledger import verify
from server.journal.rules import HOMEWORK_LIMIT_MINUTES, JournalError
from server.timeutil import STORE_FMT, ru_date

TODAY = clock.today().isoformat()
# The demo has last year too (closed, promoted): the checks of this year's journals look at it alone.
CURRENT = "(SELECT id FROM academic_year WHERE status = 'open')"


@pytest.fixture(scope="module")
def demo_db(demo_template):
    conn = sqlite3.connect(f"file:{demo_template / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    yield conn
    conn.close()


def rows(conn, sql, params=()):
    return conn.execute(sql, params).fetchall()


def one(conn, sql, params=()):
    return conn.execute(sql, params).fetchone()[0]


def school_days_passed(conn) -> int:
    return one(conn, "SELECT count(DISTINCT date) FROM lesson")


def test_audit_verify_passes_on_the_demo(data_dir, capsys):
    assert cli_main(["audit", "verify", "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Журнал аудита цел" in out
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        journal = ("lesson", "grade", "attendance", "homework", "period_grade", "plan_item")
        in_journal = f"entity IN ({', '.join(repr(t) for t in journal)})"
        entries = one(conn, f"SELECT count(*) FROM audit_log WHERE {in_journal}")
        records = sum(one(conn, f"SELECT count(*) FROM {t}") for t in journal)
        baseline = one(conn, f"SELECT count(*) FROM audit_log WHERE {in_journal}"
                             " AND reason LIKE 'исходное состояние%'")
        assert entries - baseline == records  # one entry per record
        # The school itself was built through the same ledger, not recorded afterwards as a baseline:
        # only what the migrations seed (work types, the grading settings) is «исходное состояние».
        assert {e for (e,) in conn.execute("SELECT DISTINCT entity FROM audit_log"
                                           " WHERE reason LIKE 'исходное состояние%'")} == {"setting", "work_type"}
        for table in ("person", "account_role", "enrollment", "guardian", "journal", "timetable_slot"):
            assert one(conn, "SELECT count(DISTINCT key) FROM audit_log WHERE entity = ?", (table,)) == \
                one(conn, f"SELECT count(*) FROM {table}"), table
        # Dated as the lessons were given, day by day in order of time (a day's entries within a day).
        # Not the «исходное состояние» entries: the school's settings as the database was made.
        stamps = [datetime.strptime(at, STORE_FMT) for (at,) in conn.execute(
            "SELECT at FROM audit_log WHERE reason NOT LIKE 'исходное состояние%' ORDER BY id")]
        assert stamps[-1] < clock.local_now().replace(tzinfo=None) and all(b > a - timedelta(days=1) for a, b in zip(stamps, stamps[1:]))
        start = date.fromisoformat(one(conn, "SELECT starts_on FROM academic_year"))
        assert stamps[0].date() >= start - timedelta(days=1)
    finally:
        conn.close()


def test_every_journal_has_a_plan_and_its_lessons_up_to_yesterday_and_none_later(demo_db, demo_template):
    journals = [r[0] for r in rows(demo_db, f"SELECT id FROM journal WHERE archived_at IS NULL AND year_id = {CURRENT}")]
    assert len(journals) > 250
    without_plan = rows(demo_db, "SELECT id FROM journal j WHERE NOT EXISTS"
                                 " (SELECT 1 FROM plan_item p WHERE p.journal_id = j.id)")
    assert without_plan == []
    # The plan covers the year: as many topics as the timetable has lessons (± cancelled ones).
    slots = dict(rows(demo_db, "SELECT journal_id, count(*) FROM timetable_slot GROUP BY journal_id"))
    items = dict(rows(demo_db, "SELECT journal_id, count(*) FROM plan_item GROUP BY journal_id"))
    assert all(items[j] >= slots[j] * 30 for j in journals)
    assert one(demo_db, "SELECT count(*) FROM lesson WHERE date >= ?", (TODAY,)) == 0
    assert one(demo_db, "SELECT count(*) FROM lesson l JOIN holiday h ON l.date BETWEEN h.starts_on AND h.ends_on") == 0
    yesterday = clock.today() - timedelta(days=1)
    recorded = {tuple(r) for r in rows(demo_db, "SELECT journal_id, date, lesson_number FROM lesson")}
    if school_days_passed(demo_db) == 0:
        pytest.skip("the demo year has not begun")
    for j in journals:
        last = lessons_of(demo_template, j, before=yesterday, count=EMPTY_TAIL + 1)
        if j == SHOWCASE:
            assert not any((j, *x) in recorded for x in last[:EMPTY_TAIL]), "journal 1 keeps its last lessons empty"
            continue
        if last:
            assert (j, *last[0]) in recorded, f"journal {j}: the last lesson before today is not recorded"
    # Every recorded lesson gives a planned topic in Russian (the cancelled ones give none).
    assert one(demo_db, "SELECT count(*) FROM lesson WHERE status <> 'cancelled'"
                        " AND (topic = '' OR plan_item_id IS NULL)") == 0


def test_first_grade_journals_have_attendance_and_topics_but_no_grades(demo_db):
    first = "SELECT j.id FROM journal j JOIN class c ON c.id = j.class_id WHERE c.parallel = 1"
    assert one(demo_db, f"SELECT count(*) FROM grade g JOIN lesson l ON l.id = g.lesson_id"
                        f" WHERE l.journal_id IN ({first})") == 0
    assert one(demo_db, f"SELECT count(*) FROM period_grade WHERE journal_id IN ({first})") == 0
    assert one(demo_db, f"SELECT count(*) FROM homework h JOIN lesson l ON l.id = h.lesson_id"
                        f" WHERE l.journal_id IN ({first})") == 0
    if school_days_passed(demo_db) > 5:
        assert one(demo_db, f"SELECT count(*) FROM attendance a JOIN lesson l ON l.id = a.lesson_id"
                            f" WHERE l.journal_id IN ({first})") > 0
        assert one(demo_db, f"SELECT count(*) FROM lesson WHERE journal_id IN ({first}) AND topic <> ''") > 0


def test_control_works_grade_every_present_student_one_a_day_per_class(demo_db):
    controls = rows(demo_db, "SELECT l.id, l.journal_id, l.date FROM lesson l"
                             " JOIN work_type wt ON wt.code = l.work_type"
                             " WHERE wt.is_control AND l.status <> 'cancelled'")
    if school_days_passed(demo_db) > 20:
        assert len(controls) > 50
    members = """SELECT e.student_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id WHERE j.id = :j
                   AND e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)
                 UNION SELECT m.student_id FROM group_member m JOIN journal j ON j.group_id = m.group_id WHERE j.id = :j
                   AND m.from_date <= :d AND (m.to_date IS NULL OR m.to_date >= :d)"""
    for lesson_id, journal_id, day in controls:
        missing = rows(demo_db, f"""SELECT student_id FROM ({members}) WHERE student_id NOT IN
                                     (SELECT student_id FROM grade WHERE lesson_id = :l)
                                   AND student_id NOT IN (SELECT student_id FROM attendance
                                                           WHERE lesson_id = :l AND mark IN ('Н', 'Б', 'У'))""",
                       {"j": journal_id, "d": day, "l": lesson_id})
        assert missing == [], f"control lesson {lesson_id}: present students without a grade"
    # The rule warns about two оценочные процедуры a day in a class: the demo never needs the warning.
    doubled = rows(demo_db, """
        SELECT coalesce(j.class_id, g.class_id), l.date FROM lesson l JOIN journal j ON j.id = l.journal_id
          JOIN subject s ON s.id = j.subject_id JOIN work_type wt ON wt.code = l.work_type
          LEFT JOIN study_group g ON g.id = j.group_id
         WHERE wt.is_control AND l.status <> 'cancelled' AND coalesce(j.class_id, g.class_id) IS NOT NULL
         GROUP BY 1, 2 HAVING count(DISTINCT s.name || wt.name) > 1""")
    assert doubled == []


def test_homework_keeps_within_sanpin_daily_limits(demo_db):
    for parallel, minutes in rows(demo_db, """
            SELECT c.parallel, sum(h.minutes) FROM lesson l JOIN journal j ON j.id = l.journal_id
              LEFT JOIN study_group g ON g.id = j.group_id JOIN class c ON c.id = coalesce(j.class_id, g.class_id)
              JOIN homework h ON h.lesson_id = l.id WHERE l.status <> 'cancelled'
             GROUP BY c.id, l.date"""):
        assert minutes <= HOMEWORK_LIMIT_MINUTES[parallel]
    if school_days_passed(demo_db) > 5:
        with_homework = one(demo_db, "SELECT count(*) FROM homework WHERE minutes > 0 AND text <> ''")
        assert with_homework > one(demo_db, "SELECT count(*) FROM lesson") / 2  # most lessons


def test_grades_follow_abilities_so_averages_differ(demo_db):
    if school_days_passed(demo_db) < 20:
        pytest.skip("too early in the year for averages")
    averages = [r[0] for r in rows(demo_db, """
        SELECT avg(CAST(g.value AS REAL)) FROM grade g JOIN lesson l ON l.id = g.lesson_id
         WHERE g.value IN ('2', '3', '4', '5') GROUP BY g.student_id HAVING count(*) >= 10""")]
    assert len(averages) > 400
    assert min(averages) < 3.2 and max(averages) > 4.5
    # Per lesson only some students are graded, except in control works.
    per_lesson = rows(demo_db, """SELECT count(DISTINCT g.student_id) FROM grade g JOIN lesson l ON l.id = g.lesson_id
                                   WHERE l.work_type = 'lesson' GROUP BY l.id""")
    assert max(n for (n,) in per_lesson) <= 12 and sum(n for (n,) in per_lesson) / len(per_lesson) < 9
    marks = dict(rows(demo_db, "SELECT mark, count(*) FROM attendance GROUP BY mark"))
    assert set(marks) == {"Н", "Б", "У", "ОП"} and marks["Б"] > marks["Н"]


def test_there_are_substitutions_and_cancelled_lessons(demo_db):
    if school_days_passed(demo_db) < 20:
        pytest.skip("too early in the year")
    substituted = rows(demo_db, "SELECT l.id, l.substitute_id, j.teacher_id, l.status_reason FROM lesson l"
                                f" JOIN journal j ON j.id = l.journal_id WHERE l.status = 'substituted'"
                                f" AND j.year_id = {CURRENT}")
    assert 3 <= len(substituted) <= 60
    assert all(sub and sub != teacher and reason for _, sub, teacher, reason in substituted)
    outsiders = {r[0] for r in rows(demo_db, "SELECT person_id FROM account WHERE login IN ('teacher02', 'teacher20')")}
    assert not outsiders & {sub for _, sub, _, _ in substituted}
    # The substitute entered that lesson's grades.
    lesson_id, sub, _, _ = substituted[0]
    by = {r[0] for r in rows(demo_db, "SELECT a.person_id FROM audit_log l JOIN account a ON a.id = l.account_id"
                                      " WHERE l.key LIKE ?", (f"grade:{lesson_id}:%",))}
    assert by <= {sub}
    cancelled = rows(demo_db, "SELECT id, status_reason FROM lesson WHERE status = 'cancelled'"
                                f" AND journal_id IN (SELECT id FROM journal WHERE year_id = {CURRENT})")
    assert 1 <= len(cancelled) <= 2 and all(reason for _, reason in cancelled)
    for lesson_id, _ in cancelled:
        assert one(demo_db, "SELECT count(*) FROM grade WHERE lesson_id = ?", (lesson_id,)) == 0
        assert one(demo_db, "SELECT count(*) FROM attendance WHERE lesson_id = ?", (lesson_id,)) == 0


def test_period_grades_exist_for_a_quarter_that_has_ended(demo_db):
    ended = rows(demo_db, f"SELECT id FROM study_period WHERE kind = 'quarter' AND ends_on < ? AND year_id = {CURRENT}",
                 (TODAY,))
    going = rows(demo_db, "SELECT id FROM study_period WHERE ends_on >= ?", (TODAY,))
    assert one(demo_db, f"SELECT count(*) FROM period_grade WHERE period_id IN"
                        f" ({','.join(str(p) for (p,) in going) or 0})") == 0
    if not ended:
        assert one(demo_db, f"SELECT count(*) FROM period_grade pg JOIN study_period p ON p.id = pg.period_id"
                            f" WHERE p.year_id = {CURRENT}") == 0
        pytest.skip("no quarter has ended yet this year")
    first = ended[0][0]
    # Quarters are for grades 2–9: every student of every such journal gets one.
    expected = one(demo_db, """SELECT count(*) FROM journal j JOIN class c ON c.id = j.class_id
                                 JOIN enrollment e ON e.class_id = c.id WHERE c.parallel BETWEEN 2 AND 9
                                  AND c.year_id = {CURRENT}""".format(CURRENT=CURRENT))
    got = one(demo_db, "SELECT count(*) FROM period_grade p JOIN journal j ON j.id = p.journal_id"
                       " WHERE p.period_id = ? AND j.class_id IS NOT NULL", (first,))
    assert got == expected
    values = dict(rows(demo_db, "SELECT value, count(*) FROM period_grade GROUP BY value"))
    assert values.get("4", 0) > values.get("2", 0) and {"3", "4", "5"} <= set(values)
    assert one(demo_db, "SELECT count(*) FROM period_grade p JOIN journal j ON j.id = p.journal_id"
                        f" JOIN class c ON c.id = j.class_id WHERE c.parallel IN (1, 10, 11) AND c.year_id = {CURRENT}") == 0


def test_teacher01s_to_do_lists_the_lessons_left_without_a_topic(client, data_dir):
    login(client, "teacher01")
    page = client.get("/journals").text
    tail = lessons_of(data_dir, SHOWCASE, before=clock.today() - timedelta(days=1), count=EMPTY_TAIL)
    if not tail:
        pytest.skip("the demo year has not begun")
    assert "не записана тема" in page
    for day, n in tail:
        assert re.search(rf"{ru_date(day)}, {n}-й урок: не записана тема", page), day
    # The КТП offers the topic of the first of them (a plain lesson, not a control work).
    (day, n) = tail[-1]
    panel = client.get(f"/journals/{SHOWCASE}/lessons/{day}/{n}").text
    item = sqlite3.connect(data_dir / "zhurnal.sqlite3").execute(
        "SELECT topic, work_type FROM plan_item p WHERE journal_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM lesson l WHERE l.plan_item_id = p.id) ORDER BY number LIMIT 1", (SHOWCASE,)).fetchone()
    assert item[1] == "lesson" and item[0].split(".")[0] in panel


def test_the_generator_is_deterministic(data_dir):
    async def generate():
        db = Database(data_dir / "zhurnal.sqlite3", read_connections=1)
        await db.open()
        try:
            src = await db.read(load)
        finally:
            await db.close()
        out = _Generator(src, clock.today()).run()
        return ([(p.journal_id, p.number, p.topic, p.work_type) for p in out.plan],
                sorted((c.student_id, c.mark or "", tuple(c.grades), c.at) for cells in out.cells.values()
                       for _, c in cells))

    assert asyncio.run(generate()) == asyncio.run(generate())


def test_the_bulk_path_keeps_the_journal_rules_and_the_audit_chain(data_dir):
    """bulk.py refuses what writes.py refuses; what it adds chains on, and the one-by-one path
    continues the chain after it."""
    path = data_dir / "zhurnal.sqlite3"
    conn = sqlite3.connect(path)
    first_grade = conn.execute("SELECT j.id FROM journal j JOIN class c ON c.id = j.class_id"
                               " WHERE c.parallel = 1 LIMIT 1").fetchone()[0]
    teacher = conn.execute("SELECT a.id, a.person_id FROM account a JOIN journal j ON j.teacher_id = a.person_id"
                           " WHERE j.id = 1").fetchone()
    other = conn.execute("SELECT id FROM account WHERE login = 'teacher02'").fetchone()[0]
    fg_teacher = conn.execute("SELECT a.id FROM account a JOIN journal j ON j.teacher_id = a.person_id"
                              " WHERE j.id = ?", (first_grade,)).fetchone()[0]
    holiday = conn.execute(f"SELECT starts_on FROM holiday WHERE year_id = {CURRENT} ORDER BY starts_on LIMIT 1").fetchone()[0]
    students = [r[0] for r in conn.execute("SELECT e.student_id FROM enrollment e JOIN journal j"
                                           " ON j.class_id = e.class_id WHERE j.id = 1 ORDER BY e.student_id")]
    fg_lesson = conn.execute("SELECT id FROM lesson WHERE journal_id = ? AND status = 'held' ORDER BY date DESC",
                             (first_grade,)).fetchone()[0]
    fg_student = conn.execute("SELECT student_id FROM attendance WHERE lesson_id IN (SELECT id FROM lesson"
                              " WHERE journal_id = ?) LIMIT 1", (first_grade,)).fetchone()[0]
    recorded = conn.execute("SELECT date, lesson_number FROM lesson WHERE journal_id = 1"
                            " ORDER BY date LIMIT 1").fetchone()
    conn.close()
    (day, n), = lessons_of(data_dir, 1, before=clock.today() - timedelta(days=1), count=1)
    (future, fn), = lessons_of(data_dir, 1, after=clock.today() + timedelta(days=1), count=1)
    mine = teacher[0]

    async def run():
        db = Database(path, read_connections=1)
        await db.open()
        try:
            infos = {j: await db.read(store.journal_info, j) for j in (1, first_grade)}

            async def attempt(fn_, *args):
                def job(conn):
                    ctx = bulk.Context.load(conn, infos)
                    return fn_(conn, ctx, *args)
                return await db.write(job)

            refusals = [
                (bulk.add_lessons, [bulk.LessonIn(1, holiday, 1, "Повторение", mine)], "каникулы"),
                (bulk.add_lessons, [bulk.LessonIn(1, day, 11, "Повторение", mine)], "по расписанию нет"),
                (bulk.add_lessons, [bulk.LessonIn(1, day, n, "Present Simple", mine)], "на русском языке"),
                (bulk.add_lessons, [bulk.LessonIn(1, day, n, "Повторение", other)], "вносит его учитель"),
                (bulk.add_lessons, [bulk.LessonIn(1, *recorded, "Повторение", mine)], "уже записан"),
                (bulk.add_lessons, [bulk.LessonIn(1, day, n, "", mine, status="cancelled")], "Укажите причину"),
                (bulk.add_cells, [bulk.CellIn(fg_lesson, fg_student, fg_teacher, None, [("5", "lesson")])],
                 "безотметочное"),
            ]
            for fn_, rows_, message in refusals:
                with pytest.raises(JournalError, match=message):
                    await attempt(fn_, rows_)
            # A lesson of its own, then cells: the rules per cell, and all or nothing.
            ids = await attempt(bulk.add_lessons, [bulk.LessonIn(1, day, n, "Повторение", mine),
                                                   bulk.LessonIn(1, future, fn, "Подготовка", mine)])
            lesson, later = ids[(1, day, n)], ids[(1, future, fn)]
            for cells, message in [
                ([bulk.CellIn(lesson, students[0], mine, "Б", [("5", "lesson")])], "отсутствовал"),
                ([bulk.CellIn(later, students[0], mine, None, [("5", "lesson")])], "ещё не наступило"),
                ([bulk.CellIn(lesson, students[0], mine, None, [("5", "lesson")]),
                  bulk.CellIn(lesson, 999999, mine, None, [("4", "lesson")])], "не числится"),
            ]:
                with pytest.raises(JournalError, match=message):
                    await attempt(bulk.add_cells, cells)
            added = await attempt(bulk.add_cells, [bulk.CellIn(lesson, students[0], mine, None, [("5", "lesson")]),
                                                   bulk.CellIn(lesson, students[1], mine, "Н")])
            assert added == 2
            with pytest.raises(JournalError, match="уже есть записи"):
                await attempt(bulk.add_cells, [bulk.CellIn(lesson, students[0], mine, None, [("4", "lesson")])])
            # The one-by-one path goes on from the chain the bulk path left.
            user = User(mine, teacher[1], "teacher01", "", "", "", frozenset({"teacher"}))
            await db.write(writes.set_cell, user, 1, day, n, students[0], "4/5")
        finally:
            await db.close()

    asyncio.run(run())
    conn = sqlite3.connect(path)
    try:
        ok, message = verify(conn)
        assert ok, message
        assert conn.execute("SELECT count(*) FROM grade g JOIN lesson l ON l.id = g.lesson_id WHERE l.journal_id = 1"
                            " AND l.date = ? AND l.lesson_number = ?", (day, n)).fetchone()[0] == 2
    finally:
        conn.close()
