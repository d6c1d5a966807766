"""Journal control (§3.4.4 a–g, §2.8): one row per journal of the school for a span.

a) КТП: present; hours planned in the span and planned by the check day, lessons given.
b) Lessons recorded on time: a lesson's topic is first entered (the ledger's first entry of
   `lesson:<id>` with a topic) on the lesson's day (§3.2.2 «на дату проведения урока»); the
   lag in days otherwise. Lessons of the timetable with no topic by the check day are missing.
c) Grades entered on time: a grade's first ledger entry no later than `grade_days` after the
   lesson's day (a setting, default 3: written works take checking).
d) Накопляемость: grades per student in the span; students with fewer than `min_grades`
   (a setting, default 3: «не менее трёх отметок за четверть»).
e) Attendance recorded: «посещаемость отмечена» (`register_taken`) on the lessons given.
f) Programme fulfilment: lessons given on КТП topics ÷ hours the КТП plans up to the check day.
g) Substituted and cancelled lessons, with who and why.

The check day is the day before today (today's lessons may still be written today) or the
span's last day, whichever is sooner. The timetable's lessons come from the journal's own rule
(`journal.store.lesson_columns`). Everything is read in a few set-based queries."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from .. import collation
from ..journal.store import JournalInfo, lesson_columns
from ..planning.rules import week_of
from ..timetable.dated import Changes
from ..timeutil import parse_stored, ru_date
from .results import full_name, journals_of, short_name
from .scope import Span
from .table import INT, PCT, TEXT, Cell, Column, pct

MIN_GRADES = 3
GRADE_DAYS = 3


@dataclass
class Check:
    journal: dict
    info: JournalInfo
    students: int = 0
    plan_items: int = 0
    planned_hours: float = 0
    planned_due: float = 0
    scheduled: int = 0
    given: int = 0
    on_plan: int = 0                                 # given on a КТП topic
    missing: list[tuple[str, int]] = field(default_factory=list)
    late: list[tuple[str, int, int]] = field(default_factory=list)           # (date, n, lag days)
    grades: int = 0
    late_grades: int = 0
    max_grade_lag: int = 0
    few: list[tuple[int, str, int]] = field(default_factory=list)            # (student, name, grades)
    registers: int = 0
    unregistered: list[tuple[str, int]] = field(default_factory=list)
    substituted: list[dict] = field(default_factory=list)
    cancelled: list[dict] = field(default_factory=list)
    remarks: int = 0

    @property
    def id(self) -> int:
        return self.journal["id"]

    @property
    def on_time(self) -> int:
        return self.given - len(self.late)

    @property
    def programme(self) -> float | None:
        return pct(self.on_plan, self.planned_due) if self.plan_items else None

    @property
    def register_pct(self) -> float | None:
        return pct(self.registers, self.registers + len(self.unregistered))

    @property
    def per_student(self) -> float | None:
        return round(self.grades / self.students, 1) if self.students else None

    def problems(self, span: Span, min_grades: int, grade_days: int) -> list[tuple[str, str]]:
        """What is wrong, each with the place to put it right."""
        grid = f"/journals/{self.id}" + (f"?period={span.period_id}" if span.period
                                         and span.period["kind"] in (self.info.period_kind, "year") else "")
        plan = f"/journals/{self.id}/plan"
        out = []
        if not self.plan_items:
            out.append(("Нет КТП.", plan))
        elif self.planned_hours < self.scheduled_total:
            out.append((f"КТП на период: {_hours(self.planned_hours)} ч при {self.scheduled_total} уроках"
                        " по расписанию.", plan))
        if self.missing:
            days = ", ".join(f"{ru_date(d)} ({n} ур.)" for d, n in self.missing[:6])
            more = f" и ещё {len(self.missing) - 6}" if len(self.missing) > 6 else ""
            out.append((f"Не записаны темы уроков: {len(self.missing)} — {days}{more}.", grid))
        if self.late:
            worst = max(lag for _, _, lag in self.late)
            out.append((f"Темы записаны позже дня урока: {len(self.late)} (до {worst} дн.).", grid))
        if self.late_grades:
            out.append((f"Отметки выставлены позже {grade_days} дн. после урока: {self.late_grades} "
                        f"(до {self.max_grade_lag} дн.).", grid))
        if self.few:
            names = ", ".join(f"{n} ({k})" for _, n, k in self.few[:5])
            more = f" и ещё {len(self.few) - 5}" if len(self.few) > 5 else ""
            out.append((f"Меньше {min_grades} отметок у учащихся: {len(self.few)} — {names}{more}.", grid))
        if self.unregistered:
            out.append((f"Посещаемость не отмечена на уроках: {len(self.unregistered)}.", grid))
        if self.programme is not None and self.programme < 100:
            out.append((f"Программа выполнена на {_pct_text(self.programme)}.", plan))
        return out

    scheduled_total: int = 0                         # lessons of the timetable in the whole span


def _hours(h: float) -> str:
    return (str(int(h)) if float(h).is_integer() else str(h)).replace(".", ",")


def _pct_text(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}".replace(".", ",") + " %"


def local_day(at: str, cache: dict) -> date:
    """The school's date of a ledger timestamp (UTC text)."""
    key = at[:16]
    found = cache.get(key)
    if found is None:
        found = cache[key] = parse_stored(at).astimezone().date()
    return found


def _utc_midnight(day: date) -> str:
    """The school's local midnight that starts `day`, as the ledger stores moments (UTC text)."""
    local = datetime.combine(day, datetime.min.time()).astimezone()
    return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def infos(conn: sqlite3.Connection, year_id: int, journals: dict[int, dict]) -> dict[int, JournalInfo]:
    """Each journal as the journal's rules see it (timetable, holidays, period kind), read for the
    whole school at once."""
    year = conn.execute("SELECT * FROM academic_year WHERE id = ?", (year_id,)).fetchone()
    slots: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for jid, wd, n in conn.execute("SELECT journal_id, weekday, lesson_number FROM timetable_slot"
                                   " ORDER BY weekday, lesson_number"):
        slots[jid].setdefault(wd, []).append(n)
    holidays = [tuple(r) for r in conn.execute("SELECT starts_on, ends_on FROM holiday WHERE year_id = ?", (year_id,))]
    kinds = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, period_kind, parallel FROM class WHERE year_id = ?",
                                                      (year_id,))}
    settings = {r[0]: r[1] for r in conn.execute("SELECT key, value FROM setting WHERE key IN"
                                                 " ('grade_one_allowed', 'first_grade_marks', 'forecast_threshold')")}
    # The timetable of a date (server/timetable/): lessons moved or added, and the study
    # periods (no lessons between quarters that are not entered as holidays).
    changes: dict[int, list[dict]] = defaultdict(list)
    for c in conn.execute("SELECT t.* FROM timetable_change t JOIN journal j ON j.id = t.journal_id"
                          " WHERE j.year_id = ?", (year_id,)):
        changes[c["journal_id"]].append(dict(c))
    terms = [tuple(r) for r in conn.execute("SELECT starts_on, ends_on FROM study_period"
                                            " WHERE year_id = ? AND kind <> 'year'", (year_id,))]
    out = {}
    for jid, j in journals.items():
        kind, parallel = kinds.get(j["home_class_id"], ("quarter", 0))
        row = {**j, "year_id": year_id, "year_status": year["status"], "archived_at": None}
        out[jid] = JournalInfo(row, parallel or 0, kind, year["starts_on"], year["ends_on"], slots.get(jid, {}),
                               holidays, settings, Changes.of(changes.get(jid, [])), terms)
    return out


def checks(conn: sqlite3.Connection, span: Span, today: str, *, min_grades: int = MIN_GRADES,
           grade_days: int = GRADE_DAYS, journal_ids: list[int] | None = None) -> list[Check]:
    """The a–g figures of every journal of the span's year (or of `journal_ids`)."""
    journals = journals_of(conn, span.year_id)
    if journal_ids is not None:
        journals = {k: v for k, v in journals.items() if k in set(journal_ids)}
    ids = json.dumps(sorted(journals))
    info = infos(conn, span.year_id, journals)
    yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    upto = min(span.end, yesterday)
    out = {jid: Check(j, info[jid]) for jid, j in journals.items()}
    cache: dict = {}
    # a, f) the КТП: items planned in the span (by date, or by school week).
    for jid, hours, planned, week in conn.execute(
            "SELECT journal_id, hours, planned_date, planned_week FROM plan_item"
            " WHERE journal_id IN (SELECT value FROM json_each(?))", (ids,)):
        c = out[jid]
        c.plan_items += 1
        if planned is None and week is not None:
            first_week = week_of(c.info, span.start)
            last_week = week_of(c.info, span.end)
            due_week = week_of(c.info, upto) if upto >= span.start else first_week - 1
            if first_week <= week <= last_week:
                c.planned_hours += hours
                c.planned_due += hours if week <= due_week else 0
        elif planned is not None and span.start <= planned <= span.end:
            c.planned_hours += hours
            c.planned_due += hours if planned <= upto else 0
    # b, e, g) the lessons of the span.
    lessons: dict[int, list] = defaultdict(list)
    for r in conn.execute(
            """
            SELECT l.id, l.journal_id, l.date, l.lesson_number, l.topic, l.status, l.status_reason, l.plan_item_id,
                   p.last_name, p.first_name, p.middle_name,
                   EXISTS (SELECT 1 FROM register_taken r WHERE r.lesson_id = l.id) AS registered,
                   (SELECT min(a.at) FROM audit_log a WHERE a.key = 'lesson:' || l.id AND a.new IS NOT NULL
                       AND json_extract(a.new, '$.topic') <> '') AS topic_at
              FROM lesson l LEFT JOIN person p ON p.id = l.substitute_id
             WHERE l.date BETWEEN :s AND :e AND l.journal_id IN (SELECT value FROM json_each(:j))
             ORDER BY l.date, l.lesson_number
            """, {"s": span.start, "e": span.end, "j": ids}):
        lessons[r["journal_id"]].append(r)
    for jid, c in out.items():
        mine = lessons.get(jid, [])
        by_key = {(r["date"], r["lesson_number"]): r for r in mine}
        columns = lesson_columns(c.info, span.start, span.end, mine)
        for d, n in columns:
            r = by_key.get((d, n))
            if r is not None and r["status"] == "cancelled":
                c.cancelled.append({"date": d, "number": n, "reason": r["status_reason"]})
                continue
            c.scheduled_total += 1
            if r is not None and r["status"] == "substituted":
                c.substituted.append({"date": d, "number": n, "reason": r["status_reason"],
                                      "substitute": full_name(r["last_name"] or "", r["first_name"] or "",
                                                              r["middle_name"] or "")})
            if d > upto:
                continue
            c.scheduled += 1
            if r is None or not r["topic"]:
                c.missing.append((d, n))
            else:
                c.given += 1
                c.on_plan += r["plan_item_id"] is not None
                lag = (local_day(r["topic_at"], cache) - date.fromisoformat(d)).days if r["topic_at"] else 0
                if lag > 0:
                    c.late.append((d, n, lag))
            if r is not None and r["registered"]:
                c.registers += 1
            else:
                c.unregistered.append((d, n))
    # c, d) the grades of the span, each with its first ledger entry (~85 000 a quarter in a large
    # school: plain tuples; a grade is late when its entry is at or after the local midnight that
    # ends its allowed days — one string comparison, the lag worked out only for the late ones).
    per_student: dict[tuple[int, int], int] = defaultdict(int)
    late_from: dict[str, str] = {}
    cur = conn.cursor()
    cur.row_factory = None
    for jid, d, sid, at in cur.execute(
            """
            SELECT l.journal_id, l.date, g.student_id,
                   (SELECT min(a.at) FROM audit_log a
                     WHERE a.key = 'grade:' || g.lesson_id || ':' || g.student_id || ':' || g.position) AS at
              FROM lesson l JOIN grade g ON g.lesson_id = l.id
             WHERE l.date BETWEEN :s AND :e AND l.journal_id IN (SELECT value FROM json_each(:j))
            """, {"s": span.start, "e": span.end, "j": ids}):
        c = out[jid]
        c.grades += 1
        per_student[(jid, sid)] += 1
        limit = late_from.get(d)
        if limit is None:
            limit = late_from[d] = _utc_midnight(date.fromisoformat(d) + timedelta(days=grade_days + 1))
        if at and at >= limit:
            c.late_grades += 1
            c.max_grade_lag = max(c.max_grade_lag, (local_day(at, cache) - date.fromisoformat(d)).days)
    # d) who is in each journal on the check day (or the span's first day, before it begins).
    on = max(span.start, min(span.end, today))
    members = conn.execute(
        """
        SELECT j.id AS journal_id, p.id, p.last_name, p.first_name, p.middle_name
          FROM journal j JOIN enrollment e ON e.class_id = j.class_id JOIN person p ON p.id = e.student_id
         WHERE j.id IN (SELECT value FROM json_each(:j)) AND e.from_date <= :d AND (e.to_date IS NULL OR e.to_date >= :d)
        UNION ALL
        SELECT j.id, p.id, p.last_name, p.first_name, p.middle_name
          FROM journal j JOIN group_member m ON m.group_id = j.group_id JOIN person p ON p.id = m.student_id
         WHERE j.id IN (SELECT value FROM json_each(:j)) AND m.from_date <= :d AND (m.to_date IS NULL OR m.to_date >= :d)
         ORDER BY 3, 4, 5
        """, {"j": ids, "d": on}).fetchall()
    for r in members:
        c = out[r["journal_id"]]
        c.students += 1
        got = per_student.get((c.id, r["id"]), 0)
        if got < min_grades and not c.info.no_marks:
            c.few.append((r["id"], short_name(r["last_name"], r["first_name"], r["middle_name"]), got))
    for jid, n in conn.execute("SELECT journal_id, count(*) FROM journal_remark WHERE done_on IS NULL"
                               " AND journal_id IN (SELECT value FROM json_each(?)) GROUP BY journal_id", (ids,)):
        out[jid].remarks = n
    return sorted(out.values(), key=lambda c: (collation.key(c.journal["t_last"]), collation.key(c.journal["t_first"]),
                                                collation.key(c.journal["subject"]), c.journal["target"]))


COLUMNS = [
    Column("Журнал", TEXT, 30, "journal"), Column("Учитель", TEXT, 22, "teacher"),
    Column("КТП, тем", INT, 8, "plan_items"), Column("Часов по КТП", INT, 9, "planned_hours"),
    Column("Уроков по расписанию", INT, 11, "scheduled"), Column("Дано уроков", INT, 9, "given"),
    Column("Темы в день урока", PCT, 11, "lessons_on_time_pct"), Column("Не записано тем", INT, 10, "missing"),
    Column("Отметок", INT, 9, "grades"), Column("Отметки вовремя", PCT, 11, "grades_on_time_pct"),
    Column("Отметок на учащегося", TEXT, 11, "grades_per_student"), Column("Мало отметок", INT, 9, "few_grades"),
    Column("Посещаемость отмечена", PCT, 12, "register_pct"), Column("Выполнение программы", PCT, 12, "programme_pct"),
    Column("Замен", INT, 7, "substituted"), Column("Не состоялось", INT, 9, "cancelled"),
    Column("Замечаний", INT, 9, "remarks")]


def row(c: Check, span: Span) -> list:
    j = c.journal
    return [Cell(f"{j['subject']} — {j['target']}", f"/reports/journal-control/{c.id}?{span.query()}"),
            j["teacher"], Cell(c.plan_items, cls="" if c.plan_items else "bad"), c.planned_hours, c.scheduled, c.given,
            pct(c.on_time, c.given), Cell(len(c.missing), cls="bad" if c.missing else ""), c.grades,
            pct(c.grades - c.late_grades, c.grades),
            None if c.per_student is None else f"{c.per_student:.1f}".replace(".", ","),
            Cell(len(c.few), cls="warn" if c.few else ""), c.register_pct, c.programme, len(c.substituted),
            len(c.cancelled), Cell(c.remarks, cls="warn" if c.remarks else "")]


def as_json(c: Check, span: Span, min_grades: int, grade_days: int) -> dict:
    """One journal's a–g figures for the API (GET /api/v1/reports/journal-control)."""
    j = c.journal
    return {
        "journal_id": c.id, "subject": j["subject"], "target": j["target"], "class_id": j["class_id"],
        "group_id": j["group_id"], "teacher_id": j["teacher_id"], "teacher": j["teacher_full"], "students": c.students,
        "plan": {"present": bool(c.plan_items), "items": c.plan_items, "planned_hours": c.planned_hours,
                 "planned_hours_due": c.planned_due, "given_lessons": c.given},
        "lessons": {"scheduled": c.scheduled, "given": c.given, "on_time": c.on_time, "late": len(c.late),
                    "max_lag_days": max((x[2] for x in c.late), default=0),
                    "missing": [{"date": d, "number": n} for d, n in c.missing]},
        "grades": {"total": c.grades, "on_time": c.grades - c.late_grades, "late": c.late_grades,
                   "allowed_days": grade_days, "max_lag_days": c.max_grade_lag},
        "accumulation": {"min_grades": min_grades, "grades_per_student": c.per_student,
                         "below_min": [{"student_id": s, "name": n, "grades": k} for s, n, k in c.few]},
        "attendance": {"lessons": c.registers + len(c.unregistered), "taken": c.registers,
                       "taken_pct": c.register_pct},
        "programme_pct": c.programme,
        "substituted": c.substituted, "cancelled": c.cancelled, "remarks_open": c.remarks,
        "problems": [{"text": t, "href": h} for t, h in c.problems(span, min_grades, grade_days)],
    }
