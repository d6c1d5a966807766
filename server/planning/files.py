"""КТП files: reading an uploaded plan (CSV or XLSX) into rows, and the templates to download.

The reading is the class-list import's (`school.imports.read_table` with the plan's own
`Spec`: the same encodings, delimiters, header search in the first rows, Excel row numbers);
this module is the only place in the КТП that knows that reader, so that switching to the
shared table reader is a change here alone. Columns are found by their Russian headers:
`№, Тема, Часы, Дата, Неделя, Вид работы`."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date

from .. import clock
from ..school import imports
from ..timeutil import school_year_start

MAX_FILE_BYTES = imports.MAX_FILE_BYTES
UPLOAD_BODY_LIMIT = MAX_FILE_BYTES + 256 * 1024
FileRejected = imports.ImportFileError   # the file as a whole cannot be read (a Russian message)
Table = imports.Table

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
PLAN_SPEC = imports.Spec(
    kind="plan",
    titles={k: title for k, (title, _) in FIELDS.items()},
    aliases={alias: k for k, (_, names) in FIELDS.items() for alias in names},
    required=("number", "topic"),
    named=False,
)


def read_plan_file(data: bytes) -> Table:
    """The file's rows under its header; FileRejected if it cannot be read as a plan."""
    return imports.read_table(data, PLAN_SPEC)


def table_rows(table: Table) -> list[tuple[int, dict[str, str]]]:
    """(Excel row number, {column key: text}) of every row, for rules.check_rows."""
    return [(line, {k: cells[i] if i < len(cells) else "" for k, i in table.columns.items()})
            for line, cells in table.rows]


def safe_file_name(name: str | None) -> str:
    return imports.safe_file_name(name)


def too_large_message() -> str:
    return imports.too_large_message()


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


def template_csv() -> bytes:
    """UTF-8 with a BOM and `;`, which Russian Excel opens as is (as the class-list template)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(PLAN_SPEC.titles.values())
    for ex in _examples():
        writer.writerow([ex[k].strftime("%d.%m.%Y") if isinstance(ex[k], date) else
                         ("" if ex[k] is None else ex[k]) for k in PLAN_SPEC.titles])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx(work_type_names: list[str]) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "КТП"
    sheet.append(list(PLAN_SPEC.titles.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for ex in _examples():
        sheet.append([ex[k] for k in PLAN_SPEC.titles])
    for column, width in zip("ABCDEF", (6, 60, 8, 13, 9, 24)):
        sheet.column_dimensions[column].width = width
    for cell in sheet["D"][1:]:
        cell.number_format = "DD.MM.YYYY"
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("Как заполнять")
    help_sheet.append(["Столбец", "Что писать"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    for row in HELP:
        help_sheet.append(list(row))
    help_sheet.append(["Виды работ", ", ".join(work_type_names)])
    help_sheet.append([])
    help_sheet.append(["", "Загружается только первый лист, на котором есть строка заголовка."])
    help_sheet.column_dimensions["A"].width = 14
    help_sheet.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
