"""Each report as one plain function over one read snapshot: parse what was asked, decide who
may see it (scope.py), compute (results, progress, attendance, movement, summary, control),
and hand back a `Report` — the same tables for the page, the printout, the XLSX and the API."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date

from ..errors import Forbidden, NotFound
from ..timeutil import ru_date
from ..web.forms import int_or_none
from . import attendance, control, movement, progress, remarks, results, scope, summary
from .scope import ReportError, Span
from .table import TEXT, Column, Table, pct

DEFAULT_THRESHOLD = 30.0


@dataclass
class Report:
    title: str
    span: Span | None
    tables: list[Table]
    school: str = ""
    lines: list[str] = field(default_factory=list)     # under the title: what the report covers
    notes: list[str] = field(default_factory=list)     # under the tables: how figures are made
    form: dict = field(default_factory=dict)           # the filter form's choices and values
    extra: dict = field(default_factory=dict)          # what a page of its own shows besides
    file_name: str = "отчёт"

    @property
    def landscape(self) -> bool:
        return any(t.landscape for t in self.tables)

    def heading(self) -> list[str]:
        return [self.title, self.school, *self.lines]


def _school(conn) -> str:
    row = conn.execute("SELECT name FROM school WHERE id = 1").fetchone()
    return row[0] if row else ""


def _span(conn, q: dict, today: str) -> Span:
    return scope.span(conn, int_or_none(q.get("period")), q.get("from") or None, q.get("to") or None, today)


def _form(conn, span: Span, q: dict, **extra) -> dict:
    return {"periods": scope.periods(conn, span.year_id), "span": span, "q": q, **extra}


def _source_line(sheet: results.Sheet) -> str:
    s = sheet.sources
    if not s["period"] and not s["current"]:
        return "Результатов нет."
    if not s["period"]:
        return "Итоговых отметок за этот период нет: результаты — прогноз по текущим средневзвешенным отметкам."
    if not s["current"]:
        return "Результаты — итоговые отметки за период."
    return (f"Результаты — итоговые отметки, где они выставлены ({s['period']}), и прогноз по текущим "
            f"средневзвешенным отметкам, где их нет ({s['current']}).")


PROGRESS_NOTES = [
    "Учащиеся — те, кто числится в классе в последний день периода (для идущего периода — сегодня). "
    "Предметы — журналы класса и его групп (подгруппы, индивидуальное и домашнее обучение); "
    "элективы и ИГЗ не учитываются.",
    "Успеваемость — доля учащихся без «2» (нз) и без н/а; качество — доля учащихся на «5» и на «4» и «5». "
    "По предметам и учителям — доли результатов; зч и осв в долях не учитываются.",
    "СОУ = (100·n5 + 64·n4 + 36·n3 + 16·n2) ÷ число отметок; средний балл — среднее итоговых результатов.",
]


def class_ids_for(conn, user, q: dict, span: Span) -> list[int] | None:
    cid = scope.default_class(conn, user, int_or_none(q.get("class_id")), span.year_id)
    return None if cid is None else [cid]


def progress_report(conn: sqlite3.Connection, user, q: dict, today: str) -> Report:
    """Успеваемость и качество by class, parallel, subject, teacher or the school."""
    span = _span(conn, q, today)
    class_ids = class_ids_for(conn, user, q, span)
    by = q.get("by") if q.get("by") in progress.BY else ("subject" if class_ids else "class")
    sheet = results.sheet(conn, span, today, class_ids=class_ids)
    tables = [progress.progress_table(sheet, by)]
    if by not in ("subject", "school"):
        tables.append(progress.progress_table(sheet, "subject"))
    lines = [span.label, _scope_line(sheet, class_ids), _source_line(sheet)]
    return Report("Успеваемость и качество знаний", span, tables, _school(conn), lines, PROGRESS_NOTES,
                  _form(conn, span, q, by=by, classes=_classes_choice(conn, user, span)), file_name="успеваемость")


def _scope_line(sheet: results.Sheet, class_ids) -> str:
    if class_ids:
        return f"Класс {sheet.classes[class_ids[0]]['name']}" if class_ids[0] in sheet.classes else ""
    return "Вся школа"


def _classes_choice(conn, user, span: Span) -> list[dict]:
    if scope.is_admin(user):
        return list(results.classes_of(conn, span.year_id).values())
    return [dict(c) for c in scope.led_classes(conn, user, span.year_id)]


def results_report(conn: sqlite3.Connection, user, q: dict, today: str) -> Report:
    """Итоги успеваемости: the lists of students by category, with subjects and reasons."""
    span = _span(conn, q, today)
    class_ids = class_ids_for(conn, user, q, span)
    sheet = results.sheet(conn, span, today, class_ids=class_ids)
    absences = attendance.collect(conn, span, today, class_ids)
    table = progress.results_table(sheet, attendance.unrated_reasons(absences))
    counts = progress.category_counts(sheet)
    lines = [span.label, _scope_line(sheet, class_ids), _source_line(sheet),
             "; ".join(f"{progress.CATEGORY[k].lower()}: {v}" for k, v in counts.items())]
    return Report("Итоги успеваемости", span, [table], _school(conn), lines, PROGRESS_NOTES[:2],
                  _form(conn, span, q, classes=_classes_choice(conn, user, span)), file_name="итоги")


def attendance_report(conn: sqlite3.Connection, user, q: dict, today: str) -> Report:
    """Посещаемость per student (a class) or per class (the school), and those above the threshold."""
    span = _span(conn, q, today)
    class_ids = class_ids_for(conn, user, q, span)
    try:
        threshold = float((q.get("threshold") or str(DEFAULT_THRESHOLD)).replace(",", "."))
    except ValueError:
        raise ReportError("Порог: число процентов, например 30.") from None
    if not 0 < threshold <= 100:
        raise ReportError("Порог: от 1 до 100 процентов.")
    rows = attendance.collect(conn, span, today, class_ids)
    classes = results.classes_of(conn, span.year_id)
    tables = []
    if class_ids is None:
        tables.append(attendance.class_table(rows, classes, span))
    else:
        tables.append(attendance.student_table(rows, classes, threshold))
    tables.append(attendance.over_table(rows, classes, threshold))
    lines = [span.label + (f" (по {ru_date(min(span.end, today))})" if span.end > today else ""),
             "Вся школа" if class_ids is None else f"Класс {classes[class_ids[0]]['name']}"]
    notes = ["Уроки учащегося — проведённые уроки (не отменённые) журналов его класса и групп в дни, когда он в них "
             "числился. Пропуск — Н, Б или У; ОП — опоздание. Один урок — один академический час. День пропущен "
             "целиком, если учащийся отсутствовал на всех своих уроках этого дня."]
    return Report("Посещаемость", span, tables, _school(conn), lines, notes,
                  _form(conn, span, q, threshold=threshold, classes=_classes_choice(conn, user, span)),
                  file_name="посещаемость")


def movement_report(conn: sqlite3.Connection, user, q: dict, today: str) -> Report:
    """Наполняемость on a date and движение in a span (the administration)."""
    scope.require_admin(user)
    span = _span(conn, q, today)
    on = q.get("date") or min(span.end, today)
    try:
        on = date.fromisoformat(on).isoformat()
    except ValueError:
        raise ReportError("Дата наполняемости: ГГГГ-ММ-ДД.") from None
    tables = [movement.sizes(conn, span.year_id, on), movement.balance(conn, span), movement.movement(conn, span)]
    tables[0].title = f"Наполняемость классов на {ru_date(on)}"
    return Report("Наполняемость и движение учащихся", span, tables, _school(conn), [span.label],
                  ["Прибывшие в первый день периода входят в список на его начало; выбывший в последний день "
                   "периода числится на его конец."], _form(conn, span, q, on=on), file_name="движение")


def summary_data(conn: sqlite3.Connection, user, class_id: int, q: dict, today: str) -> dict:
    cls = scope.class_for(conn, user, class_id)
    return summary.summary(conn, cls, int_or_none(q.get("period")), today)


def summary_report(conn: sqlite3.Connection, user, class_id: int, q: dict, today: str) -> Report:
    data = summary_data(conn, user, class_id, q, today)
    cls = data["class"]
    t = summary.table(data)
    return Report("Сводная ведомость учёта успеваемости", None, [t], _school(conn),
                  [f"{cls['name']} класс, {cls['year_name']} учебный год"], [t.note],
                  {"periods": data["periods"], "q": q, "class": cls},
                  file_name=f"ведомость-{cls['name']}")


def analysis_report(conn: sqlite3.Connection, user, class_id: int, q: dict, today: str) -> Report:
    """The class teacher's analysis of a period (§3.3.2): progress, results, attendance and the
    problems of the class, for the parents' meeting."""
    cls = scope.class_for(conn, user, class_id)
    q = {**q}
    if not q.get("period") and not q.get("from"):
        span = scope.span(conn, None, None, None, today, cls["period_kind"])
    else:
        span = _span(conn, q, today)
    sheet = results.sheet(conn, span, today, class_ids=[cls["id"]])
    absences = attendance.collect(conn, span, today, [cls["id"]])
    classes = results.classes_of(conn, span.year_id)
    threshold = DEFAULT_THRESHOLD
    reasons = attendance.unrated_reasons(absences)
    standings = progress.standings(sheet, reasons)
    t = progress.Tally()
    for st in standings:
        t.add_student(st, [o for _, o in sheet.of(st.student)])
    missed = sum(r.missed for r in absences.values())
    lessons = sum(r.lessons for r in absences.values())
    facts = [
        f"Учащихся: {t.students}. На «5»: {t.excellent}, на «4» и «5»: {t.good}, с одной «3»: {t.one3}, "
        f"с «2»: {t.failed}, не аттестованы: {t.unrated}.",
        f"Успеваемость {_pct(pct(t.passed, t.students))}, качество {_pct(pct(t.excellent + t.good, t.students))}, "
        f"СОУ {_pct(t.sou)}, средний балл {_num(t.mean)}.",
        f"Пропущено уроков: {missed} из {lessons} ({_pct(pct(missed, lessons))}), по болезни "
        f"{sum(r.marks['Б'] for r in absences.values())}, без уважительной причины "
        f"{sum(r.marks['Н'] for r in absences.values())}; опозданий {sum(r.marks['ОП'] for r in absences.values())}.",
    ]
    c = classes.get(cls["id"], {})
    signer = results.short_name(c["t_last"], c["t_first"], c["t_middle"]) if c.get("t_last") else ""
    tables = [progress.progress_table(sheet, "subject", links=False), progress.results_table(sheet, reasons),
              attendance.student_table(absences, classes, threshold), attendance.over_table(absences, classes, threshold)]
    tables[0].title = "Успеваемость по предметам"
    return Report(f"Анализ успеваемости и посещаемости {cls['name']} класса", span, tables, _school(conn),
                  [span.label, _source_line(sheet)], PROGRESS_NOTES[:1],
                  _form(conn, span, q, **{"class": cls}), extra={"facts": facts, "class": cls, "signer": signer},
                  file_name=f"анализ-{cls['name']}")


def _pct(v) -> str:
    return "—" if v is None else f"{v:.1f}".replace(".", ",") + " %"


def _num(v) -> str:
    return "—" if v is None else f"{v:.2f}".replace(".", ",")


def teacher_report(conn: sqlite3.Connection, user, q: dict, today: str, min_grades: int) -> Report:
    """A teacher's own journals in the current (or chosen) period: averages, quality, the
    students at risk. The administration may look at any teacher's (`teacher`)."""
    teacher_id = int_or_none(q.get("teacher")) or user.person_id
    if teacher_id != user.person_id and not scope.is_admin(user):
        raise Forbidden("Это отчёт по журналам другого учителя (п. 2.6 Регламента).")
    span = _span(conn, q, today)
    teacher = conn.execute("SELECT last_name, first_name, middle_name FROM person WHERE id = ?", (teacher_id,)
                           ).fetchone()
    if teacher is None:
        raise NotFound("Такого учителя нет.")
    journals = [j for j in results.journals_of(conn, span.year_id).values() if j["teacher_id"] == teacher_id]
    sheet = results.sheet(conn, span, today, journal_ids=[j["id"] for j in journals])
    table, rows = progress.teacher_table(sheet, journals, min_grades)
    teachers = ([dict(r) for r in conn.execute(
        "SELECT DISTINCT p.id, p.last_name, p.first_name, p.middle_name FROM journal j JOIN person p ON p.id = j.teacher_id"
        " WHERE j.year_id = ? AND j.archived_at IS NULL ORDER BY p.last_name COLLATE RU, p.first_name COLLATE RU", (span.year_id,))]
                if scope.is_admin(user) else [])
    name = results.full_name(teacher["last_name"], teacher["first_name"], teacher["middle_name"])
    return Report("Мои журналы: успеваемость и учащиеся в зоне риска" if teacher_id == user.person_id
                  else "Журналы учителя: успеваемость и учащиеся в зоне риска", span,
                  [table, progress.risk_table(rows)], _school(conn), [f"Учитель: {name}", span.label, _source_line(sheet)],
                  [f"Средний балл (текущий) — среднее средневзвешенных отметок учащихся за период; средний результат — "
                   f"среднее итоговых (или прогнозных) отметок. В зоне риска — «2» (итоговая или по прогнозу), н/а, "
                   f"нет отметок или меньше {min_grades} отметок."],
                  _form(conn, span, q, teachers=teachers, teacher_id=teacher_id), file_name="мои-журналы")


# --- journal control -------------------------------------------------------------------------

CHECKED = [
    "наличие календарно-тематических планов (КТП) и их соответствие расписанию;",
    "своевременность записи уроков (тема урока в день его проведения);",
    "своевременность выставления отметок;",
    "периодичность текущего контроля (накопляемость отметок);",
    "отражение посещаемости занятий;",
    "выполнение образовательной программы;",
    "учёт замененных и не состоявшихся уроков.",
]


def _control_rows(conn, span: Span, today: str, q: dict, min_grades: int, grade_days: int):
    checks = control.checks(conn, span, today, min_grades=min_grades, grade_days=grade_days)
    teacher, class_id, subject = int_or_none(q.get("teacher")), int_or_none(q.get("class_id")), int_or_none(
        q.get("subject"))
    choices = {
        "jteachers": sorted({(c.journal["teacher_id"], c.journal["teacher_full"]) for c in checks}, key=lambda x: x[1]),
        "jclasses": sorted({(c.journal["home_class_id"], c.journal["target"]) for c in checks if c.journal["class_id"]},
                          key=lambda x: x[1]),
        "jsubjects": sorted({(c.journal["subject_id"], c.journal["subject"]) for c in checks}, key=lambda x: x[1]),
    }
    checks = [c for c in checks if (teacher is None or c.journal["teacher_id"] == teacher)
              and (class_id is None or c.journal["home_class_id"] == class_id)
              and (subject is None or c.journal["subject_id"] == subject)]
    return checks, choices


def control_settings(q: dict, min_grades: int, grade_days: int) -> tuple[int, int]:
    n = int_or_none(q.get("min_grades"))
    if n is not None and not 1 <= n <= 20:
        raise ReportError("Наименьшее число отметок: от 1 до 20.")
    return (n or min_grades), grade_days


def control_report(conn: sqlite3.Connection, user, q: dict, today: str, min_grades: int, grade_days: int) -> Report:
    """One school-wide table, one row per journal, sortable by any column, filtered by teacher,
    class or subject."""
    scope.require_admin(user)
    span = _span(conn, q, today)
    min_grades, grade_days = control_settings(q, min_grades, grade_days)
    checks, choices = _control_rows(conn, span, today, q, min_grades, grade_days)
    rows = [control.row(c, span) for c in checks]
    sort = int_or_none(q.get("sort"))
    if sort is not None and 0 <= sort < len(control.COLUMNS):
        key = lambda r: (r[sort].value if hasattr(r[sort], "value") else r[sort])  # noqa: E731
        present = [r for r in rows if key(r) is not None]
        rows = sorted(present, key=lambda r: (isinstance(key(r), str), key(r)), reverse=q.get("desc") == "1") + [
            r for r in rows if key(r) is None]
    table = Table("Контроль ведения журналов", control.COLUMNS, rows, landscape=True, compact=True)
    with_problems = sum(1 for c in checks if c.problems(span, min_grades, grade_days))
    upto = min(span.end, _yesterday(today))
    lines = [span.label, f"Проверено по {ru_date(upto)}. Журналов: {len(checks)}, с замечаниями: {with_problems}."]
    notes = [f"Темы — в день урока (п. 3.2.2); отметки — не позже {grade_days} дн. после урока; время записи — по журналу "
             f"изменений. Мало отметок — меньше {min_grades} за период. Выполнение программы — уроки, данные по темам "
             "КТП, от часов КТП, запланированных к дате проверки."]
    return Report("Контроль ведения электронных журналов", span, [table], _school(conn), lines, notes,
                  _form(conn, span, q, min_grades=min_grades, **choices), extra={"checks": checks},
                  file_name="контроль-журналов")


def _yesterday(today: str) -> str:
    return date.fromordinal(date.fromisoformat(today).toordinal() - 1).isoformat()


def control_detail(conn: sqlite3.Connection, user, journal_id: int, q: dict, today: str, min_grades: int,
                   grade_days: int) -> dict:
    """One journal's check: every problem with its link, the late lessons, substitutions and
    cancellations, the remarks."""
    scope.require_admin(user)
    span = _span(conn, q, today)
    min_grades, grade_days = control_settings(q, min_grades, grade_days)
    found = control.checks(conn, span, today, min_grades=min_grades, grade_days=grade_days, journal_ids=[journal_id])
    if not found:
        raise NotFound("Такого журнала нет.")
    c = found[0]
    return {"check": c, "span": span, "problems": c.problems(span, min_grades, grade_days),
            "remarks": remarks.for_journal(conn, journal_id, open_only=False), "min_grades": min_grades,
            "grade_days": grade_days, "form": _form(conn, span, q), "school": _school(conn), "today": today}


def certificate(conn: sqlite3.Connection, user, q: dict, today: str, min_grades: int, grade_days: int) -> Report:
    """Справка по итогам проверки электронных журналов for the span: what was checked, findings
    per teacher, remarks and deadlines; signed by the deputy (§3.4.4)."""
    scope.require_admin(user)
    span = _span(conn, q, today)
    checks, _ = _control_rows(conn, span, today, {}, min_grades, grade_days)
    by_teacher: dict[tuple, list] = {}
    for c in checks:
        by_teacher.setdefault((c.journal["t_last"], c.journal["t_first"], c.journal["teacher_full"]), []).append(c)
    findings = []
    for (_, _, name), mine in sorted(by_teacher.items()):
        for c in mine:
            problems = [t for t, _ in c.problems(span, min_grades, grade_days)]
            findings.append([name, f"{c.journal['subject']} — {c.journal['target']}",
                             " ".join(problems) if problems else "Замечаний нет."])
    remark_rows = [[r["teacher"], f"{r['subject']} — {r['target']}", r["text"], ru_date(r["due_on"]),
                    f"исправлено {ru_date(r['done_on'])}" if r["done_on"] else ("просрочено" if r["overdue"] else "")]
                   for r in remarks.for_span(conn, span.year_id, span.start, span.end, span.period_id)]
    total = len(checks)
    clean = sum(1 for c in checks if not c.problems(span, min_grades, grade_days))
    given = sum(c.given for c in checks)
    on_time = sum(c.on_time for c in checks)
    grades = sum(c.grades for c in checks)
    late_grades = sum(c.late_grades for c in checks)
    registers = sum(c.registers for c in checks)
    reg_total = registers + sum(len(c.unregistered) for c in checks)
    summary_lines = [
        f"Проверено журналов: {total}; без замечаний: {clean}, с замечаниями: {total - clean}.",
        f"КТП есть в {sum(1 for c in checks if c.plan_items)} журналах из {total}.",
        f"Уроков проведено: {given}; тема записана в день урока: {_pct(pct(on_time, given))}; "
        f"не записано тем: {sum(len(c.missing) for c in checks)}.",
        f"Отметок выставлено: {grades}, из них вовремя: {_pct(pct(grades - late_grades, grades))}.",
        f"Учащихся с числом отметок меньше {min_grades}: {sum(len(c.few) for c in checks)}.",
        f"Посещаемость отмечена на {_pct(pct(registers, reg_total))} уроков.",
        f"Замен: {sum(len(c.substituted) for c in checks)}, не состоялось уроков: {sum(len(c.cancelled) for c in checks)}.",
    ]
    tables = [Table("Результаты проверки по учителям", [Column("Учитель", TEXT, 30, "teacher"),
                                                        Column("Журнал", TEXT, 30, "journal"),
                                                        Column("Замечания", TEXT, 80, "findings")], findings),
              Table("Замечания и сроки исправления", [Column("Учитель", TEXT, 30, "teacher"),
                                                      Column("Журнал", TEXT, 30, "journal"),
                                                      Column("Замечание", TEXT, 60, "remark"),
                                                      Column("Срок", TEXT, 12, "due_on"),
                                                      Column("Отметка", TEXT, 18, "state")], remark_rows)]
    deputy = conn.execute("SELECT p.last_name, p.first_name, p.middle_name FROM person p WHERE p.id = ?",
                          (user.person_id,)).fetchone()
    teachers = sorted({c.journal["teacher_full"] for c in checks})
    return Report("Справка по итогам проверки электронных журналов", span, tables, _school(conn),
                  [span.label, f"Дата проверки: {ru_date(today)}"], [],
                  _form(conn, span, q), extra={"checked": CHECKED, "summary": summary_lines, "teachers": teachers,
                                               "signer": results.short_name(*deputy) if deputy else ""},
                  file_name="справка-проверка-журналов")
