"""Reading the diary: one student's week, grades by subject, attendance, recent news.

The journal area owns lessons, grades and attendance; its queries are journal-centric
(one journal × all students). The diary needs the transpose — one student × all their
journals — so the student-centric reads live here, read-only, while what a lesson column,
an average and a forecast are comes from the journal's own functions (lesson_columns,
weighted_average, forecast). Every function takes a student id that the caller has
already checked (see access.py), and is a plain `def f(conn, …)`: a page reads all it
shows in one `Database.read` (one snapshot: a grade saved meanwhile shows everywhere or
nowhere on the page)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from .. import collation
from ..journal.rules import ATTENDANCE_LABELS, NUMERIC, PERIOD_GRADE_LABELS, forecast, weighted_average
from ..journal.store import JournalInfo, lesson_columns
from ..school.structure import JOURNAL_JOINS, JOURNAL_TITLE_SQL
from ..timetable import dated
from ..timetable.dated import Changes
from . import rules

WEEKDAYS = ["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"]
STATUS_LABELS = {"substituted": "замена", "cancelled": "урок не состоялся", "moved": "урок перенесён"}
FAR_FUTURE = "9999-12-31"


def short_name(last: str | None, first: str | None, middle: str | None) -> str:
    initials = " ".join(f"{p[0]}." for p in (first, middle) if p)
    return f"{last or ''} {initials}".strip()


def full_name(row) -> str:
    return " ".join(p for p in (row["last_name"], row["first_name"], row["middle_name"]) if p)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids)) or "NULL"


# --- the student's journals --------------------------------------------------------------

# When the student belongs to each journal: through the class they are enrolled in, or a
# group (subgroup, elective, individual plan) they are a member of. A journal taken off the
# teaching load (archived) still counts where it holds the student's grades.
_SPANS_SQL = f"""
    WITH spans(journal_id, from_date, to_date) AS (
        SELECT j.id, e.from_date, coalesce(e.to_date, '{FAR_FUTURE}')
          FROM enrollment e JOIN journal j ON j.class_id = e.class_id WHERE e.student_id = :s
        UNION ALL
        SELECT j.id, m.from_date, coalesce(m.to_date, '{FAR_FUTURE}')
          FROM group_member m JOIN journal j ON j.group_id = m.group_id WHERE m.student_id = :s
    )
    SELECT sp.from_date AS member_from, sp.to_date AS member_to, j.*, {JOURNAL_TITLE_SQL},
           s.short_name AS subject_short, y.starts_on AS year_start, y.ends_on AS year_end,
           y.status AS year_status
      FROM spans sp JOIN journal j ON j.id = sp.journal_id {JOURNAL_JOINS}
      JOIN academic_year y ON y.id = j.year_id
     WHERE sp.from_date <= :end AND sp.to_date >= :start AND y.starts_on <= :end AND y.ends_on >= :start
       AND (j.archived_at IS NULL OR EXISTS (SELECT 1 FROM grade g JOIN lesson l ON l.id = g.lesson_id
                                             WHERE l.journal_id = j.id AND g.student_id = :s))
     ORDER BY s.name COLLATE RU, j.id
"""


class StudentJournal:
    """A journal of the student with the dates they belong to it and what lesson_columns needs."""

    def __init__(self, info: JournalInfo, rooms: dict[tuple[int, int], str]):
        self.info = info
        self.spans: list[tuple[str, str]] = []
        self.rooms = rooms

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def row(self) -> sqlite3.Row:
        return self.info.row

    def member_on(self, day: str) -> bool:
        return any(a <= day <= b for a, b in self.spans)

    def overlaps(self, start: str, end: str) -> bool:
        return any(a <= end and b >= start for a, b in self.spans)


def student_journals(conn: sqlite3.Connection, student_id: int, start: str, end: str) -> list[StudentJournal]:
    """The student's journals in [start, end], in five queries for any number of journals."""
    rows = conn.execute(_SPANS_SQL, {"s": student_id, "start": start, "end": end}).fetchall()
    by_id: dict[int, StudentJournal] = {}
    for r in rows:
        if r["id"] not in by_id:
            by_id[r["id"]] = StudentJournal(
                JournalInfo(r, parallel=0, period_kind="", year_start=r["year_start"], year_end=r["year_end"],
                            slots={}, holidays=[]), {})
        by_id[r["id"]].spans.append((r["member_from"], r["member_to"]))
    if not by_id:
        return []
    ids = list(by_id)
    for s in conn.execute(f"SELECT journal_id, weekday, lesson_number, room FROM timetable_slot"
                          f" WHERE journal_id IN ({_marks(ids)}) ORDER BY weekday, lesson_number", ids):
        sj = by_id[s["journal_id"]]
        sj.info.slots.setdefault(s["weekday"], []).append(s["lesson_number"])
        sj.rooms[(s["weekday"], s["lesson_number"])] = s["room"]
    years = sorted({sj.row["year_id"] for sj in by_id.values()})
    holidays: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for h in conn.execute(f"SELECT year_id, starts_on, ends_on FROM holiday WHERE year_id IN ({_marks(years)})",
                          years):
        holidays[h["year_id"]].append((h["starts_on"], h["ends_on"]))
    terms: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for t in conn.execute(f"SELECT year_id, starts_on, ends_on FROM study_period WHERE kind <> 'year'"
                          f" AND year_id IN ({_marks(years)})", years):
        terms[t["year_id"]].append((t["starts_on"], t["ends_on"]))
    for sj in by_id.values():
        sj.info.holidays.extend(holidays[sj.row["year_id"]])
        sj.info.terms = terms[sj.row["year_id"]]
    changes: dict[int, list[dict]] = defaultdict(list)
    for c in conn.execute(f"SELECT * FROM timetable_change WHERE journal_id IN ({_marks(ids)})", ids):
        changes[c["journal_id"]].append(dict(c))
    for jid, rows_ in changes.items():
        by_id[jid].info.changes = Changes.of(rows_)
    return list(by_id.values())


def threshold(conn: sqlite3.Connection) -> float:
    row = conn.execute("SELECT value FROM setting WHERE key = 'forecast_threshold'").fetchone()
    value = row[0] if row else None
    try:
        return float(value) if value is not None else 0.5
    except ValueError:
        return 0.5


# --- the week ----------------------------------------------------------------------------

def _grade_json(g) -> dict:
    return {"value": g["value"], "work_type": g["work_type"], "work_type_name": g["work_type_name"],
            "weight": g["weight"]}


def week(conn: sqlite3.Connection, student_id: int, monday: date) -> dict:
    """Each school day of the week: the lessons from the timetable with topic, homework,
    the student's grades and attendance mark."""
    days_iso = [(monday + timedelta(days=i)).isoformat() for i in range(7)]
    start, end = days_iso[0], days_iso[-1]
    journals = student_journals(conn, student_id, start, end)
    ids = [sj.id for sj in journals]
    lessons = conn.execute(
        f"""
        SELECT l.*, wt.name AS work_type_name, wt.is_control, h.text AS hw_text, h.minutes AS hw_minutes,
               h.file_name AS hw_file, sub.last_name AS sub_last, sub.first_name AS sub_first,
               sub.middle_name AS sub_middle
          FROM lesson l JOIN work_type wt ON wt.code = l.work_type
          LEFT JOIN homework h ON h.lesson_id = l.id
          LEFT JOIN person sub ON sub.id = l.substitute_id
         WHERE l.journal_id IN ({_marks(ids)}) AND l.date BETWEEN ? AND ?
        """, [*ids, start, end]).fetchall()
    by_key = {(l_["journal_id"], l_["date"], l_["lesson_number"]): l_ for l_ in lessons}
    grades: dict[int, list[dict]] = defaultdict(list)
    for g in conn.execute(
            f"""SELECT g.lesson_id, g.value, g.work_type, wt.name AS work_type_name, wt.weight
                  FROM grade g JOIN lesson l ON l.id = g.lesson_id JOIN work_type wt ON wt.code = g.work_type
                 WHERE g.student_id = ? AND l.journal_id IN ({_marks(ids)}) AND l.date BETWEEN ? AND ?
                 ORDER BY g.position""", [student_id, *ids, start, end]).fetchall():
        grades[g["lesson_id"]].append(_grade_json(g))
    marks = {a["lesson_id"]: a["mark"] for a in conn.execute(
        f"""SELECT a.lesson_id, a.mark FROM attendance a JOIN lesson l ON l.id = a.lesson_id
             WHERE a.student_id = ? AND l.journal_id IN ({_marks(ids)}) AND l.date BETWEEN ? AND ?""",
        [student_id, *ids, start, end]).fetchall()}
    years = sorted({sj.row["year_id"] for sj in journals})
    bells = {(b["year_id"], b["number"]): f"{b['starts_at']}–{b['ends_at']}" for b in conn.execute(
        f"SELECT * FROM bell WHERE year_id IN ({_marks(years)})", years).fetchall()}
    holiday_names = conn.execute(
        "SELECT name, starts_on, ends_on FROM holiday WHERE starts_on <= ? AND ends_on >= ?",
        (end, start)).fetchall()

    # Each journal's lessons of the week in one pass of its timetable (not one per day).
    numbers: dict[tuple[int, str], list[int]] = defaultdict(list)
    away: dict[tuple[int, str], list] = defaultdict(list)
    recorded: dict[int, list] = defaultdict(list)
    for l_ in lessons:
        recorded[l_["journal_id"]].append(l_)
    for sj in journals:
        for d, number in lesson_columns(sj.info, start, end, recorded[sj.id]):
            numbers[(sj.id, d)].append(number)
        for key, change in dated.moved_away(sj.info, start, end):
            away[(sj.id, key[0])].append((key, change))

    days = []
    for i, iso in enumerate(days_iso):
        entries = []
        for sj in journals:
            if not sj.member_on(iso):
                continue
            for number in numbers.get((sj.id, iso), ()):
                entries.append(_entry(sj, iso, number, by_key.get((sj.id, iso, number)), grades, marks, bells))
            for (_, number), change in away.get((sj.id, iso), ()):
                # Families look for a lesson where the weekly timetable has it: say where it went.
                entries.append(_moved_entry(sj, iso, number, change, bells))
        entries.sort(key=lambda e: (e["number"], e["subject"]))
        holiday = next((h["name"] for h in holiday_names if h["starts_on"] <= iso <= h["ends_on"]), None)
        # Saturday shows when the timetable has Saturday lessons; Sunday only if a lesson was recorded.
        saturday_school = any(6 in sj.info.slots for sj in journals)
        if (i == 6 and not entries) or (i == 5 and not entries and not saturday_school):
            continue
        days.append({"date": iso, "weekday": WEEKDAYS[i], "holiday": holiday, "lessons": entries})
    return {"start": start, "end": days[-1]["date"] if days else days_iso[5],
            "prev": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat(),
            "days": days}


def _entry(sj: StudentJournal, iso: str, number: int, lesson, grades, marks, bells) -> dict:
    row = sj.row
    weekday = date.fromisoformat(iso).isoweekday()
    change = sj.info.changes.placed.get((iso, number))
    entry = {
        "lesson_id": lesson["id"] if lesson else None, "journal_id": sj.id, "number": number,
        "time": bells.get((row["year_id"], number)),
        "room": change["room"] if change else sj.rooms.get((weekday, number), ""),
        "subject": row["subject_name"], "subject_short": row["subject_short"] or row["subject_name"],
        "teacher": short_name(row["t_last"], row["t_first"], row["t_middle"]),
        "topic": "", "work_type": None, "work_type_name": None, "is_control": False,
        "status": "held", "status_label": None, "status_reason": "", "substitute": None, "homework": None,
        "grades": [], "attendance": None, "change": _change_json(change),
    }
    if lesson is None:
        return entry
    entry.update(topic=lesson["topic"], work_type=lesson["work_type"], work_type_name=lesson["work_type_name"],
                 is_control=bool(lesson["is_control"]), status=lesson["status"],
                 status_label=STATUS_LABELS.get(lesson["status"]), status_reason=lesson["status_reason"])
    if lesson["substitute_id"]:
        entry["substitute"] = short_name(lesson["sub_last"], lesson["sub_first"], lesson["sub_middle"])
    if lesson["hw_text"] or lesson["hw_file"]:
        entry["homework"] = {"text": lesson["hw_text"] or "", "minutes": lesson["hw_minutes"],
                             "file_name": lesson["hw_file"],
                             "file_url": f"/diary/files/{lesson['id']}" if lesson["hw_file"] else None}
    entry["grades"] = grades.get(lesson["id"], [])
    mark = marks.get(lesson["id"])
    if mark:
        entry["attendance"] = {"mark": mark, "label": ATTENDANCE_LABELS[mark]}
    return entry


def _change_json(change) -> dict | None:
    """A lesson a change put on this date: moved here (from where) or extra (why)."""
    if change is None:
        return None
    if change["from_date"]:
        return {"kind": "moved", "from_date": change["from_date"], "from_number": change["from_number"],
                "reason": change["reason"]}
    return {"kind": "extra", "reason": change["reason"]}


def _moved_entry(sj: StudentJournal, iso: str, number: int, change, bells) -> dict:
    """The weekly timetable's lesson that was moved to another date or number."""
    row = sj.row
    return {"lesson_id": None, "journal_id": sj.id, "number": number, "time": bells.get((row["year_id"], number)),
            "room": "", "subject": row["subject_name"], "subject_short": row["subject_short"] or row["subject_name"],
            "teacher": short_name(row["t_last"], row["t_first"], row["t_middle"]), "topic": "", "work_type": None,
            "work_type_name": None, "is_control": False, "status": "moved", "status_label": STATUS_LABELS["moved"],
            "status_reason": change["reason"], "substitute": None, "homework": None, "grades": [], "attendance": None,
            "change": {"kind": "moved_away", "to_date": change["date"], "to_number": change["lesson_number"],
                       "reason": change["reason"]}}


# --- years and periods ---------------------------------------------------------------------

def years_of(conn: sqlite3.Connection, student_id: int) -> list[sqlite3.Row]:
    """Every school year the student has an enrolment in (§1.4.4: all periods stay readable)."""
    return conn.execute(
        "SELECT DISTINCT y.id, y.name, y.starts_on, y.ends_on, y.status FROM enrollment e"
        " JOIN class c ON c.id = e.class_id JOIN academic_year y ON y.id = c.year_id"
        " WHERE e.student_id = ? ORDER BY y.starts_on", (student_id,)).fetchall()


def pick_year(years: list[sqlite3.Row], wanted: int | None, today: str) -> sqlite3.Row | None:
    """The year asked for, else the one containing today, else the latest."""
    found = next((y for y in years if y["id"] == wanted), None)
    if found:
        return found
    return next((y for y in years if y["starts_on"] <= today <= y["ends_on"]), None) or (years[-1] if years else None)


def class_in_year(conn: sqlite3.Connection, student_id: int, year_id: int) -> sqlite3.Row | None:
    """The student's (latest) class in that year: its period kind decides the periods."""
    return conn.execute(
        "SELECT c.id, c.parallel || c.letter AS name, c.period_kind FROM enrollment e JOIN class c ON c.id = e.class_id"
        " WHERE e.student_id = ? AND c.year_id = ? ORDER BY e.from_date DESC LIMIT 1",
        (student_id, year_id)).fetchone()


def periods_for(conn: sqlite3.Connection, year_id: int, period_kind: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM study_period WHERE year_id = ? AND kind IN (?, 'year') ORDER BY kind = 'year', number",
        (year_id, period_kind)).fetchall()


def period_name(p) -> str:
    return {"quarter": f"{p['number']} четверть", "trimester": f"{p['number']} триместр",
            "half": f"{p['number']} полугодие", "year": "Год"}.get(
        p["kind"], p["kind"])


# --- grades by subject ---------------------------------------------------------------------

def _advice_work_types(conn: sqlite3.Connection) -> list[tuple[str, float]]:
    """The lightest everyday work and the heaviest control work, for the helper's advice."""
    rows = conn.execute("SELECT code, name, weight, is_control FROM work_type ORDER BY weight, sort").fetchall()
    if not rows:
        return []
    light = next((r for r in rows if r["code"] == "lesson"), rows[0])
    heavy = max((r for r in rows if r["is_control"]), key=lambda r: r["weight"], default=None)
    kinds = [(light["name"], light["weight"])]
    if heavy and heavy["weight"] > light["weight"]:
        kinds.append((heavy["name"], heavy["weight"]))
    return kinds


def grades_overview(conn: sqlite3.Connection, student_id: int, year: sqlite3.Row, today: str) -> dict:
    """Per period of the year and per subject: the grades, the weighted average with its
    formula, the forecast, the period grade, the running average and the helper's advice."""
    cls = class_in_year(conn, student_id, year["id"])
    periods = periods_for(conn, year["id"], cls["period_kind"] if cls else "quarter")
    journals = student_journals(conn, student_id, year["starts_on"], year["ends_on"])
    journals = [sj for sj in journals if sj.row["year_id"] == year["id"]]
    grade_rows = conn.execute(
        """
        SELECT l.date, l.lesson_number, g.value, g.work_type, wt.name AS work_type_name, wt.weight,
               j.subject_id, s.name AS subject_name
          FROM grade g JOIN lesson l ON l.id = g.lesson_id JOIN journal j ON j.id = l.journal_id
          JOIN subject s ON s.id = j.subject_id JOIN work_type wt ON wt.code = g.work_type
         WHERE g.student_id = ? AND j.year_id = ?
         ORDER BY l.date, l.lesson_number, g.position
        """, (student_id, year["id"])).fetchall()
    period_rows = conn.execute(
        "SELECT pg.period_id, pg.value, j.subject_id, s.name AS subject_name FROM period_grade pg"
        " JOIN journal j ON j.id = pg.journal_id JOIN subject s ON s.id = j.subject_id"
        " WHERE pg.student_id = ? AND j.year_id = ?", (student_id, year["id"])).fetchall()
    thr = threshold(conn)
    kinds = _advice_work_types(conn)

    out_periods = []
    for p in periods:
        start, end = p["starts_on"], p["ends_on"]
        names: dict[int, str] = {sj.row["subject_id"]: sj.row["subject_name"] for sj in journals
                                 if sj.overlaps(start, end)}
        in_period = [g for g in grade_rows if start <= g["date"] <= end]
        names.update({g["subject_id"]: g["subject_name"] for g in in_period})
        finals: dict[int, list[str]] = defaultdict(list)
        for r in period_rows:
            if r["period_id"] == p["id"]:
                names[r["subject_id"]] = r["subject_name"]
                if r["value"] not in finals[r["subject_id"]]:
                    finals[r["subject_id"]].append(r["value"])
        current = start <= today <= end and p["kind"] != "year"
        subjects = []
        for subject_id, name in sorted(names.items(), key=lambda kv: collation.key(kv[1])):
            mine = [g for g in in_period if g["subject_id"] == subject_id]
            weighted = [(g["value"], g["weight"]) for g in mine]
            avg = weighted_average(weighted)
            final = "/".join(finals.get(subject_id, [])) or None
            subject = {
                "subject_id": subject_id, "subject": name,
                "grades": [{"date": g["date"], "value": g["value"], "work_type": g["work_type"],
                            "work_type_name": g["work_type_name"], "weight": g["weight"]} for g in mine],
                "average": avg, "formula": rules.formula(weighted), "forecast": forecast(avg, thr),
                "counted": sum(1 for v, _ in weighted if v in NUMERIC),
                "period_grade": final,
                "period_grade_label": PERIOD_GRADE_LABELS.get(final or "", None),
                "advice": [],
                "points": rules.running_average([(g["date"], g["value"], g["weight"]) for g in mine]),
            }
            if current and final is None:
                subject["advice"] = rules.advice_lines(rules.what_i_need(weighted, thr, kinds))
            subjects.append(subject)
        out_periods.append({"id": p["id"], "kind": p["kind"], "number": p["number"], "name": period_name(p),
                            "starts_on": start, "ends_on": end, "closed": bool(p["closed_at"]),
                            "current": current, "subjects": subjects})
    return {"year": dict(year), "class": dict(cls) if cls else None, "threshold": thr, "periods": out_periods}


def default_period(periods: list[dict], today: str) -> dict | None:
    """The period containing today, else the last that has begun, else the first (not the year)."""
    plain = [p for p in periods if p["kind"] != "year"] or periods
    return (next((p for p in plain if p["starts_on"] <= today <= p["ends_on"]), None)
            or next((p for p in reversed(plain) if p["starts_on"] <= today), None)
            or (plain[0] if plain else None))


# --- attendance ----------------------------------------------------------------------------

def attendance_overview(conn: sqlite3.Connection, student_id: int, year: sqlite3.Row) -> dict:
    """Missed and late lessons of the year by period, with the marks' meaning."""
    cls = class_in_year(conn, student_id, year["id"])
    periods = [p for p in periods_for(conn, year["id"], cls["period_kind"] if cls else "quarter")
               if p["kind"] != "year"]
    rows = conn.execute(
        """
        SELECT l.date, l.lesson_number, a.mark, s.name AS subject
          FROM attendance a JOIN lesson l ON l.id = a.lesson_id JOIN journal j ON j.id = l.journal_id
          JOIN subject s ON s.id = j.subject_id
         WHERE a.student_id = ? AND j.year_id = ?
         ORDER BY l.date, l.lesson_number
        """, (student_id, year["id"])).fetchall()
    entries = [{"date": r["date"], "number": r["lesson_number"], "subject": r["subject"], "mark": r["mark"],
                "label": ATTENDANCE_LABELS[r["mark"]]} for r in rows]

    def block(name: str, start: str | None, end: str | None, items: list[dict], pid: int | None) -> dict:
        counts = {m: sum(1 for e in items if e["mark"] == m) for m in ATTENDANCE_LABELS}
        return {"id": pid, "name": name, "starts_on": start, "ends_on": end, "entries": items, "counts": counts,
                "missed": counts["Н"] + counts["Б"] + counts["У"], "late": counts["ОП"]}

    blocks = [block(period_name(p), p["starts_on"], p["ends_on"],
                    [e for e in entries if p["starts_on"] <= e["date"] <= p["ends_on"]], p["id"]) for p in periods]
    rest = [e for e in entries if not any(p["starts_on"] <= e["date"] <= p["ends_on"] for p in periods)]
    if rest:  # a lesson recorded outside every period (a make-up lesson in the holidays)
        blocks.append(block("Вне учебных периодов", None, None, rest, None))
    return {"year": dict(year), "class": dict(cls) if cls else None, "periods": blocks,
            "total": block("Год", year["starts_on"], year["ends_on"], entries, None),
            "labels": ATTENDANCE_LABELS}


# --- the home page -------------------------------------------------------------------------

def recent(conn: sqlite3.Connection, student_id: int, today: date, days: int = 7) -> dict:
    """For the home page: the homework of the latest school day up to today, and the grades
    of the last `days` days."""
    start = (today - timedelta(days=days - 1)).isoformat()
    journals = student_journals(conn, student_id, start, today.isoformat())
    ids = [sj.id for sj in journals]
    members = {sj.id: sj for sj in journals}
    homework = conn.execute(
        f"""SELECT l.id, l.journal_id, l.date, l.lesson_number, h.text, h.minutes, h.file_name
              FROM homework h JOIN lesson l ON l.id = h.lesson_id
             WHERE l.journal_id IN ({_marks(ids)}) AND l.date BETWEEN ? AND ?
             ORDER BY l.date DESC, l.lesson_number""", [*ids, start, today.isoformat()]).fetchall()
    homework = [h for h in homework if members[h["journal_id"]].member_on(h["date"])]
    day = homework[0]["date"] if homework else None
    grades = conn.execute(
        """
        SELECT l.date, g.value, g.work_type, wt.name AS work_type_name, s.name AS subject
          FROM grade g JOIN lesson l ON l.id = g.lesson_id JOIN journal j ON j.id = l.journal_id
          JOIN subject s ON s.id = j.subject_id JOIN work_type wt ON wt.code = g.work_type
         WHERE g.student_id = ? AND l.date BETWEEN ? AND ?
         ORDER BY l.date DESC, l.lesson_number, g.position
        """, (student_id, start, today.isoformat())).fetchall()
    return {
        "homework_day": day,
        "homework": [{"subject": members[h["journal_id"]].row["subject_name"], "number": h["lesson_number"],
                      "text": h["text"], "minutes": h["minutes"], "file_name": h["file_name"],
                      "file_url": f"/diary/files/{h['id']}" if h["file_name"] else None}
                     for h in homework if h["date"] == day],
        "grades": [dict(g) for g in grades],
    }


# --- homework files ------------------------------------------------------------------------

def homework_file(conn: sqlite3.Connection, lesson_id: int, student_ids: list[int]) -> sqlite3.Row | None:
    """The homework file of a lesson, if one of `student_ids` belonged to its class or group
    on the lesson's date; None otherwise (the caller answers 404 either way)."""
    if not student_ids:
        return None
    return conn.execute(
        f"""
        SELECT h.file_name, h.file_path FROM homework h JOIN lesson l ON l.id = h.lesson_id
          JOIN journal j ON j.id = l.journal_id
         WHERE h.lesson_id = ? AND h.file_path IS NOT NULL
           AND (EXISTS (SELECT 1 FROM enrollment e WHERE e.class_id = j.class_id
                         AND e.student_id IN ({_marks(student_ids)})
                         AND e.from_date <= l.date AND (e.to_date IS NULL OR e.to_date >= l.date))
                OR EXISTS (SELECT 1 FROM group_member m WHERE m.group_id = j.group_id
                            AND m.student_id IN ({_marks(student_ids)})
                            AND m.from_date <= l.date AND (m.to_date IS NULL OR m.to_date >= l.date)))
        """, [lesson_id, *student_ids, *student_ids]).fetchone()


# --- the printable diary -------------------------------------------------------------------

def paper_students(conn: sqlite3.Connection, class_id: int) -> list[sqlite3.Row]:
    """Students now in the class with at least one parent who chose the paper diary (§3.3.5)."""
    return conn.execute(
        """
        SELECT p.id, p.last_name, p.first_name, p.middle_name FROM enrollment e JOIN person p ON p.id = e.student_id
         WHERE e.class_id = ? AND e.to_date IS NULL
           AND EXISTS (SELECT 1 FROM guardian g WHERE g.student_id = p.id AND g.diary_form = 'paper')
         ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU, p.middle_name COLLATE RU
        """, (class_id,)).fetchall()


def printable(conn: sqlite3.Connection, student_id: int, first_monday: date, today: str) -> dict:
    """Two weeks of the diary and, per subject, the grades of those weeks with the average
    and forecast of the period the span ends in: what a paper-diary family gets (§4.1.7)."""
    weeks = [week(conn, student_id, first_monday + timedelta(days=7 * i)) for i in range(2)]
    start, end = weeks[0]["start"], weeks[1]["end"]
    summary: list[dict] = []
    period = None
    year = conn.execute(
        "SELECT y.* FROM enrollment e JOIN class c ON c.id = e.class_id JOIN academic_year y ON y.id = c.year_id"
        " WHERE e.student_id = ? AND y.starts_on <= ? ORDER BY y.starts_on DESC LIMIT 1",
        (student_id, end)).fetchone()
    if year:
        overview = grades_overview(conn, student_id, year, today)
        plain = [p for p in overview["periods"] if p["kind"] != "year"]
        period = (next((p for p in plain if p["starts_on"] <= end <= p["ends_on"]), None)
                  or next((p for p in reversed(plain) if p["starts_on"] <= end), None))
        if period:
            for s in period["subjects"]:
                summary.append({**s, "span_grades": [g for g in s["grades"] if start <= g["date"] <= end]})
    absences = [(d["date"], e) for w in weeks for d in w["days"] for e in d["lessons"] if e["attendance"]]
    return {"weeks": weeks, "start": start, "end": end, "period": period, "summary": summary,
            "absences": absences}


def paper_batch(conn: sqlite3.Connection, class_id: int, first_monday: date, today: str) -> list[tuple]:
    """(student, printable two weeks) for every paper-diary student of the class, in one snapshot."""
    return [(s, printable(conn, s["id"], first_monday, today)) for s in paper_students(conn, class_id)]


# --- a page's whole read -------------------------------------------------------------------

@dataclass
class YearView:
    """The student's years, the one shown, and what a page shows of it (None without a year)."""

    years: list[sqlite3.Row]
    year: sqlite3.Row | None
    overview: dict | None
    threshold: float


def grades_in_year(conn: sqlite3.Connection, student_id: int, wanted_year: int | None, today: str) -> YearView:
    """Grades by subject for the year asked for (else today's, else the latest), one snapshot."""
    years = years_of(conn, student_id)
    year = pick_year(years, wanted_year, today)
    overview = grades_overview(conn, student_id, year, today) if year else None
    return YearView(years, year, overview, overview["threshold"] if overview else threshold(conn))


def attendance_in_year(conn: sqlite3.Connection, student_id: int, wanted_year: int | None, today: str) -> YearView:
    """Missed and late lessons for the year asked for (else today's, else the latest), one snapshot."""
    years = years_of(conn, student_id)
    year = pick_year(years, wanted_year, today)
    return YearView(years, year, attendance_overview(conn, student_id, year) if year else None, 0.0)
