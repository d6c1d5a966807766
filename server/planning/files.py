"""КТП files: reading an uploaded plan (CSV or XLSX) into rows, and the templates to download.

The reading and the templates are the shared ones of `server/tables.py` (as the class-list
import's): the same encodings, delimiters, header search in the first rows, Excel row numbers.
Columns are found by their Russian headers: `№, Тема, Часы, Дата, Неделя, Вид работы`."""

from __future__ import annotations

from datetime import date

from .. import clock, tables
from ..timeutil import school_year_start

MAX_FILE_BYTES = tables.MAX_FILE_BYTES
UPLOAD_BODY_LIMIT = MAX_FILE_BYTES + 256 * 1024
FileRejected = tables.TableError   # the file as a whole cannot be read (a Russian message)
Table = tables.Table
safe_file_name = tables.safe_file_name
too_large_message = tables.too_large_message

# Columns of the import file, found by their Russian headers as the class-list import finds its own.
FIELDS = {
    "number": ("№", ("номер", "номер урока", "номер п п", "п п", "номер темы", "урок", "n", "no")),
    "topic": ("Тема", ("тема", "тема урока", "тема занятия", "название темы", "наименование темы",
                       "тема урока раздел", "содержание")),
    "hours": ("Часы", ("часы", "часов", "час", "кол во часов", "количество часов", "число часов")),
    "date": ("Дата", ("дата", "дата проведения", "дата по плану", "плановая дата", "планируемая дата",
                      "дата план", "дата урока")),
    "week": ("Неделя", ("неделя", "учебная неделя", "номер недели", "неделя учебного года")),
    "work_type": ("Вид работы", ("вид работы", "вид контроля", "вид урока")),
}
PLAN_SPEC = tables.Spec(
    kind="plan",
    titles={k: title for k, (title, _) in FIELDS.items()},
    aliases={alias: k for k, (_, names) in FIELDS.items() for alias in names},
    required=("number", "topic"),
    named=False,
)


def read_plan_file(data: bytes) -> Table:
    """The file's rows under its header; FileRejected if it cannot be read as a plan."""
    return tables.read_table(data, PLAN_SPEC)


def table_rows(table: Table) -> list[tuple[int, dict[str, str]]]:
    """(Excel row number, {column key: text}) of every row, for rules.check_rows."""
    return table.records()


# --- templates to download ------------------------------------------------------------

def _examples() -> list[dict]:
    y = school_year_start(clock.today())
    return [
        {"number": 1, "topic": "Язык и речь. Повторение изученного в начальной школе", "hours": 1,
         "date": date(y, 9, 2), "week": None, "work_type": "урок"},
        {"number": 2, "topic": "Звуки и буквы. Произношение и правописание", "hours": 2,
         "date": date(y, 9, 3), "week": None, "work_type": "урок"},
        {"number": 3, "topic": "Входная контрольная работа", "hours": 1, "date": None, "week": 2,
         "work_type": "контрольная работа"},
    ]


HELP = [
    ("№", "номер урока (темы) по порядку: 1, 2, 3 …; номера не повторяются"),
    ("Тема", "тема урока на русском языке (п. 2.7 Регламента), в том числе на уроках иностранного языка"),
    ("Часы", "сколько уроков на тему; пусто — 1"),
    ("Дата", "планируемая дата ДД.ММ.ГГГГ в пределах учебного года (можно не заполнять)"),
    ("Неделя", "или номер учебной недели: 1 — неделя, в которую начался учебный год (можно не заполнять)"),
    ("Вид работы", "урок, контрольная работа, диктант … (список — в журнале); пусто — урок"),
]


def _example_rows() -> list[list]:
    return [[ex[k] for k in PLAN_SPEC.titles] for ex in _examples()]


def template_csv() -> bytes:
    """UTF-8 with a BOM and `;`, which Russian Excel opens as is (as the class-list template)."""
    return tables.template_csv(list(PLAN_SPEC.titles.values()), _example_rows())


def template_xlsx(work_type_names: list[str]) -> bytes:
    guide = tables.Help([*HELP, ("Виды работ", ", ".join(work_type_names))],
                        "Загружается только первый лист, на котором есть строка заголовка.", first_width=14)
    # № and Часы stay numbers (text_cells=False): a КТП is not a list of phone numbers.
    return tables.template_xlsx("КТП", list(PLAN_SPEC.titles.values()), _example_rows(), guide,
                                widths=(6, 60, 8, 13, 9, 24), text_cells=False)


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
