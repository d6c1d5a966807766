"""Class lists: students with up to two parents each — the columns, the rows' parsing, and
the check of every row against one snapshot of the school (one query per table, then the
rows in memory). Students match by ФИО + date of birth; parents by ФИО among the same
student's parents, else by ФИО + phone or ФИО + e-mail — never by name alone."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from ... import clock
from ...tables import Spec, Table, normalize_header
from ...timeutil import ru_date
from .. import store
from ..errors import SchoolError
from ..validate import RELATIONS, STUDY_FORMS, parse_class_name, parse_date, parse_email, parse_phone, parse_sex
from .rows import (CONTACT_FIELDS, PERSON_FIELDS, STUDENTS, ImportFileError, ParentItem, Plan, StudentItem, cell,
                   person_name, query, same)

_STUDENT_FIELDS = {
    "class": ("Класс", ("класс",)),
    "birth": ("Дата рождения", ("дата рождения", "дата рожд", "д р", "др", "день рождения")),
    "sex": ("Пол", ("пол",)),
    "form": ("Форма обучения", ("форма обучения", "форма")),
}

_PARENT_FIELDS = {
    "relation": ("Кем приходится", ("кем приходится", "степень родства", "родство", "кем является")),
}

PARENTS = (1, 2)


def _parent_aliases(n: int) -> dict[str, str]:
    out = {}
    for key, (_, names) in {**PERSON_FIELDS, **_PARENT_FIELDS, **CONTACT_FIELDS}.items():
        for name in names:
            for prefix in (f"родитель {n}", f"представитель {n}", f"законный представитель {n}"):
                out[f"{prefix} {name}"] = f"p{n}_{key}"
            out[f"{name} родителя {n}"] = f"p{n}_{key}"
    return out


def _spec() -> Spec:
    titles = {"class": "Класс"}
    titles |= {k: t for k, (t, _) in PERSON_FIELDS.items() if k != "fio"}
    titles |= {k: t for k, (t, _) in _STUDENT_FIELDS.items() if k != "class"}
    for n in PARENTS:
        for key, (title, _) in {**PERSON_FIELDS, **_PARENT_FIELDS, **CONTACT_FIELDS}.items():
            if key != "fio":
                titles[f"p{n}_{key}"] = f"Родитель {n}: {title}"
    aliases = {a: k for k, (_, names) in {**PERSON_FIELDS, **_STUDENT_FIELDS}.items() for a in names}
    for n in PARENTS:
        aliases |= _parent_aliases(n)
    return Spec(STUDENTS, titles, aliases, ("class", "birth", "sex"))


SPEC = _spec()
HELP = [
    ("Класс", "например, 5А; класс должен уже быть в текущем учебном году"),
    ("Фамилия, Имя, Отчество", "обязательны Фамилия и Имя; вместо трёх столбцов можно один «ФИО»"),
    ("Дата рождения", "ДД.ММ.ГГГГ (или «Дата рожд.», «Д.р.»)"),
    ("Пол", "м или ж"),
    ("Форма обучения", "необязателен; " + ", ".join(STUDY_FORMS) + "; пусто — очная"),
    ("Родитель 1: Фамилия … Родитель 2: E-mail",
     "необязательны; для каждого родителя: Фамилия, Имя, Отчество, Кем приходится ("
     + ", ".join(RELATIONS) + "), Телефон, E-mail"),
]
TEMPLATE_NAME = "Шаблон — список класса"
EXAMPLES = [
    {"class": "5А", "last": "Иванов", "first": "Пётр", "middle": "Сергеевич", "birth": date(2015, 3, 12),
     "sex": "м", "form": "очная",
     "p1_last": "Иванова", "p1_first": "Мария", "p1_middle": "Петровна", "p1_relation": "мать",
     "p1_phone": "+7 900 123-45-67", "p1_email": "ivanova@example.ru",
     "p2_last": "Иванов", "p2_first": "Сергей", "p2_middle": "Николаевич", "p2_relation": "отец",
     "p2_phone": "+7 900 765-43-21", "p2_email": ""},
    {"class": "5А", "last": "Смирнова", "first": "Анна", "middle": "Олеговна", "birth": date(2014, 11, 5),
     "sex": "ж", "form": "очная",
     "p1_last": "Смирнова", "p1_first": "Ольга", "p1_middle": "Викторовна", "p1_relation": "мать",
     "p1_phone": "+7 901 222-33-44", "p1_email": ""},
]


_LOOKALIKES = str.maketrans("ABEKMHOPCTXaeopcxy", "АВЕКМНОРСТХаеорсху")

_SEX_WORDS = {"мальчик": "м", "девочка": "ж", "м.": "м", "ж.": "ж"}

_FORM_WORDS = {
    "": "очная", "очно": "очная", "очное": "очная", "очная": "очная",
    "семейная": "семейная", "семейное": "семейная", "семейное образование": "семейная",
    "на дому": "на дому", "надомное": "на дому", "обучение на дому": "на дому",
    "индивидуальный план": "индивидуальный план", "индивидуальный учебный план": "индивидуальный план",
    "иуп": "индивидуальный план",
}

_RELATION_WORDS = {r: r for r in RELATIONS} | {"мама": "мать", "папа": "отец",
                                                "представитель": "законный представитель"}


def _parse_class(text: str, classes: dict[tuple[int, str], sqlite3.Row], year_name: str) -> sqlite3.Row:
    # «5A» typed with a Latin A looks right on screen; treat it as the Cyrillic letter.
    parallel, letter = parse_class_name(re.sub(r"[«»\"'“”]", "", text).translate(_LOOKALIKES))
    cls = classes.get((parallel, letter))
    if cls is None:
        raise SchoolError(f"Класс {parallel}{letter} не найден в учебном году {year_name} "
                          "(классы создаются на странице «Классы», импорт их не создаёт).")
    return cls


def _parse_birth(text: str, year_start: str) -> str:
    # «12.03.2015 0:00»: some programs export a date with a midnight time.
    birth = parse_date(text.split(" ")[0] if re.fullmatch(r"\S+ \d{1,2}:\d{2}(:\d{2})?", text) else text,
                       "Дата рождения")
    if birth >= year_start:
        raise SchoolError(f"Дата рождения {ru_date(birth)} — не раньше начала учебного года.")
    if int(year_start[:4]) - int(birth[:4]) > 30:
        raise SchoolError(f"Дата рождения {ru_date(birth)} не похожа на дату рождения учащегося.")
    return birth


def check_students(conn, table: Table, plan: Plan) -> None:
    year = store.current_year(conn)  # on the caller's connection: inside the import's transaction
    if year is None:
        raise ImportFileError("Нет открытого учебного года: сначала создайте учебный год и классы "
                              "на странице «Школа и учебные годы».")
    plan.year_id, plan.year_name = year["id"], year["name"]
    plan.from_date = min(max(clock.today().isoformat(), year["starts_on"]), year["ends_on"])
    # One snapshot of the school in a handful of queries, then the rows are checked in memory.
    classes = {(c["parallel"], c["letter"]): c for c in query(
        conn, "SELECT id, parallel, letter, parallel || letter AS name FROM class"
              " WHERE year_id = ? AND archived_at IS NULL", (year["id"],))}
    students = {}
    for s in query(conn, """
            SELECT p.id, p.last_name, p.first_name, p.middle_name, p.birth_date, st.left_on,
                   e.class_id, c.parallel || c.letter AS class_name, y.name AS year_name
              FROM student st JOIN person p ON p.id = st.person_id
              LEFT JOIN enrollment e ON e.student_id = p.id AND e.to_date IS NULL
              LEFT JOIN class c ON c.id = e.class_id LEFT JOIN academic_year y ON y.id = c.year_id
             ORDER BY p.id"""):
        students.setdefault(same(s["last_name"], s["first_name"], s["middle_name"], s["birth_date"]), s)
    # A parent is the same person only by name and a contact. Two fathers both called Иванов
    # Сергей Петрович, neither with a phone, must not become one account: that would show
    # one family's child to the other. A duplicate account is the lesser harm.
    known_parents = ParentIndex()
    for p in query(conn, """
            SELECT p.id, p.last_name, p.first_name, p.middle_name, p.phone, p.email
              FROM person p JOIN account a ON a.person_id = p.id
              JOIN account_role r ON r.account_id = a.id AND r.role = 'parent'
             ORDER BY p.id"""):
        known_parents.add(p["id"], same(p["last_name"], p["first_name"], p["middle_name"]), p["phone"], p["email"])
    new_parents = ParentIndex()
    links: dict[int, dict[tuple, int]] = {}
    for g in query(conn, "SELECT g.student_id, g.parent_id, p.last_name, p.first_name, p.middle_name"
                              " FROM guardian g JOIN person p ON p.id = g.parent_id"):
        links.setdefault(g["student_id"], {})[same(g["last_name"], g["first_name"], g["middle_name"])] = g["parent_id"]

    seen: dict[tuple, int] = {}
    namesakes: dict[tuple, list] = {}
    for line, row in table.rows:
        problems: list[str] = []
        item = _student_row(row, table.columns, classes, year, problems)
        parent_items = []
        for n in PARENTS:
            parent = _parent_row(row, table.columns, n, problems)
            if parent is not None:
                parent_items.append(parent)
        if len(parent_items) == 2 and parent_items[0].name_key == parent_items[1].name_key:
            problems.append("Родитель 2 совпадает с родителем 1.")
        if item is not None:
            key = same(item.last, item.first, item.middle, item.birth_date)
            if key in seen:
                problems.append(f"Учащийся {item.name} ({ru_date(item.birth_date)}) повторяется: "
                                f"уже есть в строке {seen[key]}.")
            else:
                seen[key] = line
            existing = students.get(key)
            if existing is not None:
                if existing["class_id"] is None:
                    problems.append(f"Учащийся {item.name} уже есть в школе и числится выбывшим: "
                                    "вернуть его в класс можно на странице учащегося.")
                elif existing["class_id"] != item.class_id:
                    where = existing["class_name"]
                    if existing["year_name"] != plan.year_name:
                        where += f" ({existing['year_name']})"
                    problems.append(f"Учащийся {item.name} уже учится в {where} классе: перевод в другой класс "
                                    "делается на странице учащегося.")
                else:
                    item.student_id = existing["id"]
        if problems:
            plan.errors.append((line, problems))
            continue
        item.line = line
        for parent in parent_items:
            known = links.get(item.student_id, {}).get(parent.name_key) if item.student_id else None
            if known is not None:
                parent.parent_id, parent.link_new = known, False
                continue
            parent.parent_id = known_parents.find(parent.name_key, parent.phone, parent.email)
            if parent.parent_id is None:
                parent.new_ref = new_parents.find(parent.name_key, parent.phone, parent.email)
                if parent.new_ref is None:
                    parent.new_ref = new_parents.add(None, parent.name_key, parent.phone, parent.email)
                    namesakes.setdefault(parent.name_key, []).append((line, parent))
        item.parents = parent_items
        plan.students.append(item)
    _note_namesakes(plan, namesakes, known_parents)


class ParentIndex:
    """Parents by name + phone and by name + e-mail; a parent with neither is found by nobody."""

    def __init__(self):
        self.by_contact: dict[tuple, int] = {}
        self.names: set[tuple] = set()
        self.count = 0

    def add(self, ref: int | None, name_key: tuple, phone: str | None, email: str | None) -> int:
        if ref is None:
            self.count += 1
            ref = self.count
        self.names.add(name_key)
        for contact in (phone, email):
            if contact:
                self.by_contact.setdefault((*name_key, contact.lower()), ref)
        return ref

    def find(self, name_key: tuple, phone: str | None, email: str | None) -> int | None:
        for contact in (phone, email):
            if contact and (*name_key, contact.lower()) in self.by_contact:
                return self.by_contact[(*name_key, contact.lower())]
        return None


def _note_namesakes(plan: Plan, namesakes: dict[tuple, list], known: ParentIndex) -> None:
    """Say where a new parent may be a person the school already has, so that a phone can be added."""
    doubtful = [(rows, rows[0][1].name) for key, rows in namesakes.items()
                if len(rows) > 1 or key in known.names]
    if doubtful:
        listed = "; ".join(f"{name} (строки {', '.join(str(line) for line, _ in rows)})"
                           for rows, name in doubtful[:10])
        plan.notes.append("Родители с одинаковым ФИО считаются одним человеком, только если совпадает телефон "
                          "или e-mail; иначе каждому заводится своя учётная запись. Проверьте: " + listed
                          + (" и другие" if len(doubtful) > 10 else "")
                          + ". Если это один человек, укажите одинаковый телефон во всех строках.")


def _student_row(row, columns, classes, year, problems: list[str]) -> StudentItem | None:
    name = person_name(row, columns, "", "", problems)
    values = {}
    for key, parse in (
        ("class", lambda t: _parse_class(t, classes, year["name"])),
        ("birth", lambda t: _parse_birth(t, year["starts_on"])),
        ("sex", lambda t: parse_sex(_SEX_WORDS.get(t.lower(), t))),
        ("form", _parse_form),
    ):
        try:
            values[key] = parse(cell(row, columns, key))
        except SchoolError as e:
            problems.append(e.message)
    if name is None or len(values) < 4:
        return None
    cls = values["class"]
    return StudentItem(0, cls["id"], cls["name"], *name, values["birth"], values["sex"], values["form"], None, [])


def _parse_form(text: str) -> str:
    form = _FORM_WORDS.get(normalize_header(text))
    if form is None:
        raise SchoolError(f"Форма обучения «{text[:30]}» не известна: {', '.join(STUDY_FORMS)}.")
    return form


def _parent_row(row, columns, n: int, problems: list[str]) -> ParentItem | None:
    keys = [k for k in columns if k.startswith(f"p{n}_")]
    if not any(cell(row, columns, k) for k in keys):
        return None
    what = f"Родитель {n} — "
    before = len(problems)
    name = person_name(row, columns, f"p{n}_", what, problems)
    relation_text = cell(row, columns, f"p{n}_relation")
    relation = _RELATION_WORDS.get(normalize_header(relation_text))
    if relation is None:
        problems.append(f"{what}кем приходится: " + (f"«{relation_text[:30]}» не подходит" if relation_text
                                                      else "не указано") + f"; нужно одно из: {', '.join(RELATIONS)}.")
    contacts = []
    for key, parse in (("phone", parse_phone), ("email", parse_email)):
        try:
            contacts.append(parse(cell(row, columns, f"p{n}_{key}")))
        except SchoolError as e:
            problems.append(what + e.message[:1].lower() + e.message[1:])
    if len(problems) > before:
        return None
    return ParentItem(n, *name, relation, *contacts)

