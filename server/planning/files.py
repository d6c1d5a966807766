"""КТП files: reading an uploaded plan into rows, and the templates to download.

The reading is the shared one of `server/tables.py` (as the class-list import's): CSV, Excel
(.xlsx, .xls), LibreOffice (.ods) and the tables of a Word document (.docx); the same header
search under a title, two-row headers, furniture skipped, Excel row numbers. Columns are found
by their Russian headers: `№, Тема, Часы, Дата, Неделя, Вид работы`, and the shapes teachers
really have:
- «Конструктор рабочих программ» (its .docx, or the table pasted into Excel): «№ п/п», «Тема
  урока», «Количество часов» over «Всего / Контрольные работы / Практические работы», «Дата
  изучения», a resources column, the total row «ОБЩЕЕ КОЛИЧЕСТВО ЧАСОВ ПО ПРОГРАММЕ»; a
  lesson with control (practical) hours is a control (practical) work;
- the classic КТП: «Дата проведения» over «план / факт» (the plan is taken; the fact is what
  the journal records), section rows «Раздел 1. … (10 ч)» (skipped and listed), two-hour
  topics «5-6» with two dates in one cell (two items, a date each), «Вид контроля» in the
  usual words (текущий, фронтальный опрос, с/р, к/р, словарный диктант …) mapped to the
  school's work types — a word not known becomes «урок» with a warning, never a rejection;
- dates as 02.09.2026, 02.09 (inside the journal's school year), Excel dates and day numbers.

`prepare` turns the table into rows for `rules.check_rows` and says what it did (`Prepared`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from .. import clock, tables
from ..timeutil import school_year_start

if TYPE_CHECKING:
    from ..journal.store import JournalInfo

MAX_FILE_BYTES = tables.MAX_FILE_BYTES
UPLOAD_BODY_LIMIT = MAX_FILE_BYTES + 256 * 1024
FileRejected = tables.TableError   # the file as a whole cannot be read (a Russian message)
Table = tables.Table
safe_file_name = tables.safe_file_name
too_large_message = tables.too_large_message
ACCEPT = tables.ACCEPT
FORMATS_TEXT = tables.FORMATS_TEXT

# Columns of the import file, found by their Russian headers as the class-list import finds its own.
FIELDS = {
    "number": ("№", ("номер", "номер урока", "номер п п", "п п", "номер темы", "урок", "n", "no", "номер занятия",
                     "номер урока п п", "номер п п урока")),
    "topic": ("Тема", ("тема", "тема урока", "тема занятия", "название темы", "наименование темы",
                       "тема урока раздел", "содержание", "тема урока занятия", "наименование раздела темы урока",
                       "раздел тема урока", "темы уроков", "тема раздела урока", "наименование разделов и тем уроков")),
    "hours": ("Часы", ("часы", "часов", "час", "кол во часов", "количество часов", "число часов",
                       "количество часов всего", "кол во часов всего", "всего часов", "часы всего")),
    "control_hours": ("Контрольные работы", ("количество часов контрольные работы", "кол во часов контрольные работы",
                                             "контрольные работы", "количество часов кр")),
    "practical_hours": ("Практические работы", ("количество часов практические работы",
                                                "кол во часов практические работы", "практические работы",
                                                "количество часов практические")),
    "date": ("Дата", ("дата", "дата проведения", "дата по плану", "плановая дата", "планируемая дата",
                      "дата план", "дата урока", "дата изучения", "дата проведения план", "дата проведения по плану",
                      "план", "сроки план", "дата планируемая", "сроки проведения", "сроки", "сроки проведения план",
                      "дата проведения урока план", "дата проведения урока")),
    "week": ("Неделя", ("неделя", "учебная неделя", "номер недели", "неделя учебного года")),
    "work_type": ("Вид работы", ("вид работы", "вид контроля", "вид урока", "формы контроля", "форма контроля",
                                 "виды контроля", "контроль", "вид и форма контроля", "тип урока",
                                 "формы и виды контроля", "виды формы контроля")),
}
# Columns a КТП has that the plan does not keep: named in the preview with why.
KNOWN = {
    "дата проведения факт": "фактические даты журнал берёт из проведённых уроков",
    "дата факт": "фактические даты журнал берёт из проведённых уроков",
    "факт": "фактические даты журнал берёт из проведённых уроков",
    "сроки факт": "фактические даты журнал берёт из проведённых уроков",
    "сроки проведения факт": "фактические даты журнал берёт из проведённых уроков",
    "дата проведения урока факт": "фактические даты журнал берёт из проведённых уроков",
    "дата проведения по факту": "фактические даты журнал берёт из проведённых уроков",
    "электронные цифровые образовательные ресурсы": "ресурсы в КТП журнала не хранятся",
    "электронные образовательные ресурсы": "ресурсы в КТП журнала не хранятся",
    "цор": "ресурсы в КТП журнала не хранятся",
    "эор": "ресурсы в КТП журнала не хранятся",
    "домашнее задание": "домашнее задание задаётся на уроке в журнале",
    "д з": "домашнее задание задаётся на уроке в журнале",
    "дз": "домашнее задание задаётся на уроке в журнале",
    "характеристика деятельности": "в КТП журнала не хранится",
    "характеристика основных видов деятельности": "в КТП журнала не хранится",
    "основные виды деятельности": "в КТП журнала не хранится",
    "виды деятельности": "в КТП журнала не хранится",
    "планируемые результаты": "в КТП журнала не хранятся",
    "предметные результаты": "в КТП журнала не хранятся",
    "элементы содержания": "в КТП журнала не хранятся",
    "оборудование": "в КТП журнала не хранится",
    "примечание": "в КТП журнала не хранится",
    "примечания": "в КТП журнала не хранится",
    "корректировка": "в КТП журнала не хранится",
}
PLAN_SPEC = tables.Spec(
    kind="plan",
    titles={k: title for k, (title, _) in FIELDS.items()},
    aliases={alias: k for k, (_, names) in FIELDS.items() for alias in names},
    required=("number", "topic"),
    named=False,
    known=KNOWN,
    data_keys=("number",),
)
# What the template has (not the Конструктор's extra columns).
TEMPLATE_KEYS = ("number", "topic", "hours", "date", "week", "work_type")

# Work-type words teachers write → the school's work type codes. The current-control words
# («текущий», «фронтальный опрос») are ordinary lessons.
WORK_WORDS = {
    **{w: "lesson" for w in (
        "урок", "текущий", "текущий контроль", "фронтальный опрос", "опрос", "устный опрос", "индивидуальный опрос",
        "беседа", "взаимоконтроль", "самоконтроль", "взаимопроверка", "работа по карточкам", "карточки",
        "фронтальный", "индивидуальный", "комбинированный", "наблюдение", "тематический", "тематический контроль",
        "проверка домашнего задания", "математический диктант", "графический диктант", "устный счет",
        "изучение нового материала", "урок изучения нового материала", "урок обобщения", "повторение",
        "обобщение", "рефлексия", "проект", "защита проекта", "презентация", "развитие речи", "р р", "рр",
        "работа над ошибками", "анализ контрольной работы", "нет", "")},
    **{w: "independent" for w in ("с р", "ср", "самостоятельная", "самостоятельная работа", "самост работа",
                                  "проверочная работа", "проверочная", "пр р")},
    **{w: "control" for w in ("к р", "кр", "контрольная", "контрольная работа", "итоговая контрольная работа",
                              "входная контрольная работа", "входной контроль", "итоговый контроль",
                              "промежуточная аттестация", "административная контрольная работа",
                              "годовая контрольная работа", "итоговая работа", "диагностическая работа",
                              "впр", "всероссийская проверочная работа", "комплексная работа")},
    **{w: "dictation" for w in ("диктант", "контрольный диктант", "словарный диктант", "к д", "кд",
                                "диктант с грамматическим заданием", "контрольный диктант с грамматическим заданием",
                                "словарный", "итоговый диктант", "входной диктант", "контрольное списывание",
                                "списывание")},
    **{w: "essay" for w in ("сочинение", "изложение", "сочинение рассуждение", "контрольное изложение",
                            "контрольное сочинение", "сжатое изложение", "подробное изложение", "сочинение описание",
                            "изложение с элементами сочинения")},
    **{w: "test" for w in ("тест", "тестирование", "тестовая работа", "тестовый контроль", "контрольный тест",
                           "зачетный тест")},
    **{w: "practical" for w in ("п р", "практическая", "практическая работа", "практикум")},
    **{w: "laboratory" for w in ("л р", "лр", "лабораторная", "лабораторная работа")},
    **{w: "credit" for w in ("зачет", "зачёт")},
    **{w: "homework" for w in ("домашняя работа", "домашняя контрольная работа")},
}


@dataclass
class Prepared:
    """A КТП file's rows for rules.check_rows, and what was done to get them."""

    rows: list[tuple[int, dict[str, str]]]
    present: set[str]                                    # the item's fields the file has
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # furniture rows, as the preview lists them
    split: int = 0                                       # «5-6» rows made into two items
    unknown_types: dict[str, list[int]] = field(default_factory=dict)   # a word → its rows (→ «урок»)


def read_plan_file(data: bytes, parallel: int | None = None) -> Table:
    """The file's table of topics; FileRejected if it cannot be read as a plan. In a document
    with a table per class («5 КЛАСС», «6 КЛАСС»), the one of `parallel`."""
    book = tables.read_book(data, PLAN_SPEC)
    table = tables.find_table(book, PLAN_SPEC)
    if table is None:
        raise FileRejected(_missing_message(book))
    if parallel is not None and len(book.sheets) > 1:
        mine = re.compile(rf"(?<!\d){parallel}\s*(класс|кл\b)", re.I)
        candidates = [table]
        while True:
            nxt = tables.find_table(book, PLAN_SPEC, exclude=[c.sheet for c in candidates])
            if nxt is None:
                break
            candidates.append(nxt)
        chosen = next((c for c in candidates if mine.search(" ".join(c.title))), table)
        if len(candidates) > 1:
            chosen.notes.append(f"В файле таблиц КТП: {len(candidates)}; загружается та, что для {parallel} класса"
                                if chosen is not table or mine.search(" ".join(table.title)) else
                                f"В файле таблиц КТП: {len(candidates)}; загружается первая.")
        table = chosen
    return table


def _missing_message(book: tables.Book) -> str:
    message = tables._missing_columns_message(book, PLAN_SPEC, ())
    return message


def prepare(table: Table, info: JournalInfo) -> Prepared:
    """The rows as the plan's checks take them: «5-6» → two items, dates as ГГГГ-ММ-ДД (02.09
    in the journal's school year), work-type words → codes (unknown ones noted, → «урок»),
    control / practical hours → that work type."""
    year_start = date.fromisoformat(info.year_start)
    # A column the file has but left empty everywhere (the Конструктор's «Дата изучения») says
    # nothing: the items keep what they had, as for a column the file does not have.
    filled = {k for k in table.columns if any(table.cell(cells, k).strip() for _, cells in table.rows)}
    present = {"number", "topic"} | (filled & {"hours", "date", "week"})
    if filled & {"work_type", "control_hours", "practical_hours"}:
        present.add("work_type")
    out = Prepared([], present, skipped=tables.skipped_lines(table))
    for line, cells in table.records():
        number = cells.get("number", "").strip()
        cells["hours"] = re.sub(r"\s*(ч|час|часа|часов)\.?$", "", cells.get("hours", "").strip(), flags=re.I)
        dates = _dates(cells.get("date", ""), year_start)
        work = _work_type(cells, line, out)
        m = re.fullmatch(r"(\d{1,4})\s*[-–—]\s*(\d{1,4})", number)
        base = {"topic": " ".join(cells.get("topic", "").split()), "hours": cells.get("hours", ""), "week": cells.get("week", ""),
                "work_type": work}
        if m and 0 < int(m.group(2)) - int(m.group(1)) < 10:
            first, last = int(m.group(1)), int(m.group(2))
            count = last - first + 1
            hours = _per_lesson_hours(base["hours"], count)
            for k, n in enumerate(range(first, last + 1)):
                day = dates[k] if k < len(dates) else (dates[-1] if len(dates) == 1 and k == 0 else "")
                out.rows.append((line, {**base, "number": str(n), "hours": hours, "date": day}))
            out.split += 1
            continue
        if len(dates) > 1:
            out.notes.append(f"Строка {line}: в ячейке даты {len(dates)} даты, а тема одна — взята первая.")
        out.rows.append((line, {**base, "number": number, "date": dates[0] if dates else ""}))
    if out.split:
        out.notes.append(f"Темы на несколько уроков с номерами вида «5-6» разделены на уроки (у каждого своя дата): "
                         f"{out.split}.")
    return out


def _per_lesson_hours(text: str, count: int) -> str:
    try:
        total = float(text.replace(",", ".")) if text.strip() else float(count)
    except ValueError:
        return text
    return str(total / count).replace(".", ",") if total != count else "1"


def _dates(text: str, year_start: date) -> list[str]:
    """The dates of a cell: one, or several on lines of their own («02.09\\n04.09») or with commas."""
    text = (text or "").strip()
    if not text:
        return []
    parts = [p for p in re.split(r"[\n,;]+|\s{2,}|\s+(?=\d{1,2}\.\d{1,2})", text) if p.strip()]
    out = []
    for part in parts:
        try:
            day = tables.parse_day(part, year_start)
        except ValueError:
            day = None
        # What cannot be read is left as it was: the plan's check names it with its row.
        out.append(day.isoformat() if day else part.strip())
    return out


def _work_type(cells: dict[str, str], line: int, out: Prepared) -> str:
    raw = " ".join((cells.get("work_type") or "").split())
    word = tables.normalize_header(raw)
    if word in WORK_WORDS and WORK_WORDS[word] != "lesson":
        return WORK_WORDS[word]
    if word and word not in WORK_WORDS:
        # The first known word of a longer phrase («Контрольная работа № 1 по теме …»).
        found = next((code for w, code in sorted(WORK_WORDS.items(), key=lambda x: -len(x[0]))
                      if w and re.match(rf"{re.escape(w)}\b", word)), None)
        if found is None:
            return raw   # the school's own names are tried by the check; unknown → «урок» there
        if found != "lesson":
            return found
    for key, code in (("control_hours", "control"), ("practical_hours", "practical")):
        value = (cells.get(key) or "").strip().replace(",", ".")
        try:
            if value and float(value) > 0:
                return code
        except ValueError:
            continue
    return "lesson"


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
    ("№", "номер урока (темы) по порядку: 1, 2, 3 …; номера не повторяются; «5-6» — тема на два урока"),
    ("Тема", "тема урока на русском языке (п. 2.7 Регламента), в том числе на уроках иностранного языка"),
    ("Часы", "сколько уроков на тему; пусто — 1"),
    ("Дата", "планируемая дата ДД.ММ.ГГГГ или ДД.ММ в пределах учебного года (можно не заполнять)"),
    ("Неделя", "или номер учебной недели: 1 — неделя, в которую начался учебный год (можно не заполнять)"),
    ("Вид работы", "урок, контрольная работа, диктант … или к/р, с/р, тест; пусто — урок"),
]


def _example_rows() -> list[list]:
    return [[ex[k] for k in TEMPLATE_KEYS] for ex in _examples()]


def _template_titles() -> list[str]:
    return [PLAN_SPEC.titles[k] for k in TEMPLATE_KEYS]


def template_csv() -> bytes:
    """UTF-8 with a BOM and `;`, which Russian Excel opens as is (as the class-list template)."""
    return tables.template_csv(_template_titles(), _example_rows())


def template_xlsx(work_type_names: list[str]) -> bytes:
    guide = tables.Help([*HELP, ("Виды работ", ", ".join(work_type_names))],
                        "Загружается только первый лист, на котором есть строка заголовка.", first_width=14)
    # № and Часы stay numbers (text_cells=False): a КТП is not a list of phone numbers.
    return tables.template_xlsx("КТП", _template_titles(), _example_rows(), guide,
                                widths=(6, 60, 8, 13, 9, 24), text_cells=False)


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
