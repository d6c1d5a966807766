"""The roles of DESIGN.md and who is who."""

from __future__ import annotations

# Order is the order of sections on a home page of a person with several roles.
ROLE_LABELS = {
    "director": "Директор",
    "deputy": "Заместитель директора",
    "sysadmin": "Администратор АСУ",
    "teacher": "Учитель",
    "class_teacher": "Классный руководитель",
    "staff": "Педагогический работник",
    "parent": "Родитель",
    "student": "Учащийся",
}
ALL_ROLES = frozenset(ROLE_LABELS)
# class_teacher follows from being the class teacher of a class in an open year.
DERIVED_ROLES = frozenset({"class_teacher"})
STORED_ROLES = ALL_ROLES - DERIVED_ROLES

ADMINISTRATION = frozenset({"director", "deputy", "sysadmin"})
STAFF = frozenset({"director", "deputy", "sysadmin", "teacher", "class_teacher", "staff"})
FAMILY = frozenset({"parent", "student"})


def parse_roles(text: str) -> frozenset[str]:
    """Roles from a comma-separated list as typed at the console; raises ValueError in Russian."""
    roles = frozenset(r.strip() for r in text.split(",") if r.strip())
    if "class_teacher" in roles:
        raise ValueError("Роль class_teacher не назначается вручную: она следует из назначения классным руководителем класса.")
    unknown = roles - STORED_ROLES
    if unknown:
        raise ValueError(
            "Неизвестные роли: " + ", ".join(sorted(unknown)) + ". Допустимые: " + ", ".join(sorted(STORED_ROLES))
        )
    return roles
