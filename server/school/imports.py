"""Import of class lists (students with their parents) and of staff from CSV and XLSX.

No web here. Three steps:
- `read_table`: the uploaded bytes → rows of text cells, each with the row number the
  person sees in Excel (CSV in UTF-8 or Windows-1251 with `;`, `,` or tab; XLSX: the
  first sheet whose header row has our columns);
- `check`: every row against one snapshot of the school; the Plan names every bad row
  with all its reasons, or says what would be created and what skipped;
- `run_import`: check again and apply, inside one `db.write` transaction, and record it.
Between the check and the confirmation the file waits in DATA/imports/ (`stash`).

Matching, so that importing the same file twice creates nothing new: students by
ФИО + date of birth; parents by ФИО among the same student's parents, else by ФИО +
phone or ФИО + e-mail (never by name alone); staff by ФИО among staff.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import hmac
import io
import itertools
import json
import os
import re
import secrets
import sqlite3
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ..accounts.roles import ROLE_LABELS
from .. import clock
from ..timeutil import now_text, ru_date
from . import people
from .errors import SchoolError
from .structure import _all, _one
from .validate import RELATIONS, STUDY_FORMS, clean_name, parse_class_name, parse_date, parse_email, \
    parse_phone, parse_sex

STUDENTS = "students"
STAFF = "staff"
KINDS = {STUDENTS: "список класса", STAFF: "сотрудники"}

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
# An .xlsx is a zip: refuse one that would unpack to something absurd (a zip bomb).
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
# The header may sit under a title such as «Список 5А класса»: look this far down.
HEADER_SEARCH_ROWS = 10
PENDING_TTL_SECONDS = 3600
MAX_SHOWN_ERRORS = 500


class ImportFileError(SchoolError):
    """The file as a whole cannot be read (encoding, format, columns); nothing is checked further."""


class ImportRejected(Exception):
    """Raised inside the import transaction when the file is not clean (any more): rolls back."""

    def __init__(self, plan: Plan):
        super().__init__("import rejected")
        self.plan = plan


class ImportChanged(Exception):
    """The school changed between the preview and the confirmation: the person must look again."""


# --- columns -----------------------------------------------------------------------------

def normalize_header(text) -> str:
    """'Родитель 1: E-mail' → 'родитель 1 e mail'; 'Дата рожд.' → 'дата рожд'; ё = е."""
    # "№" is not a word character: without this «№» and «№ п/п» would normalise to nothing.
    t = str(text or "").lower().replace("ё", "е").replace("№", " номер ")
    t = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", t)
    t = re.sub(r"[\W_]+", " ", t)
    return " ".join(t.split())


# Each field: the header in our template and the other headers that mean the same.
_PERSON_FIELDS = {
    "last": ("Фамилия", ("фамилия",)),
    "first": ("Имя", ("имя",)),
    "middle": ("Отчество", ("отчество", "отчество при наличии")),
    # One column with the whole name instead of three (common in other systems' exports).
    "fio": ("ФИО", ("фио", "ф и о", "фамилия имя отчество")),
}
_CONTACT_FIELDS = {
    "phone": ("Телефон", ("телефон", "тел", "мобильный телефон", "телефон мобильный", "сотовый телефон",
                          "номер телефона", "моб телефон")),
    "email": ("E-mail", ("e mail", "email", "е mail", "емейл", "эл почта", "электронная почта",
                         "адрес электронной почты", "почта")),
}
_STUDENT_FIELDS = {
    "class": ("Класс", ("класс",)),
    "birth": ("Дата рождения", ("дата рождения", "дата рожд", "д р", "др", "день рождения")),
    "sex": ("Пол", ("пол",)),
    "form": ("Форма обучения", ("форма обучения", "форма")),
}
_PARENT_FIELDS = {
    "relation": ("Кем приходится", ("кем приходится", "степень родства", "родство", "кем является")),
}
_STAFF_FIELDS = {
    "position": ("Должность", ("должность",)),
    "roles": ("Роли", ("роли", "роль", "роли в журнале")),
}
PARENTS = (1, 2)


@dataclass(frozen=True)
class Spec:
    kind: str
    titles: dict[str, str]          # column key → header in our template (in template order)
    aliases: dict[str, str]         # normalised header → column key
    required: tuple[str, ...]       # besides a name (Фамилия + Имя, or ФИО)
    named: bool = True              # rows are people: a name is required too (not so for a КТП)


def _parent_aliases(n: int) -> dict[str, str]:
    out = {}
    for key, (_, names) in {**_PERSON_FIELDS, **_PARENT_FIELDS, **_CONTACT_FIELDS}.items():
        for name in names:
            for prefix in (f"родитель {n}", f"представитель {n}", f"законный представитель {n}"):
                out[f"{prefix} {name}"] = f"p{n}_{key}"
            out[f"{name} родителя {n}"] = f"p{n}_{key}"
    return out


def _spec_students() -> Spec:
    titles = {"class": "Класс"}
    titles |= {k: t for k, (t, _) in _PERSON_FIELDS.items() if k != "fio"}
    titles |= {k: t for k, (t, _) in _STUDENT_FIELDS.items() if k != "class"}
    for n in PARENTS:
        for key, (title, _) in {**_PERSON_FIELDS, **_PARENT_FIELDS, **_CONTACT_FIELDS}.items():
            if key != "fio":
                titles[f"p{n}_{key}"] = f"Родитель {n}: {title}"
    aliases = {a: k for k, (_, names) in {**_PERSON_FIELDS, **_STUDENT_FIELDS}.items() for a in names}
    for n in PARENTS:
        aliases |= _parent_aliases(n)
    return Spec(STUDENTS, titles, aliases, ("class", "birth", "sex"))


def _spec_staff() -> Spec:
    titles = {k: t for k, (t, _) in _PERSON_FIELDS.items() if k != "fio"}
    titles |= {k: t for k, (t, _) in {**_STAFF_FIELDS, **_CONTACT_FIELDS}.items()}
    aliases = {a: k for k, (_, names) in {**_PERSON_FIELDS, **_STAFF_FIELDS, **_CONTACT_FIELDS}.items()
               for a in names}
    return Spec(STAFF, titles, aliases, ("roles",))


SPECS = {STUDENTS: _spec_students(), STAFF: _spec_staff()}


def column_help(kind: str) -> list[tuple[str, str]]:
    """(column, what goes in it) for the format description on the page."""
    if kind == STAFF:
        return [
            ("Фамилия, Имя, Отчество", "обязательны Фамилия и Имя; вместо трёх столбцов можно один «ФИО»"),
            ("Должность", "например, «учитель математики»; пусто — по первой роли"),
            ("Роли", "через запятую: " + ", ".join(ROLE_INPUT_NAMES)),
            ("Телефон, E-mail", "необязательны"),
        ]
    return [
        ("Класс", "например, 5А; класс должен уже быть в текущем учебном году"),
        ("Фамилия, Имя, Отчество", "обязательны Фамилия и Имя; вместо трёх столбцов можно один «ФИО»"),
        ("Дата рождения", "ДД.ММ.ГГГГ (или «Дата рожд.», «Д.р.»)"),
        ("Пол", "м или ж"),
        ("Форма обучения", "необязателен; " + ", ".join(STUDY_FORMS) + "; пусто — очная"),
        ("Родитель 1: Фамилия … Родитель 2: E-mail",
         "необязательны; для каждого родителя: Фамилия, Имя, Отчество, Кем приходится ("
         + ", ".join(RELATIONS) + "), Телефон, E-mail"),
    ]


# --- reading the file ------------------------------------------------------------------

@dataclass
class Table:
    kind: str
    source: str                                  # how the file was read, for the page
    columns: dict[str, int]                      # column key → index in a row
    rows: list[tuple[int, list[str]]]            # (row number as Excel shows it, cells); no empty rows
    notes: list[str] = field(default_factory=list)


BAD_TEXT = ("Файл не удалось прочитать: это не книга Excel (.xlsx) и не текст CSV в кодировке UTF-8 или "
            "Windows-1251. Откройте список в Excel и сохраните его как «Книга Excel (*.xlsx)» или «CSV UTF-8», "
            "затем загрузите снова.")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_table(data: bytes, kind: str | Spec) -> Table:
    """The file's rows under its header row; raises ImportFileError naming the problem.
    `kind` names one of SPECS, or is another area's Spec (the journal's КТП)."""
    spec = kind if isinstance(kind, Spec) else SPECS[kind]
    if not data.strip():
        raise ImportFileError("Файл пуст.")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(too_large_message())
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("Это файл старого формата Excel (.xls). Откройте его в Excel и сохраните как "
                              "«Книга Excel (*.xlsx)» или «CSV UTF-8», затем загрузите снова.")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, spec)
    return _read_csv(data, spec)


def too_large_message() -> str:
    return (f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ. Разделите список на части (например, по "
            "параллелям) или сохраните его как CSV.")


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8", "UTF-8", data[3:])]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's «Текст Юникод» is UTF-16 with a BOM (and tabs).
        candidates = [("utf-16", "UTF-16", data)]
    else:
        # Russian text in Windows-1251 is practically never valid UTF-8, so the order decides.
        candidates = [("utf-8", "UTF-8", data), ("cp1251", "Windows-1251", data)]
    for codec, label, raw in candidates:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        # Binary files (pictures, PDF, archives) decode as cp1251 too, but are full of control bytes.
        if _CONTROL.search(text):
            break
        return text, label
    raise ImportFileError(BAD_TEXT)


_DELIMITERS = {";": "точка с запятой", ",": "запятая", "\t": "табуляция"}


def _read_csv(data: bytes, spec: Spec) -> Table:
    text, encoding = _decode(data)
    try:
        # Try each delimiter on the first lines: the one under which our header appears wins.
        for delimiter, label in _DELIMITERS.items():
            head = _numbered(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), 200))
            found = _find_header(head, spec)
            if found is not None:
                rows = _numbered(csv.reader(io.StringIO(text), delimiter=delimiter))
                return _table(spec, f"CSV, кодировка {encoding}, разделитель — {label}", rows, found)
        sample = "\n".join(itertools.islice((line for line in text.splitlines() if line.strip()), HEADER_SEARCH_ROWS))
        delimiter = max(_DELIMITERS, key=sample.count)
        if not sample.count(delimiter):
            raise ImportFileError("Не удалось разделить строки файла на столбцы: в CSV столбцы разделяются "
                                  "точкой с запятой (;) или запятой (,). Сохраните список из Excel как «CSV UTF-8» "
                                  "или «CSV (разделители — запятые)».")
        head = _numbered(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), 200))
    except csv.Error as e:
        raise ImportFileError(f"Файл CSV испорчен ({e}). Сохраните его из Excel заново.") from None
    raise ImportFileError(_missing_columns_message(head, spec))


def _numbered(rows) -> list[tuple[int, list[str]]]:
    return [(n, [_cell_text(v) for v in row]) for n, row in enumerate(rows, 1)]


def _read_xlsx(data: bytes, spec: Spec) -> Table:
    import openpyxl  # only when an .xlsx comes: it takes a while to import on a Pi

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_XLSX_UNPACKED:
                raise ImportFileError("Книга Excel слишком велика в распакованном виде: сохраните список как CSV.")
            names = set(z.namelist())
            if "mimetype" in names and b"opendocument" in z.read("mimetype"):
                raise ImportFileError("Это таблица LibreOffice (.ods). Сохраните её как «Книга Excel (.xlsx)» "
                                      "или как CSV, затем загрузите снова.")
    except zipfile.BadZipFile:
        raise ImportFileError("Файл похож на книгу Excel, но повреждён или не дописан. Сохраните его заново.") from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a bad book; the message says what to do
        raise ImportFileError("Файл не удалось открыть как книгу Excel (.xlsx). Откройте его в Excel и сохраните "
                              "как «Книга Excel (*.xlsx)» или «CSV UTF-8».") from None
    try:
        sheets = book.worksheets
        best_head: list[tuple[int, list[str]]] = []
        for sheet in sheets:
            # Some programs write a wrong used range; read_only mode would then read only part.
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            head = _numbered(itertools.islice(rows, 200))
            found = _find_header(head, spec)
            if found is None:
                if not best_head or _recognised(head, spec) > _recognised(best_head, spec):
                    best_head = head
                continue
            numbered = head + [(n, [_cell_text(v) for v in row]) for n, row in enumerate(rows, len(head) + 1)]
            table = _table(spec, f"книга Excel, лист «{sheet.title}»", numbered, found)
            others = [s.title for s in sheets if s is not sheet]
            if others:
                table.notes.append("Прочитан только лист «{}»; пропущены: {}.".format(
                    sheet.title, ", ".join(f"«{t}»" for t in others)))
            return table
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError("Книгу Excel не удалось прочитать: она повреждена. Сохраните её заново.") from None
    finally:
        book.close()
    raise ImportFileError(_missing_columns_message(best_head, spec, sheets=len(sheets)))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or a year that Excel keeps as a number
    # str.split also splits on no-break spaces, which Excel users paste a lot.
    return " ".join(str(value).split())


def _header_map(cells: list[str], spec: Spec) -> tuple[dict[str, int], list[str], list[str]]:
    """(column key → index, unrecognised headers, headers given twice)."""
    found: dict[str, int] = {}
    unknown, twice = [], []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        key = spec.aliases.get(normalize_header(cell))
        if key is None:
            unknown.append(cell)
        elif key in found:
            twice.append(cell)
        else:
            found[key] = i
    return found, unknown, twice


def _missing(found: dict[str, int], spec: Spec) -> list[str]:
    missing = [spec.titles[k] for k in spec.required if k not in found]
    if spec.named and "fio" not in found:
        missing[0:0] = [spec.titles[k] for k in ("last", "first") if k not in found]
    return missing


def _recognised(head, spec: Spec) -> int:
    return max((len(_header_map(cells, spec)[0]) for _, cells in head), default=0)


def _find_header(head: list[tuple[int, list[str]]], spec: Spec):
    """(index in head, column map, unknown, twice) of the first row that has the required columns."""
    nonempty = [(i, cells) for i, (_, cells) in enumerate(head) if any(cells)][:HEADER_SEARCH_ROWS]
    for i, cells in nonempty:
        found, unknown, twice = _header_map(cells, spec)
        if not _missing(found, spec):
            return i, found, unknown, twice
    return None


def _missing_columns_message(head, spec: Spec, sheets: int = 0) -> str:
    best: dict[str, int] = {}
    for _, cells in head:
        found = _header_map(cells, spec)[0]
        if len(found) > len(best):
            best = found
    missing = _missing(best, spec)
    where = "ни на одном листе книги" if sheets > 1 else "в первых строках файла"
    message = f"Не найдена строка заголовка с нужными столбцами {where}: нет столбцов " + \
        ", ".join(f"«{m}»" for m in missing) + "."
    other = SPECS.get({STUDENTS: STAFF, STAFF: STUDENTS}.get(spec.kind, ""))
    if other and any(_find_header([row], other) for row in head):
        message += (" Похоже, это " + ("список сотрудников" if other.kind == STAFF else "список класса")
                    + ": загрузите его в другой форме на этой странице.")
    elif not best:
        message += (" Если названия столбцов выглядят как набор странных знаков, файл сохранён в другой "
                    "кодировке: сохраните его в Excel как «CSV UTF-8» или «Книга Excel (*.xlsx)».")
    return message + " Образец — в шаблоне для скачивания."


def _table(spec: Spec, source: str, numbered, found) -> Table:
    index, columns, unknown, twice = found
    if twice:
        raise ImportFileError("Столбцы повторяются: " + ", ".join(f"«{t}»" for t in twice)
                              + ". Оставьте каждый столбец один раз.")
    rows = [(n, cells) for n, cells in numbered[index + 1:] if any(cells)]
    if not rows:
        raise ImportFileError("Под строкой заголовка нет ни одной строки с данными.")
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"В файле больше {MAX_ROWS} строк: разделите его на части (например, по параллелям).")
    table = Table(spec.kind, source, columns, rows)
    if unknown:
        table.notes.append("Эти столбцы не распознаны и не импортируются: "
                           + ", ".join(f"«{u[:40]}»" for u in unknown[:20]) + ".")
    if "fio" in columns and "last" in columns:
        table.notes.append("Есть и столбец «ФИО», и отдельные «Фамилия», «Имя»: взяты отдельные столбцы.")
    return table


# --- checking rows -------------------------------------------------------------------

@dataclass
class ParentItem:
    number: int
    last: str
    first: str
    middle: str
    relation: str
    phone: str | None
    email: str | None
    parent_id: int | None = None    # already in the school
    new_ref: int | None = None      # a parent this file adds (one number per person, siblings share it)
    link_new: bool = True

    @property
    def name_key(self) -> tuple:
        return same(self.last, self.first, self.middle)

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.last, self.first, self.middle) if p)


@dataclass
class StudentItem:
    line: int
    class_id: int
    class_name: str
    last: str
    first: str
    middle: str
    birth_date: str
    sex: str
    study_form: str
    student_id: int | None          # already in the school (and in this class): skipped
    parents: list[ParentItem]

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.last, self.first, self.middle) if p)


@dataclass
class StaffItem:
    line: int
    last: str
    first: str
    middle: str
    position: str
    roles: set[str]
    phone: str | None
    email: str | None
    person_id: int | None           # already in the school: skipped

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.last, self.first, self.middle) if p)


@dataclass
class Plan:
    kind: str
    source: str
    notes: list[str]
    rows: int
    errors: list[tuple[int, list[str]]] = field(default_factory=list)
    students: list[StudentItem] = field(default_factory=list)
    staff: list[StaffItem] = field(default_factory=list)
    year_id: int | None = None
    year_name: str = ""
    from_date: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown_errors(self) -> list[tuple[int, list[str]]]:
        return self.errors[:MAX_SHOWN_ERRORS]

    @property
    def counts(self) -> dict[str, int]:
        if self.kind == STAFF:
            return {"staff_new": sum(s.person_id is None for s in self.staff),
                    "staff_skipped": sum(s.person_id is not None for s in self.staff)}
        parents = [p for s in self.students for p in s.parents]
        return {
            "students_new": sum(s.student_id is None for s in self.students),
            "students_skipped": sum(s.student_id is not None for s in self.students),
            "parents_new": len({p.new_ref for p in parents if p.parent_id is None}),
            "parents_existing": len({p.parent_id for p in parents if p.parent_id is not None}),
            "links_new": sum(p.link_new for p in parents),
            "links_existing": sum(not p.link_new for p in parents),
        }

    @property
    def nothing_new(self) -> bool:
        return not any(v for k, v in self.counts.items() if k.endswith("_new"))

    @property
    def signature(self) -> str:
        """What the person saw in the preview, to notice a change before the confirmation."""
        return ",".join(f"{k}={v}" for k, v in self.counts.items())

    @property
    def by_class(self) -> list[dict]:
        out: dict[int, dict] = {}
        for s in self.students:
            c = out.setdefault(s.class_id, {"id": s.class_id, "name": s.class_name, "new": 0, "skipped": 0})
            c["new" if s.student_id is None else "skipped"] += 1
        return sorted(out.values(), key=lambda c: (int(re.match(r"\d+", c["name"]).group()), c["name"]))

    @property
    def skipped(self) -> list[str]:
        """Who is already in the school, for the preview (line numbers as in the file)."""
        if self.kind == STAFF:
            return [f"Строка {s.line}: {s.name} — уже есть среди сотрудников" for s in self.staff if s.person_id]
        return [f"Строка {s.line}: {s.name} — уже в {s.class_name} классе" for s in self.students if s.student_id]


def same(*parts: str | None) -> tuple:
    """A matching key: case and ё/е do not tell people apart («Фёдор» in one list, «Федор» in another)."""
    return tuple((p or "").lower().replace("ё", "е") for p in parts)


def _cell(row: list[str], columns: dict[str, int], key: str) -> str:
    i = columns.get(key)
    return row[i] if i is not None and i < len(row) else ""


def _name(text: str, what: str, required: bool = True) -> str:
    value = " ".join(text.split())
    if len(value) > 1 and value.isupper():
        # ИВАНОВ in capitals, as some exports write surnames → Иванов, like everyone else.
        value = re.sub(r"[А-Яа-яЁё]+", lambda m: m.group(0).capitalize(), value.lower())
    return clean_name(value, what, required)


def _person_name(row, columns, prefix: str, what: str, problems: list[str]) -> tuple[str, str, str] | None:
    """(last, first, middle) from separate columns or from ФИО; None with the reasons added."""
    try:
        if f"{prefix}last" in columns or f"{prefix}fio" not in columns:
            last = _name(_cell(row, columns, f"{prefix}last"), f"{what}фамилия")
            first = _name(_cell(row, columns, f"{prefix}first"), f"{what}имя")
            middle = _name(_cell(row, columns, f"{prefix}middle"), f"{what}отчество", required=False)
            return last, first, middle
        parts = _cell(row, columns, f"{prefix}fio").split()
        if len(parts) < 2:
            raise SchoolError(f"{what}ФИО: нужны как минимум фамилия и имя.")
        return (_name(parts[0], f"{what}фамилия"), _name(parts[1], f"{what}имя"),
                _name(" ".join(parts[2:]), f"{what}отчество", required=False))
    except SchoolError as e:
        problems.append(_sentence(e.message))
        return None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


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


def _current_year(conn) -> sqlite3.Row | None:
    # As store.current_year, but on the caller's connection (inside the import transaction).
    return _one(conn, "SELECT * FROM academic_year WHERE status = 'open' ORDER BY starts_on DESC LIMIT 1")


def check(conn, table: Table) -> Plan:
    """Every row of `table` against the school as `conn` sees it; raises ImportFileError if no year."""
    plan = Plan(table.kind, table.source, list(table.notes), len(table.rows))
    if table.kind == STAFF:
        _check_staff(conn, table, plan)
    else:
        _check_students(conn, table, plan)
    return plan


def _check_students(conn, table: Table, plan: Plan) -> None:
    year = _current_year(conn)
    if year is None:
        raise ImportFileError("Нет открытого учебного года: сначала создайте учебный год и классы "
                              "на странице «Школа и учебные годы».")
    plan.year_id, plan.year_name = year["id"], year["name"]
    plan.from_date = min(max(clock.today().isoformat(), year["starts_on"]), year["ends_on"])
    # One snapshot of the school in a handful of queries, then the rows are checked in memory.
    classes = {(c["parallel"], c["letter"]): c for c in _all(
        conn, "SELECT id, parallel, letter, parallel || letter AS name FROM class"
              " WHERE year_id = ? AND archived_at IS NULL", (year["id"],))}
    students = {}
    for s in _all(conn, """
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
    for p in _all(conn, """
            SELECT p.id, p.last_name, p.first_name, p.middle_name, p.phone, p.email
              FROM person p JOIN account a ON a.person_id = p.id
              JOIN account_role r ON r.account_id = a.id AND r.role = 'parent'
             ORDER BY p.id"""):
        known_parents.add(p["id"], same(p["last_name"], p["first_name"], p["middle_name"]), p["phone"], p["email"])
    new_parents = ParentIndex()
    links: dict[int, dict[tuple, int]] = {}
    for g in _all(conn, "SELECT g.student_id, g.parent_id, p.last_name, p.first_name, p.middle_name"
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
    name = _person_name(row, columns, "", "", problems)
    values = {}
    for key, parse in (
        ("class", lambda t: _parse_class(t, classes, year["name"])),
        ("birth", lambda t: _parse_birth(t, year["starts_on"])),
        ("sex", lambda t: parse_sex(_SEX_WORDS.get(t.lower(), t))),
        ("form", _parse_form),
    ):
        try:
            values[key] = parse(_cell(row, columns, key))
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
    if not any(_cell(row, columns, k) for k in keys):
        return None
    what = f"Родитель {n} — "
    before = len(problems)
    name = _person_name(row, columns, f"p{n}_", what, problems)
    relation_text = _cell(row, columns, f"p{n}_relation")
    relation = _RELATION_WORDS.get(normalize_header(relation_text))
    if relation is None:
        problems.append(f"{what}кем приходится: " + (f"«{relation_text[:30]}» не подходит" if relation_text
                                                      else "не указано") + f"; нужно одно из: {', '.join(RELATIONS)}.")
    contacts = []
    for key, parse in (("phone", parse_phone), ("email", parse_email)):
        try:
            contacts.append(parse(_cell(row, columns, f"p{n}_{key}")))
        except SchoolError as e:
            problems.append(what + e.message[:1].lower() + e.message[1:])
    if len(problems) > before:
        return None
    return ParentItem(n, *name, relation, *contacts)


# Role names people write in the «Роли» column (normalised as headers are) → stored roles.
ROLE_INPUT_NAMES = ("учитель", "заместитель директора", "администратор АСУ", "директор", "педработник")
_ROLE_WORDS = {
    "учитель": "teacher", "педагог": "teacher",
    "заместитель директора": "deputy", "зам директора": "deputy", "замдиректора": "deputy", "завуч": "deputy",
    "куратор асу": "deputy",
    "администратор асу": "sysadmin", "администратор": "sysadmin",
    "директор": "director",
    "педработник": "staff", "педагогический работник": "staff", "другой педработник": "staff",
} | {r: r for r in ("teacher", "deputy", "sysadmin", "director", "staff")}


def parse_roles(text: str) -> set[str]:
    roles = set()
    for part in re.split(r"[,;/]", text):
        word = normalize_header(part)
        if not word:
            continue
        if word == "классный руководитель":
            raise SchoolError("Роль «классный руководитель» импортом не назначается: она появляется, когда "
                              "сотрудника назначают классным руководителем на странице «Классы».")
        role = _ROLE_WORDS.get(word)
        if role is None:
            raise SchoolError(f"Роль «{part.strip()[:30]}» не известна: допустимы {', '.join(ROLE_INPUT_NAMES)}.")
        roles.add(role)
    if not roles:
        raise SchoolError(f"Роли: не указаны (например, «учитель»; допустимы {', '.join(ROLE_INPUT_NAMES)}).")
    return roles


def _check_staff(conn, table: Table, plan: Plan) -> None:
    staff = {}
    # Staff are the people with a staff role or a position (the first sysadmin made at set-up
    # has both; one made at the console has only the role).
    for p in _all(conn, """
            SELECT p.id, p.last_name, p.first_name, p.middle_name FROM person p
             WHERE p.archived_at IS NULL AND (p.position IS NOT NULL OR EXISTS (
                   SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id
                    WHERE a.person_id = p.id AND r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff')))
             ORDER BY p.id"""):
        staff.setdefault(same(p["last_name"], p["first_name"], p["middle_name"]), p["id"])
    seen: dict[tuple, int] = {}
    for line, row in table.rows:
        problems: list[str] = []
        name = _person_name(row, table.columns, "", "", problems)
        try:
            roles = parse_roles(_cell(row, table.columns, "roles"))
        except SchoolError as e:
            problems.append(e.message)
            roles = set()
        position = _cell(row, table.columns, "position")[:100]
        if not position and roles:
            order = [r for r in ROLE_LABELS if r in roles]
            position = ROLE_LABELS[order[0]].lower().replace("асу", "АСУ")
        contacts = []
        for key, parse in (("phone", parse_phone), ("email", parse_email)):
            try:
                contacts.append(parse(_cell(row, table.columns, key)))
            except SchoolError as e:
                problems.append(e.message)
        if name is not None:
            if same(*name) in seen:
                problems.append(f"Сотрудник {' '.join(filter(None, name))} повторяется: "
                                f"уже есть в строке {seen[same(*name)]}.")
            else:
                seen[same(*name)] = line
        if problems:
            plan.errors.append((line, problems))
            continue
        plan.staff.append(StaffItem(line, *name, position, roles, *contacts, staff.get(same(*name))))


# --- importing --------------------------------------------------------------------

@dataclass
class Result:
    log_id: int
    counts: dict[str, int]


def run_import(conn, account_id: int | None, table: Table, file_name: str, expected: str | None = None) -> Result:
    """Check `table` again and import it; meant to run as one `db.write` transaction.

    Raises ImportRejected if a row is bad now, ImportChanged if the outcome is not what
    the preview showed (`expected` is Plan.signature then); both before anything is written.
    """
    plan = check(conn, table)
    if not plan.ok:
        raise ImportRejected(plan)
    if expected is not None and expected != plan.signature:
        raise ImportChanged()
    if plan.kind == STAFF:
        for s in plan.staff:
            if s.person_id is None:
                people.create_staff(conn, account_id, s.last, s.first, s.middle, s.position, s.roles, s.phone, s.email)
    else:
        made: dict[int, int] = {}
        for s in plan.students:
            student_id = s.student_id or people.create_student(
                conn, account_id, s.class_id, s.last, s.first, s.middle, s.birth_date, s.sex, s.study_form, plan.from_date)
            for p in s.parents:
                parent_id = p.parent_id or made.get(p.new_ref)
                if parent_id is None:
                    parent_id = made[p.new_ref] = people.create_parent(conn, account_id, p.last, p.first, p.middle,
                                                                              p.phone, p.email)
                if p.link_new:
                    people.link_parent(conn, account_id, parent_id, student_id, p.relation)
    counts = plan.counts
    created = counts.get("students_new", counts.get("staff_new", 0))
    skipped = counts.get("students_skipped", counts.get("staff_skipped", 0))
    class_ids = ",".join(str(c["id"]) for c in plan.by_class)
    cur = conn.execute(
        "INSERT INTO import_log(kind, file_name, row_count, created, skipped, parents_created, links_created,"
        " class_ids, account_id, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (plan.kind, file_name, plan.rows, created, skipped, counts.get("parents_new", 0),
         counts.get("links_new", 0), class_ids, account_id, now_text()))
    return Result(cur.lastrowid, counts)


def history(conn, limit: int = 20) -> list[sqlite3.Row]:
    return _all(conn, 
        """
        SELECT l.*, p.last_name, p.first_name, p.middle_name
          FROM import_log l LEFT JOIN account a ON a.id = l.account_id LEFT JOIN person p ON p.id = a.person_id
         ORDER BY l.id DESC LIMIT ?
        """, (limit,))


def log_entry(conn, log_id: int) -> tuple[sqlite3.Row | None, list[sqlite3.Row]]:
    """One import and the classes it filled (for links to their lists)."""
    entry = _one(conn, "SELECT * FROM import_log WHERE id = ?", (log_id,))
    if entry is None or not entry["class_ids"]:
        return entry, []
    ids = [int(i) for i in entry["class_ids"].split(",")]
    classes = _all(conn,
        f"SELECT id, parallel || letter AS name FROM class WHERE id IN ({','.join('?' * len(ids))})"
        " ORDER BY parallel, letter", ids)
    return entry, classes


# --- the file between the check and the confirmation -------------------------------------

@dataclass
class Pending:
    token: str
    kind: str
    file_name: str
    data: bytes


_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def _pending_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "imports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _owner_tag(token: str, owner: str) -> str:
    # The session's hash is not written down as is; this ties the file to it all the same.
    return hashlib.sha256(f"{token}:{owner}".encode()).hexdigest()


def safe_file_name(name: str | None) -> str:
    """The uploaded file's own name, for the record: no folders, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:120] or "без имени"


def stash(data_dir: Path, data: bytes, kind: str, file_name: str, owner: str) -> str:
    """Keep a checked file until it is confirmed; returns the token that names it."""
    purge_pending(data_dir)
    token = secrets.token_urlsafe(24)
    folder = _pending_dir(data_dir)
    meta = {"kind": kind, "file_name": file_name, "owner": _owner_tag(token, owner)}
    for suffix, content in ((".data", data), (".json", json.dumps(meta).encode())):
        fd = os.open(folder / f"{token}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
    return token


def load_pending(data_dir: Path, token: str, owner: str) -> Pending | None:
    """The stashed file if `token` names one of this session's and it is not stale."""
    purge_pending(data_dir)
    if not _TOKEN.fullmatch(token or ""):
        return None
    folder = _pending_dir(data_dir)
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        if not hmac.compare_digest(meta.get("owner", ""), _owner_tag(token, owner)):
            return None
        data = (folder / f"{token}.data").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("kind") not in KINDS:
        return None
    return Pending(token, meta["kind"], str(meta.get("file_name", "")), data)


def drop_pending(data_dir: Path, token: str) -> None:
    if not _TOKEN.fullmatch(token or ""):
        return
    for suffix in (".data", ".json"):
        (_pending_dir(data_dir) / f"{token}{suffix}").unlink(missing_ok=True)


def purge_pending(data_dir: Path, now: float | None = None) -> None:
    """Uploaded files nobody confirmed within the hour hold personal data: delete them."""
    folder = Path(data_dir) / "imports"
    if not folder.is_dir():
        return
    limit = (now or clock.timestamp()) - PENDING_TTL_SECONDS
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


# --- template files ------------------------------------------------------------------

_EXAMPLES = {
    STUDENTS: [
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
    ],
    STAFF: [
        {"last": "Петрова", "first": "Елена", "middle": "Викторовна", "position": "учитель русского языка и литературы",
         "roles": "учитель", "phone": "+7 902 111-22-33", "email": "petrova@example.ru"},
        {"last": "Соколов", "first": "Андрей", "middle": "Игоревич", "position": "заместитель директора по УВР",
         "roles": "заместитель директора, учитель", "phone": "", "email": ""},
    ],
}
TEMPLATE_NAMES = {STUDENTS: "Шаблон — список класса", STAFF: "Шаблон — сотрудники"}


def template_csv(kind: str) -> bytes:
    """Header and two example rows; UTF-8 with a BOM and `;`, which Russian Excel opens as is."""
    titles = SPECS[kind].titles
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(titles.values())
    for example in _EXAMPLES[kind]:
        writer.writerow([example.get(k).strftime("%d.%m.%Y") if isinstance(example.get(k), date)
                         else example.get(k, "") for k in titles])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    """The same as a book: the list on the first sheet, the column help on a second one."""
    import openpyxl
    from openpyxl.styles import Font

    titles = SPECS[kind].titles
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Список" if kind == STUDENTS else "Сотрудники"
    sheet.append(list(titles.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for example in _EXAMPLES[kind]:
        sheet.append([example.get(k, "") for k in titles])
    for column, title in zip(sheet.columns, titles.values()):
        letter = column[0].column_letter
        sheet.column_dimensions[letter].width = max(12, len(title) + 2)
        for cell in column[1:]:
            if isinstance(cell.value, date):
                cell.number_format = "DD.MM.YYYY"
            else:
                cell.number_format = "@"  # text: Excel must not turn phones into numbers
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("Как заполнять")
    help_sheet.append(["Столбец", "Что писать"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    for row in column_help(kind):
        help_sheet.append(list(row))
    help_sheet.append([])
    help_sheet.append(["", "Импортируется только первый лист, на котором есть строка заголовка."])
    help_sheet.column_dimensions["A"].width = 40
    help_sheet.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
