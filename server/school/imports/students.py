"""Class lists: students with their parents — the columns, the rows' parsing, and the check of
every row against one snapshot of the school (one query per table, then the rows in memory).
Students match by ФИО + date of birth; parents by ФИО among the same student's parents, else
by ФИО + phone or ФИО + e-mail — never by name alone.

The lists schools bring come in many shapes (see `tests/samples/`); all are read here:
- the class: a «Класс» column («5А», «5 А», «7 «Б»»), «Параллель» + «Литера», a section row
  «5 «А» класс» above the class's rows, the title above the table («Список 7 «Б» класса»), or
  the class chosen on the upload form for the whole file;
- parents: columns «Родитель 1: Фамилия …», «ФИО родителя» / «Телефон родителя» (and a second
  parent's), «ФИО матери» / «Телефон отца», a representative's columns («Фамилия
  представителя»), one cell with both parents and their phones on lines of their own
  («Родители (законные представители)»), or a second sheet of parents linked to their child
  by the child's ФИО and class (Дневник.ру);
- values: «муж./жен.», «Мужской», «мальчик»; dates «12.03.2015 г.», «12.03.15», Excel's own
  dates and day numbers; «нет» where there is no parent. Without a «Пол» column the sex is
  told by the patronymic (or the first name) and the preview says so; without «Кем приходится»
  the relation is told by the column («матери») or the patronymic."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from ... import clock
from ...tables import Spec, Table, find_table, normalize_header, parse_day, skipped_lines
from ...timeutil import ru_date
from .. import store
from ..errors import SchoolError
from ..validate import RELATIONS, STUDY_FORMS, parse_class_name, parse_email, parse_phone, parse_sex
from .rows import (CONTACT_FIELDS, PERSON_FIELDS, STUDENTS, ImportFileError, ParentItem, Plan, StudentItem, cell,
                   person_name, query, same)

_STUDENT_NAMES = ("фио ученика", "фио учащегося", "фио обучающегося", "фио ребенка", "ученик", "учащийся",
                  "обучающийся", "фамилия имя отчество ученика", "фамилия имя отчество учащегося",
                  "фамилия имя отчество обучающегося", "фамилия имя отчество ребенка", "фио ученика полностью")

_STUDENT_FIELDS = {
    "class": ("Класс", ("класс", "класс обучения", "текущий класс", "класс группа", "класс литера")),
    "parallel": ("Параллель", ("параллель", "год обучения")),
    "letter": ("Литера", ("литера", "литер", "буква", "буква класса", "литера класса")),
    "birth": ("Дата рождения", ("дата рождения", "дата рожд", "д р", "др", "день рождения", "дата рождения ученика",
                                "дата рождения учащегося", "дата рождения обучающегося", "число месяц год рождения")),
    "sex": ("Пол", ("пол", "пол ученика", "пол учащегося", "пол обучающегося")),
    "form": ("Форма обучения", ("форма обучения", "форма", "форма получения образования")),
}

_RELATION_FIELD = {
    "relation": ("Кем приходится", ("кем приходится", "степень родства", "родство", "кем является",
                                    "тип представителя", "вид родства", "статус представителя")),
}

# Where parents come from in a row: a slot is a set of columns for one parent.
# slot → (prefixes written before a field, suffixes after it, the relation the column names).
_SLOTS = {
    "p1": (("родитель 1", "представитель 1", "законный представитель 1", "родитель", "представитель",
            "законный представитель"),
           ("родителя 1", "представителя 1", "родителя", "представителя", "законного представителя",
            "первого родителя"), None),
    "p2": (("родитель 2", "представитель 2", "законный представитель 2"),
           ("родителя 2", "представителя 2", "второго родителя", "второго представителя"), None),
    "m": (("мать", "мама"), ("матери", "мамы"), "мать"),
    "f": (("отец", "папа"), ("отца", "папы"), "отец"),
}
# Columns with parents written as text (names, relations and phones together, on lines of their own).
_TEXT_COLUMNS = {
    "parents_text": ("родители", "родители законные представители", "сведения о родителях",
                     "сведения о родителях законных представителях", "родители телефоны",
                     "родители законные представители телефоны", "родители законные представители контактный телефон",
                     "родители законные представители контактные телефоны", "родители фио телефон",
                     "фио родителей", "фио родителей телефон", "фио родителей телефоны", "законные представители",
                     "информация о родителях", "контакты родителей", "родители контакты",
                     "фио родителей законных представителей", "фио родителей законных представителей телефон"),
    "m_text": ("мать", "мама", "мать фио телефон", "сведения о матери"),
    "f_text": ("отец", "папа", "отец фио телефон", "сведения об отце"),
}
# The child's columns of a parents' sheet: such a sheet is not a class list.
_CHILD_FIELDS = {
    "child_fio": ("ФИО ребёнка", ("фио ребенка", "ребенок", "фамилия имя отчество ребенка", "фио ученика",
                                  "фио учащегося", "фио обучающегося", "ученик", "обучающийся", "учащийся",
                                  "дети", "ребенок фио")),
    "child_last": ("Фамилия ребёнка", ("фамилия ребенка", "фамилия ученика", "фамилия учащегося",
                                       "фамилия обучающегося")),
    "child_first": ("Имя ребёнка", ("имя ребенка", "имя ученика", "имя учащегося", "имя обучающегося")),
    "child_middle": ("Отчество ребёнка", ("отчество ребенка", "отчество ученика", "отчество учащегося",
                                          "отчество обучающегося")),
    "child_class": ("Класс ребёнка", ("класс ребенка", "класс ученика", "класс учащегося", "класс обучающегося")),
    "child_birth": ("Дата рождения ребёнка", ("дата рождения ребенка", "дата рождения ученика",
                                              "дата рождения обучающегося")),
}

# Columns people keep in class lists that the journal does not need: named in the preview.
_KNOWN = {
    **{k: "номер по порядку, журналу не нужен" for k in ("номер", "номер п п", "п п", "номер по порядку", "n", "no", "номер строки")},
    **{k: "журналу не нужны" for k in (
        "адрес", "домашний адрес", "адрес регистрации", "адрес проживания", "место жительства", "место регистрации", "снилс",
        "полис", "полис омс", "свидетельство о рождении", "документ", "документ удостоверяющий личность",
        "серия", "номер документа", "гражданство", "национальность", "место работы", "должность",
        "группа здоровья", "физкультурная группа", "льготы", "категория семьи", "социальный статус",
        "примечание", "примечания", "статус", "дата зачисления", "приказ о зачислении", "номер личного дела",
        "личное дело", "образовательная программа", "программа", "профиль", "язык обучения", "иностранный язык",
        "оо", "образовательная организация", "логин", "пароль", "дата прибытия", "откуда прибыл",
        "возраст", "полных лет", "место рождения")},
    **{k: "телефон и почта учащегося не загружаются; телефоны родителей — в столбцах родителей"
       for k in ("телефон", "e mail", "email", "эл почта", "электронная почта", "мобильный телефон",
                 "телефон ученика", "телефон учащегося", "телефон обучающегося", "домашний телефон")},
}


def _parent_aliases() -> dict[str, str]:
    fields = {**PERSON_FIELDS, **_RELATION_FIELD, **CONTACT_FIELDS}
    extra = {"fio": ("фамилия имя отчество", "фио полностью")}
    out = {}
    for slot, (prefixes, suffixes, _) in _SLOTS.items():
        for key, (_, names) in fields.items():
            for name in names + extra.get(key, ()):
                for prefix in prefixes:
                    out.setdefault(f"{prefix} {name}", f"{slot}_{key}")
                for suffix in suffixes:
                    out.setdefault(f"{name} {suffix}", f"{slot}_{key}")
    # «Кем приходится» alone goes with the first parent's columns («ФИО родителя», «Телефон родителя»).
    for name in _RELATION_FIELD["relation"][1]:
        out.setdefault(name, "p1_relation")
    for key, names in _TEXT_COLUMNS.items():
        for name in names:
            out[name] = key
    return out


def _spec() -> Spec:
    titles = {"class": "Класс"}
    titles |= {k: t for k, (t, _) in PERSON_FIELDS.items() if k != "fio"}
    titles |= {k: t for k, (t, _) in _STUDENT_FIELDS.items() if k not in ("class", "parallel", "letter")}
    for n in (1, 2):
        for key, (title, _) in {**PERSON_FIELDS, **_RELATION_FIELD, **CONTACT_FIELDS}.items():
            if key != "fio":
                titles[f"p{n}_{key}"] = f"Родитель {n}: {title}"
    titles |= {"fio": "ФИО", "parallel": "Параллель", "letter": "Литера", "parents_text": "Родители"}
    titles |= {k: t for k, (t, _) in _CHILD_FIELDS.items()}
    aliases = {a: k for k, (_, names) in {**PERSON_FIELDS, **_STUDENT_FIELDS}.items() for a in names}
    aliases |= {a: "fio" for a in _STUDENT_NAMES}
    # «Ф.И.О. обучающегося» normalises to «ф и о обучающегося».
    aliases |= {"ф и о" + a[3:]: "fio" for a in _STUDENT_NAMES if a.startswith("фио ")}
    aliases |= _parent_aliases()
    # A parents' sheet names the child's class: the class list excludes it (the child's ФИО
    # alone is the student's own name in a class teacher's list: «ФИО ребёнка»).
    aliases |= {a: "child_class" for a in _CHILD_FIELDS["child_class"][1]}
    aliases |= {a: k for k in ("child_last", "child_first", "child_middle") for a in _CHILD_FIELDS[k][1]}
    return Spec(STUDENTS, titles, aliases, ("birth",), known=_KNOWN,
                excludes=("child_class", "child_last", "child_first"))


def _parents_spec() -> Spec:
    titles = {k: t for k, (t, _) in PERSON_FIELDS.items()}
    titles |= {k: t for k, (t, _) in {**_RELATION_FIELD, **CONTACT_FIELDS}.items()}
    titles |= {k: t for k, (t, _) in _CHILD_FIELDS.items()}
    aliases = {a: k for k, (_, names) in {**PERSON_FIELDS, **_RELATION_FIELD, **CONTACT_FIELDS}.items()
               for a in names}
    aliases |= {a: k for k, (_, names) in _CHILD_FIELDS.items() for a in names}
    aliases |= {"ф и о" + a[3:]: k for k, (_, names) in _CHILD_FIELDS.items() for a in names if a.startswith("фио ")}
    aliases |= {f"{a} родителя": k for k, (_, names) in PERSON_FIELDS.items() for a in names}
    known = {k: "номер по порядку, журналу не нужен" for k in ("номер", "номер п п", "п п")} | {
        k: "журналу не нужны" for k in ("пол", "дата рождения", "снилс", "адрес", "место работы", "должность",
                                        "документ", "логин", "пароль")}
    return Spec("parents", titles, aliases, (), known=known,
                required_any=(("child_fio", "child_last"),))


SPEC = _spec()
PARENTS_SPEC = _parents_spec()
HELP = [
    ("Класс", "например, 5А, «5 А» или 7 «Б»; класс должен уже быть в текущем учебном году. Можно «Параллель» и "
              "«Литера»; если класс назван только в заголовке над таблицей — он берётся оттуда, или выберите класс "
              "для всего файла при загрузке"),
    ("Фамилия, Имя, Отчество", "обязательны Фамилия и Имя; вместо трёх столбцов можно один «ФИО» "
                               "(«Ф.И.О. обучающегося», «Фамилия, имя, отчество»)"),
    ("Дата рождения", "ДД.ММ.ГГГГ, «12.03.2015 г.», дата Excel"),
    ("Пол", "м/ж, муж./жен., Мужской/Женский; без столбца — по отчеству (проверьте в предпросмотре)"),
    ("Форма обучения", "необязателен; " + ", ".join(STUDY_FORMS) + "; пусто — очная"),
    ("Родители", "необязательны; столбцы «Родитель 1: Фамилия … Родитель 2: E-mail», или «ФИО родителя», "
                 "«Телефон родителя», или «ФИО матери», «Телефон отца», или один столбец «Родители», где каждый "
                 "родитель с телефоном — на своей строке; или второй лист «Родители» с «ФИО ребёнка» и «Класс "
                 "ребёнка». Кем приходится: " + ", ".join(RELATIONS) + " (пусто — по отчеству)"),
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
# The template has our columns only (not the other shapes' aliases).
TEMPLATE_KEYS = [k for k in SPEC.titles if k not in ("fio", "parallel", "letter", "parents_text")
                 and not k.startswith("child_")]


_LOOKALIKES = str.maketrans("ABEKMHOPCTXaeopcxy", "АВЕКМНОРСТХаеорсху")

_SEX_WORDS = {"мальчик": "м", "девочка": "ж", "м": "м", "ж": "ж", "муж": "м", "жен": "ж", "мужской": "м",
              "женский": "ж", "мал": "м", "дев": "ж", "мужчина": "м", "женщина": "ж", "male": "м", "female": "ж",
              "m": "м", "f": "ж"}

_FORM_WORDS = {
    "": "очная", "очно": "очная", "очное": "очная", "очная": "очная",
    "семейная": "семейная", "семейное": "семейная", "семейное образование": "семейная",
    "на дому": "на дому", "надомное": "на дому", "обучение на дому": "на дому",
    "индивидуальный план": "индивидуальный план", "индивидуальный учебный план": "индивидуальный план",
    "иуп": "индивидуальный план",
}

_RELATION_WORDS = {r: r for r in RELATIONS} | {
    "мама": "мать", "папа": "отец", "представитель": "законный представитель",
    "опекун попечитель": "опекун", "приемный родитель": "законный представитель",
    "приемная мать": "законный представитель", "приемный отец": "законный представитель",
    "родитель": "законный представитель"}
_NONE_WORDS = {"", "нет", "не указан", "не указано", "не указана", "нет данных", "отсутствует", "нет сведений", "н д"}

_CLASS_IN_TITLE = [
    re.compile(r"(?<![\d№])(\d{1,2})\s*[-–]?\s*[«\"“'(]?\s*([А-Яа-яЁё])\s*[»\"”')]?\s*(?:класс|кл\b|кл\.)", re.I),
    re.compile(r"класс[а-я]*\s*[:№]?\s*(\d{1,2})\s*[-–]?\s*[«\"“'(]?\s*([А-Яа-яЁё])(?![а-яё])", re.I),
]


def class_in_text(text: str) -> str | None:
    """«Список 7 «Б» класса», «Класс: 5А», «5 «А» класс» → «7Б»; None when none or several."""
    found = {f"{m.group(1)}{m.group(2).upper()}" for pattern in _CLASS_IN_TITLE for m in pattern.finditer(text)}
    return found.pop() if len(found) == 1 else None


def _parse_class(text: str, classes: dict[tuple[int, str], sqlite3.Row], year_name: str) -> sqlite3.Row:
    # «5A» typed with a Latin A looks right on screen; treat it as the Cyrillic letter. «7 «Б»», «5-А кл.».
    clean = re.sub(r"[«»\"'“”()]", "", text).translate(_LOOKALIKES)
    clean = re.sub(r"\s*(класс|кл)\.?\s*$", "", clean.strip(), flags=re.I)
    parallel, letter = parse_class_name(clean)
    cls = classes.get((parallel, letter))
    if cls is None:
        raise SchoolError(f"Класс {parallel}{letter} не найден в учебном году {year_name} "
                          "(классы создаются на странице «Классы», импорт их не создаёт).")
    return cls


def _parse_birth(text: str, year_start: str) -> str:
    try:
        day = parse_day(text)
    except ValueError as e:
        raise SchoolError(f"Дата рождения: {e}.") from None
    if day is None:
        if not text.strip():
            raise SchoolError("Дата рождения: не указана.")
        raise SchoolError(f"Дата рождения: «{text.strip()[:30]}» — не дата (нужно ДД.ММ.ГГГГ).")
    birth = day.isoformat()
    if birth >= year_start:
        raise SchoolError(f"Дата рождения {ru_date(birth)} — не раньше начала учебного года.")
    if int(year_start[:4]) - int(birth[:4]) > 30:
        raise SchoolError(f"Дата рождения {ru_date(birth)} не похожа на дату рождения учащегося.")
    return birth


_MALE_A = {"никита", "илья", "кузьма", "савва", "лука", "фома", "данила", "гаврила", "миша", "саша", "ваня",
           "женя", "паша", "дима", "алеша", "алёша", "сережа", "серёжа", "коля", "толя", "вова", "петя", "юра"}
_FEMALE_SOFT = {"любовь", "нинель", "юдифь", "рахиль", "эсфирь", "адель", "айгуль", "гузель", "асель",
                "жизель", "ассоль", "шамиль"}


def sex_by_name(first: str, middle: str) -> str | None:
    """The sex told by the patronymic (Сергеевич, Рашид оглы) or, without one, by the first name."""
    m = normalize_header(middle)
    if m.endswith(("вич", "ьич", "ич", "оглы", "улы", "уулу")):
        return "м"
    if m.endswith(("вна", "чна", "шна", "кызы", "гызы", "кизи")):
        return "ж"
    f = normalize_header(first)
    if not f or " " in f:
        return None
    if f in _MALE_A:
        return "м"
    if f in _FEMALE_SOFT:
        return "ж" if f != "шамиль" else "м"
    if f.endswith(("а", "я")):
        return "ж"
    if re.search(r"[бвгдзклмнпрстфхцчшщй]$", f):
        return "м"
    return None


def _relation_by_name(middle: str) -> str | None:
    sex = sex_by_name("", middle)
    return {"м": "отец", "ж": "мать"}.get(sex or "")


def _parse_form(text: str) -> str:
    form = _FORM_WORDS.get(normalize_header(text))
    if form is None:
        raise SchoolError(f"Форма обучения «{text[:30]}» не известна: {', '.join(STUDY_FORMS)}.")
    return form


class _Context:
    """What every row of one file is checked against."""

    def __init__(self, conn, table: Table, plan: Plan, options: dict):
        year = store.current_year(conn)  # on the caller's connection: inside the import's transaction
        if year is None:
            raise ImportFileError("Нет открытого учебного года: сначала создайте учебный год и классы "
                                  "на странице «Школа и учебные годы».")
        self.year = year
        plan.year_id, plan.year_name = year["id"], year["name"]
        plan.from_date = min(max(clock.today().isoformat(), year["starts_on"]), year["ends_on"])
        self.classes = {(c["parallel"], c["letter"]): c for c in query(
            conn, "SELECT id, parallel, letter, parallel || letter AS name FROM class"
                  " WHERE year_id = ? AND archived_at IS NULL", (year["id"],))}
        self.by_id = {c["id"]: c for c in self.classes.values()}
        self.default_class = self._default_class(table, plan, options)

    def _default_class(self, table: Table, plan: Plan, options: dict) -> sqlite3.Row | None:
        """The class of rows that name none: chosen on the form, or named in the title above the table."""
        chosen = options.get("class_id")
        if chosen:
            cls = self.by_id.get(int(chosen))
            if cls is None:
                raise ImportFileError("Выбранного класса нет в текущем учебном году: выберите класс снова.")
            plan.class_source = f"Класс {cls['name']} выбран при загрузке: он у всех строк, где класс не указан."
            return cls
        has_column = any(k in table.columns for k in ("class", "parallel"))
        # A file with a class column says each row's class itself; else the title above the table may.
        title_class = None if has_column else class_in_text(" ".join(table.title))
        if title_class:
            try:
                cls = _parse_class(title_class, self.classes, self.year["name"])
            except SchoolError as e:
                raise ImportFileError(f"Класс назван в заголовке файла: {e.message} Выберите класс при загрузке "
                                      "или создайте его.") from None
            plan.class_source = (f"Класс {cls['name']} взят из заголовка над таблицей. Если это не так, выберите "
                                 "класс при загрузке.")
            return cls
        if not has_column and not table.sections:
            raise ImportFileError("В файле не указан класс: нет столбца «Класс» и класс не назван в заголовке над "
                                  "таблицей. Выберите класс для всего файла в форме загрузки и загрузите файл снова.")
        return None

    def row_class(self, table: Table, line: int, row: list[str]) -> sqlite3.Row:
        text = cell(row, table.columns, "class")
        if not text and "parallel" in table.columns:
            p, letter = cell(row, table.columns, "parallel"), cell(row, table.columns, "letter")
            text = f"{p}{letter}" if p or letter else ""
            if p and not letter:
                raise SchoolError(f"Класс: указана параллель {p}, но не литера.")
        if not text and line in table.sections:
            text = class_in_text(table.sections[line]) or ""
        if not text:
            if self.default_class is not None:
                return self.default_class
            raise SchoolError("Класс: не указан (впишите класс или выберите его для всего файла при загрузке).")
        return _parse_class(text, self.classes, self.year["name"])


def check_students(conn, table: Table, plan: Plan, options: dict | None = None) -> None:
    ctx = _Context(conn, table, plan, options or {})
    plan.skipped_rows = skipped_lines(table)
    # One snapshot of the school in a handful of queries, then the rows are checked in memory.
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
    good: list[tuple[int, StudentItem]] = []
    for line, row in table.rows:
        problems: list[str] = []
        item = _student_row(line, row, table, ctx, problems)
        parent_items = _row_parents(line, row, table, problems, plan)
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
        item.parents = parent_items
        good.append((line, item))
    _sheet_parents(table, good, plan)
    for line, item in good:
        _dedupe_parents(item, plan)
        for parent in item.parents:
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
        plan.students.append(item)
    _note_namesakes(plan, namesakes, known_parents)
    _note_guesses(plan, table)


def _dedupe_parents(item: StudentItem, plan: Plan) -> None:
    """The same parent named twice for a child (in two shapes of the file) is one parent."""
    kept: dict[tuple, ParentItem] = {}
    for p in item.parents:
        other = kept.get(p.name_key)
        if other is None:
            kept[p.name_key] = p
            continue
        other.phone = other.phone or p.phone
        other.email = other.email or p.email
        plan.parents_in_file -= 1
    item.parents = list(kept.values())
    for n, p in enumerate(item.parents, 1):
        p.number = n


def _note_guesses(plan: Plan, table: Table) -> None:
    guessed_sex = [s for s in plan.students if s.sex_guessed]
    if guessed_sex:
        why = "в файле нет столбца «Пол»" if "sex" not in table.columns else "пол не заполнен"
        plan.warnings.append(f"Пол определён по отчеству или имени ({why}) у учащихся: {len(guessed_sex)}. "
                             "Проверьте их в таблице ниже; исправить можно на странице учащегося.")
    guessed = [p for s in plan.students for p in s.parents if p.guessed]
    if guessed:
        plan.warnings.append(f"«Кем приходится» не указано в файле у родителей: {len(guessed)} — определено по "
                             "отчеству («мать», «отец»), а где отчества нет — «законный представитель». "
                             "Проверьте в таблице ниже.")


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


def _student_row(line, row, table: Table, ctx: _Context, problems: list[str]) -> StudentItem | None:
    columns = table.columns
    name = person_name(row, columns, "", "", problems)
    values = {}
    for key, parse in (
        ("class", lambda _: ctx.row_class(table, line, row)),
        ("birth", lambda t: _parse_birth(t, ctx.year["starts_on"])),
        ("sex", _parse_sex),
        ("form", _parse_form),
    ):
        try:
            values[key] = parse(cell(row, columns, key))
        except SchoolError as e:
            problems.append(e.message)
    guessed = False
    if values.get("sex", "") is None and name is not None:
        values["sex"] = sex_by_name(name[1], name[2])
        guessed = True
        if values["sex"] is None:
            problems.append("Пол: не указан и не определяется по отчеству или имени — впишите м или ж "
                            "(столбец «Пол»).")
            del values["sex"]
    if name is None or len(values) < 4:
        return None
    cls = values["class"]
    return StudentItem(0, cls["id"], cls["name"], *name, values["birth"], values["sex"], values["form"], None, [],
                       sex_guessed=guessed)


def _parse_sex(text: str) -> str | None:
    """м/ж from «муж.», «Мужской», «мальчик» …; None when the cell is empty (told by the name then)."""
    word = normalize_header(text)
    if not word:
        return None
    if word in _SEX_WORDS:
        return _SEX_WORDS[word]
    return parse_sex(text)


# --- parents in the row: columns of one parent each, or text with several -----------------

def _row_parents(line, row, table: Table, problems: list[str], plan: Plan) -> list[ParentItem]:
    columns = table.columns
    out: list[ParentItem] = []
    for slot, (_, _, relation) in _SLOTS.items():
        parent = _slot_parent(row, columns, slot, relation, problems, plan)
        if parent is not None:
            out.append(parent)
    for key, relation in (("parents_text", None), ("m_text", "мать"), ("f_text", "отец")):
        text = cell(row, columns, key)
        if text and normalize_header(text) not in _NONE_WORDS:
            found, lost = parse_parents_text(text, relation)
            plan.parents_in_file += len(found) + len(lost)
            plan.not_loaded += [f"Строка {line}: {what}" for what in lost]
            out += found
    # The same person named twice in a row (a column and the text cell) is one: _dedupe_parents.
    return out


def _slot_parent(row, columns, slot: str, relation: str | None, problems: list[str],
                 plan: Plan) -> ParentItem | None:
    keys = [k for k in columns if k.startswith(f"{slot}_")]
    if not any(cell(row, columns, k) for k in keys):
        return None
    name_cells = [cell(row, columns, f"{slot}_{k}") for k in ("fio", "last", "first")]
    if all(normalize_header(c) in _NONE_WORDS for c in name_cells):
        # «нет» where there is no such parent (a phone beside it is left, and said so).
        phone = cell(row, columns, f"{slot}_phone")
        if normalize_header(phone) not in _NONE_WORDS:
            plan.not_loaded.append(f"телефон «{phone[:20]}» без ФИО родителя не загружен")
        return None
    what = {"p1": "Родитель 1 — ", "p2": "Родитель 2 — ", "m": "Мать — ", "f": "Отец — "}[slot]
    before = len(problems)
    plan.parents_in_file += 1
    name = person_name(row, columns, f"{slot}_", what, problems)
    relation_text = cell(row, columns, f"{slot}_relation")
    guessed = False
    if relation is None:
        if relation_text:
            relation = _RELATION_WORDS.get(normalize_header(relation_text))
            if relation is None:
                problems.append(f"{what}кем приходится: «{relation_text[:30]}» не подходит; нужно одно из: "
                                f"{', '.join(RELATIONS)}.")
        else:
            relation = (_relation_by_name(name[2]) if name else None) or "законный представитель"
            guessed = True
    contacts = []
    for key, parse in (("phone", _phone_cell), ("email", parse_email)):
        try:
            contacts.append(parse(cell(row, columns, f"{slot}_{key}")))
        except SchoolError as e:
            problems.append(what + e.message[:1].lower() + e.message[1:])
    if len(problems) > before:
        return None
    return ParentItem(0, *name, relation, *contacts, guessed=guessed)


def _phone_cell(text: str) -> str | None:
    """A phone cell: «нет» is none; of several phones («8-900-…, 8-4712-…») the first mobile one."""
    if normalize_header(text) in _NONE_WORDS:
        return None
    phones = _PHONE.findall(text)
    if len(phones) > 1:
        for p in phones:
            try:
                return parse_phone(p)
            except SchoolError:
                continue
    return parse_phone(text)


_PHONE = re.compile(r"(?:\+\s*7|8|7)?[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_EMAIL = re.compile(r"[^@\s,;:()<>]+@[^@\s,;:()<>]+\.[A-Za-z]{2,}")
_NAME_WORD = re.compile(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?|оглы|кызы|улы|[А-ЯЁ]\.")
_RELATION_IN_TEXT = re.compile(r"\b(мать|мама|отец|папа|опекун|попечитель|бабушка|дедушка|мачеха|отчим|"
                               r"законный представитель)\b", re.I)


_LOST = ParentItem(0, "", "", "", "", None, None)   # a person of a text cell that is not taken


def parse_parents_text(text: str, relation: str | None = None) -> tuple[list[ParentItem], list[str]]:
    """Parents written as text in one cell: «Иванова Мария Петровна (мать), 8-900-123-45-67» on a
    line each, or «Мать: Иванова М.П., тел. …». → (parents, what could not be read, as phrases)."""
    parents: list[ParentItem] = []
    lost: list[str] = []
    current: ParentItem | None = None
    for line in re.split(r"[\n;]+", text):
        for segment in re.split(r",(?![^()]*\))", line):
            segment = segment.strip(" .:-–")
            if not segment or normalize_header(segment) in _NONE_WORDS:
                continue
            emails = _EMAIL.findall(segment)
            rest = _EMAIL.sub(" ", segment)
            phones = []
            for p in _PHONE.findall(rest):
                try:
                    phones.append(parse_phone(p))
                except SchoolError:
                    lost.append(f"телефон «{p.strip()}» не распознан")
            rest = _PHONE.sub(" ", rest)
            rel_words = _RELATION_IN_TEXT.findall(rest)
            seg_relation = _RELATION_WORDS.get(rel_words[0].lower()) if rel_words else None
            if rel_words and seg_relation is None:
                # A grandmother is not a legal representative by being one: the school decides.
                lost.append(f"«{segment[:50]}» — «{rel_words[0].lower()}» не из списка «кем приходится» "
                            f"({', '.join(RELATIONS)}): добавьте вручную на странице учащегося")
                current = _LOST
                continue
            rest = _RELATION_IN_TEXT.sub(" ", rest)
            rest = re.sub(r"\b(тел|моб|сот|телефон|т|e-mail|email|эл\.? ?почта)\b\.?", " ", rest, flags=re.I)
            words = _NAME_WORD.findall(rest)
            full = [w for w in words if not w.endswith(".")]
            if len(words) >= 2 and len(full) < 2:
                lost.append(f"«{segment[:50]}» — нет полного имени (только инициалы)")
                current = _LOST
                continue
            if len(full) >= 2:
                parts = full[:2] + [" ".join(full[2:])]
                rel = seg_relation or relation
                guessed = rel is None
                if guessed:
                    rel = _relation_by_name(parts[2]) or "законный представитель"
                current = ParentItem(0, parts[0], parts[1], parts[2], rel, None, None, guessed=guessed)
                parents.append(current)
            elif current is _LOST:
                continue   # the phone of a person not taken (said once, with that person)
            elif current is not None:
                if seg_relation and current.guessed:
                    current.relation, current.guessed = seg_relation, False
            elif phones or emails:
                lost.append(f"«{segment[:50]}» — контакт без ФИО родителя")
                continue
            elif rest.strip(" .,:()-"):
                lost.append(f"«{segment[:50]}» — не похоже на ФИО")
                continue
            if current is not None:
                for phone in phones:
                    if current.phone is None:
                        current.phone = phone
                for email in emails:
                    if current.email is None:
                        try:
                            current.email = parse_email(email)
                        except SchoolError:
                            lost.append(f"e-mail «{email[:40]}» не распознан")
    return parents, lost


# --- parents on a sheet of their own (Дневник.ру), linked by the child ---------------------

def _sheet_parents(table: Table, good: list[tuple[int, StudentItem]], plan: Plan) -> None:
    if table.book is None:
        return
    sheet = find_table(table.book, PARENTS_SPEC, exclude=[table.sheet] if table.sheet else [])
    if sheet is None:
        return
    where = table.book.where(sheet.sheet)
    plan.notes = [n for n in plan.notes if not n.startswith("Прочитан только лист")]
    others = [s.name for s in table.book.sheets if s is not table.sheet and s is not sheet.sheet]
    plan.notes.append(f"Учащиеся прочитаны с листа «{table.sheet.name}», родители — с листа «{sheet.sheet.name}» "
                      "(связаны с детьми по ФИО и классу ребёнка)"
                      + (f"; пропущены: {', '.join(f'«{o}»' for o in others)}." if others else "."))
    plan.skipped_rows += skipped_lines(sheet)
    by_name: dict[tuple, list[StudentItem]] = {}
    for _, s in good:
        by_name.setdefault(same(s.last, s.first, s.middle), []).append(s)
        by_name.setdefault(same(s.last, s.first), []).append(s)
    for line, row in sheet.rows:
        problems: list[str] = []
        label = where.format(line)
        plan.parents_in_file += 1
        name = person_name(row, sheet.columns, "", "", problems)
        child = _child_of(row, sheet, by_name, problems)
        relation_text = cell(row, sheet.columns, "relation")
        relation, guessed = _RELATION_WORDS.get(normalize_header(relation_text)), False
        if relation_text and relation is None:
            problems.append(f"Кем приходится: «{relation_text[:30]}» не подходит; нужно одно из: "
                            f"{', '.join(RELATIONS)}.")
        contacts = []
        for key, parse in (("phone", _phone_cell), ("email", parse_email)):
            try:
                contacts.append(parse(cell(row, sheet.columns, key)))
            except SchoolError as e:
                problems.append(e.message)
        if problems:
            plan.errors.append((label, problems))
            continue
        if relation is None:
            relation, guessed = _relation_by_name(name[2]) or "законный представитель", True
        child.parents.append(ParentItem(0, *name, relation, *contacts, guessed=guessed))


def _child_of(row, sheet: Table, by_name: dict, problems: list[str]) -> StudentItem | None:
    columns = sheet.columns
    if "child_fio" in columns:
        parts = cell(row, columns, "child_fio").split()
        key = same(*parts[:2], " ".join(parts[2:])) if len(parts) > 2 else same(*parts[:2])
        shown = " ".join(parts)
    else:
        parts = [cell(row, columns, k) for k in ("child_last", "child_first", "child_middle")]
        key = same(*parts) if parts[2] else same(*parts[:2])
        shown = " ".join(p for p in parts if p)
    if not shown:
        problems.append("Не указан ребёнок (столбец «ФИО ребёнка»).")
        return None
    found = by_name.get(key, [])
    class_text = re.sub(r"[«»\"'“” ]|класс|кл\.?", "", cell(row, columns, "child_class").translate(_LOOKALIKES),
                        flags=re.I).upper()
    if class_text:
        found = [s for s in found if s.class_name.upper() == class_text]
    if len(found) == 1:
        return found[0]
    if not found:
        problems.append(f"Ребёнок «{shown}»{' (' + class_text + ')' if class_text else ''} не найден среди учащихся "
                        "файла: проверьте ФИО и класс ребёнка.")
    else:
        problems.append(f"Учащихся «{shown}» в файле несколько: укажите класс ребёнка.")
    return None
