"""Homework by the day it is due («ДЗ на завтра»): the journal keeps homework at the lesson it
was set (§3.2.6); families look for what is due on a day. A homework is due on the date the
teacher chose, else at the journal's next lesson that takes place — read from the timetable
of dates (server/timetable/dated.py: moved, extra and cancelled lessons count).

Plain `def f(conn, …)` functions for the diary's pages, the API and the home page, run in the
caller's one read."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, timedelta

from ..timetable import dated
from . import store

# Homework is looked for this far back from the first day asked about (the default due date
# is at most the next lesson; one set far ahead carries its own date).
LOOKBACK_DAYS = 60
# «Задано на пятницу»: the weekday as the object of «на».
WEEKDAYS_ON = ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"]


def homework_due(conn: sqlite3.Connection, student_id: int, start: str, end: str) -> dict[str, list[dict]]:
    """{date: the student's homework due that day} for the days of [start, end], each with the
    subject, the text, the minutes, the file and when it was set (`set_on`)."""
    since = (date.fromisoformat(start) - timedelta(days=LOOKBACK_DAYS)).isoformat()
    journals = {sj.id: sj for sj in store.student_journals(conn, student_id, since, end)}
    if not journals:
        return {}
    ids = list(journals)
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"""SELECT l.id, l.journal_id, l.date, l.lesson_number, h.text, h.minutes, h.file_name, h.due_date
              FROM homework h JOIN lesson l ON l.id = h.lesson_id
             WHERE l.journal_id IN ({marks}) AND l.status <> 'cancelled' AND l.date < ?
               AND (h.due_date BETWEEN ? AND ? OR (h.due_date IS NULL AND l.date >= ?))
             ORDER BY l.date, l.lesson_number""", [*ids, end, start, end, since]).fetchall()
    cancelled: dict[int, list] = defaultdict(list)
    for c in conn.execute(f"SELECT journal_id, date, lesson_number FROM lesson WHERE journal_id IN ({marks})"
                          " AND status = 'cancelled' AND date BETWEEN ? AND ?", [*ids, since, end]):
        cancelled[c["journal_id"]].append((c["date"], c["lesson_number"]))
    due: dict[str, list[dict]] = defaultdict(list)
    # Each journal's lessons over the whole span once (dated.next_lesson per homework walked
    # 60 days of the timetable for each of ~120 homeworks: 88 % of the diary week's time).
    timetables: dict[int, list] = {}
    for h in rows:
        sj = journals[h["journal_id"]]
        if not sj.member_on(h["date"]):
            continue
        day = h["due_date"]
        if day is None:
            if sj.id not in timetables:
                timetables[sj.id] = dated.lesson_keys(sj.info, since, _plus(end, dated.NEXT_LESSON_DAYS), ())
            following = dated.next_lesson_in(timetables[sj.id], h["date"], cancelled[sj.id])
            day = following[0] if following else None
        if day is None or not start <= day <= end:
            continue
        due[day].append({"subject": sj.row["subject_name"], "text": h["text"], "minutes": h["minutes"],
                         "file_name": h["file_name"],
                         "file_url": f"/diary/files/{h['id']}" if h["file_name"] else None,
                         "set_on": h["date"], "set_number": h["lesson_number"], "chosen": h["due_date"] is not None})
    for items in due.values():
        items.sort(key=lambda x: (x["subject"], x["set_on"]))
    return dict(due)


def _plus(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def week_with_due(conn: sqlite3.Connection, student_id: int, monday: date) -> dict:
    """The diary's week (store.week) with each day's homework due (`homework_due`)."""
    week = store.week(conn, student_id, monday)
    due = homework_due(conn, student_id, week["start"], (monday + timedelta(days=6)).isoformat())
    for d in week["days"]:
        d["homework_due"] = due.get(d["date"], [])
    return week


def next_school_day(conn: sqlite3.Connection, student_id: int, today: date, days: int = 10) -> dict | None:
    """For the home page: the student's next school day after today (the first day with one of
    their lessons) and the homework due on it; None when there is none in `days` days."""
    start = (today + timedelta(days=1)).isoformat()
    end = (today + timedelta(days=days)).isoformat()
    first = None
    for sj in store.student_journals(conn, student_id, start, end):
        for d, _ in dated.lesson_keys(sj.info, start, end, ()):
            if sj.member_on(d) and (first is None or d < first):
                first = d
                break
    if first is None:
        return None
    return {"date": first, "weekday": WEEKDAYS_ON[date.fromisoformat(first).weekday()],
            "homework": homework_due(conn, student_id, first, first).get(first, [])}
