"""Staff lists: people with their position and roles — the columns, the rows' parsing and
the check against the school's staff (matched by ФИО)."""

from __future__ import annotations

import re

from ...accounts.roles import ROLE_LABELS
from ...tables import Spec, Table, normalize_header, skipped_lines
from ..errors import SchoolError
from ..validate import parse_email, parse_phone
from .rows import CONTACT_FIELDS, PERSON_FIELDS, STAFF, Plan, StaffItem, cell, person_name, query, same

_STAFF_FIELDS = {
    "position": ("Должность", ("должность", "занимаемая должность", "занимаемая должность должности",
                               "должность должности", "должности", "наименование должности")),
    "roles": ("Роли", ("роли", "роль", "роли в журнале")),
}
_STAFF_NAMES = ("фио педагогического работника", "фио педагога", "фио работника", "фио сотрудника",
                "фамилия имя отчество педагогического работника", "фамилия имя отчество работника",
                "фамилия имя отчество при наличии", "фио при наличии", "педагог", "сотрудник", "работник")
# The columns of the staff table every school publishes on its website (Рособрнадзор's
# fields): recognised, not imported, and named in the preview with why.
_KNOWN = {
    **{k: "номер по порядку, журналу не нужен" for k in ("номер", "номер п п", "п п")},
    **{k: "предметы и классы учителя задаются в учебной нагрузке («Нагрузка»)" for k in (
        "преподаваемые учебные предметы", "преподаваемые дисциплины", "преподаваемые предметы",
        "преподаваемые учебные предметы курсы дисциплины модули", "преподаваемые учебные предметы курсы",
        "предметы", "предмет", "учебные предметы")},
    **{k: "журналу не нужны" for k in (
        "уровень образования", "образование", "квалификация", "наименование направления подготовки",
        "направление подготовки", "специальность", "ученая степень", "ученое звание", "ученая степень звание",
        "повышение квалификации", "сведения о повышении квалификации", "профессиональная переподготовка",
        "сведения о профессиональной переподготовке", "общий стаж", "общий стаж работы", "стаж",
        "стаж работы по специальности", "педагогический стаж", "стаж педагогической работы",
        "квалификационная категория", "категория", "награды", "звания", "дата рождения",
        "сведения о продолжительности опыта", "адрес", "снилс",
        "наименование общеобразовательной программы", "образовательные программы")},
}


def _spec() -> Spec:
    titles = {k: t for k, (t, _) in PERSON_FIELDS.items() if k != "fio"}
    titles |= {k: t for k, (t, _) in {**_STAFF_FIELDS, **CONTACT_FIELDS}.items()}
    titles["fio"] = "ФИО"
    aliases = {a: k for k, (_, names) in {**PERSON_FIELDS, **_STAFF_FIELDS, **CONTACT_FIELDS}.items()
               for a in names}
    aliases |= {a: "fio" for a in _STAFF_NAMES}
    # Either roles or a position: a website's list has no roles, the roles follow the position.
    return Spec(STAFF, titles, aliases, (), known=_KNOWN, required_any=(("position", "roles"),))


SPEC = _spec()
TEMPLATE_KEYS = [k for k in SPEC.titles if k != "fio"]
# Roles given by the position when the file has none: a teaching position → «учитель», any
# other → «педагогический работник» (no rights over journals). The rights of the director,
# the deputy and the ASU administrator are never taken from a file without roles.
_TEACHING = re.compile(r"учител|преподавател|педагог[ -]организатор|педагог дополнительного|тьютор|"
                       r"педагог-библиотекарь|воспитател", re.I)
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
    ("Должность", "например, «учитель математики» («Занимаемая должность (должности)» с сайта школы); "
                  "пусто — по первой роли"),
    ("Роли", "через запятую: " + ", ".join(ROLE_INPUT_NAMES) + ". Необязателен: без него учитель — по должности "
             "«учитель …», остальные — педагогический работник; права директора и завуча назначаются на странице "
             "«Сотрудники»"),
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


def roles_by_position(position: str) -> set[str]:
    return {"teacher"} if _TEACHING.search(position or "") else {"staff"}


def check_staff(conn, table: Table, plan: Plan) -> None:
    plan.skipped_rows = skipped_lines(table)
    by_position = 0
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
        position = " ".join(cell(row, table.columns, "position").split())[:100]
        roles_text = cell(row, table.columns, "roles")
        roles: set[str] = set()
        if "roles" in table.columns:
            try:
                roles = parse_roles(roles_text)
            except SchoolError as e:
                problems.append(e.message)
        elif position:
            roles = roles_by_position(position)
            by_position += 1
        else:
            problems.append("Должность: не указана (по ней назначается роль: «учитель …» — учитель).")
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
    if by_position:
        teachers = sum(1 for s in plan.staff if s.roles == {"teacher"})
        plan.warnings.append(
            f"Роли назначены по должности (в файле нет ролей) у сотрудников: {by_position} — «учитель» тем, чья "
            "должность — учитель или преподаватель, остальным «педагогический работник» (без доступа к журналам). "
            "Права директора, заместителя директора и администратора АСУ назначаются на странице «Сотрудники». "
            f"Учителей: {teachers}.")

