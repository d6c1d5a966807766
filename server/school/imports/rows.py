"""What a checked file would do (the Plan), and what both kinds of rows share: the people's
names, the matching key that ignores case and ё, the columns of a name and a contact."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from ..errors import SchoolError
from ..validate import clean_name

STUDENTS = "students"
STAFF = "staff"
KINDS = {STUDENTS: "список класса", STAFF: "сотрудники"}
MAX_SHOWN_ERRORS = 500


class ImportFileError(SchoolError):
    """The file as a whole cannot be read (encoding, format, columns); nothing is checked further."""


# Each field: the header in our template and the other headers that mean the same.
PERSON_FIELDS = {
    "last": ("Фамилия", ("фамилия",)),
    "first": ("Имя", ("имя",)),
    "middle": ("Отчество", ("отчество", "отчество при наличии")),
    # One column with the whole name instead of three (common in other systems' exports).
    "fio": ("ФИО", ("фио", "ф и о", "фамилия имя отчество", "фамилия имя отчество полностью", "фио полностью")),
}

CONTACT_FIELDS = {
    "phone": ("Телефон", ("телефон", "тел", "мобильный телефон", "телефон мобильный", "сотовый телефон",
                          "номер телефона", "моб телефон", "контактный телефон", "телефоны", "мобильный",
                          "сотовый", "телефон сотовый", "тел мобильный", "тел сотовый")),
    "email": ("E-mail", ("e mail", "email", "е mail", "емейл", "эл почта", "электронная почта",
                         "адрес электронной почты", "почта", "электронный адрес")),
}


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
    guessed: bool = False           # «кем приходится» not in the file: told by the patronymic

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
    sex_guessed: bool = False       # no sex in the file: told by the patronymic or the first name

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
    skipped_rows: list[str] = field(default_factory=list)     # the file's furniture, row by row
    warnings: list[str] = field(default_factory=list)         # what arrives otherwise than written
    parents_in_file: int = 0                                  # parents the file names
    not_loaded: list[str] = field(default_factory=list)       # parents (or other data) that do not arrive
    class_source: str = ""                                    # where the class came from, when not a column

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
            "parents_in_file": self.parents_in_file,
            "parents_loaded": len(parents),
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


def query(conn: sqlite3.Connection, sql: str, params=()) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def cell(row: list[str], columns: dict[str, int], key: str) -> str:
    i = columns.get(key)
    return row[i] if i is not None and i < len(row) else ""


def _name(text: str, what: str, required: bool = True) -> str:
    value = " ".join(text.split())
    if len(value) > 1 and value.isupper():
        # ИВАНОВ in capitals, as some exports write surnames → Иванов, like everyone else.
        value = re.sub(r"[А-Яа-яЁё]+", lambda m: m.group(0).capitalize(), value.lower())
    return clean_name(value, what, required)


def person_name(row, columns, prefix: str, what: str, problems: list[str]) -> tuple[str, str, str] | None:
    """(last, first, middle) from separate columns or from ФИО; None with the reasons added."""
    try:
        if f"{prefix}last" in columns or f"{prefix}fio" not in columns:
            last = _name(cell(row, columns, f"{prefix}last"), f"{what}фамилия")
            first = _name(cell(row, columns, f"{prefix}first"), f"{what}имя")
            middle = _name(cell(row, columns, f"{prefix}middle"), f"{what}отчество", required=False)
            return last, first, middle
        parts = cell(row, columns, f"{prefix}fio").split()
        if len(parts) < 2:
            raise SchoolError(f"{what}ФИО: нужны как минимум фамилия и имя.")
        return (_name(parts[0], f"{what}фамилия"), _name(parts[1], f"{what}имя"),
                _name(" ".join(parts[2:]), f"{what}отчество", required=False))
    except SchoolError as e:
        problems.append(_sentence(e.message))
        return None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]

