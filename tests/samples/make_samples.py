"""Make the sample files of tests/samples/: the class lists, staff lists and КТП schools really
bring (issue 19), made the way the programs they come from make them — title blocks, merged
header cells, multi-line cells, total and signature rows and all. Not tidied on purpose.

    .venv/bin/python tests/samples/make_samples.py            # every sample (needs LibreOffice)

The .xlsx and .docx files are written with openpyxl and python-docx; the .xls and .ods are
converted from an .xlsx by LibreOffice itself (`soffice --headless --convert-to`, Debian's
libreoffice-calc), so they are real LibreOffice files. The tests use the committed files only
(and `ktp_csv(year)` for a CSV with full dates in the school year the test runs in)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
YEAR = 2026   # the school year 2026/2027 (the tests set the clock inside it)


# --- class lists ---------------------------------------------------------------------------

def setevoy_gorod_5a():
    """«Сетевой город. Образование»: the report «Список класса» saved to Excel. The class is only
    in the title; parents with phones in one multi-line cell; «Всего» and a signature below."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Отчёт"
    ws.append(["Муниципальное бюджетное общеобразовательное учреждение «Средняя общеобразовательная школа № 3»"])
    ws.merge_cells("A1:F1")
    ws.append(["Список обучающихся 5 «А» класса"])
    ws.merge_cells("A2:F2")
    ws["A2"].font = Font(bold=True, size=14)
    ws.append([f"Учебный год: {YEAR}/{YEAR + 1}", None, None, None, "Дата: 01.09.2026"])
    ws.append([])
    ws.append(["№ п/п", "Ф.И.О. обучающегося", "Дата рождения", "Пол",
               "Родители (законные представители), контактный телефон", "Примечание"])
    rows = [
        ("Абрамов Кирилл Денисович", date(2015, 2, 14), "М",
         "Абрамова Ольга Викторовна (мать), 8-912-345-67-01\nАбрамов Денис Сергеевич (отец), 8-912-345-67-02", ""),
        ("Белоусова Дарья Андреевна", date(2014, 10, 3), "Ж",
         "Белоусова Татьяна Ивановна (мать), +7 (922) 100-20-30", ""),
        ("Гусейнов Тимур Эльдар оглы", date(2015, 5, 30), "М",
         "Гусейнова Севиль Али кызы (мать), 89221112233\nГусейнов Эльдар Рамиз оглы (отец), 89221112244", ""),
        ("Ёлкина Алёна Сергеевна", date(2015, 1, 9), "Ж",
         "Мать: Ёлкина Наталья Юрьевна, тел. 8 (950) 555-12-12", "прибыла 01.09"),
        ("Захаров-Нестеров Илья Петрович", date(2014, 12, 24), "М",
         "Захарова-Нестерова Инна Олеговна (мать), 8-900-700-80-90\n"
         "Захаров-Нестеров Пётр Ильич (отец), 8-900-700-80-91", ""),
        ("Смирнова Ева", date(2015, 7, 7), "Ж", "Смирнова Анна Павловна (опекун), 8-904-123-00-11", ""),
    ]
    for n, (name, born, sex, parents, note) in enumerate(rows, 1):
        ws.append([n, name, born, sex, parents, note])
        ws.cell(ws.max_row, 3).number_format = "DD.MM.YYYY"
        ws.cell(ws.max_row, 5).alignment = Alignment(wrap_text=True)
    ws.append([])
    ws.append(["Всего: 6 обучающихся (мальчиков — 3, девочек — 3)"])
    ws.merge_cells(f"A{ws.max_row}:F{ws.max_row}")
    ws.append([])
    ws.append(["Классный руководитель", None, "_______________", None, "/Петрова Е.В./"])
    ws.append(["Отчёт сформирован 01.09.2026 09:14 пользователем Кузнецова О.И."])
    return book


def all_students_book():
    """All the school's students from the same kind of system, to be saved as old Excel .xls:
    a class column, subtotals per class, Excel dates; no parents (such lists have none)."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Лист1"
    ws.append(["МБОУ «СОШ № 3»"])
    ws.append(["Список обучающихся на 01.09.2026"])
    ws.append(["№", "Класс", "Фамилия", "Имя", "Отчество", "Дата рождения", "Пол"])
    data = {
        "5Б": [("Волков", "Максим", "Игоревич", date(2015, 4, 1), "муж"),
               ("Дьячкова", "Софья", "Романовна", date(2014, 9, 21), "жен"),
               ("Фёдоров", "Артём", "", date(2015, 6, 11), "муж")],
        "6А": [("Кравченко", "Полина", "Олеговна", date(2013, 11, 2), "жен"),
               ("Лебедев", "Арсений", "Михайлович", date(2014, 3, 15), "муж")],
    }
    n = 0
    for cls, people in data.items():
        for last, first, middle, born, sex in people:
            n += 1
            ws.append([n, cls, last, first, middle, datetime(born.year, born.month, born.day), sex])
            ws.cell(ws.max_row, 6).number_format = "DD.MM.YYYY"
        ws.append([None, f"Итого по классу {cls}: {len(people)}"])
    ws.append([None, f"Всего обучающихся: {n}"])
    return book


def ais_kontingent():
    """The regional АИС «Контингент» export: separate name columns, «Параллель» + «Литера»,
    «Мужской/Женский», one legal representative in columns of their own."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Выгрузка"
    ws.append(["Выгрузка из АИС «Контингент». Организация: МБОУ «СОШ № 3». Дата выгрузки: 28.08.2026 17:02"])
    ws.append(["Фамилия", "Имя", "Отчество", "Дата рождения", "Пол", "СНИЛС", "Параллель", "Литера",
               "Форма обучения", "Фамилия представителя", "Имя представителя", "Отчество представителя",
               "Тип представителя", "Телефон представителя", "Email представителя"])
    rows = [
        ("Никитин", "Егор", "Александрович", "2013-05-17", "Мужской", "123-456-789 01", 6, "А", "Очная",
         "Никитина", "Светлана", "Петровна", "Мать", "+79051234567", "nikitina.sp@mail.ru"),
        ("Орехова", "Варвара", "Дмитриевна", "2013-12-01", "Женский", "", 6, "А", "Очная",
         "Орехов", "Дмитрий", "Васильевич", "Отец", "8(905)765-43-21", ""),
        ("Панова", "Мирослава", "", "2014-02-28", "Женский", "", 6, "А", "Семейное образование",
         "Панова", "Людмила", "Ивановна", "Опекун", "", ""),
    ]
    for r in rows:
        ws.append(list(r))
    return book


def dnevnik_ru():
    """The Дневник.ру person template: an instruction sheet first, starred headers, pupils on one
    sheet, parents on another linked by the child's ФИО and class."""
    import openpyxl

    book = openpyxl.Workbook()
    info = book.active
    info.title = "Инструкция"
    for line in ("Шаблон для импорта пользователей", "1. Заполните лист «Ученики». Поля со звёздочкой (*) обязательны.",
                 "2. Заполните лист «Родители»: укажите ФИО ребёнка и класс ребёнка так же, как на листе «Ученики».",
                 "3. Не меняйте названия столбцов.", "Формат даты: ДД.ММ.ГГГГ"):
        info.append([line])
    pupils = book.create_sheet("Ученики")
    pupils.append(["Фамилия*", "Имя*", "Отчество", "Пол*", "Дата рождения*", "Класс*", "СНИЛС", "Email", "Телефон"])
    for r in (("Руденко", "Глеб", "Олегович", "М", "19.03.2015", "5Б", "", "", ""),
              ("Соколова", "Ульяна", "Ильинична", "Ж", "02.08.2015", "5Б", "", "ulya@example.ru", "")):
        pupils.append(list(r))
    parents = book.create_sheet("Родители")
    parents.append(["Фамилия*", "Имя*", "Отчество", "Пол", "Email", "Телефон", "ФИО ребёнка*", "Класс ребёнка*",
                    "Кем приходится"])
    for r in (("Руденко", "Ирина", "Николаевна", "Ж", "rudenko@example.ru", "+7 912 000-11-22", "Руденко Глеб Олегович",
               "5Б", "Мать"),
              ("Руденко", "Олег", "Викторович", "М", "", "+7 912 000-11-23", "Руденко Глеб Олегович", "5Б", "Отец"),
              ("Соколов", "Илья", "Андреевич", "М", "", "89120001124", "Соколова Ульяна Ильинична", "5Б", "")):
        parents.append(list(r))
    return book


def csv_1251() -> bytes:
    """A pupil list saved from Excel as «CSV (разделители — точка с запятой)»: Windows-1251, «;»."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["№", "ФИО ученика", "Класс", "Дата рождения", "Пол", "ФИО родителя", "Телефон родителя",
                "ФИО родителя 2", "Телефон родителя 2"])
    w.writerow([1, "Тихонов Матвей Ильич", "5 А", "11.11.2014", "муж.", "Тихонова Елена Викторовна",
                "8 912 111 22 33", "Тихонов Илья Сергеевич", "8 912 111 22 34"])
    w.writerow([2, "Уварова Кира Денисовна", "5 А", "42139", "жен.", "Уварова Жанна Олеговна", "89121112235", "", ""])
    w.writerow([3, "Шестаков Лев", "5 Б", "30.06.15", "муж.", "Шестакова Мария Андреевна", "+7-912-111-22-36",
                "нет", ""])
    w.writerow(["", "", "", "", "", "", "", "", ""])
    return out.getvalue().encode("cp1251")


def class_teacher_7b():
    """A class teacher's own list: a title block, «Фамилия, имя, отчество» in one column, the class
    as 7 «Б», birth dates as Excel dates, as text with «г.» and with a two-digit year; mother and
    father in columns of their own, «нет» where there is none; no «Пол» column."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "7Б"
    ws.append(["Список учащихся 7 «Б» класса"])
    ws.append(["на 2026-2027 учебный год"])
    ws.append(["Классный руководитель: Петрова Елена Викторовна"])
    ws.append([])
    ws.append(["№", "Фамилия, имя, отчество", "Дата рождения", "Домашний адрес", "ФИО матери", "Телефон матери",
               "ФИО отца", "Телефон отца"])
    rows = [
        ("Алиев Руслан Тимур оглы", datetime(2012, 4, 17), "ул. Ленина, 5-12", "Алиева Айгюль Рашидовна",
         "89501234501", "Алиев Тимур Рустамович", "89501234502"),
        ("Петрова-Водкина Анастасия Игоревна", "15.04.2013 г.", "ул. Мира, 1", "Петрова-Водкина Ирина Сергеевна",
         "8-950-123-45-03", "нет", "нет"),
        ("Ким Виктория", "03.02.13", "пер. Садовый, 7", "Ким Ольга", "8 (950) 123-45-04", "Ким Сергей", ""),
        ("Семёнов Пётр Алексеевич", datetime(2012, 12, 31), "ул. Победы, 10-3", "Семёнова Анна Петровна",
         "+79501234505", "Семёнов Алексей Фёдорович", "+79501234506"),
        ("Ёлкин Савва Андреевич", "01.09.2012г.", "ул. Ленина, 7", "нет", "", "Ёлкин Андрей Юрьевич",
         "89501234507"),
    ]
    for n, r in enumerate(rows, 1):
        ws.append([n, *r])
        if isinstance(r[1], datetime):
            ws.cell(ws.max_row, 3).number_format = "DD.MM.YYYY"
    ws.append([])
    ws.append(["Классный руководитель ____________ Е.В. Петрова"])
    return book


def ods_8v_book():
    """A list kept in LibreOffice Calc (converted to .ods by LibreOffice): a title, our template's
    columns, one parent."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Список"
    ws.append(["8 «В» класс — список на 2026/2027 учебный год"])
    ws.merge_cells("A1:H1")
    ws.append(["Класс", "Фамилия", "Имя", "Отчество", "Дата рождения", "Пол", "Родитель 1: ФИО",
               "Родитель 1: Телефон"])
    for r in (("8В", "Журавлёв", "Даниил", "Романович", datetime(2011, 10, 10), "м", "Журавлёва Вера Ивановна",
               "89001230001"),
              ("8В", "Иванова", "Яна", "Сергеевна", datetime(2012, 1, 20), "ж", "Иванов Сергей Петрович",
               "89001230002")):
        ws.append(list(r))
        ws.cell(ws.max_row, 5).number_format = "DD.MM.YYYY"
    return book


def staff_site():
    """The staff table every school publishes on its website (Рособрнадзор's fields), copied into
    Excel: no logins, no roles."""
    import openpyxl
    from openpyxl.styles import Alignment

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Педагогический состав"
    ws.append(["Персональный состав педагогических работников МБОУ «СОШ № 3»"])
    ws.append(["№ п/п", "Ф.И.О.", "Занимаемая должность (должности)",
               "Преподаваемые учебные предметы, курсы, дисциплины (модули)", "Уровень образования", "Квалификация",
               "Наименование направления подготовки и (или) специальности", "Учёная степень (при наличии)",
               "Учёное звание (при наличии)",
               "Сведения о повышении квалификации и (или) профессиональной переподготовке (при наличии)",
               "Общий стаж работы", "Стаж работы по специальности", "Квалификационная категория"])
    rows = [
        ("Лаврова Марина Сергеевна", "Учитель русского языка и литературы", "Русский язык, литература", "Высшее",
         "Учитель русского языка и литературы", "Филология", "не имеет", "не имеет",
         "2025 г., «Реализация требований обновлённых ФГОС ООО», 36 ч", "22 года", "22 года", "Высшая"),
        ("Гончаров Павел Андреевич", "Заместитель директора по УВР,\nучитель математики", "Математика, алгебра",
         "Высшее", "Учитель математики", "Математика", "не имеет", "не имеет", "2024 г., 72 ч", "18 лет", "15 лет",
         "Первая"),
        ("Зуева Ольга Игоревна", "Педагог-психолог", "—", "Высшее", "Психолог", "Психология", "не имеет",
         "не имеет", "2023 г.", "9 лет", "9 лет", "—"),
        ("Юсупов Ринат Маратович", "Учитель физической культуры", "Физическая культура", "Среднее профессиональное",
         "Учитель физической культуры", "Физическая культура", "не имеет", "не имеет", "2025 г.", "5 лет",
         "5 лет", "Соответствие занимаемой должности"),
        ("Ёжикова Алла Борисовна", "Социальный педагог", "—", "Высшее", "Социальный педагог", "Социальная педагогика",
         "не имеет", "не имеет", "—", "30 лет", "12 лет", "Высшая"),
    ]
    for n, r in enumerate(rows, 1):
        ws.append([n, *r])
        for c in ws[ws.max_row]:
            c.alignment = Alignment(wrap_text=True)
    return book


# --- КТП ---------------------------------------------------------------------------------

# The 5th form's Russian (170 h) by the federal programme's sections: (section, hours, topics).
_SECTIONS = [
    ("Повторение пройденного материала", ["Повторение изученного в начальной школе. Части речи",
                                          "Орфограммы в корне слова", "Правописание безударных гласных",
                                          "Входная контрольная работа", "Анализ контрольной работы"]),
    ("Общие сведения о языке", ["Богатство и выразительность русского языка", "Лингвистика как наука о языке"]),
    ("Язык и речь", ["Язык и речь. Речь устная и письменная", "Монолог. Диалог. Полилог",
                     "Речь как деятельность", "Сочинение по картине"]),
    ("Текст", ["Текст и его основные признаки", "Композиционная структура текста", "Микротема текста",
               "Повествование как тип речи", "Подробное изложение текста"]),
    ("Фонетика. Графика. Орфоэпия", ["Звуки речи. Гласные и согласные звуки", "Слог. Ударение",
                                     "Фонетический анализ слова", "Контрольный диктант по теме «Фонетика»"]),
    ("Морфемика. Орфография", ["Морфема как минимальная значимая единица языка", "Корень слова",
                               "Правописание корней с чередованием е//и", "Правописание ё — о после шипящих"]),
    ("Синтаксис и пунктуация", ["Словосочетание и предложение", "Простое предложение. Главные члены",
                                "Второстепенные члены предложения", "Однородные члены предложения",
                                "Контрольная работа по теме «Синтаксис»"]),
]


def ktp_topics(total: int = 170) -> list[tuple[str, str, bool]]:
    """(section, topic, is a control work) × total, cycling through the sections' topics."""
    out = []
    flat = [(s, t) for s, topics in _SECTIONS for t in topics]
    i = 0
    while len(out) < total:
        section, topic = flat[i % len(flat)]
        round_ = i // len(flat)
        control = topic.startswith(("Входная контрольная", "Контрольный диктант", "Контрольная работа"))
        out.append((section, topic + (f" (часть {round_ + 1})" if round_ else ""), control))
        i += 1
    return out


def _set_cell(cell, text, bold=False):
    cell.text = ""
    run = cell.paragraphs[0].add_run(text)
    run.bold = bold


def konstruktor_docx():
    """«Конструктор рабочих программ» (edsoo.ru) as .docx: the thematic table, then «ПОУРОЧНОЕ
    ПЛАНИРОВАНИЕ» with «Количество часов» merged over «Всего / Контрольные работы /
    Практические работы», an empty «Дата изучения», the resources column and the total row."""
    import docx

    document = docx.Document()
    document.add_paragraph("Федеральная рабочая программа | Русский язык. 5–9 классы")
    document.add_heading("ТЕМАТИЧЕСКОЕ ПЛАНИРОВАНИЕ", level=1)
    document.add_paragraph("5 КЛАСС")
    thematic = document.add_table(rows=2, cols=6)
    thematic.style = "Table Grid"
    top, sub = thematic.rows[0].cells, thematic.rows[1].cells
    for i, text in ((0, "№ п/п"), (1, "Наименование разделов и тем программы"), (2, "Количество часов"),
                    (5, "Электронные (цифровые) образовательные ресурсы")):
        _set_cell(top[i], text, True)
    for i, text in ((2, "Всего"), (3, "Контрольные работы"), (4, "Практические работы")):
        _set_cell(sub[i], text, True)
    top[2].merge(top[4])
    for i in (0, 1, 5):
        thematic.cell(0, i).merge(thematic.cell(1, i))
    for n, (section, _) in enumerate(_SECTIONS, 1):
        cells = thematic.add_row().cells
        for i, text in enumerate([f"{n}", section, "10", "1", "", "Библиотека ЦОК https://m.edsoo.ru/7f413cd6"]):
            cells[i].text = text
    document.add_page_break()
    document.add_heading("ПОУРОЧНОЕ ПЛАНИРОВАНИЕ", level=1)
    document.add_paragraph("5 КЛАСС")
    table = document.add_table(rows=2, cols=7)
    table.style = "Table Grid"
    top, sub = table.rows[0].cells, table.rows[1].cells
    for i, text in ((0, "№ п/п"), (1, "Тема урока"), (2, "Количество часов"), (5, "Дата изучения"),
                    (6, "Электронные цифровые образовательные ресурсы")):
        _set_cell(top[i], text, True)
    for i, text in ((2, "Всего"), (3, "Контрольные работы"), (4, "Практические работы")):
        _set_cell(sub[i], text, True)
    top[2].merge(top[4])
    for i in (0, 1, 5, 6):
        table.cell(0, i).merge(table.cell(1, i))
    topics = ktp_topics()
    for n, (_, topic, control) in enumerate(topics, 1):
        cells = table.add_row().cells
        resource = f"Библиотека ЦОК https://m.edsoo.ru/fa25{n:04x}" if n % 3 else ""
        for i, text in enumerate([str(n), topic, "1", "1" if control else "", "", "", resource]):
            cells[i].text = text
    total = table.add_row().cells
    total[0].merge(total[1])
    _set_cell(total[0], "ОБЩЕЕ КОЛИЧЕСТВО ЧАСОВ ПО ПРОГРАММЕ")
    total[2].text = str(len(topics))
    total[3].text = str(sum(c for _, _, c in topics))
    total[4].text = "0"
    total[5].merge(total[6])
    return document


def konstruktor_excel():
    """The same ПОУРОЧНОЕ table pasted into Excel: two merged header rows, the total row."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Лист1"
    ws.append(["№ п/п", "Тема урока", "Количество часов", None, None, "Дата изучения",
                "Электронные цифровые образовательные ресурсы"])
    ws.append([None, None, "Всего", "Контрольные работы", "Практические работы", None, None])
    for rng in ("A1:A2", "B1:B2", "C1:E1", "F1:F2", "G1:G2"):
        ws.merge_cells(rng)
    topics = ktp_topics()
    for n, (_, topic, control) in enumerate(topics, 1):
        ws.append([n, topic, 1, 1 if control else None, None, None,
                   f"Библиотека ЦОК https://m.edsoo.ru/fa25{n:04x}" if n % 3 else None])
    ws.append(["ОБЩЕЕ КОЛИЧЕСТВО ЧАСОВ ПО ПРОГРАММЕ", None, len(topics), sum(c for *_, c in topics), 0])
    ws.merge_cells(f"A{ws.max_row}:B{ws.max_row}")
    return book


# The classic КТП's rows: (number, topic, hours, plan date(s), control word). Sections between.
CLASSIC = [
    ("Раздел 1. Повторение изученного в начальной школе (6 ч)", None),
    ("1", "Язык и речь. Повторение", "1", "02.09", "текущий"),
    ("2", "Части речи. Орфограммы в корне", "1", "03.09", "фронтальный опрос"),
    ("3", "Правописание безударных гласных", "1", "04.09", "словарный диктант"),
    ("4", "Входная контрольная работа", "1", "05.09", "к/р"),
    ("5-6", "Звуки и буквы. Произношение и правописание", "2", "08.09\n09.09", "с/р"),
    ("Раздел 2. Текст (4 ч)", None),
    ("7", "Текст и его признаки", "1", "10.09", "тест"),
    ("8", "Подробное изложение «Собака Шарик»", "1", "11.09", "изложение"),
    ("9", "Контрольный диктант по теме «Повторение»", "1", "12.09", "контрольный диктант"),
    ("10", "Сочинение по картине", "1", "15.09", "сочинение"),
    ("Раздел 3. Лексикология (3 ч)", None),
    ("11", "Слово и его лексическое значение", "1", "16.09", "игра-путешествие"),
    ("12", "Однозначные и многозначные слова", "1", "17.09", ""),
    ("13", "Синонимы. Антонимы. Омонимы", "1", "18.09", "П/р"),
]


def classic_docx():
    """The classic КТП of methodological sites: a title, «Дата проведения» merged over «план /
    факт», section rows merged across, «5-6» with two dates in one cell, «Вид контроля» words."""
    import docx

    document = docx.Document()
    document.add_paragraph("Календарно-тематическое планирование по русскому языку")
    document.add_paragraph("5 класс (170 ч, 5 ч в неделю)")
    document.add_paragraph("Учитель: Ершова Н.В.")
    table = document.add_table(rows=2, cols=7)
    table.style = "Table Grid"
    top, sub = table.rows[0].cells, table.rows[1].cells
    for i, text in ((0, "№ урока"), (1, "Тема урока"), (2, "Кол-во часов"), (3, "Дата проведения"),
                    (5, "Вид контроля"), (6, "Домашнее задание")):
        _set_cell(top[i], text, True)
    _set_cell(sub[3], "план", True)
    _set_cell(sub[4], "факт", True)
    top[3].merge(top[4])
    for i in (0, 1, 2, 5, 6):
        table.cell(0, i).merge(table.cell(1, i))
    for row in CLASSIC:
        cells = table.add_row().cells
        if row[1] is None:
            merged = cells[0].merge(cells[6])
            _set_cell(merged, row[0], True)
            continue
        number, topic, hours, dates, control = row
        for i, text in enumerate([number, topic, hours, dates, "", control, "§ " + number]):
            cells[i].text = text
    document.add_paragraph("")
    document.add_paragraph("Итого: 170 ч, из них контрольных работ — 10")
    return document


def ktp_csv(year: int = YEAR) -> bytes:
    """A tidy КТП saved from Excel as CSV: Windows-1251, «;», full dates, ending with «Итого:»."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["№", "Тема", "Часы", "Дата", "Вид работы"])
    rows = [("Вводный урок. Повторение", 1, f"01.09.{year}", "урок"),
            ("Имя существительное", 1, f"03.09.{year}", ""),
            ("Имя прилагательное", 2, f"08.09.{year}", "урок"),
            ("Диктант по теме «Части речи»", 1, f"10.09.{year}", "диктант"),
            ("Глагол", 1, f"15.09.{year}", "самостоятельная работа")]
    for n, r in enumerate(rows, 1):
        w.writerow([n, *r])
    w.writerow(["Итого:", "", sum(r[1] for r in rows), "", ""])
    return out.getvalue().encode("cp1251")


# --- writing -------------------------------------------------------------------------------

def _save_book(book, path: Path) -> None:
    book.save(path)


def _convert(xlsx: Path, fmt: str, out: Path) -> None:
    """LibreOffice's own conversion (xls: «MS Excel 97», ods: «calc8»)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        sys.exit("LibreOffice is needed for the .xls and .ods samples: apt-get install libreoffice-calc")
    with tempfile.TemporaryDirectory() as tmp:
        filters = {"xls": "xls:MS Excel 97", "ods": "ods:calc8"}
        subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless", "--convert-to",
                        filters[fmt], "--outdir", tmp, str(xlsx)], check=True, capture_output=True, timeout=180)
        shutil.move(Path(tmp) / f"{xlsx.stem}.{fmt}", out)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    _save_book(setevoy_gorod_5a(), HERE / "01-setevoy-gorod-5A.xlsx")
    with tempfile.TemporaryDirectory() as tmp:
        for name, book, fmt in (("02-vse-obuchayushchiesya", all_students_book(), "xls"),
                                ("07-spisok-8V", ods_8v_book(), "ods")):
            src = Path(tmp) / f"{name}.xlsx"
            book.save(src)
            _convert(src, fmt, HERE / f"{name}.{fmt}")
    _save_book(ais_kontingent(), HERE / "03-ais-kontingent.xlsx")
    _save_book(dnevnik_ru(), HERE / "04-dnevnik-ru.xlsx")
    (HERE / "05-spisok-1251.csv").write_bytes(csv_1251())
    _save_book(class_teacher_7b(), HERE / "06-klassnyi-rukovoditel-7B.xlsx")
    _save_book(staff_site(), HERE / "08-sotrudniki-sait.xlsx")
    konstruktor_docx().save(HERE / "09-ktp-konstruktor.docx")
    _save_book(konstruktor_excel(), HERE / "10-ktp-konstruktor-excel.xlsx")
    classic_docx().save(HERE / "11-ktp-classic.docx")
    (HERE / "12-ktp-1251.csv").write_bytes(ktp_csv())
    print("\n".join(sorted(p.name for p in HERE.iterdir() if p.suffix != ".py")))


if __name__ == "__main__":
    main()
