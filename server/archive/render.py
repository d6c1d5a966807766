"""The archive's files from a document's data: PDF/A-3b through WeasyPrint from the Jinja
templates in templates/archive/ (DejaVu Sans, embedded), and the journal's XLSX through the
reports' own writer (server/reports/table.py)."""

from __future__ import annotations

from functools import lru_cache

from ..reports import table as rtable
from ..timeutil import ru_date
from .collect import GRID_LESSONS, GRID_STUDENTS

SHORT_FINGERPRINT = 12


def footer(d: dict, fp: str) -> str:
    """The seal on every page: school, period, the data's fingerprint (CSS string, escaped)."""
    text = f"{d['school']} · {d['period']} · отпечаток {fp[:SHORT_FINGERPRINT]}"
    if not d["closed"]:
        text = "ЧЕРНОВИК · " + text
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def grid_pages(d: dict) -> list[dict]:
    """The grid cut into landscape pages of ≤ 25 lessons × ≤ 32 students."""
    columns = d["columns"]
    per_day: dict[str, int] = {}
    for day, _ in columns:
        per_day[day] = per_day.get(day, 0) + 1
    labels = [f"{day[8:10]}.{day[5:7]}" + (f"/{n}" if per_day[day] > 1 else "") for day, n in columns]
    pages = []
    for c0 in range(0, max(len(columns), 1), GRID_LESSONS):
        cols = range(c0, min(c0 + GRID_LESSONS, len(columns)))
        for s0 in range(0, max(len(d["students"]), 1), GRID_STUDENTS):
            rows = [{"index": i + 1, "name": d["students"][i]["name"], "cells": [d["rows"][i][c] for c in cols]}
                    for i in range(s0, min(s0 + GRID_STUDENTS, len(d["students"])))]
            pages.append({"columns": [{"label": labels[c]} for c in cols], "rows": rows,
                          "first": ru_date(columns[cols[0]][0]) if cols else "",
                          "last": ru_date(columns[cols[-1]][0]) if cols else ""})
    return pages


@lru_cache(maxsize=1)
def _env():
    from ..web.templating import make_environment
    return make_environment()


def html_of(d: dict, fp: str, period_start: str = "") -> str:
    ctx = {"d": d, "footer": footer(d, fp), "closed": d["closed"]}
    if d["kind"] == "journal":
        return _env().get_template("archive/journal.html").render(
            **ctx, grid_pages=grid_pages(d), period_start=period_start)
    return _env().get_template("archive/summary.html").render(**ctx)


def pdf(d: dict, fp: str, period_start: str = "") -> bytes:
    """The document as PDF/A-3b (fonts embedded, as the archive format requires)."""
    from weasyprint import HTML  # heavy (pango through cffi): only the build loads it
    return HTML(string=html_of(d, fp, period_start)).write_pdf(pdf_variant="pdf/a-3b")


def xlsx(d: dict, fp: str) -> bytes:
    """The journal's tables for electronic archives: grid, lessons, period grades, КТП."""
    T = rtable
    grid = T.Table("Отметки и посещаемость", [T.Column("Учащийся", T.TEXT, 32)] +
                   [T.Column(ru_date(day) + (f" ({n})" if n != 1 else ""), T.TEXT, 8) for day, n in d["columns"]],
                   [[s["name"], *row] for s, row in zip(d["students"], d["rows"])])
    lessons = T.Table("Уроки", [T.Column("Дата", T.TEXT, 11), T.Column("Урок", T.TEXT, 5), T.Column("Тема", T.TEXT, 50),
                               T.Column("Вид работы", T.TEXT, 20), T.Column("Домашнее задание", T.TEXT, 40),
                               T.Column("Отметка о проведении", T.TEXT, 30)],
                      [[ru_date(x["date"]), str(x["number"]), x["topic"], x["work_type"], x["homework"], x["status"]]
                       for x in d["lessons"]])
    finals = T.Table("Итоговые отметки", [T.Column("Учащийся", T.TEXT, 32)] +
                     [T.Column(p, T.TEXT, 10) for p in d["period_columns"]],
                     [[s["name"], *row] for s, row in zip(d["students"], d["period_grades"])])
    plan = T.Table("КТП", [T.Column("№", T.TEXT, 5), T.Column("Тема", T.TEXT, 60), T.Column("Часов", T.TEXT, 8),
                          T.Column("Дано", T.TEXT, 8)],
                   [[str(i["number"]), i["topic"], str(i["hours"]), str(i["given"])] for i in d["plan"]["items"]])
    heading = [d["school"], f"{d['subject']}, {d['target']}, учитель {d['teacher']}", d["period"],
               f"Отпечаток данных {fp}" + ("" if d["closed"] else " (черновик: период не закрыт)")]
    return T.xlsx([grid, lessons, finals, plan], heading)
