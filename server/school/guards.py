"""Who may open and change the school's pages (route-level, Litestar `opt`); the row-level
rules (this class, this student) are people.can_read_class / can_manage_class."""

from __future__ import annotations

from litestar import Request

from ..web.access import current_user

# Who sees the school's set-up pages, and who changes them (§3.5.1, §3.4.2).
VIEW = {"roles": {"director", "deputy", "sysadmin"}}
MANAGE = {"roles": {"deputy", "sysadmin"}}
# §3.4.2: the deputy grants and revokes roles; the director appoints the deputy and the admin (§3.1.1).
# The sysadmin too (issue 16: staff management in the browser, not only at the console) — the
# roles of the administration stay the director's to give (people.set_staff_roles).
ROLE_GRANTORS = {"roles": {"director", "deputy", "sysadmin"}}
# Read access to a class for other staff is the deputy's to grant.
ACCESS_GRANTORS = {"roles": {"deputy"}}
# Who may open class pages at all; the row-level rule decides which classes.
CLASS_READERS = {"roles": {"director", "deputy", "sysadmin", "class_teacher", "teacher", "staff"}}
CLASS_KEEPERS = {"roles": {"deputy", "sysadmin", "class_teacher"}}
# Moving a student and their leaving follow the director's order: the administration does it.
MOVERS = {"deputy", "sysadmin"}


def can_manage(request: Request) -> bool:
    return current_user(request).has(*MANAGE["roles"])
