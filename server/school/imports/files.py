"""The import's files: an uploaded class list or staff list read with our columns
(server/tables.py), and the template files to download."""

from __future__ import annotations

from ...tables import Help, Spec, Table, TableError
from ...tables import read_table as read_any
from ...tables import template_csv as csv_template
from ...tables import template_xlsx as xlsx_template
from . import staff, students
from .rows import STAFF, STUDENTS, ImportFileError

SPECS = {STUDENTS: students.SPEC, STAFF: staff.SPEC}
TEMPLATE_NAMES = {STUDENTS: students.TEMPLATE_NAME, STAFF: staff.TEMPLATE_NAME}
_HELP = {STUDENTS: students.HELP, STAFF: staff.HELP}
_EXAMPLES = {STUDENTS: students.EXAMPLES, STAFF: staff.EXAMPLES}
_SHEETS = {STUDENTS: "Список", STAFF: "Сотрудники"}
# A staff list uploaded as a class list, or the other way round: the message says so.
_LOOK_ALIKES = {
    STUDENTS: [(staff.SPEC, "Похоже, это список сотрудников: загрузите его в другой форме на этой странице.")],
    STAFF: [(students.SPEC, "Похоже, это список класса: загрузите его в другой форме на этой странице.")],
}


def column_help(kind: str) -> list[tuple[str, str]]:
    """(column, what goes in it) for the format description on the page."""
    return _HELP[kind]


def read_table(data: bytes, kind: str | Spec) -> Table:
    """The file's rows under its header row; raises ImportFileError (a SchoolError) naming the
    problem. `kind` names one of ours, or is another area's Spec (the КТП reads through here
    until it calls server/tables.py itself)."""
    spec = kind if isinstance(kind, Spec) else SPECS[kind]
    try:
        return read_any(data, spec, _LOOK_ALIKES.get(spec.kind, ()))
    except TableError as e:
        raise ImportFileError(e.message) from None


_TEMPLATE_KEYS = {STUDENTS: students.TEMPLATE_KEYS, STAFF: staff.TEMPLATE_KEYS}


def _examples(kind: str) -> list[list]:
    return [[example.get(k, "") for k in _TEMPLATE_KEYS[kind]] for example in _EXAMPLES[kind]]


def _titles(kind: str) -> list[str]:
    return [SPECS[kind].titles[k] for k in _TEMPLATE_KEYS[kind]]


def template_csv(kind: str) -> bytes:
    """Header and two example rows; UTF-8 with a BOM and `;`, which Russian Excel opens as is."""
    return csv_template(_titles(kind), _examples(kind))


def template_xlsx(kind: str) -> bytes:
    """The same as a book: the list on the first sheet, the column help on a second one."""
    return xlsx_template(_SHEETS[kind], _titles(kind), _examples(kind),
                         Help(_HELP[kind], "Импортируется только первый лист, на котором есть строка заголовка."))
