"""Issue 19: the files schools already have go in without edits, through the real pages.

The samples in tests/samples/ (made by tests/samples/make_samples.py; the .xls and .ods by
LibreOffice) are class lists from «Сетевой город», АИС «Контингент», Дневник.ру, a CSV from
Russian Excel, a class teacher's own list, a LibreOffice table, the staff table of a school's
website, and КТП from «Конструктор рабочих программ» (.docx and pasted into Excel), a classic
КТП (.docx) and a tidy CSV. Each is previewed (what arrives and what does not), imported, and
checked in the database. Hostile files are refused without reading them whole."""

from __future__ import annotations

import io
import re
import sqlite3
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import csrf_from, login, session_csrf
from test_import import ADMIN_PASSWORD, Admin, errors_of, figures, notice_of, people_counts
from test_plan import J, clear_plans, items, upload

from server import clock, tables

SAMPLES = Path(__file__).resolve().parent / "samples"
sys.path.insert(0, str(SAMPLES))
import make_samples  # noqa: E402  (the generator: its ktp_csv(year) for the demo's school year)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def rows(data_dir, sql, params=()):
    conn = sqlite3.connect(f"file:{data_dir / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def mid_september():
    """The clock at 15.09.2026 before the server starts (a clock moved back under a running server
    is refused as an impossible date: server/appliance/)."""
    clock.set_now("2026-09-15T10:00")


@pytest.fixture
def school(mid_september, empty_client, tmp_path):
    """An empty school on 15.09.2026, set up through its pages: year 2026/2027, five classes."""
    c = empty_client
    page = c.get("/setup")
    r = c.post("/setup", data={
        "school_name": "МБОУ СОШ № 3", "last_name": "Кузнецова", "first_name": "Ольга", "middle_name": "Ивановна",
        "login": "admin", "password": ADMIN_PASSWORD, "repeat": ADMIN_PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False)
    assert r.status_code == 303
    admin = Admin(c, tmp_path / "empty")
    r = c.post("/school/years", data={"csrf_token": admin.token, "starts_on": "2026-09-01", "ends_on": "2027-08-31"},
               follow_redirects=False)
    assert r.status_code == 303, notice_of(r.text)
    for name in ("5А", "5Б", "6А", "7Б", "8В"):
        r = c.post("/school/classes", data={"csrf_token": admin.token, "name": name}, follow_redirects=False)
        assert r.status_code == 303, notice_of(r.text)
    return admin


def students_of(data_dir, class_name):
    return rows(data_dir, """
        SELECT p.last_name, p.first_name, p.middle_name, p.birth_date, p.sex
          FROM enrollment e JOIN class c ON c.id = e.class_id JOIN person p ON p.id = e.student_id
          JOIN student st ON st.person_id = p.id
         WHERE c.parallel || c.letter = ? ORDER BY p.last_name""", (class_name,))


def parents_of(data_dir, last, first):
    return rows(data_dir, """
        SELECT pp.last_name, pp.first_name, pp.middle_name, g.relation, pp.phone, pp.email
          FROM guardian g JOIN person s ON s.id = g.student_id JOIN person pp ON pp.id = g.parent_id
         WHERE s.last_name = ? AND s.first_name = ? ORDER BY pp.first_name""", (last, first))


def parents_line(html: str) -> str:
    m = re.search(r'id="parents-summary"[^>]*>([^<]*)<', html)
    return " ".join(m.group(1).split()) if m else ""


# --- class lists ------------------------------------------------------------------------------

# file, new students by class, «родителей в файле N, будет загружено M», what the preview must say
CLASS_LISTS = [
    ("01-setevoy-gorod-5A.xlsx", {"5А": 6}, (9, 9),
     ["Класс 5А взят из заголовка над таблицей", "итоговая строка — «Всего: 6 обучающихся",
      "подпись или примечание — «Классный руководитель", "«Примечание» — журналу не нужны"]),
    ("02-vse-obuchayushchiesya.xls", {"5Б": 3, "6А": 2}, (0, 0),
     ["книга Excel старого формата (.xls)", "итоговая строка — «Итого по классу 5Б: 3»",
      "итоговая строка — «Всего обучающихся: 5»"]),
    ("03-ais-kontingent.xlsx", {"6А": 3}, (3, 3), ["«СНИЛС» — журналу не нужны"]),
    ("04-dnevnik-ru.xlsx", {"5Б": 2}, (3, 3),
     ["родители — с листа «Родители»", "пропущены: «Инструкция»"]),
    ("05-spisok-1251.csv", {"5А": 2, "5Б": 1}, (4, 4), ["кодировка Windows-1251"]),
    ("06-klassnyi-rukovoditel-7B.xlsx", {"7Б": 5}, (8, 8),
     ["Класс 7Б взят из заголовка", "Пол определён по отчеству или имени (в файле нет столбца «Пол»)",
      "«Домашний адрес» — журналу не нужны"]),
    ("07-spisok-8V.ods", {"8В": 2}, (2, 2), ["таблица LibreOffice (.ods)", "«Кем приходится» не указано"]),
]


@pytest.mark.parametrize("name, by_class, parents, says", CLASS_LISTS, ids=[c[0] for c in CLASS_LISTS])
def test_every_kind_of_class_list_goes_in_as_it_is_with_its_parents(school, name, by_class, parents, says):
    preview = school.preview(sample(name), name)
    html = preview.text
    assert figures(html)["Новых учащихся"] == sum(by_class.values())
    assert parents_line(html) == f"Родителей в файле: {parents[0]}, будет загружено: {parents[1]}."
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    for phrase in says:
        assert phrase in text, phrase
    page = school.confirm(html)
    assert page.status_code == 303
    for cls, n in by_class.items():
        assert len(students_of(school.data, cls)) == n
    assert rows(school.data, "SELECT count(*) FROM guardian")[0][0] == parents[1]
    # A second time nothing new arrives.
    again = school.preview(sample(name), name)
    assert figures(again.text)["Новых учащихся"] == 0 and figures(again.text)["Новых родителей"] == 0


def test_the_setevoy_gorod_report_keeps_every_parent_of_the_multi_line_cell(school):
    school.import_file(sample("01-setevoy-gorod-5A.xlsx"), "01.xlsx")
    assert parents_of(school.data, "Абрамов", "Кирилл") == [
        ("Абрамов", "Денис", "Сергеевич", "отец", "+7 912 345-67-02", None),
        ("Абрамова", "Ольга", "Викторовна", "мать", "+7 912 345-67-01", None)]
    assert parents_of(school.data, "Гусейнов", "Тимур") == [
        ("Гусейнова", "Севиль", "Али кызы", "мать", "+7 922 111-22-33", None),
        ("Гусейнов", "Эльдар", "Рамиз оглы", "отец", "+7 922 111-22-44", None)]
    assert parents_of(school.data, "Ёлкина", "Алёна") == [("Ёлкина", "Наталья", "Юрьевна", "мать",
                                                         "+7 950 555-12-12", None)]
    assert parents_of(school.data, "Смирнова", "Ева") == [("Смирнова", "Анна", "Павловна", "опекун",
                                                        "+7 904 123-00-11", None)]
    assert ("Гусейнов", "Тимур", "Эльдар оглы", "2015-05-30", "м") in students_of(school.data, "5А")
    assert ("Захаров-Нестеров", "Илья", "Петрович", "2014-12-24", "м") in students_of(school.data, "5А")


def test_a_class_teachers_own_list_dates_names_and_parents(school):
    preview = school.preview(sample("06-klassnyi-rukovoditel-7B.xlsx"), "7Б.xlsx")
    assert "Ким Виктория" in preview.text
    school.confirm(preview.text)
    assert set(students_of(school.data, "7Б")) == {
        ("Алиев", "Руслан", "Тимур оглы", "2012-04-17", "м"),
        ("Ким", "Виктория", "", "2013-02-03", "ж"),
        ("Петрова-Водкина", "Анастасия", "Игоревна", "2013-04-15", "ж"),
        ("Семёнов", "Пётр", "Алексеевич", "2012-12-31", "м"),
        ("Ёлкин", "Савва", "Андреевич", "2012-09-01", "м")}
    assert parents_of(school.data, "Ким", "Виктория") == [("Ким", "Ольга", "", "мать", "+7 950 123-45-04", None),
                                                          ("Ким", "Сергей", "", "отец", None, None)]
    assert parents_of(school.data, "Петрова-Водкина", "Анастасия") == [
        ("Петрова-Водкина", "Ирина", "Сергеевна", "мать", "+7 950 123-45-03", None)]   # «нет» father: none
    assert [p[3] for p in parents_of(school.data, "Ёлкин", "Савва")] == ["отец"]


def test_values_schools_write_are_understood(school):
    school.import_file(sample("05-spisok-1251.csv"), "список.csv")
    assert students_of(school.data, "5А") == [("Тихонов", "Матвей", "Ильич", "2014-11-11", "м"),
                                              ("Уварова", "Кира", "Денисовна", "2015-05-15", "ж")]  # Excel's 42139
    assert students_of(school.data, "5Б") == [("Шестаков", "Лев", "", "2015-06-30", "м")]
    school.import_file(sample("03-ais-kontingent.xlsx"), "аис.xlsx")
    assert rows(school.data, "SELECT study_form FROM student st JOIN person p ON p.id = st.person_id"
                             " WHERE p.last_name = 'Панова'") == [("семейная",)]
    assert parents_of(school.data, "Никитин", "Егор") == [("Никитина", "Светлана", "Петровна", "мать",
                                                         "+7 905 123-45-67", "nikitina.sp@mail.ru")]
    school.import_file(sample("04-dnevnik-ru.xlsx"), "дневник.xlsx")
    assert [p[:4] for p in parents_of(school.data, "Руденко", "Глеб")] == [
        ("Руденко", "Ирина", "Николаевна", "мать"), ("Руденко", "Олег", "Викторович", "отец")]
    # «Кем приходится» empty: told by the patronymic.
    assert [p[3] for p in parents_of(school.data, "Соколова", "Ульяна")] == ["отец"]


def test_a_real_error_writes_nothing_and_lists_every_bad_row_with_excel_row_numbers(school):
    book = openpyxl.load_workbook(io.BytesIO(sample("06-klassnyi-rukovoditel-7B.xlsx")))
    ws = book.active
    ws["C7"] = "31.02.2013"          # Петрова-Водкина: no such day
    ws["F9"] = "8-950-12"            # Семёнов's mother: not a phone
    out = io.BytesIO()
    book.save(out)
    before = people_counts(school.data)
    r = school.upload(out.getvalue(), "7Б.xlsx", expect=400)
    errors = errors_of(r.text)
    assert sorted(errors) == [7, 9]
    assert "такого дня в календаре нет" in errors[7]
    assert "Мать — телефон «8-950-12» не распознан" in errors[9]
    assert people_counts(school.data) == before
    # An unknown class in the CSV: that row, with its line; nothing written.
    data = sample("05-spisok-1251.csv").decode("cp1251").replace("5 Б", "9 Я").encode("cp1251")
    r = school.upload(data, "список.csv", expect=400)
    errors = errors_of(r.text)
    assert list(errors) == [4] and "Класс 9Я не найден" in errors[4]
    assert people_counts(school.data) == before


def test_the_class_can_be_chosen_for_the_whole_file(school):
    book = openpyxl.load_workbook(io.BytesIO(sample("01-setevoy-gorod-5A.xlsx")))
    book.active["A2"] = "Список обучающихся"          # the title no longer names the class
    out = io.BytesIO()
    book.save(out)
    r = school.upload(out.getvalue(), "без класса.xlsx", expect=400)
    assert "В файле не указан класс" in notice_of(r.text) and "Выберите класс для всего файла" in notice_of(r.text)
    class_id = rows(school.data, "SELECT id FROM class WHERE parallel = 5 AND letter = 'Б'")[0][0]
    assert f'<option value="{class_id}">5Б</option>' in r.text
    r = school.c.post("/school/import", data={"csrf_token": school.token, "kind": "students", "class_id": class_id},
                      files={"file": ("без класса.xlsx", out.getvalue(), "application/octet-stream")},
                      follow_redirects=False)
    assert r.status_code == 303
    preview = school.c.get(r.headers["location"])
    assert "Класс 5Б выбран при загрузке" in preview.text
    school.confirm(preview.text)
    assert len(students_of(school.data, "5Б")) == 6


def test_a_missing_header_quotes_the_closest_row_and_says_how_to_fix_it(school):
    import docx

    document = docx.Document()
    document.add_paragraph("Список 5 «А» класса")
    table = document.add_table(rows=2, cols=3)
    for i, text in enumerate(("№", "Ученик", "Д. рожд.")):
        table.cell(0, i).text = text
    for i, text in enumerate(("1", "Иванов Иван", "01.01.2015")):
        table.cell(1, i).text = text
    out = io.BytesIO()
    document.save(out)
    r = school.upload(out.getvalue(), "список.docx", expect=400)
    message = notice_of(r.text)
    assert "нет столбцов «Дата рождения»" in message
    assert "Ближе всего таблица 1, строка 1: «№ | Ученик | Д. рожд.»" in message
    assert "в Word" in message and "Excel" not in message
    # The same in a book: the row and its sheet named, with Excel-like advice.
    book = openpyxl.Workbook()
    book.active.append(["Список"])
    book.active.append(["ФИО", "Класс", "Рождение"])
    out = io.BytesIO()
    book.save(out)
    message = notice_of(school.upload(out.getvalue(), "список.xlsx", expect=400).text)
    assert "Ближе всего строка 2: «ФИО | Класс | Рождение»" in message and "Впишите в эту строку" in message


def test_staff_from_the_school_website_get_safe_roles_shown_in_the_preview(school):
    preview = school.preview(sample("08-sotrudniki-sait.xlsx"), "сайт.xlsx", kind="staff")
    html = preview.text
    assert figures(html)["Новых сотрудников"] == 5
    assert "Роли назначены по должности" in html and "Учителей: 3" in html
    assert "«Квалификационная категория» — журналу не нужны" in html
    assert "предметы и классы учителя задаются в учебной нагрузке" in html
    school.confirm(html)
    got = dict(rows(school.data, """
        SELECT p.last_name, group_concat(r.role) FROM person p JOIN account a ON a.person_id = p.id
          JOIN account_role r ON r.account_id = a.id WHERE p.last_name <> 'Кузнецова' GROUP BY p.id"""))
    assert got == {"Лаврова": "teacher", "Гончаров": "teacher", "Зуева": "staff", "Юсупов": "teacher",
                   "Ёжикова": "staff"}
    assert rows(school.data, "SELECT position FROM person WHERE last_name = 'Гончаров'") == [
        ("Заместитель директора по УВР, учитель математики",)]


# --- hostile files: refused without reading them whole ------------------------------------------

def _ods(rows_repeated: int, columns_repeated: int) -> bytes:
    """The LibreOffice sample with a row repeated `rows_repeated` times, `columns_repeated` cells
    each, added to its table: a few bytes more in the file."""
    bomb = (f'<table:table-row table:number-rows-repeated="{rows_repeated}"><table:table-cell office:value-type='
            f'"string" table:number-columns-repeated="{columns_repeated}"><text:p>8В</text:p></table:table-cell>'
            '</table:table-row>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample("07-spisok-8V.ods"))) as src, zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "content.xml":
                text = body.decode()
                i = text.index("</table:table>")
                body = (text[:i] + bomb + text[i:]).encode()
            z.writestr(info, body)
    return out.getvalue()


def test_hostile_files_are_refused_without_eating_the_servers_memory(school):
    before = people_counts(school.data)
    # 1.5 kB that unpack to 30 million cells: the child process that reads it hits its limit.
    started = time.monotonic()
    r = school.upload(_ods(30_000, 1000), "бомба.ods", expect=400)
    assert "слишком велик" in notice_of(r.text)
    # Under calamine's own cell limit, but gigabytes: the child's memory limit stops it.
    r = school.upload(_ods(30_000, 90), "бомба2.ods", expect=400)
    assert "слишком велик" in notice_of(r.text)
    assert time.monotonic() - started < 60
    # Within the limits, but more rows than an import takes: refused, read only up to the limit.
    r = school.upload(_ods(tables.MAX_ROWS + 1000, 2), "много.ods", expect=400)
    assert f"больше {tables.MAX_ROWS} строк" in notice_of(r.text)
    # A Word document whose XML would unpack to hundreds of megabytes.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>" + " " * (tables.MAX_XML_UNPACKED + 1) + "</w:document>")
    r = school.upload(out.getvalue(), "бомба.docx", expect=400)
    assert "слишком велик в распакованном виде" in notice_of(r.text)
    # A book with far more rows than allowed: reading stops at the limit.
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Класс", "Фамилия", "Имя", "Дата рождения", "Пол"])
    for n in range(tables.MAX_ROWS + 1000):
        sheet.append(["5А", "Иванов", "Иван", "01.01.2015", "м"])
    out = io.BytesIO()
    book.save(out)
    r = school.upload(out.getvalue(), "много.xlsx", expect=400)
    assert f"больше {tables.MAX_ROWS} строк" in notice_of(r.text)
    assert people_counts(school.data) == before


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sharedStrings+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '</Relationships>'),
    "xl/worksheets/sheet1.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        'main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'),
}


def _xlsx_bomb(strings: int) -> bytes:
    """A book of one cell whose list of shared strings holds `strings` names: about 70 kB per
    million, each million costing openpyxl ~10 s and ~200 MB when it reads the list whole."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text)
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                    b'spreadsheetml/2006/main">')
            chunk = "<si><t>Иванов</t></si>".encode() * 10_000
            for _ in range(strings // 10_000):
                f.write(chunk)
            f.write(b"</sst>")
    return out.getvalue()


def test_a_small_xlsx_bomb_is_refused_quickly_and_the_server_keeps_its_memory(school):
    import resource

    before = people_counts(school.data)
    # The file the outside walk used: a quarter of a megabyte that unpacks to 110 MB of shared
    # strings (under the 200 MB of a whole book), which openpyxl reads whole before any row.
    bomb = _xlsx_bomb(4_000_000)
    assert len(bomb) < 600_000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    r = school.upload(bomb, "бомба.xlsx", expect=400)
    assert time.monotonic() - started < 5
    assert "слишком велик в распакованном виде" in notice_of(r.text)
    # ru_maxrss is in kB: the server (this process) grew by less than 100 MB at its peak.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024
    # A book that passes the counting is read in the limited child process too: an ordinary
    # list still goes in (the samples above), and a broken one says what to do.
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as z:
        for name, text in _XLSX_PARTS.items():
            z.writestr(name, text.replace("<sheetData>", "<sheetData><row") if "sheet1" in name else text)
        z.writestr("xl/sharedStrings.xml", "<sst")
    r = school.upload(broken.getvalue(), "битая.xlsx", expect=400)
    assert "повреждён" in notice_of(r.text)
    assert people_counts(school.data) == before


def test_the_file_pickers_accept_every_supported_type(school):
    page = school.c.get("/school/import").text
    assert page.count(f'accept="{tables.ACCEPT}"') == 2
    for ext in (".xlsx", ".xls", ".ods", ".csv", ".docx"):
        assert ext in tables.ACCEPT


# --- КТП ----------------------------------------------------------------------------------

@pytest.fixture
def teacher01(client, data_dir):
    clear_plans(data_dir, J)
    login(client, "teacher01")
    return session_csrf(client)


def plan_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("name", ["09-ktp-konstruktor.docx", "10-ktp-konstruktor-excel.xlsx"])
def test_the_konstruktor_ktp_goes_in_with_its_hours_and_control_works(client, data_dir, teacher01, name):
    preview = upload(client, teacher01, name, sample(name), confirm=False)
    assert preview.status_code == 200, notice_of(preview.text)
    text = plan_text(preview.text)
    assert "Тем 170 , часов 170, с датой 0" in text
    assert "контрольных и других оценочных работ 17 (контрольная работа — 17)" in text
    assert "итоговая строка — «ОБЩЕЕ КОЛИЧЕСТВО ЧАСОВ ПО ПРОГРАММЕ" in text
    assert "«Электронные цифровые образовательные ресурсы» — ресурсы в КТП журнала не хранятся" in text
    assert items(data_dir) == [], "nothing is saved before the confirmation"
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    r = client.post(f"/journals/{J}/plan/confirm", data={"csrf_token": teacher01, "token": token})
    assert r.status_code == 200 and "загружено тем: 170" in r.text
    got = items(data_dir)
    assert len(got) == 170 and sum(1 for g in got if g[5] == "control") == 17
    assert got[0][:3] == (1, "Повторение изученного в начальной школе. Части речи", 1.0)
    assert got[3][1] == "Входная контрольная работа" and got[3][5] == "control"


def test_the_classic_ktp_sections_two_hour_topics_dates_and_control_words(client, data_dir, teacher01):
    preview = upload(client, teacher01, "ктп.docx", sample("11-ktp-classic.docx"), confirm=False)
    assert preview.status_code == 200, notice_of(preview.text)
    text = plan_text(preview.text)
    assert "Тем 13 , часов 13, с датой 13" in text
    assert "строка раздела — «Раздел 1. Повторение изученного в начальной школе (6 ч)»" in text
    assert "разделены на уроки (у каждого своя дата): 1" in text
    assert "«игра-путешествие» — строка 15" in text and text.count("Виды работ школы:") == 1
    assert "«Дата проведения факт» — фактические даты журнал берёт из проведённых уроков" in text
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    r = client.post(f"/journals/{J}/plan/confirm", data={"csrf_token": teacher01, "token": token})
    assert r.status_code == 200, r.text[:300]
    got = items(data_dir)
    year = int(rows(data_dir, "SELECT starts_on FROM academic_year WHERE status = 'open'")[0][0][:4])
    assert [(n, t[:12], h, d, wt) for n, t, h, d, _, wt in got[:9]] == [
        (1, "Язык и речь.", 1.0, f"{year}-09-02", "lesson"),
        (2, "Части речи. ", 1.0, f"{year}-09-03", "lesson"),
        (3, "Правописание", 1.0, f"{year}-09-04", "dictation"),
        (4, "Входная конт", 1.0, f"{year}-09-05", "control"),
        (5, "Звуки и букв", 1.0, f"{year}-09-08", "independent"),
        (6, "Звуки и букв", 1.0, f"{year}-09-09", "independent"),
        (7, "Текст и его ", 1.0, f"{year}-09-10", "test"),
        (8, "Подробное из", 1.0, f"{year}-09-11", "essay"),
        (9, "Контрольный ", 1.0, f"{year}-09-12", "dictation")]
    assert len(got) == 13 and got[10][5] == "lesson" and got[12][5] == "practical"   # «игра-путешествие» → урок; «П/р»


def test_a_ktp_without_dates_keeps_the_planned_dates_it_had(client, data_dir, teacher01):
    upload(client, teacher01, "ктп.docx", sample("11-ktp-classic.docx"))
    dated = {n: d for n, _, _, d, _, _ in items(data_dir)}
    assert len(dated) == 13 and all(dated.values())
    preview = upload(client, teacher01, "конструктор.xlsx", sample("10-ktp-konstruktor-excel.xlsx"), confirm=False)
    text = plan_text(preview.text)
    assert "Текущий КТП из 13 тем будет заменён" in text
    assert "В файле нет данных в столбцах: «Дата»" in text and "(13)" in text
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    client.post(f"/journals/{J}/plan/confirm", data={"csrf_token": teacher01, "token": token})
    got = items(data_dir)
    assert len(got) == 170
    assert {n: d for n, _, _, d, _, _ in got if n <= 13} == dated
    assert all(d is None for n, _, _, d, _, _ in got if n > 13)


def test_a_tidy_cp1251_ktp_csv_with_a_total_row(client, data_dir, teacher01):
    year = int(rows(data_dir, "SELECT starts_on FROM academic_year WHERE status = 'open'")[0][0][:4])
    preview = upload(client, teacher01, "ктп.csv", make_samples.ktp_csv(year), confirm=False)
    text = plan_text(preview.text)
    assert "Тем 5 , часов 6, с датой 5" in text and "итоговая строка — «Итого: 6»" in text
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    client.post(f"/journals/{J}/plan/confirm", data={"csrf_token": teacher01, "token": token})
    assert [(n, h, d, wt) for n, _, h, d, _, wt in items(data_dir)] == [
        (1, 1.0, f"{year}-09-01", "lesson"), (2, 1.0, f"{year}-09-03", "lesson"), (3, 2.0, f"{year}-09-08", "lesson"),
        (4, 1.0, f"{year}-09-10", "dictation"), (5, 1.0, f"{year}-09-15", "independent")]


def test_the_ktp_preview_can_be_cancelled_and_belongs_to_its_journal(client, data_dir, teacher01):
    preview = upload(client, teacher01, "ктп.docx", sample("11-ktp-classic.docx"), confirm=False)
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    r = client.post(f"/journals/{J}/plan/cancel", data={"csrf_token": teacher01, "token": token})
    assert r.status_code == 200 and items(data_dir) == []
    r = client.post(f"/journals/{J}/plan/confirm", data={"csrf_token": teacher01, "token": token})
    assert r.status_code == 400 and "Проверенный файл не найден" in r.text
    assert items(data_dir) == []


def test_what_does_not_arrive_is_said_and_a_parents_sheet_row_is_checked_too(school):
    book = openpyxl.load_workbook(io.BytesIO(sample("01-setevoy-gorod-5A.xlsx")))
    ws = book.active
    ws["E7"] = "Белоусова Т.И. (мать), 8-922-100-20-30\nбабушка: Белоусова Нина Петровна, 8-922-100-20-31"
    out = io.BytesIO()
    book.save(out)
    preview = school.preview(out.getvalue(), "5А.xlsx")
    assert parents_line(preview.text) == "Родителей в файле: 10, будет загружено: 8."
    lost = plan_text(preview.text.split('id="not-loaded"')[1].split("</div>")[0])
    assert "Строка 7: «Белоусова Т.И. (мать)» — нет полного имени (только инициалы)" in lost
    assert "«бабушка» не из списка «кем приходится»" in lost
    # A parent whose child is not on the pupils' sheet: that row of that sheet, nothing written.
    book = openpyxl.load_workbook(io.BytesIO(sample("04-dnevnik-ru.xlsx")))
    book["Родители"]["H3"] = "5А"
    out = io.BytesIO()
    book.save(out)
    before = people_counts(school.data)
    r = school.upload(out.getvalue(), "дневник.xlsx", expect=400)
    assert "лист «Родители», строка 3" in r.text and "Ребёнок «Руденко Глеб Олегович» (5А) не найден" in r.text
    assert people_counts(school.data) == before


def test_class_section_rows_give_the_class_of_the_rows_below(school):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Список обучающихся школы"])
    ws.append(["№", "ФИО", "Дата рождения", "Пол"])
    ws.append(["5 «А» класс"])
    ws.append([1, "Орлов Максим Андреевич", "12.03.2015", "м"])
    ws.append(["6 «А» класс"])
    ws.append([1, "Павлова Ника Игоревна", "01.02.2014", "ж"])
    out = io.BytesIO()
    book.save(out)
    preview = school.preview(out.getvalue(), "школа.xlsx")
    assert "строка раздела — «5 «А» класс»" in preview.text
    school.confirm(preview.text)
    assert [s[0] for s in students_of(school.data, "5А")] == ["Орлов"]
    assert [s[0] for s in students_of(school.data, "6А")] == ["Павлова"]
