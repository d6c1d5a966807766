"""The demo school's year: periods, holidays, subjects, English subgroups, an elective,
the teaching load after the federal curriculum (simplified) and a weekly timetable made
by a small greedy scheduler that respects teachers' and classes' double bookings.
Everything goes through the school area's own (audited) functions, so the demo also exercises
them; `actor` None: the demo acts as nobody's account."""

from __future__ import annotations

from ..school import structure

# Hours a week per parallel: {subject: {parallel: hours}} (ФООП, simplified).
CURRICULUM: dict[str, dict[int, int]] = {
    "Русский язык": {1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 6, 7: 4, 8: 3, 9: 3, 10: 2, 11: 2},
    "Литературное чтение": {1: 4, 2: 4, 3: 4, 4: 3},
    "Литература": {5: 3, 6: 3, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3},
    "Английский язык": {p: (2 if p <= 4 else 3) for p in range(2, 12)},
    "Математика": {1: 4, 2: 4, 3: 4, 4: 4, 5: 5, 6: 5},
    "Алгебра": {p: 3 for p in range(7, 12)},
    "Геометрия": {p: 2 for p in range(7, 12)},
    "Вероятность и статистика": {p: 1 for p in range(7, 12)},
    "Информатика": {p: 1 for p in range(7, 12)},
    "Окружающий мир": {1: 2, 2: 2, 3: 2, 4: 2},
    "Основы религиозных культур и светской этики": {4: 1},
    "История": {p: 2 for p in range(5, 12)},
    "Обществознание": {6: 1, 7: 1, 8: 1, 9: 1, 10: 2, 11: 2},
    "География": {5: 1, 6: 1, 7: 2, 8: 2, 9: 2, 10: 1, 11: 1},
    "Биология": {5: 1, 6: 1, 7: 1, 8: 2, 9: 2, 10: 1, 11: 1},
    "Физика": {7: 2, 8: 2, 9: 3, 10: 2, 11: 2},
    "Химия": {8: 2, 9: 2, 10: 1, 11: 1},
    "Музыка": {p: 1 for p in range(1, 9)},
    "Изобразительное искусство": {p: 1 for p in range(1, 8)},
    "Труд (технология)": {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 2, 8: 1, 9: 1},
    "Основы безопасности и защиты Родины": {8: 1, 9: 1, 10: 1, 11: 1},
    "Физическая культура": {p: 2 for p in range(1, 12)},
}
SHORT = {"Русский язык": "Рус. яз.", "Литературное чтение": "Лит. чт.", "Английский язык": "Англ. яз.",
         "Вероятность и статистика": "ВиС", "Окружающий мир": "Окр. мир",
         "Основы религиозных культур и светской этики": "ОРКСЭ", "Изобразительное искусство": "ИЗО",
         "Труд (технология)": "Труд", "Основы безопасности и защиты Родины": "ОБЗР",
         "Физическая культура": "Физ-ра"}
# Which subject teacher's position teaches which subjects (grades 5–11; English from 2).
BY_POSITION = {
    "учитель русского языка и литературы": ("Русский язык", "Литература"),
    "учитель математики": ("Математика", "Алгебра", "Геометрия", "Вероятность и статистика"),
    "учитель английского языка": ("Английский язык",),
    "учитель истории и обществознания": ("История", "Обществознание"),
    "учитель физики": ("Физика",),
    "учитель химии": ("Химия",),
    "учитель биологии": ("Биология",),
    "учитель географии": ("География",),
    "учитель информатики": ("Информатика",),
    "учитель физической культуры": ("Физическая культура",),
    "учитель музыки": ("Музыка",),
    "учитель изобразительного искусства": ("Изобразительное искусство",),
    "учитель технологии": ("Труд (технология)",),
    "учитель ОБЗР": ("Основы безопасности и защиты Родины",),
}
# In primary school the class teacher teaches everything but these.
PRIMARY_SPECIALISTS = {"Английский язык", "Музыка", "Физическая культура"}
BELLS = [(1, "08:30", "09:15"), (2, "09:25", "10:10"), (3, "10:30", "11:15"), (4, "11:35", "12:20"),
         (5, "12:30", "13:15"), (6, "13:25", "14:10"), (7, "14:20", "15:05")]


def periods_of(start: int) -> tuple[list, list]:
    """Quarters, halves and the year; holidays — the usual Russian calendar, in `start`/`start+1`."""
    y0, y1 = start, start + 1
    periods = [
        ("quarter", 1, f"{y0}-09-01", f"{y0}-10-24"), ("quarter", 2, f"{y0}-11-05", f"{y0}-12-28"),
        ("quarter", 3, f"{y1}-01-12", f"{y1}-03-21"), ("quarter", 4, f"{y1}-04-01", f"{y1}-05-26"),
        ("half", 1, f"{y0}-09-01", f"{y0}-12-28"), ("half", 2, f"{y1}-01-12", f"{y1}-05-26"),
        ("year", 1, f"{y0}-09-01", f"{y1}-05-26"),
    ]
    holidays = [("Осенние каникулы", f"{y0}-10-25", f"{y0}-11-04"),
                ("Зимние каникулы", f"{y0}-12-29", f"{y1}-01-11"),
                ("Весенние каникулы", f"{y1}-03-22", f"{y1}-03-31")]
    return periods, holidays


def fill(conn, plan: dict, year_id: int, classes: list[dict], members: bool = True) -> list[tuple[int, list[int]]]:
    """`classes`: dicts with id, parallel, letter, teacher (Person) and students (Persons with ids).
    `members` False: the groups are made empty (their students are not enrolled in this year
    yet: the demo's promotion enrols them) and (group, student ids) are returned to fill later."""
    start = plan["start"]
    pending: list[tuple[int, list[int]]] = []
    periods, holidays = periods_of(start)
    for kind, number, a, b in periods:
        structure.save_period(conn, None, year_id, kind, number, a, b)
    for name, a, b in holidays:
        structure.add_holiday(conn, None, year_id, name, a, b)
    for number, a, b in BELLS:
        structure.save_bell(conn, None, year_id, number, a, b)
    # Subjects are the school's, not a year's: the second year the demo builds finds them made.
    known = {r["name"]: r["id"] for r in structure.subjects(conn)}
    subject_ids = {name: known.get(name) or structure.save_subject(conn, None, name, SHORT.get(name, ""))
                   for name in CURRICULUM}

    staff = plan["staff"]
    by_subject: dict[str, list] = {}
    for p in staff:
        for pos, subjects in BY_POSITION.items():
            if p.position and pos in p.position:
                for s in subjects:
                    by_subject.setdefault(s, []).append(p)
    deputy = next(p for p in staff if p.login == "deputy")
    load: dict[int, float] = {}

    def teacher_for(subject: str, cls: dict):
        if cls["parallel"] <= 4 and subject not in PRIMARY_SPECIALISTS:
            return cls["teacher"]
        if subject == "Алгебра" and (cls["parallel"], cls["letter"]) == (11, "Б"):
            return deputy  # the deputy teaches one class, as deputies do
        pool = by_subject[subject]
        return min(pool, key=lambda t: (load.get(t.id, 0), t.login))

    lessons: dict[int, list[tuple[list[int], list[int]]]] = {}  # class id → [(journal ids, teacher ids)] per hour
    for cls in classes:
        items = []
        for subject, hours in CURRICULUM.items():
            h = hours.get(cls["parallel"])
            if not h:
                continue
            if subject == "Английский язык":
                # Two subgroups, split alphabetically; both have English at the same time.
                half = (len(cls["students"]) + 1) // 2
                pair = []
                for n, group in ((1, cls["students"][:half]), (2, cls["students"][half:])):
                    teacher = teacher_for(subject, cls)
                    ids = [s.id for s in group]
                    group_id = structure.save_group(conn, None, year_id, f"{cls['parallel']}{cls['letter']} англ. {n}",
                                                    "subgroup", cls["id"], ids if members else [], f"{start}-09-01")
                    if not members:
                        pending.append((group_id, ids))
                    jid = structure.save_journal(conn, None, year_id, subject_ids[subject], None, group_id, teacher.id,
                                                 h)
                    load[teacher.id] = load.get(teacher.id, 0) + h
                    pair.append((jid, teacher.id))
                items += [([j for j, _ in pair], [t for _, t in pair])] * h
                continue
            teacher = teacher_for(subject, cls)
            jid = structure.save_journal(conn, None, year_id, subject_ids[subject], cls["id"], None, teacher.id, h)
            load[teacher.id] = load.get(teacher.id, 0) + h
            items += [([jid], [teacher.id])] * h
        lessons[cls["id"]] = items
    pending += _elective(conn, plan, year_id, classes, subject_ids, members)
    _timetable(conn, classes, lessons)
    return pending


def _elective(conn, plan, year_id, classes, subject_ids, members: bool = True) -> list[tuple[int, list[int]]]:
    """An elective across 10А–11Б, taught after the main lessons."""
    seniors = [s.id for c in classes if c["parallel"] >= 10 for s in c["students"][:4]]
    group_id = structure.save_group(conn, None, year_id, "Факультатив «Решение олимпиадных задач»", "elective",
                                    None, seniors if members else [], f"{plan['start']}-09-01")
    teacher = next(p for p in plan["staff"] if p.position == "учитель математики")
    jid = structure.save_journal(conn, None, year_id, subject_ids["Математика"], None, group_id, teacher.id, 1)
    structure.add_slot(conn, None, jid, 4, 8, "21")
    return [] if members else [(group_id, seniors)]


def _timetable(conn, classes: list[dict], lessons: dict) -> None:
    """Greedy: each class's hours spread over Monday–Friday, first free lesson of a day
    where neither the class nor any of the lesson's teachers is busy."""
    teacher_busy: set[tuple[int, int, int]] = set()
    for cls in classes:
        max_lessons = 5 if cls["parallel"] == 1 else 6 if cls["parallel"] <= 4 else 7
        class_busy: set[tuple[int, int]] = set()
        items = sorted(lessons[cls["id"]], key=lambda it: -sum(1 for x in lessons[cls["id"]] if x == it))
        day = 0
        seen_per_day: dict[tuple[int, int], int] = {}
        for journal_ids, teacher_ids in items:
            placed = False
            for attempt in range(5):
                d = (day + attempt) % 5 + 1
                # Not the same subject twice a day while other days have room.
                if seen_per_day.get((d, journal_ids[0]), 0) and attempt < 4:
                    continue
                for n in range(1, max_lessons + 1):
                    if (d, n) in class_busy or any((t, d, n) in teacher_busy for t in teacher_ids):
                        continue
                    for jid in journal_ids:
                        structure.add_slot(conn, None, jid, d, n, "")
                    class_busy.add((d, n))
                    teacher_busy.update((t, d, n) for t in teacher_ids)
                    seen_per_day[(d, journal_ids[0])] = 1
                    placed = True
                    break
                if placed:
                    break
            day = (day + 1) % 5
