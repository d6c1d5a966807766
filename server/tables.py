"""Tables people bring as files, and the template files we hand them.

Reading: a CSV (UTF-8, UTF-8 with a BOM, UTF-16 as Excel's «Текст Юникод», or Windows-1251;
`;`, `,` or tab between columns) or an Excel book (.xlsx: the first sheet whose header row has
our columns). The header row is found by its column names (a `Spec`: our title and the other
names people give each column) among the first rows, under a title such as «Список 5А
класса»; every row keeps the number Excel shows for it, so a message can say «строка 7».
A file that cannot be read as a whole raises TableError with a Russian message naming the
problem and what to do.

Writing: a template to fill in — CSV with a BOM and `;` (Russian Excel opens it as is) or a
book with the columns, examples and a sheet «Как заполнять».

Used by the import of class lists and staff (server/school/imports/) and meant for the КТП
(the calendar-thematic plan's import and template)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from .errors import UserError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
# An .xlsx is a zip: refuse one that would unpack to something absurd (a zip bomb).
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
# The header may sit under a title such as «Список 5А класса»: look this far down.
HEADER_SEARCH_ROWS = 10


class TableError(UserError):
    """The file as a whole cannot be read (encoding, format, columns); the message is Russian."""


def normalize_header(text) -> str:
    """'Родитель 1: E-mail' → 'родитель 1 e mail'; 'Дата рожд.' → 'дата рожд'; ё = е."""
    # "№" is not a word character: without this «№» and «№ п/п» would normalise to nothing.
    t = str(text or "").lower().replace("ё", "е").replace("№", " номер ")
    t = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", " ", t)
    t = re.sub(r"[\W_]+", " ", t)
    return " ".join(t.split())


@dataclass(frozen=True)
class Spec:
    """The columns a kind of table has: found by their (normalised) headers."""

    kind: str
    titles: dict[str, str]          # column key → header in our template (in template order)
    aliases: dict[str, str]         # normalised header → column key
    required: tuple[str, ...]       # besides a name (Фамилия + Имя, or ФИО)
    named: bool = True              # rows are people: a name is required too (not so for a КТП)


@dataclass
class Table:
    """A file's rows under its header row."""

    kind: str
    source: str                                  # how the file was read, for the page
    columns: dict[str, int]                      # column key → index in a row
    rows: list[tuple[int, list[str]]]            # (row number as Excel shows it, cells); no empty rows
    notes: list[str] = field(default_factory=list)

    def cell(self, row: list[str], key: str) -> str:
        """The text of column `key` in `row` ('' when the file has no such column)."""
        i = self.columns.get(key)
        return row[i] if i is not None and i < len(row) else ""

    def records(self) -> list[tuple[int, dict[str, str]]]:
        """(row number, {column key: text}) of every row."""
        return [(line, {k: self.cell(cells, k) for k in self.columns}) for line, cells in self.rows]


BAD_TEXT = ("Файл не удалось прочитать: это не книга Excel (.xlsx) и не текст CSV в кодировке UTF-8 или "
            "Windows-1251. Откройте список в Excel и сохраните его как «Книга Excel (*.xlsx)» или «CSV UTF-8», "
            "затем загрузите снова.")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_table(data: bytes, spec: Spec, look_alikes: Sequence[tuple[Spec, str]] = ()) -> Table:
    """The file's rows under its header row; raises TableError naming the problem.

    `look_alikes`: other kinds of table (a Spec and what to say) that a person may upload here
    by mistake; when our header is missing but one of theirs is there, the message says so."""
    if not data.strip():
        raise TableError("Файл пуст.")
    if len(data) > MAX_FILE_BYTES:
        raise TableError(too_large_message())
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError("Это файл старого формата Excel (.xls). Откройте его в Excel и сохраните как "
                              "«Книга Excel (*.xlsx)» или «CSV UTF-8», затем загрузите снова.")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, spec, look_alikes)
    return _read_csv(data, spec, look_alikes)


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
    raise TableError(BAD_TEXT)


_DELIMITERS = {";": "точка с запятой", ",": "запятая", "\t": "табуляция"}


def _read_csv(data: bytes, spec: Spec, look_alikes: Sequence[tuple[Spec, str]]) -> Table:
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
            raise TableError("Не удалось разделить строки файла на столбцы: в CSV столбцы разделяются "
                                  "точкой с запятой (;) или запятой (,). Сохраните список из Excel как «CSV UTF-8» "
                                  "или «CSV (разделители — запятые)».")
        head = _numbered(itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), 200))
    except csv.Error as e:
        raise TableError(f"Файл CSV испорчен ({e}). Сохраните его из Excel заново.") from None
    raise TableError(_missing_columns_message(head, spec, look_alikes))


def _numbered(rows) -> list[tuple[int, list[str]]]:
    return [(n, [_cell_text(v) for v in row]) for n, row in enumerate(rows, 1)]


def _read_xlsx(data: bytes, spec: Spec, look_alikes: Sequence[tuple[Spec, str]]) -> Table:
    import openpyxl  # only when an .xlsx comes: it takes a while to import on a Pi

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_XLSX_UNPACKED:
                raise TableError("Книга Excel слишком велика в распакованном виде: сохраните список как CSV.")
            names = set(z.namelist())
            if "mimetype" in names and b"opendocument" in z.read("mimetype"):
                raise TableError("Это таблица LibreOffice (.ods). Сохраните её как «Книга Excel (.xlsx)» "
                                      "или как CSV, затем загрузите снова.")
    except zipfile.BadZipFile:
        raise TableError("Файл похож на книгу Excel, но повреждён или не дописан. Сохраните его заново.") from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a bad book; the message says what to do
        raise TableError("Файл не удалось открыть как книгу Excel (.xlsx). Откройте его в Excel и сохраните "
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
    except TableError:
        raise
    except Exception:
        raise TableError("Книгу Excel не удалось прочитать: она повреждена. Сохраните её заново.") from None
    finally:
        book.close()
    raise TableError(_missing_columns_message(best_head, spec, look_alikes, sheets=len(sheets)))


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


def _missing_columns_message(head, spec: Spec, look_alikes: Sequence[tuple[Spec, str]], sheets: int = 0) -> str:
    best: dict[str, int] = {}
    for _, cells in head:
        found = _header_map(cells, spec)[0]
        if len(found) > len(best):
            best = found
    missing = _missing(best, spec)
    where = "ни на одном листе книги" if sheets > 1 else "в первых строках файла"
    message = f"Не найдена строка заголовка с нужными столбцами {where}: нет столбцов " + \
        ", ".join(f"«{m}»" for m in missing) + "."
    hint = next((hint for other, hint in look_alikes if any(_find_header([row], other) for row in head)), None)
    if hint:
        message += " " + hint
    elif not best:
        message += (" Если названия столбцов выглядят как набор странных знаков, файл сохранён в другой "
                    "кодировке: сохраните его в Excel как «CSV UTF-8» или «Книга Excel (*.xlsx)».")
    return message + " Образец — в шаблоне для скачивания."


def _table(spec: Spec, source: str, numbered, found) -> Table:
    index, columns, unknown, twice = found
    if twice:
        raise TableError("Столбцы повторяются: " + ", ".join(f"«{t}»" for t in twice)
                              + ". Оставьте каждый столбец один раз.")
    rows = [(n, cells) for n, cells in numbered[index + 1:] if any(cells)]
    if not rows:
        raise TableError("Под строкой заголовка нет ни одной строки с данными.")
    if len(rows) > MAX_ROWS:
        raise TableError(f"В файле больше {MAX_ROWS} строк: разделите его на части (например, по параллелям).")
    table = Table(spec.kind, source, columns, rows)
    if unknown:
        table.notes.append("Эти столбцы не распознаны и не импортируются: "
                           + ", ".join(f"«{u[:40]}»" for u in unknown[:20]) + ".")
    if "fio" in columns and "last" in columns:
        table.notes.append("Есть и столбец «ФИО», и отдельные «Фамилия», «Имя»: взяты отдельные столбцы.")
    return table




def safe_file_name(name: str | None) -> str:
    """An uploaded file's own name, for the record: no folders, no control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:120] or "без имени"


# --- templates to download -----------------------------------------------------------------

def _csv_value(value) -> str:
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return "" if value is None else value


def template_csv(titles: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    """The header and example rows; UTF-8 with a BOM and `;`, which Russian Excel opens as is.
    Dates are written as 30.11.2026."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(titles)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


@dataclass
class Help:
    """The second sheet of a template book: what goes in each column."""

    rows: Sequence[tuple[str, str]]
    note: str                       # the last line, e.g. that only the first sheet is read
    first_width: int = 40


def template_xlsx(sheet_title: str, titles: Sequence[str], rows: Sequence[Sequence], guide: Help,
                  widths: Sequence[int] | None = None, text_cells: bool = True) -> bytes:
    """The same as a book: header (bold, frozen) and examples on the first sheet, `guide` on a
    second one. A column with a date among the examples is formatted DD.MM.YYYY; with
    `text_cells` the others are text, so that Excel does not turn phones into numbers.
    `widths`: of the columns; by default each as wide as its header."""
    import openpyxl  # only when a book is asked for: it takes a while to import on a Pi
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title
    sheet.append(list(titles))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for i, (column, title) in enumerate(zip(sheet.columns, titles)):
        sheet.column_dimensions[column[0].column_letter].width = widths[i] if widths else max(12, len(title) + 2)
        dates = any(isinstance(row[i], date) for row in rows if i < len(row))
        for cell in column[1:]:
            if dates:
                cell.number_format = "DD.MM.YYYY"
            elif text_cells:
                cell.number_format = "@"
    sheet.freeze_panes = "A2"
    help_sheet = book.create_sheet("Как заполнять")
    help_sheet.append(["Столбец", "Что писать"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    for row in guide.rows:
        help_sheet.append(list(row))
    help_sheet.append([])
    help_sheet.append(["", guide.note])
    help_sheet.column_dimensions["A"].width = guide.first_width
    help_sheet.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
