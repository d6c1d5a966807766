"""One table, three ways: on screen, printed on A4 and as an XLSX sheet — the same columns
and the same rows, so what the deputy prints is what they download.

A cell is a plain value (text, int, float, None) or a `Cell` with a link (to the place where
a problem is fixed) or a class for the screen. Numbers are shown the Russian way: 87,5 %,
4,25; XLSX keeps them numbers (with a number format) so that a spreadsheet can add them up."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

PCT, NUM, INT, TEXT, GRADE = "pct", "num", "int", "text", "grade"


@dataclass
class Column:
    title: str
    kind: str = TEXT
    width: float = 10          # XLSX width, in characters
    key: str = ""              # the JSON name of the column (API)


@dataclass
class Cell:
    value: Any
    href: str | None = None
    cls: str = ""
    title: str = ""

    def __str__(self) -> str:
        return str(self.value)


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    foot: list[list[Any]] = field(default_factory=list)     # totals, shown bold
    note: str = ""
    landscape: bool = False
    # Columns grouped under a common head (the сводная ведомость: a subject over its periods):
    # [(title, span)], printed as a first header row.
    groups: list[tuple[str, int]] = field(default_factory=list)
    compact: bool = False      # many narrow columns: smaller print


def value_of(cell: Any) -> Any:
    return cell.value if isinstance(cell, Cell) else cell


def pct(part: int | float, whole: int | float) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def fmt(value: Any, kind: str = TEXT) -> str:
    """A value as the page and the printout show it: 87,5 %, 4,25, 12."""
    value = value_of(value)
    if value is None:
        return ""
    if kind == PCT and isinstance(value, (int, float)):
        return f"{value:.1f}".replace(".", ",") + " %"
    if kind == NUM and isinstance(value, (int, float)):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, float):
        return (f"{value:.0f}" if value.is_integer() else f"{value:.2f}".rstrip("0")).replace(".", ",")
    return str(value)


def as_json(table: Table) -> list[dict]:
    """The rows as objects keyed by the columns' JSON names (the API's answer)."""
    keys = [c.key or f"c{i}" for i, c in enumerate(table.columns)]
    return [{k: value_of(v) for k, v in zip(keys, row)} for row in table.rows]


FORMATS = {PCT: '0.0" %"', NUM: "0.00", INT: "0"}


def xlsx(tables: list[Table], heading: list[str]) -> bytes:
    """An XLSX book: one sheet per table, the heading lines above it, the header row frozen,
    column widths set, numbers as numbers."""
    import openpyxl  # only when a book is asked for: it takes a while to import on a Pi
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    book.remove(book.active)
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    used: set[str] = set()
    for n, t in enumerate(tables, 1):
        name = _sheet_name(t.title or f"Лист {n}", used)
        ws = book.create_sheet(name)
        row = 1
        for line in heading + [t.title]:
            if line:
                ws.cell(row=row, column=1, value=line).font = Font(bold=row == 1)
                row += 1
        if t.note:
            ws.cell(row=row, column=1, value=t.note).font = Font(italic=True)
            row += 1
        row += 1
        if t.groups:
            col = 1
            for title, span in t.groups:
                c = ws.cell(row=row, column=col, value=title)
                c.font, c.alignment, c.border = Font(bold=True), Alignment(horizontal="center"), border
                if span > 1:
                    ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)
                col += span
            row += 1
        header = row
        for i, c in enumerate(t.columns, 1):
            cell = ws.cell(row=header, column=i, value=c.title)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="center")
            cell.border = border
            ws.column_dimensions[get_column_letter(i)].width = c.width
        for r, values in enumerate(t.rows + t.foot, header + 1):
            bold = r > header + len(t.rows)
            for i, (c, v) in enumerate(zip(t.columns, values), 1):
                v = value_of(v)
                cell = ws.cell(row=r, column=i, value=v if not isinstance(v, (list, tuple)) else ", ".join(map(str, v)))
                cell.border = border
                if c.kind in FORMATS and isinstance(v, (int, float)):
                    cell.number_format = FORMATS[c.kind]
                if c.kind in (GRADE, INT, PCT, NUM):
                    cell.alignment = Alignment(horizontal="center")
                if bold:
                    cell.font = Font(bold=True)
        ws.freeze_panes = ws.cell(row=header + 1, column=1)
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "landscape" if t.landscape else "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    if not tables:
        book.create_sheet("Отчёт").cell(row=1, column=1, value="Нет данных.")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel's sheet names: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31].strip() or "Лист"
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name, k = base[:31 - len(suffix)] + suffix, k + 1
    used.add(name.lower())
    return name
