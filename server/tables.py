"""Tables people bring as files, and the template files we hand them.

Reading (`read_book`, then `find_table` / `read_table` with a `Spec`):
- a CSV (UTF-8, UTF-8 with a BOM, UTF-16 as Excel's «Текст Юникод», or Windows-1251; `;`, `,`
  or tab between columns, chosen by which one shows our header);
- an Excel book .xlsx (openpyxl, streamed row by row), an old Excel book .xls and a LibreOffice
  table .ods (python-calamine), a Word document .docx (python-docx: each table is a «sheet»,
  the paragraphs above it its title). Calamine and python-docx build the whole sheet or
  document in memory, and openpyxl the whole list of an .xlsx's shared strings, so every book
  is read in a child process with a memory and CPU limit (`_worker_main`): a hostile file
  costs that process, not the server. Before that, a zip's members are counted (unpacked
  size, shared strings, packing ratio) and a zip bomb is refused at once (`_check_zip`).
Every reader stops at the row limit (MAX_ROWS data rows and a margin for furniture) and
keeps MAX_COLUMNS columns; nothing unbounded is read whole.

The header row is found by its column names (a `Spec`: our title and the other names people
give each column) among the first rows, under a title block such as «Список 5А класса». A
header of two rows («Количество часов» merged over «Всего / Контрольные работы»; «Дата
проведения» over «план / факт») is read as one: each column is named by both rows. Rows
under the header that are the table's furniture — repeated headers, a row of column
numbers, section rows merged across («Раздел 1. … (10 ч)», «5 «А» класс»), total rows
(«Всего», «Итого»), signature and footer lines — are skipped and listed (`Table.skipped`),
never refused. Every row keeps the number Excel shows for it (or its row in the Word
table), so a message can say «строка 7». A file that cannot be read as a whole raises
TableError with a Russian message naming the problem and what to do — for the program the
file came from (Excel, LibreOffice, Word).

Writing: a template to fill in — CSV with a BOM and `;` (Russian Excel opens it as is) or a
book with the columns, examples and a sheet «Как заполнять».

Used by the import of class lists and staff (server/school/imports/) and by the КТП
(server/planning/files.py)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .errors import UserError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 100
# Rows read beyond MAX_ROWS: title blocks, section and total rows, empty rows in between.
_ROW_MARGIN = 500
# A sheet read row by row stops after this many empty rows in a row (and says so).
EMPTY_RUN_LIMIT = 20000
# An .xlsx is a zip: refuse one that would unpack to something absurd (a zip bomb).
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
# openpyxl reads an .xlsx's shared strings (every distinct text of the book) whole, before any
# row: a list of 5,500 rows × 30 different texts is a few megabytes.
MAX_SHARED_STRINGS = 20 * 1024 * 1024
# Office's XML deflates 5–30 times; a member that unpacks more than this is built to explode
# (ratio checked on members over ZIP_RATIO_FLOOR, where a small file's ratio means nothing).
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR = 1024 * 1024
# A .docx or .ods is read whole (as a tree) in the child process: a smaller limit.
MAX_XML_UNPACKED = 60 * 1024 * 1024
# The child process that reads .xlsx/.xls/.ods/.docx: memory (address space) and CPU seconds.
WORKER_MEMORY = 1536 * 1024 * 1024
WORKER_CPU_SECONDS = 60
# What the file pickers offer: every format read here.
ACCEPT = (".xlsx,.xls,.ods,.csv,.txt,.docx,text/csv,application/vnd.ms-excel,"
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
          "application/vnd.oasis.opendocument.spreadsheet,"
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
FORMATS_TEXT = "Excel (.xlsx, .xls), LibreOffice (.ods), Word (.docx) или CSV"
# The header may sit under a title block: look this far down (non-empty rows).
HEADER_SEARCH_ROWS = 15


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
    # Columns we recognise but do not import: normalised header (or its beginning) → why / what to do.
    known: dict[str, str] = field(default_factory=dict)
    # Keys that mark another kind of table (a parents' sheet is not a class list).
    excludes: tuple[str, ...] = ()
    # Keys of which a row must have one to be data and not a title (a name; a topic).
    data_keys: tuple[str, ...] = ()
    # Groups of keys of which the header must have one each (the child's ФИО or surname).
    required_any: tuple[tuple[str, ...], ...] = ()


@dataclass
class Sheet:
    """One sheet of a book (or one table of a Word document, or the rows of a CSV)."""

    name: str
    rows: list[tuple[int, list[str]]]            # (row number as shown, cells); empty rows dropped
    title: list[str] = field(default_factory=list)   # a Word table: the paragraphs above it
    more: bool = False                           # reading stopped at the row limit


@dataclass
class Book:
    format: str                                  # csv, xlsx, xls, ods, docx
    label: str                                   # how the file was read, for the page
    sheets: list[Sheet]
    notes: list[str] = field(default_factory=list)

    @property
    def word(self) -> bool:
        return self.format == "docx"

    def where(self, sheet: Sheet) -> str:
        """«лист «Ученики», строка {}» — a format string for a row of `sheet`."""
        name = sheet.name.replace("{", "{{").replace("}", "}}")
        if self.word:
            return f"{name}, строка {{}}"
        if len(self.sheets) > 1:
            return f"лист «{name}», строка {{}}"
        return "строка {}"


@dataclass
class Table:
    """A file's rows under its header row."""

    kind: str
    source: str                                  # how the file was read, for the page
    columns: dict[str, int]                      # column key → index in a row
    rows: list[tuple[int, list[str]]]            # (row number as Excel shows it, cells); data rows only
    notes: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)   # (row, why, its text)
    title: list[str] = field(default_factory=list)                       # the lines above the header
    sections: dict[int, str] = field(default_factory=dict)               # row → the section row above it
    unknown: list[str] = field(default_factory=list)                     # headers not understood
    book: Book | None = None
    sheet: Sheet | None = None

    def cell(self, row: list[str], key: str) -> str:
        """The text of column `key` in `row` ('' when the file has no such column)."""
        i = self.columns.get(key)
        return row[i] if i is not None and i < len(row) else ""

    def records(self) -> list[tuple[int, dict[str, str]]]:
        """(row number, {column key: text}) of every row."""
        return [(line, {k: self.cell(cells, k) for k in self.columns}) for line, cells in self.rows]

    @property
    def is_word(self) -> bool:
        return self.book is not None and self.book.word


BAD_TEXT = ("Файл не удалось прочитать: это не таблица (Excel .xlsx или .xls, LibreOffice .ods, документ Word "
            ".docx) и не текст CSV в кодировке UTF-8 или Windows-1251. Сохраните список как «Книга Excel (*.xlsx)» "
            "или «CSV UTF-8», затем загрузите снова.")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_table(data: bytes, spec: Spec, look_alikes: Sequence[tuple[Spec, str]] = ()) -> Table:
    """The file's rows under its header row; raises TableError naming the problem.

    `look_alikes`: other kinds of table (a Spec and what to say) that a person may upload here
    by mistake; when our header is missing but one of theirs is there, the message says so."""
    book = read_book(data, spec)
    table = find_table(book, spec)
    if table is None:
        raise TableError(_missing_columns_message(book, spec, look_alikes))
    return table


def read_book(data: bytes, spec: Spec | None = None) -> Book:
    """Every sheet of the file, each bounded; a CSV's delimiter is the one that shows `spec`'s header."""
    if not data.strip():
        raise TableError("Файл пуст.")
    if len(data) > MAX_FILE_BYTES:
        raise TableError(too_large_message())
    if data.startswith(_OLE):
        return _worker_book("xls", data)
    if data.startswith(b"PK\x03\x04"):
        return _read_zip(data)
    return _read_csv(data, spec)


def too_large_message() -> str:
    return (f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ. Разделите список на части (например, по "
            "параллелям) или сохраните его как CSV.")


# --- CSV -------------------------------------------------------------------------------

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


def _csv_rows(text: str, delimiter: str, limit: int | None) -> tuple[list[tuple[int, list[str]]], bool]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    return _bounded((row for row in reader), limit)


def _read_csv(data: bytes, spec: Spec | None) -> Book:
    text, encoding = _decode(data)
    try:
        chosen = None
        if spec is not None:
            # Try each delimiter on the first lines: the one under which our header appears wins.
            for delimiter in _DELIMITERS:
                head, _ = _csv_rows(text, delimiter, 200)
                if _find_header(head, spec) is not None:
                    chosen = delimiter
                    break
        if chosen is None:
            sample = "\n".join(itertools.islice((line for line in text.splitlines() if line.strip()),
                                                HEADER_SEARCH_ROWS))
            chosen = max(_DELIMITERS, key=sample.count)
            if not sample.count(chosen):
                raise TableError("Не удалось разделить строки файла на столбцы: в CSV столбцы разделяются "
                                 "точкой с запятой (;) или запятой (,). Сохраните список из Excel как «CSV UTF-8» "
                                 "или «CSV (разделители — запятые)».")
        rows, more = _csv_rows(text, chosen, MAX_ROWS + _ROW_MARGIN)
    except csv.Error as e:
        raise TableError(f"Файл CSV испорчен ({e}). Сохраните его из Excel заново.") from None
    return Book("csv", f"CSV, кодировка {encoding}, разделитель — {_DELIMITERS[chosen]}",
                [Sheet("CSV", rows, more=more)])


def _bounded(rows: Iterable, limit: int | None, first: int = 1) -> tuple[list[tuple[int, list[str]]], bool]:
    """Numbered non-empty rows of text cells, at most `limit` of them; (rows, stopped early)."""
    out: list[tuple[int, list[str]]] = []
    empty_run = 0
    for n, row in enumerate(rows, first):
        cells = [_cell_text(v) for v in itertools.islice(row, MAX_COLUMNS)]
        if not any(cells):
            empty_run += 1
            if empty_run >= EMPTY_RUN_LIMIT:
                return out, True
            continue
        empty_run = 0
        if limit is not None and len(out) >= limit:
            return out, True
        out.append((n, cells))
    return out, False


def _cell_text(value) -> str:
    """A cell as text: dates as ГГГГ-ММ-ДД, whole numbers without «.0», spaces tidied, line
    breaks kept (a cell with two parents or two dates has them on lines of its own)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return ""
    if isinstance(value, timedelta):
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or a year that Excel keeps as a number
    text = str(value)[:2000]
    # str.split also splits on no-break spaces, which Excel users paste a lot.
    lines = (" ".join(line.split()) for line in re.split(r"\r\n|\r|\n|\x0b", text))
    return "\n".join(line for line in lines if line)


# --- books: .xlsx here, .xls/.ods/.docx in a child process -------------------------------

def _read_zip(data: bytes) -> Book:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            infos = z.infolist()
            mimetype = z.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        raise TableError("Файл похож на книгу Excel или документ Word, но повреждён или не дописан. "
                         "Сохраните его заново.") from None
    if b"opendocument.spreadsheet" in mimetype:
        fmt = "ods"
    elif b"opendocument.text" in mimetype:
        raise TableError("Это текстовый документ LibreOffice (.odt): сохраните его как «Документ Word (.docx)» "
                         "(«Файл → Сохранить как»), затем загрузите снова.")
    elif "word/document.xml" in names:
        fmt = "docx"
    elif "xl/workbook.xml" in names:
        fmt = "xlsx"
    else:
        raise TableError(BAD_TEXT)
    _check_zip(fmt, infos)
    return _worker_book(fmt, data)


_UNPACKED_TOO_BIG = ("Файл слишком велик в распакованном виде: разделите его на части или сохраните таблицу "
                     "как CSV.")


def _check_zip(fmt: str, infos: Sequence[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb by what its directory says, before a byte is unpacked.

    The sizes are the zip's own claims; a member that lies about them fails to unpack
    (zipfile checks the length and CRC) inside the limited child process."""
    unpacked = sum(i.file_size for i in infos)
    if unpacked > (MAX_XLSX_UNPACKED if fmt == "xlsx" else MAX_XML_UNPACKED):
        raise TableError(_UNPACKED_TOO_BIG)
    for info in infos:
        if fmt == "xlsx" and info.filename.lower().endswith("sharedstrings.xml") \
                and info.file_size > MAX_SHARED_STRINGS:
            raise TableError(_UNPACKED_TOO_BIG)
        if info.file_size > ZIP_RATIO_FLOOR and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise TableError(_UNPACKED_TOO_BIG)


def _xlsx_sheets(data: bytes) -> list[dict]:
    """Every sheet of an .xlsx, streamed row by row (in the child process)."""
    import openpyxl

    # openpyxl raises many kinds of error on a bad book: the parent says what to do (_UNREADABLE).
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheets = []
    try:
        for sheet in book.worksheets:
            # Some programs write a wrong used range; read_only mode would then read only part.
            sheet.reset_dimensions()
            rows, more = _bounded(sheet.iter_rows(values_only=True), MAX_ROWS + _ROW_MARGIN)
            sheets.append({"name": sheet.title, "rows": rows, "more": more})
    finally:
        book.close()
    return sheets


_LABELS = {"xlsx": "книга Excel (.xlsx)", "xls": "книга Excel старого формата (.xls)", "ods": "таблица LibreOffice (.ods)",
           "docx": "документ Word (.docx)"}
_UNREADABLE = {
    "xlsx": ("Файл не удалось открыть как книгу Excel (.xlsx): он повреждён. Откройте его в Excel или LibreOffice "
             "и сохраните заново как «Книга Excel (*.xlsx)»."),
    "xls": ("Файл старого формата Microsoft Office не удалось прочитать как книгу Excel (.xls). Если это книга "
            "Excel, откройте её и сохраните как «Книга Excel (*.xlsx)»; если документ Word (.doc) — сохраните его "
            "как «Документ Word (.docx)»."),
    "ods": ("Таблицу LibreOffice (.ods) не удалось прочитать: она повреждена. Откройте её в LibreOffice Calc и "
            "сохраните заново (или как «Книга Excel (.xlsx)»)."),
    "docx": ("Документ Word не удалось прочитать: он повреждён. Откройте его в Word или LibreOffice Writer и "
             "сохраните заново как «Документ Word (.docx)»."),
}
_TOO_BIG = ("Файл слишком велик для чтения: в нём слишком много строк или столбцов. Оставьте в файле только "
            "нужную таблицу (до {} строк) или сохраните её как CSV.")


def _worker_book(fmt: str, data: bytes) -> Book:
    """Read a book (.xlsx/.xls/.ods/.docx) in a child process with limited memory and CPU."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        done = subprocess.run([sys.executable, "-c", "from server.tables import _worker_main; _worker_main()", fmt],
                              input=data, capture_output=True, timeout=WORKER_CPU_SECONDS * 2, env=env)
    except subprocess.TimeoutExpired:
        raise TableError(_TOO_BIG.format(MAX_ROWS)) from None
    try:
        answer = json.loads(done.stdout) if done.returncode == 0 else {"error": "limit"}
    except ValueError:
        answer = {"error": "broken"}
    if "error" in answer:
        raise TableError(_TOO_BIG.format(MAX_ROWS) if answer["error"] == "limit" else _UNREADABLE[fmt])
    sheets = [Sheet(s["name"], [(n, cells) for n, cells in s["rows"]], s.get("title", []), s["more"])
              for s in answer["sheets"]]
    return Book(fmt, _LABELS[fmt], sheets)


def _worker_main() -> None:
    """The child process: read stdin as argv[1]'s format, print the sheets as JSON."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (WORKER_CPU_SECONDS, WORKER_CPU_SECONDS))
    fmt, data = sys.argv[1], sys.stdin.buffer.read()
    try:
        if fmt == "docx":
            sheets = _docx_sheets(data)
        elif fmt == "xlsx":
            sheets = _xlsx_sheets(data)
        else:
            sheets = _calamine_sheets(data, fmt)
    except MemoryError:
        sys.stdout.write(json.dumps({"error": "limit"}))
        return
    except Exception as e:  # every library's own error: the file is broken
        limit = "limit" in str(e).lower()
        sys.stdout.write(json.dumps({"error": "limit" if limit else "broken"}))
        return
    sys.stdout.write(json.dumps({"sheets": sheets}, ensure_ascii=False))


def _calamine_sheets(data: bytes, fmt: str) -> list[dict]:
    import tempfile

    import python_calamine

    # From a file named by its format: calamine then says what is wrong (from memory it can
    # only say «cannot detect the format»).
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as f:
        f.write(data)
        f.flush()
        book = python_calamine.CalamineWorkbook.from_path(f.name)
        out = []
        limit = MAX_ROWS * 4
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            values = sheet.to_python(skip_empty_area=False, nrows=limit)
            rows, more = _bounded(values, MAX_ROWS + _ROW_MARGIN)
            # The sheet's height ends at its last cell with data: beyond `limit`, more than an import takes.
            out.append({"name": name, "rows": rows, "more": more or sheet.height > limit})
    return out


def _docx_sheets(data: bytes) -> list[dict]:
    """Each table of the document (nested tables too) with the paragraphs just above it as its title."""
    import docx
    from docx.table import Table as WordTable
    from docx.text.paragraph import Paragraph

    document = docx.Document(io.BytesIO(data))
    out = []
    recent: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = _cell_text(block.text)
            if text:
                recent = (recent + [text])[-6:]
        elif isinstance(block, WordTable):
            rows, more = _bounded(([cell.text for cell in row.cells] for row in block.rows), MAX_ROWS + _ROW_MARGIN)
            out.append({"name": f"таблица {len(out) + 1}", "rows": rows, "more": more, "title": recent})
            recent = []
    return out


# --- the header ------------------------------------------------------------------------

def _lookup(spec: Spec, name: str) -> str | None:
    return spec.aliases.get(normalize_header(name))


def _known(spec: Spec, name: str) -> str | None:
    norm = normalize_header(name)
    for start, why in spec.known.items():
        if norm == start or norm.startswith(start + " "):
            return why
    return None


@dataclass
class _Header:
    index: int                      # in the sheet's rows: the (last) header row
    columns: dict[str, int]
    unknown: list[str]
    twice: list[str]
    known: list[tuple[str, str]]    # (header, why it is not imported)
    rows: int                       # 1 or 2
    cells: list[str]                # the header's names, one per column
    texts: set[str] = field(default_factory=set)    # every text of the header rows, normalised


def _header_names(top: list[str], sub: list[str] | None) -> list[list[str]]:
    """Per column, the names to try: «Количество часов» over «Всего» → «Количество часов Всего»,
    «Всего», «Количество часов». A merged cell is empty but for its first column (Excel) or repeated
    (Word): the top row is filled forward over the columns the second row names."""
    width = max(len(top), len(sub or []))
    top = top + [""] * (width - len(top))
    if sub is None:
        return [[t] if t else [] for t in top]
    sub = sub + [""] * (width - len(sub))
    out, last = [], ""
    for t, s in zip(top, sub):
        if t:
            last = t
        parent = t or (last if s else "")
        if s and s != parent:
            out.append([f"{parent} {s}", s, parent] if parent else [s])
        else:
            out.append([parent] if parent else [])
    return out


def _map_header(names: list[list[str]], spec: Spec) -> tuple[dict[str, int], list, list, list, list[str], bool]:
    """(column key → index, unknown, twice, known, shown names, whether a second row's every name
    is understood — and there is one)."""
    found: dict[str, int] = {}
    last_of: dict[str, int] = {}
    unknown, twice, known, shown = [], [], [], []
    sub_total = sub_understood = 0
    for i, candidates in enumerate(names):
        shown.append(candidates[0] if candidates else "")
        if not candidates:
            continue
        # The most specific name that means something wins: «Дата проведения факт» is the fact
        # (not imported), not the parent's «Дата проведения».
        key = why = None
        for c in candidates:
            key = _lookup(spec, c)
            why = None if key else _known(spec, c)
            if key or why is not None:
                break
        if len(candidates) > 1:
            sub_total += 1
            # Exactly (not by a name's beginning): a title row under «№» is not «№ …».
            sub_understood += bool(_lookup(spec, candidates[0]) or _lookup(spec, candidates[1])
                                   or normalize_header(candidates[0]) in spec.known
                                   or normalize_header(candidates[1]) in spec.known)
        if key is None:
            if why is not None:
                if why:
                    known.append((candidates[0], why))
            elif candidates[0] not in unknown:
                unknown.append(candidates[0])
        elif key in found:
            # Word repeats a merged header cell in every column it spans: the same name in the next
            # column is that one column.
            if candidates[0] != shown[i - 1] or last_of.get(key) != i - 1:
                twice.append(candidates[0])
            last_of[key] = i
        else:
            found[key] = last_of[key] = i
    return found, unknown, twice, known, shown, bool(sub_total) and sub_understood == sub_total


def _missing(found: dict[str, int], spec: Spec) -> list[str]:
    missing = [spec.titles[k] for k in spec.required if k not in found]
    if spec.named and "fio" not in found:
        missing[0:0] = [spec.titles[k] for k in ("last", "first") if k not in found]
    missing += [spec.titles[group[0]] for group in spec.required_any if not any(k in found for k in group)]
    return missing


def _find_header(head: list[tuple[int, list[str]]], spec: Spec) -> _Header | None:
    """The first row (or pair of rows) that has the required columns."""
    nonempty = [(i, cells) for i, (_, cells) in enumerate(head) if any(cells)][:HEADER_SEARCH_ROWS]
    for pos, (i, cells) in enumerate(nonempty):
        found, unknown, twice, known, shown, _ = _map_header(_header_names(cells, None), spec)
        best = _Header(i, found, unknown, twice, known, 1, shown, {normalize_header(c) for c in cells if c})
        if pos + 1 < len(nonempty):
            j, sub = nonempty[pos + 1]
            f2, u2, t2, k2, s2, understood = _map_header(_header_names(cells, sub), spec)
            # The second row belongs to the header if every name in it is understood under the
            # first, and the first is a header itself (not a title merged across).
            if understood and found and len(f2) >= len(found) and not _missing(f2, spec):
                best = _Header(j, f2, u2, t2, k2, 2, s2, {normalize_header(c) for c in cells + sub if c})
        # A header with a name and another table's columns (a child's class) is that other table.
        other = any(k in best.columns for k in spec.excludes) and ("fio" in best.columns or "last" in best.columns)
        if not _missing(best.columns, spec) and not other:
            return best
    return None


def _recognised(head, spec: Spec) -> tuple[int, int, list[str]]:
    """(keys found, its row number, its cells) of the row most like our header."""
    best = (0, 0, [])
    for n, cells in head[:HEADER_SEARCH_ROWS * 3]:
        count = len(_map_header(_header_names(cells, None), spec)[0])
        if count > best[0]:
            best = (count, n, cells)
    return best


def _missing_columns_message(book: Book, spec: Spec, look_alikes: Sequence[tuple[Spec, str]]) -> str:
    best_sheet, (count, line, cells) = None, (0, 0, [])
    for sheet in book.sheets:
        found = _recognised(sheet.rows, spec)
        if best_sheet is None or found[0] > count:
            best_sheet, (count, line, cells) = sheet, found
    found = _map_header(_header_names(cells, None), spec)[0] if cells else {}
    missing = _missing(found, spec)
    where = "в файле"
    if book.word:
        where = "ни в одной таблице документа" if len(book.sheets) > 1 else "в таблице документа"
    elif len(book.sheets) > 1:
        where = "ни на одном листе книги"
    if book.word and not book.sheets:
        return ("В документе Word нет ни одной таблицы. Загрузите документ, в котором КТП или список — таблица "
                "(«Вставка → Таблица»), или сохраните таблицу как книгу Excel.")
    message = f"Не найдена строка заголовка с нужными столбцами {where}: нет столбцов " + \
        ", ".join(f"«{m}»" for m in missing) + "."
    hint = next((hint for other, hint in look_alikes
                 if any(_find_header(sheet.rows[:HEADER_SEARCH_ROWS * 3], other) for sheet in book.sheets)), None)
    if hint:
        return message + " " + hint
    if count and best_sheet is not None:
        quoted = " | ".join(c.replace("\n", " ")[:30] for c in cells if c)[:200]
        place = book.where(best_sheet).format(line)
        message += f" Ближе всего {place}: «{quoted}»."
        if book.word:
            message += (" Впишите в первую строку таблицы в Word названия столбцов, как в шаблоне (например, "
                        + ", ".join(f"«{m}»" for m in missing) + "), сохраните документ и загрузите его снова.")
        else:
            message += (" Впишите в эту строку названия недостающих столбцов, как в шаблоне (например, "
                        + ", ".join(f"«{m}»" for m in missing) + "), или добавьте такие столбцы, сохраните файл "
                        "и загрузите его снова.")
        return message
    if book.format == "csv":
        message += (" Если названия столбцов выглядят как набор странных знаков, файл сохранён в другой "
                    "кодировке: сохраните его в Excel как «CSV UTF-8» или «Книга Excel (*.xlsx)».")
    return message + " Образец — в шаблоне для скачивания."


# --- the rows under the header: data, or the table's furniture --------------------------

_TOTAL = re.compile(r"^(всего|итого|итог|общее количество|количество часов по программе|общее число|"
                    r"всего часов|всего уроков|итого часов)\b")
_FOOTER = re.compile(r"^(классный руководитель|кл руководитель|директор|заместитель директора|зам директора|"
                     r"учитель|составил|составитель|исполнитель|подпись|м п|мп|отчет сформирован|"
                     r"дата формирования|дата печати|сформировано|распечатано|согласовано|утверждаю|"
                     r"примечание|руководитель)\b")


def _furniture(cells: list[str], header: _Header, spec: Spec) -> str | None:
    """Why a row under the header is not data (None: it is data)."""
    filled = [c for c in cells if c]
    norm = [normalize_header(c) for c in filled]
    if norm and set(norm) <= header.texts:
        return "повтор строки заголовка"
    if len(filled) >= 3 and all(re.fullmatch(r"\d{1,2}", c) for c in filled) \
            and [int(c) for c in filled] == list(range(int(filled[0]), int(filled[0]) + len(filled))) \
            and int(filled[0]) <= 1:
        return "номера столбцов"
    first = norm[0] if norm else ""
    if _TOTAL.match(first):
        return "итоговая строка"
    if "___" in "".join(filled) or (_FOOTER.match(first) and not _looks_like_data(cells, header, spec)):
        return "подпись или примечание"
    if len(set(filled)) == 1 and not _looks_like_data(cells, header, spec):
        return "строка раздела"
    return None


def _looks_like_data(cells: list[str], header: _Header, spec: Spec) -> bool:
    """A row with one text only is a section heading unless that text is what a row holds:
    a person's name in the name column, a number in the № column."""
    filled = [(i, c) for i, c in enumerate(cells) if c]
    if not filled:
        return False
    if len({c for _, c in filled}) > 1:
        return True
    i, text = filled[0]
    keys = {k for k, col in header.columns.items() if col == i}
    if len(filled) > 1:
        return False
    if "number" in keys:
        return bool(re.fullmatch(r"\d{1,4}\.?(\s*[-–]\s*\d{1,4})?", text))
    if keys & {"fio", "last"} or any(k.endswith(("_fio", "_last")) for k in keys):
        words = text.split()
        return 1 <= len(words) <= 5 and all(re.fullmatch(r"[А-ЯЁ][а-яё]+(-[А-ЯЁа-яё][а-яё]+)?|оглы|кызы|[А-ЯЁ]\.?", w)
                                            for w in words)
    return bool(keys & set(spec.data_keys))


def find_table(book: Book, spec: Spec, exclude: Sequence[Sheet] = ()) -> Table | None:
    """The first sheet (table) of `book` with `spec`'s header; None if there is none."""
    for sheet in book.sheets:
        if any(sheet is other for other in exclude):
            continue
        header = _find_header(sheet.rows[:HEADER_SEARCH_ROWS * 3], spec)
        if header is not None:
            return _table(book, sheet, spec, header)
    return None


def _table(book: Book, sheet: Sheet, spec: Spec, header: _Header) -> Table:
    if header.twice:
        raise TableError("Столбцы повторяются: " + ", ".join(f"«{t}»" for t in header.twice)
                         + ". Оставьте каждый столбец один раз.")
    source = book.label
    if book.word:
        source += f", {sheet.name}"
    elif book.format != "csv":
        source += f", лист «{sheet.name}»"
    title = list(sheet.title) + [" ".join(c for c in cells if c) for _, cells in sheet.rows[:header.index + 1 - header.rows]]
    rows, skipped, sections = [], [], {}
    section = ""
    for n, cells in sheet.rows[header.index + 1:]:
        why = _furniture(cells, header, spec)
        if why is None:
            rows.append((n, cells))
            if section:
                sections[n] = section
        else:
            text = " ".join(dict.fromkeys(c.replace("\n", " ") for c in cells if c))
            skipped.append((n, why, text[:120]))
            if why == "строка раздела":
                section = text
    if sheet.more:
        raise TableError(f"В файле больше {MAX_ROWS} строк: разделите его на части (например, по параллелям).")
    if not rows:
        raise TableError("Под строкой заголовка нет ни одной строки с данными.")
    if len(rows) > MAX_ROWS:
        raise TableError(f"В файле больше {MAX_ROWS} строк: разделите его на части (например, по параллелям).")
    table = Table(spec.kind, source, header.columns, rows, list(book.notes), skipped, title, sections,
                  header.unknown, book, sheet)
    if header.known:
        table.notes.append("Не загружаются: " + "; ".join(f"«{h[:50]}» — {why}" for h, why in header.known) + ".")
    if header.unknown:
        table.notes.append("Эти столбцы не распознаны и не импортируются: "
                           + ", ".join(f"«{u[:40]}»" for u in header.unknown[:20])
                           + ". Если в них нужные данные, переименуйте заголовок, как в шаблоне ("
                           + ", ".join(f"«{t}»" for t in list(spec.titles.values())[:6]) + " …), и загрузите файл снова.")
    if "fio" in header.columns and "last" in header.columns:
        table.notes.append("Есть и столбец «ФИО», и отдельные «Фамилия», «Имя»: взяты отдельные столбцы.")
    others = [s.name for s in book.sheets if s is not sheet]
    if others and not book.word:
        table.notes.append("Прочитан только лист «{}»; пропущены: {}.".format(
            sheet.name, ", ".join(f"«{t}»" for t in others)))
    elif others:
        table.notes.append(f"Прочитана {sheet.name} документа; в документе таблиц всего: {len(book.sheets)}.")
    return table


def skipped_lines(table: Table) -> list[str]:
    """The skipped rows, for the preview: «Строка 3: итоговая строка — «Всего: 25»»."""
    where = table.book.where(table.sheet) if table.book and table.sheet else "строка {}"
    return [f"{where.format(n)[:1].upper()}{where.format(n)[1:]}: {why} — «{text}»" for n, why, text in table.skipped]


# --- values people write ----------------------------------------------------------------

_MONTHS = {"январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
           "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12}


def excel_serial(number: int) -> date:
    """Excel's day number (1900 system): 45903 → 2025-09-02."""
    return date(1899, 12, 30) + timedelta(days=number)


def parse_day(text: str, year_start: date | None = None) -> date | None:
    """A date as schools write it, or None if the text is not one: 30.11.2026, 30.11.2026 г.,
    30.11.26, 2026-11-30, 30/11/2026, «30 ноября 2026 г.», an Excel day number (45903), and —
    with `year_start` (the school year's first day) — 30.11 without a year: in that school year."""
    t = " ".join((text or "").lower().replace("г.", " ").replace("года", " ").split()).strip(" .,")
    t = re.sub(r"\s*(г|год)$", "", t)
    t = re.sub(r"\s+\d{1,2}:\d{2}(:\d{2})?$", "", t)   # «12.03.2015 0:00»
    if not t:
        return None
    try:
        m = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})", t)
        if m:
            d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if len(m.group(3)) == 2:
                y += 2000 if y <= 68 else 1900
            return date(y, mo, d)
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.fullmatch(r"(\d{1,2})\s+([а-я]+)\s*(\d{4})?", t)
        if m:
            month = next((v for k, v in _MONTHS.items() if m.group(2).startswith(k)), None)
            if month is None:
                return None
            if m.group(3):
                return date(int(m.group(3)), month, int(m.group(1)))
            return _in_school_year(int(m.group(1)), month, year_start)
        m = re.fullmatch(r"(\d{1,2})[./](\d{1,2})", t)
        if m:
            return _in_school_year(int(m.group(1)), int(m.group(2)), year_start)
        if re.fullmatch(r"\d{5}", t) and 20000 <= int(t) <= 80000:
            return excel_serial(int(t))
    except ValueError:
        raise ValueError(f"«{text.strip()[:30]}» — не дата: такого дня в календаре нет") from None
    return None


def _in_school_year(day: int, month: int, year_start: date | None) -> date | None:
    if year_start is None:
        return None
    year = year_start.year if month >= year_start.month else year_start.year + 1
    return date(year, month, day)


# --- reading what was uploaded ------------------------------------------------------------

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
