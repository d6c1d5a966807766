"""The demo school's journals: a КТП for every journal, and every lesson from 1 September up
to yesterday — the topic of the plan, the work type (the class's control works spread at
most one a day), attendance (mostly present; late now and then, a child ill for a week),
grades after each student's ability (strong and weak students, so averages differ; every
present student graded in a control work), homework with minutes within SanPiN's daily
limits, a few substitutions while a teacher is ill, two cancelled lessons with a reason,
and the period grades of every period that has ended (the teacher sets the forecast).
Holidays stay empty, the future too (no grade is ever dated after today).

Parallel 1 gets topics and attendance only: безотметочное обучение, and no homework in the
first grade. Journal 1 (Русский язык, 5А, teacher01) keeps its last EMPTY_TAIL lessons
before today unrecorded — no lesson row at all: no topic, no marks — so teacher01's to-do
lists them, the КТП offers the next topic (a plain lesson: no control work is planned in
journal 1 from those lessons to two weeks ahead), and tests and visitors enter grades into
an empty lesson. (tests/test_journal.py writes there; the averages it checks include the
quarter's earlier grades.) Substitutes are never teacher02 or teacher20: the tests use
them as teachers with no business in journal 1.

Deterministic: its own seed, the same date gives the same journals. Written through
server/journal/bulk.py — the journal's rules checked in set-based form, the ledger extended
as the one write path does (entries dated at the lessons' times; each КТП by its teacher the
day before the year begins), so `zhurnal audit verify` passes on the demo."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from ..db import Database
from .journal_data import (AFTER_CONTROL, CANCEL_REASONS, CONTINUED, CONTROL_PRIORITY, CONTROL_TITLES,
                                CONTROL_TITLES_QUOTED, CONTROLS, HOMEWORK, LENIENT, OLYMPIAD, PASS_FAIL, SMALL_WORK,
                                SUBSTITUTION_REASONS, TOPICS)
from .school import BY_POSITION
from ..journal import bulk, store
from ..journal.rules import ABSENT, HOMEWORK_LIMIT_MINUTES, forecast, weighted_average
from ..journal.store import JournalInfo
from ..timeutil import STORE_FMT

SEED = 20260902
SHOWCASE = 1            # journal 1: Русский язык, 5А, teacher01
EMPTY_TAIL = 5
# Tests use these teachers as ones with no business in journal 1: never make them substitutes.
OUTSIDERS = {"teacher02", "teacher20"}
PRIMARY = "учитель начальных классов"


@dataclass
class Item:
    """A КТП item and the lesson that gives it (if given by now)."""

    number: int
    planned: str            # planned date: the timetable as it stood when the plan was made
    given: str              # the date it is (or would be) given, after cancelled lessons
    work_type: str = "lesson"
    topic: str = ""


@dataclass
class Journal:
    info: JournalInfo
    subject: str
    slots: list[tuple[str, int]]
    items: list[Item] = field(default_factory=list)
    held: list[tuple[str, int]] = field(default_factory=list)   # the slots that are not cancelled

    @property
    def graded(self) -> bool:
        return not self.info.no_marks

    @property
    def elective(self) -> bool:
        return self.info.row["home_class_id"] is None


@dataclass
class Output:
    plan: list[bulk.PlanItemIn] = field(default_factory=list)
    lessons: dict[str, list[tuple[bulk.LessonIn, int | None]]] = field(default_factory=lambda: defaultdict(list))
    cells: dict[str, list[tuple[tuple, bulk.CellIn]]] = field(default_factory=lambda: defaultdict(list))
    homework: dict[str, list[tuple[tuple, bulk.HomeworkIn]]] = field(default_factory=lambda: defaultdict(list))
    registers: dict[str, list[tuple[tuple, bulk.RegisterIn]]] = field(default_factory=lambda: defaultdict(list))
    period_grades: dict[str, list[bulk.PeriodGradeIn]] = field(default_factory=lambda: defaultdict(list))  # by end


async def fill(db: Database, today: date) -> dict[str, int]:
    """Generate and write the demo journals of the open year; returns row counts."""
    src = await db.read(load)
    if src is None:
        return {}
    out = _Generator(src, today).run()
    return await db.write(_write, src, out, today.isoformat())


@dataclass
class Source:
    infos: dict[int, JournalInfo]
    members: dict[int, list[dict]]
    periods: list
    bells: dict[int, str]
    weights: dict[str, float]
    controls: set[str]
    staff: dict[int, dict]          # person → {account, login, position, roles}
    deputy_account: int


def load(conn) -> Source | None:
    """What the generator works from: the open year's journals, their students, the staff."""
    year = store.open_year(conn)
    if year is None:
        return None
    infos, members = {}, {}
    for (jid,) in conn.execute("SELECT id FROM journal WHERE year_id = ? AND archived_at IS NULL ORDER BY id",
                               (year["id"],)).fetchall():
        infos[jid] = store.journal_info(conn, jid)
        members[jid] = store.students(conn, infos[jid], year["starts_on"], year["ends_on"])
    staff = {}
    for r in conn.execute("SELECT a.id, a.login, a.person_id, p.position, group_concat(r.role) AS roles"
                          " FROM account a JOIN person p ON p.id = a.person_id"
                          " JOIN account_role r ON r.account_id = a.id"
                          " WHERE r.role IN ('teacher', 'deputy', 'director', 'sysadmin')"
                          " GROUP BY a.id ORDER BY a.id"):
        staff[r["person_id"]] = {"account": r["id"], "login": r["login"], "position": r["position"] or "",
                                 "roles": set(r["roles"].split(","))}
    deputy = next(s["account"] for s in staff.values() if "deputy" in s["roles"])
    work_types = conn.execute("SELECT code, weight, is_control FROM work_type").fetchall()
    return Source(
        infos=infos, members=members,
        periods=conn.execute("SELECT * FROM study_period WHERE year_id = ? ORDER BY starts_on, kind",
                             (year["id"],)).fetchall(),
        bells={r["number"]: r["starts_at"] for r in conn.execute(
            "SELECT number, starts_at FROM bell WHERE year_id = ?", (year["id"],))},
        weights={w["code"]: w["weight"] for w in work_types},
        controls={w["code"] for w in work_types if w["is_control"]},
        staff=staff, deputy_account=deputy)


def _write(conn, src: Source, out: Output, today: str) -> dict[str, int]:
    # One big transaction: with SQLite's default 2 MB page cache the indexes of ~200 000 audit
    # entries and grades (a whole year) spill to disk mid-transaction; 64 MB keeps them in memory.
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute("PRAGMA cache_size = -65536")
    try:
        return _write_all(conn, src, out, today)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")


def _write_all(conn, src: Source, out: Output, today: str) -> dict[str, int]:
    ctx = bulk.Context.load(conn, src.infos, today)
    ids = bulk.add_plan_items(conn, ctx, out.plan)
    plan_ids = {(p.journal_id, p.number): i for p, i in zip(out.plan, ids)}
    counts = {"plan_items": len(ids), "lessons": 0, "cell_records": 0, "homework": 0, "period_grades": 0}
    ends = sorted(out.period_grades)

    def period_grades_before(day: str) -> None:
        while ends and ends[0] < day:
            grades = sorted(out.period_grades[ends.pop(0)], key=lambda g: g.at)
            counts["period_grades"] += bulk.add_period_grades(conn, ctx, grades)

    # Day by day, so that the audit log runs in time order as it would have been written.
    for day in sorted(out.lessons):
        period_grades_before(day)
        lessons = []
        for lesson, number in sorted(out.lessons[day], key=lambda x: x[0].at):
            lesson.plan_item_id = plan_ids[(lesson.journal_id, number)] if number else None
            lessons.append(lesson)
        lesson_ids = bulk.add_lessons(conn, ctx, lessons)
        cells = []
        for key, cell in sorted(out.cells.get(day, ()), key=lambda x: x[1].at):
            cell.lesson_id = lesson_ids[key]
            cells.append(cell)
        homework = []
        for key, hw in sorted(out.homework.get(day, ()), key=lambda x: x[1].at):
            hw.lesson_id = lesson_ids[key]
            homework.append(hw)
        counts["lessons"] += len(lesson_ids)
        counts["cell_records"] += bulk.add_cells(conn, ctx, cells)
        counts["homework"] += bulk.add_homework(conn, ctx, homework)
        registers = []
        for key, reg in sorted(out.registers.get(day, ()), key=lambda x: x[1].at):
            reg.lesson_id = lesson_ids[key]
            registers.append(reg)
        counts["registers"] = counts.get("registers", 0) + bulk.add_registers(conn, ctx, registers)
    period_grades_before("9999")
    return counts


def _at(day: str, hhmm: str, minutes: int) -> str:
    """A moment of the school day (local time, as the bells are) as the audit log stores it."""
    local = datetime.fromisoformat(f"{day}T{hhmm}") + timedelta(minutes=minutes)
    return local.astimezone(timezone.utc).strftime(STORE_FMT)


def _topics(subject: str, parallel: int, elective: bool) -> list[str]:
    if elective:
        return OLYMPIAD
    bands = TOPICS.get(subject) or [((parallel,), [subject])]
    return next((t for ps, t in bands if parallel in ps), min(bands, key=lambda b: abs(b[0][0] - parallel))[1])


class _Generator:
    def __init__(self, src: Source, today: date):
        self.src = src
        self.today = today.isoformat()
        self.rng = random.Random(SEED)
        self.out = Output()
        self.journals: dict[int, Journal] = {}
        self.ability: dict[int, float] = {}
        self.subject_bias: dict[tuple[int, str], float] = {}
        self.cancel_reasons: dict[tuple[int, str, int], str] = {}
        self.register_rng = random.Random(SEED + 1)
        # A teacher who often forgets to mark the register: not teacher01 (the showcase) nor the
        # tests' outsiders.
        self.forgetful = next((p for p, s in sorted(src.staff.items()) if s["login"] == "teacher05"), None)

    # --- the plan -----------------------------------------------------------------------

    def _slots(self, info: JournalInfo) -> list[tuple[str, int]]:
        """Every lesson of the timetable in the journal's study periods, holidays left out."""
        mine = [p for p in self.src.periods if p["kind"] == info.period_kind]
        if not mine or not info.slots:
            return []
        day, last = date.fromisoformat(mine[0]["starts_on"]), date.fromisoformat(mine[-1]["ends_on"])
        found = []
        while day <= last:
            iso = day.isoformat()
            if any(p["starts_on"] <= iso <= p["ends_on"] for p in mine) and not info.is_holiday(iso):
                found += [(iso, n) for n in info.slots.get(day.isoweekday(), ())]
            day += timedelta(days=1)
        return found

    def run(self) -> Output:
        for jid, info in sorted(self.src.infos.items()):
            j = Journal(info, info.row["subject_name"], self._slots(info))
            if j.slots:
                self.journals[jid] = j
        cancelled = self._cancellations()
        for jid, j in self.journals.items():
            j.held = [s for s in j.slots if (jid, *s) not in cancelled]
            j.items = [Item(k + 1, d, j.held[k][0] if k < len(j.held) else d) for k, (d, _) in enumerate(j.slots)]
        self._place_controls()
        for j in self.journals.values():
            self._name_topics(j)
            # The teacher makes the plan before the year begins.
            teacher = self.src.staff[j.info.row["teacher_id"]]["account"]
            made = _at((date.fromisoformat(j.info.year_start) - timedelta(days=1)).isoformat(), "16:00", 0)
            self.out.plan += [bulk.PlanItemIn(j.info.id, it.number, it.topic, 1, it.planned, None, it.work_type,
                                              teacher, made) for it in j.items]
        substitutions = self._substitutions(cancelled)
        absences = self._absences()
        grades: dict[tuple[int, int, int], list[tuple[str, float]]] = defaultdict(list)
        homework_days: dict[tuple[int, str], list[bulk.HomeworkIn]] = defaultdict(list)
        for jid, j in self.journals.items():
            self._lessons(jid, j, cancelled, substitutions, absences, grades, homework_days)
        self._limit_homework(homework_days)
        self._period_grades(grades)
        return self.out

    def _place_controls(self) -> None:
        """Control works evenly through each period, at most one per class a day (the rule
        warns about more): subjects that matter most choose their days first."""
        by_class: dict[int, list[int]] = defaultdict(list)
        for jid, j in self.journals.items():
            if j.graded and not j.elective:
                by_class[j.info.row["home_class_id"]].append(jid)
        order = {s: i for i, s in enumerate(CONTROL_PRIORITY)}
        showcase = self.journals.get(SHOWCASE)
        past = [d for d, _ in showcase.held if d < self.today] if showcase else []
        quiet = (past[-EMPTY_TAIL] if len(past) >= EMPTY_TAIL else self.today,
                 (date.fromisoformat(self.today) + timedelta(days=14)).isoformat())
        for class_id in sorted(by_class):
            busy: dict[str, tuple[str, str]] = {}
            for jid in sorted(by_class[class_id], key=lambda x: (order.get(self.journals[x].subject, 99), x)):
                j = self.journals[jid]
                kinds = CONTROLS.get(j.subject, [])
                if j.subject == "Физика" and j.info.parallel >= 10:
                    kinds = ["laboratory", "control"]
                for period in (p for p in self.src.periods if p["kind"] == j.info.period_kind):
                    idx = [k for k, it in enumerate(j.items) if period["starts_on"] <= it.given <= period["ends_on"]]
                    if not idx or not kinds:
                        continue
                    wanted = kinds * (2 if period["kind"] == "half" else 1)
                    a, b = idx[0], idx[-1] + 1
                    for i, wt in enumerate(wanted):
                        target = a + (i + 1) * (b - a) // (len(wanted) + 1)
                        for t in (target, target + 1, target - 1, target + 2, target - 2, target + 3):
                            if not (a <= t < b) or any(j.items[x].work_type != "lesson"
                                                       for x in range(max(t - 1, 0), min(t + 2, len(j.items)))):
                                continue
                            if jid == SHOWCASE and quiet[0] <= j.items[t].given <= quiet[1]:
                                continue  # journal 1's next lessons stay plain lessons (see the docstring)
                            label = (j.subject, wt)
                            if busy.get(j.items[t].given, label) == label:
                                j.items[t].work_type = wt
                                busy[j.items[t].given] = label
                                break
        # Smaller graded work (самостоятельная, тест) now and then; not оценочные процедуры.
        for j in self.journals.values():
            small = SMALL_WORK.get(j.subject)
            if not small or not j.graded:
                continue
            for k, it in enumerate(j.items):
                near = j.items[max(k - 1, 0):k + 2]
                if all(x.work_type == "lesson" for x in near) and self.rng.random() < 0.06:
                    it.work_type = small

    def _name_topics(self, j: Journal) -> None:
        topics = _topics(j.subject, j.info.parallel, j.elective)
        n = len(j.items)
        block: dict[int, int] = defaultdict(int)
        seen: dict[str, int] = defaultdict(int)
        previous = "lesson"
        for k, it in enumerate(j.items):
            ti = k * len(topics) // n
            topic = topics[ti]
            if it.work_type in CONTROL_TITLES:
                # A control work checks what was just studied: the topic of the lesson before.
                topic = topics[max(k - 1, 0) * len(topics) // n]
                seen[it.work_type] += 1
                titles = CONTROL_TITLES_QUOTED if "«" in topic else CONTROL_TITLES
                it.topic = titles[it.work_type].format(k=seen[it.work_type], t=topic)
            elif previous in ("control", "dictation"):
                it.topic = AFTER_CONTROL
            else:
                b = block[ti]
                block[ti] += 1
                it.topic = CONTINUED[b].format(t=topic) if b < len(CONTINUED) else f"{topic} (урок {b + 1})"
            previous = it.work_type

    # --- what happened ------------------------------------------------------------------

    def _past_days(self) -> list[str]:
        return sorted({d for j in self.journals.values() for d, _ in j.slots if d < self.today})

    def _cancellations(self) -> set[tuple[int, str, int]]:
        """Two lessons that did not take place, weeks ago, in 7Б and 9А (not 5А: tests and the
        showcase journal live there)."""
        days = self._past_days()
        if len(days) < 15:
            return set()
        found = set()
        for (parallel, letter), reason, back in zip([(7, "Б"), (9, "А")], CANCEL_REASONS, (30, 14)):
            day = days[max(len(days) - back, 0)]
            for jid, j in self.journals.items():
                if (j.info.row["target_name"] == f"{parallel}{letter}" and j.subject != "Английский язык"
                        and any(d == day for d, _ in j.slots)):
                    n = next(n for d, n in j.slots if d == day)
                    found.add((jid, day, n))
                    self.cancel_reasons[(jid, day, n)] = reason
                    break
        return found

    def _substitutions(self, cancelled) -> dict[tuple[int, str, int], tuple[int, str]]:
        """A few days on which a teacher was ill or away: another teacher of the subject who is
        free at that lesson takes it (teacher01 once, early in the year, and two others)."""
        days = self._past_days()
        if len(days) < 20:
            return {}
        busy = {(j.info.row["teacher_id"], wd, n) for j in self.journals.values()
                for wd, ns in j.info.slots.items() for n in ns}
        staff = self.src.staff
        by_login = {s["login"]: p for p, s in staff.items()}
        candidates = sorted(p for p, s in staff.items() if s["roles"] == {"teacher"} and s["position"] != PRIMARY
                            and s["login"] not in OUTSIDERS | {"teacher01"})
        away = [(by_login["teacher01"], days[min(20, len(days) - 15):][:2], SUBSTITUTION_REASONS[0])]
        for i, reason in enumerate(SUBSTITUTION_REASONS[1:]):
            person = self.rng.choice(candidates)
            start = self.rng.randrange(5, len(days) - 12)
            away.append((person, days[start:start + self.rng.randint(1, 3)], reason))
        taken: set[tuple[int, str, int]] = set()
        result = {}
        for person, off, reason in away:
            for jid, j in self.journals.items():
                if j.info.row["teacher_id"] != person:
                    continue
                for d, n in j.slots:
                    if d not in off or (jid, d, n) in cancelled:
                        continue
                    wd = date.fromisoformat(d).isoweekday()
                    free = [p for p, s in staff.items()
                            if s["roles"] == {"teacher"} and p != person and s["login"] not in OUTSIDERS
                            and (p, wd, n) not in busy and (p, d, n) not in taken and s["position"] != PRIMARY
                            and all(p != q for q, o, _ in away if d in o)]
                    same = [p for p in free if any(pos in staff[p]["position"] and j.subject in subjects
                                                   for pos, subjects in BY_POSITION.items())]
                    pool = sorted(same or free)
                    if pool:
                        sub = self.rng.choice(pool)
                        taken.add((sub, d, n))
                        result[(jid, d, n)] = (sub, reason)
        return result

    def _absences(self) -> dict[tuple[int, str], str]:
        """Whole days away: ill for three to seven school days now and then (Б), a family
        reason now and then (У)."""
        days = self._past_days()
        students = sorted({s["id"] for m in self.src.members.values() for s in m})
        marks = {}
        if not days:
            return marks
        for s in students:
            spells = (self.rng.random() < 0.4) + (self.rng.random() < 0.08)
            for _ in range(spells):
                start = self.rng.randrange(len(days))
                for d in days[start:start + self.rng.randint(3, 7)]:
                    marks[(s, d)] = "Б"
            for _ in range(int(self.rng.random() < 0.25)):
                d = self.rng.choice(days)
                marks.setdefault((s, d), "У")
        return marks

    def _ability(self, student: int, subject: str) -> float:
        if student not in self.ability:
            self.ability[student] = min(4.9, max(2.7, self.rng.gauss(3.95, 0.6)))
        key = (student, subject)
        if key not in self.subject_bias:
            self.subject_bias[key] = self.rng.gauss(0, 0.25) + LENIENT.get(subject, 0)
        return self.ability[student] + self.subject_bias[key]

    def _grade(self, student: int, subject: str, control: bool) -> str:
        if subject in PASS_FAIL:
            return "зч" if self.rng.random() < 0.96 else "нз"
        x = self._ability(student, subject) + self.rng.gauss(-0.15 if control else 0.0, 0.8 if control else 0.7)
        return str(min(5, max(2, int(x + 0.5))))

    def _lessons(self, jid: int, j: Journal, cancelled, substitutions, absences, grades, homework_days) -> None:
        src, rng = self.src, self.rng
        teacher = src.staff[j.info.row["teacher_id"]]["account"]
        periods = [p for p in src.periods if p["kind"] == j.info.period_kind]
        past = [s for s in j.held if s[0] < self.today]
        tail = set(past[-EMPTY_TAIL:]) if jid == SHOWCASE else set()
        counts: dict[tuple[int, int], int] = defaultdict(int)
        members = src.members[jid]
        hw = HOMEWORK.get(j.subject)
        band = 0 if j.info.parallel <= 4 else 1 if j.info.parallel <= 6 else 2 if j.info.parallel <= 9 else 3
        for d, n in j.slots:
            if d >= self.today:
                break
            if (jid, d, n) in cancelled:
                self.out.lessons[d].append((bulk.LessonIn(
                    jid, d, n, "", src.deputy_account, status="cancelled",
                    status_reason=self.cancel_reasons[(jid, d, n)], at=_at(d, self._bell(n), -30)), None))
        for k, (d, n) in enumerate(past):
            if (d, n) in tail:
                continue
            it = j.items[k]
            key = (jid, d, n)
            start = self._bell(n)
            sub = substitutions.get(key)
            if sub:  # the deputy records the substitution; the substitute fills the lesson
                lesson = bulk.LessonIn(jid, d, n, it.topic, src.deputy_account, it.work_type, status="substituted",
                                       substitute_id=sub[0], status_reason=sub[1], at=_at(d, start, 1))
                writer = src.staff[sub[0]]["account"]
            else:
                lesson = bulk.LessonIn(jid, d, n, it.topic, teacher, it.work_type, at=_at(d, start, 1))
                writer = teacher
            self.out.lessons[d].append((lesson, it.number))
            period = next((p for p in periods if p["starts_on"] <= d <= p["ends_on"]), None)
            active = [s["id"] for s in members if s["from"] <= d and (s["to"] is None or s["to"] >= d)]
            marks = {}
            for s in active:
                mark = absences.get((s, d))
                if mark is None:
                    r = rng.random()
                    late = 0.02 if n == 1 else 0.004
                    skip = 0.006 if j.info.parallel >= 7 else 0.002
                    mark = "ОП" if r < late else "Н" if r < late + skip else None
                if mark:
                    marks[s] = mark
            present = [s for s in active if marks.get(s) not in ABSENT]
            graded: list[int] = []
            if j.graded and present:
                if it.work_type in src.controls:
                    graded = present
                elif it.work_type != "lesson":
                    graded = rng.sample(present, max(1, len(present) * rng.randint(5, 7) // 10))
                else:
                    hours = j.info.row["hours_per_week"]
                    want = rng.randint(6, 10) if hours <= 1 else rng.randint(4, 8) if hours <= 2 else rng.randint(3, 7)
                    pid = period["id"] if period else 0
                    graded = sorted(present, key=lambda s: counts[(pid, s)] + rng.random() * 2)[:want]
            # «Посещаемость отмечена» at the start of the lesson — forgotten now and then (its own
            # generator: the journal's draws above stay as they were), more often by one teacher,
            # so that journal control has something to find.
            if self.register_rng.random() >= (0.25 if j.info.row["teacher_id"] == self.forgetful else 0.01):
                self.out.registers[d].append((key, bulk.RegisterIn(0, writer, _at(d, start, 3))))
            cell_at = _at(d, start, rng.randint(10, 40))
            for s in sorted(set(graded) | set(marks)):
                values: list[tuple[str, str]] = []
                if s in graded:
                    control = it.work_type in src.controls
                    wt = it.work_type
                    if wt == "lesson" and rng.random() < 0.12:
                        wt = "homework"  # checked homework: the teacher changed the grade's type
                    values.append((self._grade(s, j.subject, control), wt))
                    if it.work_type == "dictation":  # грамотность / задание
                        values.append((self._grade(s, j.subject, control), wt))
                    if period:
                        counts[(period["id"], s)] += 1
                        grades[(jid, period["id"], s)] += [(v, src.weights[w]) for v, w in values]
                self.out.cells[d].append((key, bulk.CellIn(0, s, writer, marks.get(s), values, cell_at)))
            if hw and j.info.parallel > 1 and rng.random() < hw[0]:
                lo, hi = hw[1][band]
                text = rng.choice(hw[2]).format(**self._numbers(k, len(j.items)))
                minutes = max(5, rng.randint(lo, hi) // 5 * 5)
                item = bulk.HomeworkIn(0, text, minutes, writer, _at(d, start, 42))
                self.out.homework[d].append((key, item))
                homework_days[(j.info.row["home_class_id"], d)].append(item)

    def _numbers(self, k: int, n: int) -> dict[str, int]:
        """Pages, exercises, paragraphs that grow through the year, for the homework wording."""
        r = self.rng
        n1 = 1 + k * 1200 // n
        n2 = n1 + r.randint(1, 3)
        q = r.randint(2, 6)
        p = 5 + k * 240 // n
        u = 1 + k * 600 // n
        return {"par": 1 + k * 30 // n, "p": p, "p3": p + 3, "p5": p + 5, "u": u, "u2": u + 2, "q": q, "q2": q + 2,
                "w": 3 + k * 90 // n, "m": 1 + k * 8 // n, "n1": n1, "n2": n2, "n3": n2 + r.randint(1, 4)}

    def _bell(self, n: int) -> str:
        return self.src.bells.get(n, "15:15")

    def _limit_homework(self, days: dict[tuple[int, str], list[bulk.HomeworkIn]]) -> None:
        """SanPiN: a class's homework for one day stays under the limit of its parallel, with a
        margin (both English subgroups count, as the warning counts them)."""
        parallel = {j.info.row["home_class_id"]: j.info.parallel for j in self.journals.values()}
        for (class_id, _), items in days.items():
            if class_id is None:
                continue
            cap = HOMEWORK_LIMIT_MINUTES.get(parallel[class_id], 60) * 0.9
            total = sum(h.minutes for h in items)
            if total > cap:
                for h in items:
                    h.minutes = max(5, int(h.minutes * cap / total) // 5 * 5)

    def _period_grades(self, grades) -> None:
        """At each period's end the teacher sets the forecast; н/а when a student has no grades."""
        for jid, j in self.journals.items():
            if not j.graded:
                continue
            threshold = float(j.info.settings.get("forecast_threshold", "0.5"))
            account = self.src.staff[j.info.row["teacher_id"]]["account"]
            given: dict[int, list[str]] = defaultdict(list)
            # The year grade (a year that has ended: the demo's last year) from the period grades.
            for p in sorted(self.src.periods, key=lambda p: p["kind"] == "year"):
                if p["kind"] not in (j.info.period_kind, "year") or p["ends_on"] >= self.today:
                    continue
                for s in self.src.members[jid]:
                    if s["from"] > p["ends_on"] or (s["to"] is not None and s["to"] < p["starts_on"]):
                        continue
                    if p["kind"] == "year":
                        numeric = [(v, 1.0) for v in given[s["id"]] if v in ("5", "4", "3", "2")]
                        value = forecast(weighted_average(numeric), threshold) if numeric else None
                        if value is None:
                            value = "зч" if "зч" in given[s["id"]] else "н/а"
                    else:
                        got = grades.get((jid, p["id"], s["id"]), [])
                        value = forecast(weighted_average(got), threshold)
                        if value is None:
                            value = "зч" if any(v == "зч" for v, _ in got) else "н/а"
                        given[s["id"]].append(value)
                    self.out.period_grades[p["ends_on"]].append(bulk.PeriodGradeIn(
                        jid, p["id"], s["id"], value, account, _at(p["ends_on"], "15:00", self.rng.randint(0, 120))))
