"""Import of class lists and staff from CSV and XLSX, through the pages: a clean file is
previewed and imported in one go; a file with bad rows lists every one and imports nothing;
importing again creates no duplicates; unreadable files get a clear Russian message."""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import time
from datetime import date

import openpyxl
import pytest
from conftest import csrf_from, login, session_csrf

from server import clock
from server import tables
from server.school import imports
from server.timeutil import school_year_start

ADMIN_PASSWORD = "Пароль-админа-1"
YEAR = school_year_start(clock.today())

HEADER = ["Класс", "Фамилия", "Имя", "Отчество", "Дата рождения", "Пол", "Форма обучения",
          "Родитель 1: Фамилия", "Родитель 1: Имя", "Родитель 1: Отчество", "Родитель 1: Кем приходится",
          "Родитель 1: Телефон", "Родитель 1: E-mail",
          "Родитель 2: Фамилия", "Родитель 2: Имя", "Родитель 2: Отчество", "Родитель 2: Кем приходится",
          "Родитель 2: Телефон", "Родитель 2: E-mail"]
# Five students in two classes; Орлова Светлана is the mother of a 5А and a 5Б child.
ROWS = [
    ["5А", "Орлов", "Максим", "Андреевич", "12.03.2015", "м", "очная",
     "Орлова", "Светлана", "Викторовна", "мать", "8 (900) 111-22-33", "orlova@example.ru",
     "Орлов", "Андрей", "Петрович", "отец", "+7 900 111-22-44", ""],
    ["5А", "Ким", "Алина", "", "01.09.2014", "ж", "",
     "Ким", "Виктор", "Сергеевич", "отец", "", "", "", "", "", "", "", ""],
    ["5А", "Зайцева", "Полина", "Игоревна", "30.11.2014", "ж", "семейная"] + [""] * 12,
    ["5Б", "Орлова", "Дарья", "Андреевна", "05.05.2014", "ж", "очная",
     "Орлова", "Светлана", "Викторовна", "мать", "+79001112233", "", "", "", "", "", "", ""],
    ["5Б", "Ёлкин", "Фёдор", "Ильич", "2015-01-20", "м", "на дому",
     "Ёлкина", "Анна", "Сергеевна", "законный представитель", "", "", "", "", "", "", "", ""],
]
STUDENT_NAMES = ["Орлов Максим Андреевич", "Ким Алина", "Зайцева Полина Игоревна", "Орлова Дарья Андреевна",
                 "Ёлкин Фёдор Ильич"]


def csv_bytes(rows, delimiter=",", encoding="utf-8", header=HEADER, bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode(encoding)


def count(data_dir, sql, params=()):
    conn = sqlite3.connect(f"file:{data_dir / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def people_counts(data_dir) -> dict[str, int]:
    return {table: count(data_dir, f"SELECT count(*) FROM {table}")
            for table in ("person", "account", "account_role", "student", "enrollment", "guardian", "import_log")}


class Admin:
    """A logged-in person using the import page."""

    def __init__(self, client, data_dir):
        self.c = client
        self.data = data_dir

    @property
    def token(self) -> str:
        return session_csrf(self.c)

    def upload(self, content: bytes, name: str = "5А.csv", kind: str = "students", expect: int | None = None):
        r = self.c.post("/school/import", data={"csrf_token": self.token, "kind": kind},
                        files={"file": (name, content, "application/octet-stream")}, follow_redirects=False)
        if expect is not None:
            assert r.status_code == expect, (r.status_code, errors_of(r.text), notice_of(r.text))
        return r

    def preview(self, content: bytes, name: str = "5А.csv", kind: str = "students"):
        r = self.upload(content, name, kind, expect=303)
        assert r.headers["location"].startswith("/school/import/preview?token=")
        page = self.c.get(r.headers["location"])
        assert page.status_code == 200, notice_of(page.text)
        return page

    def confirm(self, preview_html: str, expect: int = 303):
        fields = dict(re.findall(r'name="(token|expected)" value="([^"]*)"', preview_html))
        r = self.c.post("/school/import/confirm", data={"csrf_token": self.token, **fields}, follow_redirects=False)
        assert r.status_code == expect, (r.status_code, errors_of(r.text), notice_of(r.text))
        return r

    def import_file(self, content: bytes, name: str = "5А.csv", kind: str = "students"):
        r = self.confirm(self.preview(content, name, kind).text)
        return self.c.get(r.headers["location"])


def errors_of(html: str) -> dict[int, str]:
    """Line number → reasons, as the error table shows them."""
    return {int(n): re.sub(r"<br>", " ", text)
            for n, text in re.findall(r'<tr class="bad"><td>(\d+)</td><td>(.*?)</td></tr>', html)}


def notice_of(html: str) -> str:
    m = re.search(r'class="notice error" role="alert">\s*([^<]*)<', html)
    return " ".join(m.group(1).split()) if m else ""


def figures(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", html)}


@pytest.fixture
def school(empty_client, tmp_path):
    """An empty server set up through its pages: the first sysadmin, this year, classes 5А and 5Б."""
    c = empty_client
    page = c.get("/setup")
    r = c.post("/setup", data={
        "school_name": "МБОУ СОШ № 3", "last_name": "Кузнецова", "first_name": "Ольга", "middle_name": "Ивановна",
        "login": "admin", "password": ADMIN_PASSWORD, "repeat": ADMIN_PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False)
    assert r.status_code == 303
    admin = Admin(c, tmp_path / "empty")
    r = c.post("/school/years", data={"csrf_token": admin.token, "starts_on": f"{YEAR}-09-01",
                                      "ends_on": f"{YEAR + 1}-08-31"}, follow_redirects=False)
    assert r.status_code == 303, notice_of(r.text)
    for name in ("5А", "5Б", "6А"):
        r = c.post("/school/classes", data={"csrf_token": admin.token, "name": name}, follow_redirects=False)
        assert r.status_code == 303, notice_of(r.text)
    return admin


def class_ids(data_dir) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{data_dir / 'zhurnal.sqlite3'}?mode=ro", uri=True)
    try:
        return {name: i for i, name in conn.execute("SELECT id, parallel || letter FROM class")}
    finally:
        conn.close()


# --- the main flow --------------------------------------------------------------------------

def test_sysadmin_imports_a_class_list_into_an_empty_school_with_parents_links_and_accounts(school):
    before = people_counts(school.data)
    preview = school.preview(csv_bytes(ROWS), "Списки 5-х классов.csv")
    assert "Ошибок нет" in preview.text and "Пока ничего не импортировано" in preview.text
    assert "UTF-8" in preview.text and "запятая" in preview.text
    # Светлана Орлова is one person for two children; so the preview counts 4 new parents, 5 links.
    assert figures(preview.text) == {
        "Новых учащихся": 5, "Уже есть — пропускаются": 0, "Новых родителей": 4,
        "Родителей, которые уже есть": 0, "Новых связей «родитель — ребёнок»": 5, "Связей, которые уже есть": 0}
    assert people_counts(school.data) == before, "the preview writes nothing"

    r = school.confirm(preview.text)
    assert r.headers["location"].startswith("/school/import?log=")
    done = school.c.get(r.headers["location"])
    assert "Импорт выполнен." in done.text
    assert "Новых учащихся: 5" in done.text and "Списки 5-х классов.csv" in done.text

    after = people_counts(school.data)
    assert after["student"] - before["student"] == 5
    assert after["enrollment"] - before["enrollment"] == 5
    assert after["person"] - before["person"] == 9
    assert after["account"] - before["account"] == 9, "every new person gets an account"
    assert after["guardian"] - before["guardian"] == 5
    assert after["import_log"] == 1
    # Accounts have logins and no password: nobody can log in before credentials are issued.
    assert count(school.data, "SELECT count(*) FROM account WHERE password_hash = '' AND login <> ''") == 9
    assert count(school.data, "SELECT count(*) FROM account a JOIN account_role r ON r.account_id = a.id"
                              " WHERE r.role = 'parent'") == 4
    assert count(school.data, "SELECT count(*) FROM guardian g JOIN person p ON p.id = g.parent_id"
                              " WHERE p.last_name = 'Орлова' AND p.first_name = 'Светлана'") == 2
    assert count(school.data, "SELECT phone FROM person WHERE last_name = 'Орлова' AND first_name = 'Светлана'") \
        == "+7 900 111-22-33"
    assert count(school.data, "SELECT study_form FROM student s JOIN person p ON p.id = s.person_id"
                              " WHERE p.last_name = 'Ёлкин'") == "на дому"
    assert count(school.data, "SELECT study_form FROM student s JOIN person p ON p.id = s.person_id"
                              " WHERE p.last_name = 'Ким'") == "очная"

    ids = class_ids(school.data)
    html_5a = school.c.get(f"/classes/{ids['5А']}").text
    for name in STUDENT_NAMES[:3]:
        assert name in html_5a
    assert "Орлова Дарья" not in html_5a
    assert "Ёлкин Фёдор Ильич" in school.c.get(f"/classes/{ids['5Б']}").text
    # The history on the import page.
    page = school.c.get("/school/import").text
    assert "История импорта" in page and "Списки 5-х классов.csv" in page and "Кузнецова" in page


def test_what_an_import_creates_is_in_the_ledger_as_the_importers_doing(school, capsys):
    from server.cli import main as cli_main

    school.import_file(csv_bytes(ROWS))
    school.import_file(csv_bytes([["Смирнова", "Елена", "", "учитель", "учитель"]],
                                 header=["Фамилия", "Имя", "Отчество", "Должность", "Роли"]), "staff.csv", "staff")
    conn = sqlite3.connect(school.data / "zhurnal.sqlite3")
    try:
        by = dict(conn.execute("SELECT l.entity, group_concat(DISTINCT a.login) FROM audit_log l"
                               " LEFT JOIN account a ON a.id = l.account_id WHERE l.entity IN"
                               " ('person', 'account', 'account_role', 'student', 'enrollment', 'guardian')"
                               " AND l.key NOT IN ('person:1', 'account:1', 'account_role:1:sysadmin')"
                               " GROUP BY l.entity").fetchall())
    finally:
        conn.close()
    assert by == {e: "admin" for e in ("person", "account", "account_role", "student", "enrollment", "guardian")}
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--data", str(school.data)]) == 0


def test_reimporting_the_same_file_creates_no_duplicates_and_the_preview_says_what_is_skipped(school):
    school.import_file(csv_bytes(ROWS))
    before = people_counts(school.data)
    preview = school.preview(csv_bytes(ROWS))
    assert figures(preview.text)["Новых учащихся"] == 0
    assert figures(preview.text)["Уже есть — пропускаются"] == 5
    assert figures(preview.text)["Новых родителей"] == 0
    assert figures(preview.text)["Новых связей «родитель — ребёнок»"] == 0
    assert "Строка 2: Орлов Максим Андреевич — уже в 5А классе" in preview.text
    school.confirm(preview.text)
    after = people_counts(school.data)
    assert {k: after[k] - before[k] for k in after} == {
        "person": 0, "account": 0, "account_role": 0, "student": 0, "enrollment": 0, "guardian": 0, "import_log": 1}

    # Case and ё/е do not make another person.
    rows = [list(r) for r in ROWS]
    rows[4][1:3] = ["ЕЛКИН", "Федор"]
    rows[4][7] = "Елкина"
    f = figures(school.preview(csv_bytes(rows)).text)
    assert (f["Новых учащихся"], f["Новых родителей"], f["Уже есть — пропускаются"]) == (0, 0, 5)

    # A second parent added to the file for a child already imported: only that parent and link are new.
    rows = [list(r) for r in ROWS]
    rows[2][13:19] = ["Зайцев", "Игорь", "Олегович", "отец", "", ""]
    preview = school.preview(csv_bytes(rows))
    f = figures(preview.text)
    assert (f["Новых учащихся"], f["Новых родителей"], f["Новых связей «родитель — ребёнок»"]) == (0, 1, 1)
    assert f["Связей, которые уже есть"] == 5
    school.confirm(preview.text)
    assert count(school.data, "SELECT count(*) FROM guardian") == 6


def test_namesake_parents_are_one_person_only_with_the_same_phone_or_email(school):
    # Two boys whose fathers are both «Иванов Сергей Петрович» with no phone: two people, or
    # one family's child would be shown to the other. With the same e-mail: one person.
    rows = [
        ["5А", "Иванов", "Антон", "Сергеевич", "01.02.2015", "м", "", "Иванов", "Сергей", "Петрович", "отец", "", ""],
        ["5Б", "Иванов", "Борис", "Сергеевич", "03.04.2014", "м", "", "Иванов", "Сергей", "Петрович", "отец", "", ""],
        ["5А", "Сомова", "Вера", "", "01.02.2015", "ж", "", "Сомова", "Ирина", "", "мать", "", "somova@example.ru"],
        ["6А", "Сомов", "Глеб", "", "01.02.2013", "м", "", "Сомова", "Ирина", "", "мать", "", "Somova@Example.ru"],
    ]
    preview = school.preview(csv_bytes(rows, header=HEADER[:13]))
    assert figures(preview.text)["Новых родителей"] == 3
    assert "Иванов Сергей Петрович (строки 2, 3)" in preview.text
    school.confirm(preview.text)
    assert count(school.data, "SELECT count(*) FROM person WHERE first_name = 'Сергей'") == 2
    assert count(school.data, "SELECT count(*) FROM guardian g JOIN person p ON p.id = g.parent_id"
                              " WHERE p.first_name = 'Ирина'") == 2
    # Importing again finds each father among his own son's parents: nothing new.
    f = figures(school.preview(csv_bytes(rows, header=HEADER[:13])).text)
    assert (f["Новых учащихся"], f["Новых родителей"], f["Новых связей «родитель — ребёнок»"]) == (0, 0, 0)


def test_cp1251_semicolon_csv_from_russian_excel_with_other_headers_imports(school):
    # Russian Excel's «CSV (разделители — запятые)»: Windows-1251 and `;`. Headers in another
    # order, other case, ё for е, aliases; one ФИО column instead of three.
    header = ["ФИО", "класс", "ДАТА РОЖД.", "пол", "Родитель 1: ФИО", "Родитель 1: кем приходится",
              "Родитель 1: тел.", "Родитель 1: Е-mail", "№ п/п"]
    rows = [
        ["Петров Илья Сергеевич", "5 а", "07.02.2015", "М", "Петрова Ирина Юрьевна", "мама", "89001234567", "", "1"],
        ["ГРОМОВА ЁЛКА ПЕТРОВНА", "5A", "08.08.2014", "жен", "", "", "", "", "2"],
    ]
    preview = school.preview(csv_bytes(rows, ";", "cp1251", header), "список.csv")
    assert "Windows-1251" in preview.text and "точка с запятой" in preview.text
    assert "«№ п/п»" in preview.text, "an unknown column is named in a note"
    assert figures(preview.text)["Новых учащихся"] == 2
    school.confirm(preview.text)
    html = school.c.get(f"/classes/{class_ids(school.data)['5А']}").text
    assert "Петров Илья Сергеевич" in html and "Громова Ёлка Петровна" in html
    assert count(school.data, "SELECT relation FROM guardian") == "мать"
    assert count(school.data, "SELECT phone FROM person WHERE last_name = 'Петрова'") == "+7 900 123-45-67"


def xlsx_bytes(sheets: list[tuple[str, list[list]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                if value not in (None, ""):
                    sheet.cell(row=r, column=c, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_with_an_extra_sheet_and_empty_rows_imports_the_sheet_with_the_header(school):
    info = ("Инструкция", [["Заполните лист «Ученики»"], [], ["Класс — например, 5А"]])
    students = ("Ученики", [
        ["Список учащихся 5-х классов"],                           # a title above the header
        [],
        HEADER,
        ["5А", "Волков", "Артём", "Денисович", date(2015, 4, 1), "м", "очная",
         "Волкова", "Елена", "Павловна", "мать", 79005556677, "volkova@example.ru"],
        [],                                                       # empty rows are skipped
        [None, None, None],
        ["5Б", "Соколова", "Вера", "Ивановна", "02.02.2015", "ж", None],
        [],
    ])
    empty = ("Лист3", [])
    preview = school.preview(xlsx_bytes([info, students, empty]), "классы.xlsx")
    assert "лист «Ученики»" in preview.text
    assert "пропущены: «Инструкция», «Лист3»" in preview.text
    assert figures(preview.text)["Новых учащихся"] == 2
    school.confirm(preview.text)
    assert count(school.data, "SELECT birth_date FROM person WHERE last_name = 'Волков'") == "2015-04-01"
    assert count(school.data, "SELECT phone FROM person WHERE last_name = 'Волкова'") == "+7 900 555-66-77"

    # Row numbers in errors are Excel's, counting the title, the empty rows and all.
    students[1][6][1] = ""             # row 7: no surname
    students[1][3][4] = "31.02.2015"   # row 4: no such date
    r = school.upload(xlsx_bytes([info, students]), "классы.xlsx", expect=400)
    errors = errors_of(r.text)
    assert set(errors) == {4, 7}
    assert "Дата рождения" in errors[4] and "Фамилия: не указано" in errors[7]


# --- bad files ------------------------------------------------------------------------------

def test_a_file_with_bad_rows_lists_every_one_with_its_line_and_imports_nothing(school):
    school.import_file(csv_bytes(ROWS[:1]))   # Орлов Максим is now in 5А
    before = people_counts(school.data)
    rows = [
        ROWS[1],                                                                    # 2: good
        ["5А", "Иванов", "Иван", "", "31.02.2015", "м", ""],                          # 3: bad date
        ["7В", "Петров", "Пётр", "", "01.01.2015", "м", ""],                          # 4: unknown class
        ["5А", "", "Анна", "", "01.01.2015", "ж", ""],                                # 5: no surname
        ROWS[1],                                                                    # 6: duplicate of 2
        ["5А", "Сидоров", "Олег", "", "01.01.2015", "м", "", "Сидорова", "Ольга", "", "мать", "12345"],  # 7: phone
        ["5А", "Смирнов", "Олег", "", "01.01.2015", "x", ""],                         # 8: sex
        ["5Б", "Орлов", "Максим", "Андреевич", "12.03.2015", "м", ""],                # 9: already in 5А
        ["5А", "Кузин", "Олег", "", "01.01.2015", "м", "", "Кузина", "Ольга", "", "бабушка"],  # 10: relation
        ["5А", "Smith", "John", "", "01.01.2015", "м", ""],                           # 11: not Russian letters
        ["5А", "Лисин", "Лев", "", "01.01.2015", "м", "заочная"],                     # 12: study form
        ["5А", "Котов", "Кот", "", "01.01.2040", "м", ""],                            # 13: born in the future
    ]
    r = school.upload(csv_bytes(rows), "с ошибками.csv", expect=400)
    errors = errors_of(r.text)
    assert sorted(errors) == list(range(3, 14))
    assert "не дата" in errors[3]
    assert "Класс 7В не найден" in errors[4]
    assert "Фамилия: не указано" in errors[5]
    assert "повторяется: уже есть в строке 2" in errors[6]
    assert "Родитель 1 — телефон «12345» не распознан" in errors[7]
    assert "Пол" in errors[8]
    assert "уже учится в 5А классе" in errors[9] and "странице учащегося" in errors[9]
    assert "кем приходится" in errors[10] and "«бабушка»" in errors[10]
    assert "русские буквы" in errors[11]
    assert "Форма обучения «заочная»" in errors[12]
    assert "Дата рождения" in errors[13]
    assert "строк с ошибками — 11" in notice_of(r.text)
    assert people_counts(school.data) == before, "nothing is imported from a file with errors"
    assert os.listdir(school.data / "imports") == [], "a file with errors is not kept"

    # Fixed, the same file goes through; the row that was already in 5А is reported skipped.
    fixed = [rows[0], ["5Б", "Орлов", "Максим", "Андреевич", "12.03.2015", "м", ""]]
    r = school.upload(csv_bytes(fixed), expect=400)
    assert "уже учится в 5А" in errors_of(r.text)[3]
    fixed[1][0] = "5А"
    preview = school.preview(csv_bytes(fixed))
    assert figures(preview.text)["Новых учащихся"] == 1 and figures(preview.text)["Уже есть — пропускаются"] == 1


@pytest.mark.parametrize("content, name, expected", [
    (os.urandom(4096), "мусор.csv", "не таблица (Excel .xlsx или .xls, LibreOffice .ods, документ Word .docx) и не текст CSV"),
    (b"", "empty.csv", "Файл пуст"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls", "старого формата Microsoft Office не удалось прочитать"),
    (b"PK\x03\x04" + os.urandom(500), "broken.xlsx", "повреждён"),
    ("Класс Фамилия Имя\n5А Иванов Иван\n".encode("utf-8"), "spaces.csv", "разделяются точкой с запятой"),
    # KOI8-R is neither UTF-8 nor Windows-1251: it reads as Cyrillic nonsense, so no header is found.
    (csv_bytes(ROWS, ";", "koi8_r"), "koi8.csv", "в другой кодировке"),
    (csv_bytes(ROWS, ";", "utf-8", header=["Класс", "Фамилия", "Имя", "Пол"]), "no-birth.csv",
     "нет столбцов «Дата рождения»"),
    (csv_bytes([["Иванов", "Иван", "", "учитель", "учитель"]], ";", header=["Фамилия", "Имя", "Отчество",
                                                                             "Должность", "Роли"]),
     "staff.csv", "Похоже, это список сотрудников"),
    (csv_bytes([], ";"), "header-only.csv", "нет ни одной строки с данными"),
    (csv_bytes(ROWS, ";", header=HEADER[:3] + ["Фамилия"] + HEADER[3:]), "twice.csv", "Столбцы повторяются"),
])
def test_unreadable_or_misencoded_files_get_a_clear_message_and_nothing_is_written(school, content, name, expected):
    before = people_counts(school.data)
    r = school.upload(content, name, expect=400)
    assert expected in notice_of(r.text), notice_of(r.text)
    assert people_counts(school.data) == before


def test_a_file_over_the_limit_is_refused_with_a_clear_message(school):
    r = school.upload(b"x" * (tables.MAX_FILE_BYTES + 1024 * 1024), "big.csv")
    assert r.status_code == 413
    assert "Файл больше 10 МБ" in r.text
    r = school.upload(b"a;b\n" * (tables.MAX_FILE_BYTES // 4 + 10), "big.csv", expect=400)
    assert "Файл больше 10 МБ" in notice_of(r.text)


def test_classes_must_exist_in_the_open_year(empty_client, tmp_path):
    page = empty_client.get("/setup")
    empty_client.post("/setup", data={
        "school_name": "Школа", "last_name": "Кузнецова", "first_name": "Ольга", "middle_name": "",
        "login": "admin", "password": ADMIN_PASSWORD, "repeat": ADMIN_PASSWORD, "csrf_token": csrf_from(page.text)})
    admin = Admin(empty_client, tmp_path / "empty")
    assert "Нет текущего учебного года" in empty_client.get("/school/import").text
    r = admin.upload(csv_bytes(ROWS), expect=400)
    assert "Нет открытого учебного года" in notice_of(r.text)


# --- staff ------------------------------------------------------------------------------------

STAFF_HEADER = ["Фамилия", "Имя", "Отчество", "Должность", "Роли", "Телефон", "E-mail"]


def test_staff_import_creates_staff_with_their_roles_and_skips_them_the_second_time(school):
    rows = [
        ["Белова", "Марина", "Олеговна", "учитель английского языка", "учитель", "+7 901 000-00-01", ""],
        ["Громов", "Пётр", "Ильич", "заместитель директора по УВР", "Заместитель директора, учитель", "", ""],
        ["Кузнецова", "Ольга", "Ивановна", "", "администратор АСУ", "", ""],   # the sysadmin herself: skipped
        ["Листьев", "Ян", "", "", "педработник", "", "listev@example.ru"],      # no position: from the role
    ]
    content = csv_bytes(rows, ";", header=STAFF_HEADER)
    preview = school.preview(content, "сотрудники.csv", kind="staff")
    assert figures(preview.text) == {"Новых сотрудников": 3, "Уже есть — пропускаются": 1}
    assert "Кузнецова Ольга Ивановна — уже есть среди сотрудников" in preview.text
    school.confirm(preview.text)

    def roles(last):
        return count(school.data, "SELECT group_concat(r.role, ',') FROM (SELECT r.role FROM person p"
                                  " JOIN account a ON a.person_id = p.id JOIN account_role r ON r.account_id = a.id"
                                  " WHERE p.last_name = ? ORDER BY r.role) r", (last,))

    assert roles("Белова") == "teacher"
    assert roles("Громов") == "deputy,teacher"
    assert roles("Листьев") == "staff"
    assert count(school.data, "SELECT position FROM person WHERE last_name = 'Листьев'") == "педагогический работник"
    assert count(school.data, "SELECT count(*) FROM account WHERE login = 'belova.mo' AND password_hash = ''") == 1
    assert "Белова Марина Олеговна" in school.c.get("/school/staff").text

    before = people_counts(school.data)
    preview = school.preview(content, "сотрудники.csv", kind="staff")
    assert figures(preview.text) == {"Новых сотрудников": 0, "Уже есть — пропускаются": 4}
    school.confirm(preview.text)
    assert people_counts(school.data)["person"] == before["person"]


def test_staff_rows_with_unknown_roles_are_listed(school):
    rows = [
        ["Белова", "Марина", "", "учитель", "учитель, завхоз"],
        ["Орлов", "Иван", "", "учитель", "классный руководитель"],
        ["Сомов", "Иван", "", "учитель", ""],
        ["Белова", "Марина", "", "учитель", "учитель"],
    ]
    r = school.upload(csv_bytes(rows, ";", header=STAFF_HEADER[:5]), "сотрудники.csv", kind="staff", expect=400)
    errors = errors_of(r.text)
    assert "«завхоз» не известна" in errors[2]
    assert "классным руководителем" in errors[3]
    assert "Роли: не указаны" in errors[4]
    assert "повторяется: уже есть в строке 2" in errors[5]


# --- templates, the pending file, changes between preview and confirmation ---------------------

@pytest.mark.parametrize("kind", ["students", "staff"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_downloaded_templates_have_the_header_and_examples_and_import_as_they_are(school, kind, fmt):
    r = school.c.get(f"/school/import/template-{kind}.{fmt}")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    if fmt == "csv":
        assert r.content.startswith(b"\xef\xbb\xbf")
        lines = r.content[3:].decode("utf-8").splitlines()
        assert len(lines) == 3 and lines[0].split(";")[0] in ("Класс", "Фамилия")
    else:
        book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
        assert len(book.worksheets) == 2
        book.close()
    preview = school.preview(r.content, f"template.{fmt}", kind)
    counts = figures(preview.text)
    assert counts.get("Новых учащихся", counts.get("Новых сотрудников")) == 2


def test_the_checked_file_is_kept_for_this_session_only_and_deleted_after_import(school, client):
    preview = school.preview(csv_bytes(ROWS))
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    folder = school.data / "imports"
    assert sorted(os.listdir(folder)) == [f"{token}.data", f"{token}.json"]
    assert (folder / f"{token}.data").stat().st_mode & 0o077 == 0

    # Another session (here: the same person logged in again elsewhere) cannot use the token.
    school.c.cookies.clear()
    login(school.c, "admin", ADMIN_PASSWORD)
    r = school.c.post("/school/import/confirm", data={"csrf_token": school.token, "token": token})
    assert r.status_code == 400 and "Проверенный файл не найден" in r.text
    for forged in ("../zhurnal.sqlite3", "x" * 32, ""):
        r = school.c.post("/school/import/confirm", data={"csrf_token": school.token, "token": forged})
        assert r.status_code == 400
    assert count(school.data, "SELECT count(*) FROM student") == 0

    # Confirmed: imported and the file is gone; a second confirmation finds nothing.
    preview = school.preview(csv_bytes(ROWS))
    school.confirm(preview.text)
    assert not [n for n in os.listdir(folder) if n.endswith(".data") and n.split(".")[0] in preview.text]
    r = school.confirm(preview.text, expect=400)
    assert "Проверенный файл не найден" in r.text
    assert count(school.data, "SELECT count(*) FROM student") == 5

    # Cancelled, and stale files (older than an hour) are deleted.
    preview = school.preview(csv_bytes(ROWS))
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    school.c.post("/school/import/cancel", data={"csrf_token": school.token, "token": token})
    assert not (folder / f"{token}.data").exists()
    school.preview(csv_bytes(ROWS))
    assert os.listdir(folder)
    imports.purge_pending(school.data, now=time.time() + imports.PENDING_TTL_SECONDS + 1)
    assert os.listdir(folder) == []


def test_a_change_between_preview_and_confirmation_shows_the_new_preview(school):
    preview = school.preview(csv_bytes(ROWS))
    school.import_file(csv_bytes(ROWS[:1]))   # meanwhile, someone imports one of the students
    r = school.confirm(preview.text)
    assert "changed=1" in r.headers["location"]
    again = school.c.get(r.headers["location"])
    assert "изменились данные" in again.text
    assert figures(again.text)["Новых учащихся"] == 4
    school.confirm(again.text)
    assert count(school.data, "SELECT count(*) FROM student") == 5


# --- who -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["teacher20", "parent0001", "director", "student0001"])
def test_teachers_parents_students_and_the_director_may_not_import(client, data_dir, who):
    login(client, who)
    assert client.get("/school/import").status_code == 403
    assert client.get("/school/import/template-students.csv").status_code == 403
    r = client.post("/school/import", data={"csrf_token": session_csrf(client), "kind": "students"},
                    files={"file": ("a.csv", csv_bytes(ROWS), "text/csv")})
    assert r.status_code == 403
    assert not (data_dir / "imports").exists()


def test_deputy_imports_into_the_demo_school(client, data_dir):
    login(client, "deputy")
    admin = Admin(client, data_dir)
    before = count(data_dir, "SELECT count(*) FROM student")
    page = admin.import_file(csv_bytes(ROWS[:2]))
    assert "Импорт выполнен." in page.text
    assert count(data_dir, "SELECT count(*) FROM student") == before + 2


def test_the_import_link_is_shown_only_to_those_who_may_import(client):
    login(client, "director")
    assert 'href="/school/import"' not in client.get("/school/subjects").text
    client.cookies.clear()
    login(client, "sysadmin")
    assert 'href="/school/import"' in client.get("/school/subjects").text
