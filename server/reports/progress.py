"""Успеваемость и качество, итоги успеваемости, the teacher's own journals — all from one
`results.Sheet` (one snapshot, the journal's own averages and forecasts).

Definitions (said on every page under the table):
- by students (class, parallel, school): на «5» — every result «5»; на «4» и «5» — only «4»
  and «5», at least one «4»; с одной «3»; с «2» — a «2» or нз in any subject; н/а — не
  аттестован or no grades in a subject. Успеваемость = students with neither «2» nor н/а ÷
  students; качество = (на «5» + на «4» и «5») ÷ students.
- by results (subject, teacher): each student's result in the subject counts once; зч and
  осв stay out of the shares. Успеваемость = results other than «2», нз, н/а ÷ results;
  качество = («5» + «4») ÷ results.
- СОУ (степень обученности) = (100·n5 + 64·n4 + 36·n3 + 16·n2) ÷ (n5 + n4 + n3 + n2), over
  the numeric results; средний балл = their mean."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .. import collation
from ..journal.rules import NUMERIC
from .results import FAILING, NEUTRAL, UNRATED, Outcome, Sheet, Standing, standing
from .table import GRADE, INT, NUM, PCT, TEXT, Cell, Column, Table, pct

SOU_WEIGHTS = {"5": 100, "4": 64, "3": 36, "2": 16}
BY = {"class": "по классам", "parallel": "по параллелям", "subject": "по предметам", "teacher": "по учителям",
      "school": "по школе"}
CATEGORY = {"excellent": "Отличники (на «5»)", "good": "Хорошисты (на «4» и «5»)", "one4": "С одной «4»",
            "one3": "С одной «3»", "failed": "Неуспевающие", "unrated": "Не аттестованы (н/а)"}


@dataclass
class Tally:
    students: int = 0
    excellent: int = 0
    good: int = 0
    one3: int = 0
    failed: int = 0
    unrated: int = 0
    passed: int = 0
    numeric: dict[str, int] = field(default_factory=lambda: {"5": 0, "4": 0, "3": 0, "2": 0})
    results: int = 0                      # results that count in the shares (not зч, осв)
    bad_results: int = 0                  # «2», нз, н/а, no grades
    unrated_results: int = 0

    def add_outcome(self, o: Outcome) -> None:
        if o.value in NUMERIC:
            self.numeric[o.value] = self.numeric.get(o.value, 0) + 1
        if o.value in NEUTRAL:
            return
        self.results += 1
        if o.value in FAILING or o.value in UNRATED:
            self.bad_results += 1
        if o.value in UNRATED:
            self.unrated_results += 1

    def add_student(self, st: Standing, outcomes: list[Outcome]) -> None:
        self.students += 1
        c = st.category
        self.excellent += c == "excellent"
        self.good += c == "good"
        self.one3 += c == "one3"
        self.failed += bool(st.failed)
        self.unrated += bool(st.unrated)
        self.passed += not st.failed and not st.unrated
        for o in outcomes:
            self.add_outcome(o)

    @property
    def sou(self) -> float | None:
        n = sum(self.numeric.values())
        return round(sum(SOU_WEIGHTS[k] * v for k, v in self.numeric.items()) / n, 1) if n else None

    @property
    def mean(self) -> float | None:
        n = sum(self.numeric.values())
        return round(sum(int(k) * v for k, v in self.numeric.items()) / n, 2) if n else None


STUDENT_COLUMNS = [
    Column("Учащихся", INT, 10, "students"), Column("На «5»", INT, 8, "excellent"),
    Column("На «4» и «5»", INT, 10, "good"), Column("С одной «3»", INT, 10, "one3"), Column("С «2»", INT, 8, "failed"),
    Column("Н/а", INT, 7, "unrated"), Column("Успеваемость", PCT, 13, "success_pct"),
    Column("Качество", PCT, 11, "quality_pct"), Column("СОУ", PCT, 9, "sou_pct"),
    Column("Средний балл", NUM, 10, "mean")]
RESULT_COLUMNS = [
    Column("Результатов", INT, 11, "results"), Column("«5»", INT, 6, "n5"), Column("«4»", INT, 6, "n4"),
    Column("«3»", INT, 6, "n3"), Column("«2»", INT, 6, "n2"), Column("Н/а", INT, 7, "unrated"),
    Column("Успеваемость", PCT, 13, "success_pct"), Column("Качество", PCT, 11, "quality_pct"),
    Column("СОУ", PCT, 9, "sou_pct"), Column("Средний балл", NUM, 10, "mean")]


def student_row(t: Tally) -> list:
    return [t.students, t.excellent, t.good, t.one3, t.failed, t.unrated, pct(t.passed, t.students),
            pct(t.excellent + t.good, t.students), t.sou, t.mean]


def result_row(t: Tally) -> list:
    n = t.numeric
    return [t.results, n["5"], n["4"], n["3"], n["2"], t.unrated_results, pct(t.results - t.bad_results, t.results),
            pct(n["5"] + n["4"], t.results), t.sou, t.mean]


def standings(sheet: Sheet, reasons: dict | None = None) -> list[Standing]:
    return [standing(sheet, s, reasons) for s in sheet.students.values() if s.journals]


def progress_table(sheet: Sheet, by: str, links: bool = True) -> Table:
    """Успеваемость и качество over the sheet, one row per class / parallel / subject / teacher,
    or one for the school; a total row below."""
    q = sheet.span.query()
    if by in ("class", "parallel", "school"):
        groups: dict = defaultdict(Tally)
        total = Tally()
        for st in standings(sheet):
            outs = [o for _, o in sheet.of(st.student)]
            cls = sheet.classes[st.student.class_id]
            key = {"class": cls["id"], "parallel": cls["parallel"], "school": 0}[by]
            groups[key].add_student(st, outs)
            total.add_student(st, outs)
        rows = []
        for key in sorted(groups, key=lambda k: (sheet.classes[k]["parallel"], sheet.classes[k]["letter"])
                          if by == "class" else k):
            if by == "class":
                name = sheet.classes[key]["name"]
                label = Cell(name, f"/reports/results?class_id={key}&{q}") if links else name
            else:
                label = f"{key} классы" if by == "parallel" else "Школа"
            rows.append([label] + student_row(groups[key]))
        first = {"class": "Класс", "parallel": "Параллель", "school": ""}[by]
        foot = [["Итого"] + student_row(total)] if by != "school" and rows else []
        return Table(f"Успеваемость и качество {BY[by]}", [Column(first or "Школа", TEXT, 14, "name")] + STUDENT_COLUMNS,
                     rows, foot, landscape=False)
    groups = defaultdict(Tally)
    total = Tally()
    names: dict = {}
    for s in sheet.students.values():
        for j, o in sheet.of(s):
            key = j["subject_id"] if by == "subject" else j["teacher_id"]
            names[key] = j["subject"] if by == "subject" else j["teacher_full"]
            groups[key].add_outcome(o)
            total.add_outcome(o)
    rows = [[names[k]] + result_row(groups[k]) for k in sorted(groups, key=lambda k: collation.key(names[k]))]
    first = "Предмет" if by == "subject" else "Учитель"
    return Table(f"Успеваемость и качество {BY[by]}", [Column(first, TEXT, 30, "name")] + RESULT_COLUMNS, rows,
                 [["Итого"] + result_row(total)] if rows else [])


def results_table(sheet: Sheet, reasons: dict) -> Table:
    """Итоги успеваемости: отличники, хорошисты, с одной «4», с одной «3», неуспевающие (with the
    subjects), не аттестованные (with the subjects and reasons), class by class."""
    rows = []
    order = ["excellent", "good", "one4", "one3", "failed", "unrated"]
    found: dict[str, list] = {k: [] for k in order}
    for st in standings(sheet, reasons):
        cls = sheet.classes[st.student.class_id]["name"]
        outs = sheet.of(st.student)
        if st.category == "excellent":
            found["excellent"].append((st, cls, ""))
        if st.category == "good":
            found["good"].append((st, cls, ""))
            if st.fours == 1:
                found["one4"].append((st, cls, next(j["subject"] for j, o in outs if o.value == "4")))
        if st.category == "one3":
            found["one3"].append((st, cls, next(j["subject"] for j, o in outs if o.value == "3")))
        if st.failed:
            found["failed"].append((st, cls, ", ".join(st.failed)))
        if st.unrated:
            found["unrated"].append((st, cls, "; ".join(f"{s} — {r}" if r else s for s, r in st.unrated)))
    for key in order:
        for st, cls, detail in sorted(found[key], key=lambda x: (_class_key(sheet, x[0]), collation.key(x[0].student.name))):
            rows.append([CATEGORY[key], cls, st.student.name, detail])
    return Table("Итоги успеваемости", [Column("Категория", TEXT, 26, "category"), Column("Класс", TEXT, 8, "class"),
                                        Column("Учащийся", TEXT, 34, "student"),
                                        Column("Предметы, причины", TEXT, 60, "detail")], rows)


def _class_key(sheet: Sheet, st: Standing) -> tuple:
    c = sheet.classes[st.student.class_id]
    return (c["parallel"], c["letter"])


def category_counts(sheet: Sheet) -> dict[str, int]:
    counts = {k: 0 for k in CATEGORY}
    for st in standings(sheet):
        if st.category in ("excellent", "good", "one3"):
            counts[st.category] += 1
        counts["one4"] += st.one_four
        counts["failed"] += bool(st.failed)
        counts["unrated"] += bool(st.unrated)
    return counts


def journal_row(sheet: Sheet, journal: dict, min_grades: int) -> dict:
    """One of a teacher's journals over the sheet: its students' mean of averages, quality,
    success and the students at risk (a «2» or no result, or fewer than `min_grades` grades)."""
    t = Tally()
    averages, risk, students = [], [], 0
    for s in sheet.students.values():
        if journal["id"] not in s.journals:
            continue
        students += 1
        o = sheet.outcomes[(s.id, journal["id"])]
        t.add_outcome(o)
        if o.average is not None:
            averages.append(o.average)
        why = []
        if o.value in FAILING:
            why.append(f"«{o.value}»" + (" (итоговая)" if o.source == "period" else " по прогнозу"))
        elif o.value in UNRATED:
            why.append("н/а" if o.value else "нет отметок")
        if o.grades < min_grades and o.value is not None and o.source == "current":
            why.append(f"отметок {o.grades} (меньше {min_grades})")
        if why:
            risk.append((s, o, "; ".join(why)))
    return {"journal": journal, "tally": t, "students": students,
            "mean": round(sum(averages) / len(averages), 2) if averages else None, "risk": risk}


def teacher_table(sheet: Sheet, journals: list[dict], min_grades: int) -> tuple[Table, list[dict]]:
    rows, out = [], []
    for j in journals:
        r = journal_row(sheet, j, min_grades)
        out.append(r)
        t = r["tally"]
        rows.append([Cell(f"{j['subject']} — {j['target']}", f"/journals/{j['id']}"
                          + (f"?period={sheet.span.period_id}" if sheet.span.period_id else "")),
                     r["students"], r["mean"], t.mean, pct(t.results - t.bad_results, t.results),
                     pct(t.numeric["5"] + t.numeric["4"], t.results),
                     Cell(len(r["risk"]), cls="warn" if r["risk"] else "")])
    cols = [Column("Журнал", TEXT, 34, "journal"), Column("Учащихся", INT, 10, "students"),
            Column("Средний балл (текущий)", NUM, 12, "mean_average"), Column("Средний результат", NUM, 12, "mean"),
            Column("Успеваемость", PCT, 13, "success_pct"), Column("Качество", PCT, 11, "quality_pct"),
            Column("В зоне риска", INT, 10, "at_risk")]
    return Table("Мои журналы", cols, rows), out


def risk_table(rows: list[dict]) -> Table:
    out = []
    for r in rows:
        j = r["journal"]
        for s, o, why in r["risk"]:
            out.append([f"{j['subject']} — {j['target']}", s.name, o.average, o.shown or "—", why])
    return Table("Учащиеся в зоне риска", [Column("Журнал", TEXT, 30, "journal"), Column("Учащийся", TEXT, 32, "student"),
                                           Column("Средний балл", NUM, 10, "average"),
                                           Column("Результат", GRADE, 9, "result"), Column("Почему", TEXT, 40, "why")],
                 out)
