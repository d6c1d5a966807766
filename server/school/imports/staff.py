"""Staff lists: people with their position and roles — the columns, the rows' parsing and
the check against the school's staff (matched by ФИО)."""

from __future__ import annotations

import re

from ...accounts.roles import ROLE_LABELS
from ...tables import Spec, Table, normalize_header
from ..errors import SchoolError
from ..validate import parse_email, parse_phone
from .rows import CONTACT_FIELDS, PERSON_FIELDS, STAFF, Plan, StaffItem, cell, person_name, query, same

_STAFF_FIELDS = {
    "position": ("Должность", ("должность",)),
    "roles": ("Роли", ("роли", "роль", "роли в журнале")),
}


def _spec() -> Spec:
    titles = {k: t for k, (t, _) in PERSON_FIELDS.items() if k != "fio"}
    titles |= {k: t for k, (t, _) in {**_STAFF_FIELDS, **CONTACT_FIELDS}.items()}
    aliases = {a: k for k, (_, names) in {**PERSON_FIELDS, **_STAFF_FIELDS, **CONTACT_FIELDS}.items()
               for a in names}
    return Spec(STAFF, titles, aliases, ("roles",))


SPEC = _spec()
# Role names people write in the «Роли» column (normalised as headers are) → stored roles.
ROLE_INPUT_NAMES = ("учитель", "заместитель директора", "администратор АСУ", "директор", "педработник")
_ROLE_WORDS = {
    "учитель": "teacher", "педагог": "teacher",
    "заместитель директора": "deputy", "зам директора": "deputy", "замдиректора": "deputy", "завуч": "deputy",
    "куратор асу": "deputy",
    "администратор асу": "sysadmin", "администратор": "sysadmin",
    "директор": "director",
    "педработник": "staff", "педагогический работник": "staff", "другой педработник": "staff",
} | {r: r for r in ("teacher", "deputy", "sysadmin", "director", "staff")}
HELP = [
    ("Фамилия, Имя, Отчество", "обязательны Фамилия и Имя; вместо трёх столбцов можно один «ФИО»"),
    ("Должность", "например, «учитель математики»; пусто — по первой роли"),
    ("Роли", "через запятую: " + ", ".join(ROLE_INPUT_NAMES)),
    ("Телефон, E-mail", "необязательны"),
]
TEMPLATE_NAME = "Шаблон — сотрудники"
EXAMPLES = [
    {"last": "Петрова", "first": "Елена", "middle": "Викторовна", "position": "учитель русского языка и литературы",
     "roles": "учитель", "phone": "+7 902 111-22-33", "email": "petrova@example.ru"},
    {"last": "Соколов", "first": "Андрей", "middle": "Игоревич", "position": "заместитель директора по УВР",
     "roles": "заместитель директора, учитель", "phone": "", "email": ""},
]


def parse_roles(text: str) -> set[str]:
    roles = set()
    for part in re.split(r"[,;/]", text):
        word = normalize_header(part)
        if not word:
            continue
        if word == "классный руководитель":
            raise SchoolError("Роль «классный руководитель» импортом не назначается: она появляется, когда "
                              "сотрудника назначают классным руководителем на странице «Классы».")
        role = _ROLE_WORDS.get(word)
        if role is None:
            raise SchoolError(f"Роль «{part.strip()[:30]}» не известна: допустимы {', '.join(ROLE_INPUT_NAMES)}.")
        roles.add(role)
    if not roles:
        raise SchoolError(f"Роли: не указаны (например, «учитель»; допустимы {', '.join(ROLE_INPUT_NAMES)}).")
    return roles


def check_staff(conn, table: Table, plan: Plan) -> None:
    staff = {}
    # Staff are the people with a staff role or a position (the first sysadmin made at set-up
    # has both; one made at the console has only the role).
    for p in query(conn, """
            SELECT p.id, p.last_name, p.first_name, p.middle_name FROM person p
             WHERE p.archived_at IS NULL AND (p.position IS NOT NULL OR EXISTS (
                   SELECT 1 FROM account a JOIN account_role r ON r.account_id = a.id
                    WHERE a.person_id = p.id AND r.role IN ('director', 'deputy', 'sysadmin', 'teacher', 'staff')))
             ORDER BY p.id"""):
        staff.setdefault(same(p["last_name"], p["first_name"], p["middle_name"]), p["id"])
    seen: dict[tuple, int] = {}
    for line, row in table.rows:
        problems: list[str] = []
        name = person_name(row, table.columns, "", "", problems)
        try:
            roles = parse_roles(cell(row, table.columns, "roles"))
        except SchoolError as e:
            problems.append(e.message)
            roles = set()
        position = cell(row, table.columns, "position")[:100]
        if not position and roles:
            order = [r for r in ROLE_LABELS if r in roles]
            position = ROLE_LABELS[order[0]].lower().replace("асу", "АСУ")
        contacts = []
        for key, parse in (("phone", parse_phone), ("email", parse_email)):
            try:
                contacts.append(parse(cell(row, table.columns, key)))
            except SchoolError as e:
                problems.append(e.message)
        if name is not None:
            if same(*name) in seen:
                problems.append(f"Сотрудник {' '.join(filter(None, name))} повторяется: "
                                f"уже есть в строке {seen[same(*name)]}.")
            else:
                seen[same(*name)] = line
        if problems:
            plan.errors.append((line, problems))
            continue
        plan.staff.append(StaffItem(line, *name, position, roles, *contacts, staff.get(same(*name))))

