"""Every registered route × every role: who gets in. A route without a rule here fails."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

import pytest
from conftest import PASSWORD, ROLE_LOGINS, login

from server import clock
from server.accounts.roles import ALL_ROLES

class Rows(frozenset):
    """Roles the route's guard lets in, of which `refused` are then turned away by the
    row-level rule for the sample ids (not their class, no grant)."""

    def __new__(cls, roles, refused=frozenset()):
        self = super().__new__(cls, roles)
        self.refused = frozenset(refused)
        return self


PUBLIC = "public"
ANY_USER = "any user"
ADMINISTRATION = {"director", "deputy", "sysadmin"}
MANAGERS = {"deputy", "sysadmin"}  # who changes the school's set-up (§3.5.1, §3.4.2)
STAFF = ADMINISTRATION | {"teacher", "class_teacher", "staff"}
JOURNAL_READERS = ADMINISTRATION | {"teacher", "class_teacher"}
FAMILY = {"parent", "student"}
REPORT_ADMIN = {"director", "deputy"}
REPORTERS = REPORT_ADMIN | {"teacher", "class_teacher"}
# Who is not in the sample thread (teacher01 → 5А's parents): all but its author and parent0001.
MESSAGE_OUTSIDERS = ADMINISTRATION | {"teacher", "staff", "student"}
# Query strings some routes need to be answered at all.
QUERIES = {"/api/v1/timetable": "class_id={class_id}", "/api/v1/calendar/template": "year=2027",
           "/journals/{journal_id:int}/history": "student={student_id}&date={day}&n={number}"}

# (method, path) → who may call it. Add every new route here, with its reason.
RULES: dict[tuple[str, str], str | set[str]] = {
    # Public by its handler (it sends a visitor to /login, or to /setup on an empty
    # server), so for people it behaves as "any user".
    ("GET", "/"): ANY_USER,
    ("GET", "/static/{file_path:path}"): PUBLIC,
    ("HEAD", "/static/{file_path:path}"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/setup"): PUBLIC,  # 404 once the school is set up
    ("POST", "/setup"): PUBLIC,
    ("POST", "/logout"): ANY_USER,
    ("GET", "/password"): ANY_USER,
    ("POST", "/password"): ANY_USER,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): ANY_USER,
    ("GET", "/api/v1/me"): ANY_USER,
    ("GET", "/api/v1/schema"): PUBLIC,
    ("GET", "/api/v1/schema/openapi.json"): PUBLIC,
    ("GET", "/api/v1/schema/{path:str}"): PUBLIC,
    ("GET", "/my-class"): {"class_teacher"},
    # The journal (§2.1: never families). Journal 1 is teacher01's: other teachers pass the
    # guard and are turned away by the row rule.
    ("GET", "/journals"): JOURNAL_READERS,
    ("GET", "/journals/{journal_id:int}"): Rows(JOURNAL_READERS, refused={"teacher"}),
    ("POST", "/journals/{journal_id:int}/cell"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/period-grade"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("GET", "/journals/{journal_id:int}/lessons/{day:str}/{number:int}"): Rows(JOURNAL_READERS, refused={"teacher"}),
    ("POST", "/journals/{journal_id:int}/lessons/{day:str}/{number:int}"): Rows({"deputy", "teacher"},
                                                                               refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/lessons/{day:str}/{number:int}/homework"): Rows({"deputy", "teacher"},
                                                                                        refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/lessons/{day:str}/{number:int}/status"): Rows({"deputy", "teacher"},
                                                                                      refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/lessons/{day:str}/{number:int}/register"): Rows({"deputy", "teacher"},
                                                                                        refused={"teacher", "sysadmin"}),
    ("GET", "/journals/{journal_id:int}/history"): Rows(JOURNAL_READERS, refused={"teacher"}),
    ("POST", "/journals/{journal_id:int}/grade-type"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("GET", "/homework-files/{lesson_id:int}"): JOURNAL_READERS,  # 404: lesson 1 has no file
    # The diary (§2.2, §4): families only; whose child is checked per row (tests/test_diary.py
    # swaps ids). The class teacher's batch of paper diaries is a staff page (§3.3.5).
    ("GET", "/diary"): FAMILY,
    ("GET", "/diary/grades"): FAMILY,
    ("GET", "/diary/attendance"): FAMILY,
    ("GET", "/diary/print"): FAMILY,
    ("GET", "/diary/files/{lesson_id:int}"): FAMILY,  # 404 unless lesson 1 has a file for the family
    ("GET", "/api/v1/students/{student_id:int}/diary"): FAMILY,
    ("GET", "/api/v1/students/{student_id:int}/grades"): FAMILY,
    ("GET", "/api/v1/students/{student_id:int}/attendance"): FAMILY,
    ("GET", "/api/v1/students/{student_id:int}/homework"): FAMILY,  # by the day it is due
    ("GET", "/classes/{class_id:int}/paper-diaries"): ADMINISTRATION | {"class_teacher"},
    # КТП (§3.2.1): read as the grid; changed by the journal's teacher and the deputy.
    ("GET", "/journals/{journal_id:int}/plan"): Rows(JOURNAL_READERS, refused={"teacher"}),
    ("POST", "/journals/{journal_id:int}/plan/items"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/plan/items/{item_id:int}"): Rows({"deputy", "teacher"},
                                                                         refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/plan/items/{item_id:int}/delete"): Rows({"deputy", "teacher"},
                                                                                refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/plan/import"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("GET", "/journals/{journal_id:int}/plan/preview"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/plan/confirm"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/plan/cancel"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/journals/{journal_id:int}/plan/copy"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("GET", "/journals/plan-template.csv"): {"deputy", "teacher"},
    ("GET", "/journals/plan-template.xlsx"): {"deputy", "teacher"},
    ("GET", "/api/v1/journals/{journal_id:int}/plan"): Rows(JOURNAL_READERS, refused={"teacher"}),
    ("POST", "/api/v1/journals/{journal_id:int}/plan"): Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/school/periods/{period_id:int}/close"): {"deputy"},
    ("GET", "/api/v1/school"): ADMINISTRATION,
    ("GET", "/api/v1/years"): ADMINISTRATION,
    ("GET", "/api/v1/classes"): ADMINISTRATION | {"class_teacher", "teacher", "staff"},  # filtered by the row rule
    ("GET", "/api/v1/classes/{class_id:int}"): Rows(ADMINISTRATION | {"class_teacher", "teacher", "staff"},
                                                    refused={"teacher", "staff"}),
    ("POST", "/api/v1/classes"): MANAGERS,
    ("PUT", "/api/v1/classes/{class_id:int}"): MANAGERS,
    ("POST", "/api/v1/classes/{class_id:int}/students"): {"deputy", "sysadmin", "class_teacher"},
    ("GET", "/api/v1/subjects"): STAFF,
    ("POST", "/api/v1/subjects"): MANAGERS,
    ("GET", "/api/v1/groups"): ADMINISTRATION,
    # The journal's JSON API (server/journal/api.py): the pages' rules — read as the grid, written
    # by the journal's teacher and the deputy (journal 1 is teacher01's).
    ("GET", "/api/v1/journals"): JOURNAL_READERS,  # the journals this person may open
    ("GET", "/api/v1/journals/{journal_id:int}"): Rows(JOURNAL_READERS, refused={"teacher"}),
    ("GET", "/api/v1/journals/{journal_id:int}/lessons/{day:str}/{number:int}"): Rows(JOURNAL_READERS,
                                                                                       refused={"teacher"}),
    **{(method, "/api/v1/journals/{journal_id:int}/lessons/{day:str}/{number:int}" + tail):
       Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"})
       for method, tail in [("PUT", ""), ("PUT", "/status"), ("PUT", "/register"), ("PUT", "/homework"),
                            ("POST", "/homework/file"),
                            ("PUT", "/cells/{student_id:int}"), ("DELETE", "/cells/{student_id:int}"),
                            ("PUT", "/cells/{student_id:int}/attendance"),
                            ("PUT", "/cells/{student_id:int}/grades/{position:int}")]},
    ("PUT", "/api/v1/journals/{journal_id:int}/period-grades/{period_id:int}/{student_id:int}"):
        Rows({"deputy", "teacher"}, refused={"teacher", "sysadmin"}),
    ("POST", "/api/v1/journals"): MANAGERS,
    ("GET", "/api/v1/timetable"): Rows(ADMINISTRATION | {"class_teacher", "teacher", "staff"},
                                      refused={"teacher", "staff"}),
    ("POST", "/api/v1/timetable"): MANAGERS,
    ("GET", "/api/v1/staff"): ADMINISTRATION,
    ("POST", "/api/v1/staff"): MANAGERS,
    # Class pages: the guard lets staff in; the row-level rule then admits only the
    # administration, the class's own class teacher and staff granted that class.
    ("GET", "/classes/{class_id:int}"): Rows(ADMINISTRATION | {"class_teacher", "teacher", "staff"},
                                             refused={"teacher", "staff"}),
    ("POST", "/classes/{class_id:int}/students"): {"deputy", "sysadmin", "class_teacher"},
    ("GET", "/students/{student_id:int}"): Rows(ADMINISTRATION | {"class_teacher", "teacher", "staff"},
                                                refused={"teacher", "staff"}),
    ("POST", "/students/{student_id:int}"): {"deputy", "sysadmin", "class_teacher"},
    ("POST", "/students/{student_id:int}/parents"): {"deputy", "sysadmin", "class_teacher"},
    ("POST", "/students/{student_id:int}/parents/{parent_id:int}/consent"): {"deputy", "sysadmin", "class_teacher"},
    ("POST", "/students/{student_id:int}/move"): {"deputy", "sysadmin"},
    ("POST", "/students/{student_id:int}/leave"): {"deputy", "sysadmin"},
    ("GET", "/school"): ADMINISTRATION,
    ("GET", "/school/start"): ADMINISTRATION,  # «С чего начать»: the new school's checklist
    ("POST", "/school"): MANAGERS,
    ("POST", "/school/years"): MANAGERS,
    ("GET", "/school/years/{year_id:int}"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/periods"): MANAGERS,
    ("POST", "/school/years/{year_id:int}/holidays"): MANAGERS,
    ("POST", "/school/years/{year_id:int}/calendar"): MANAGERS,
    ("POST", "/school/holidays/{holiday_id:int}/delete"): MANAGERS,
    ("GET", "/school/classes"): ADMINISTRATION,
    ("POST", "/school/classes"): MANAGERS,
    ("GET", "/school/classes/{class_id:int}"): MANAGERS,
    ("POST", "/school/classes/{class_id:int}"): MANAGERS,
    ("POST", "/school/classes/{class_id:int}/archive"): MANAGERS,
    ("GET", "/school/groups"): ADMINISTRATION,
    ("POST", "/school/groups"): MANAGERS,
    ("GET", "/school/groups/{group_id:int}"): ADMINISTRATION,
    ("POST", "/school/groups/{group_id:int}/members"): MANAGERS,
    ("POST", "/school/groups/{group_id:int}/archive"): MANAGERS,
    ("GET", "/school/load"): ADMINISTRATION,
    ("POST", "/school/load"): MANAGERS,
    ("POST", "/school/load/{journal_id:int}/archive"): MANAGERS,
    ("GET", "/school/bells"): ADMINISTRATION,
    ("POST", "/school/bells"): MANAGERS,
    ("GET", "/school/timetable"): ADMINISTRATION,
    ("POST", "/school/timetable"): MANAGERS,
    ("POST", "/school/timetable/{slot_id:int}/delete"): MANAGERS,
    ("GET", "/school/staff"): ADMINISTRATION,
    ("POST", "/school/staff"): MANAGERS,
    # §3.4.2 and §3.1.1: roles are granted by the deputy and the director — and by the sysadmin,
    # who manages staff in the browser (issue 16); administration roles stay the director's.
    ("GET", "/school/staff/{person_id:int}"): {"deputy", "director", "sysadmin"},
    ("POST", "/school/staff/{person_id:int}/roles"): {"deputy", "director", "sysadmin"},
    # A staff member who left is disabled (and brought back); every account listed.
    ("POST", "/school/staff/{person_id:int}/leave"): MANAGERS,  # no reason given: 400
    ("POST", "/school/staff/{person_id:int}/return"): MANAGERS,  # not disabled: 400
    ("GET", "/school/accounts"): {"deputy", "sysadmin"},
    ("GET", "/school/access"): ADMINISTRATION,
    ("POST", "/school/access"): {"deputy"},
    ("POST", "/school/access/revoke"): {"deputy"},
    ("GET", "/school/subjects"): ADMINISTRATION,
    ("POST", "/school/subjects"): MANAGERS,
    ("POST", "/school/subjects/{subject_id:int}/archive"): MANAGERS,
    ("POST", "/school/subjects/{subject_id:int}"): MANAGERS,
    ("POST", "/school/load/{journal_id:int}"): MANAGERS,
    ("POST", "/school/periods/{period_id:int}"): MANAGERS,
    # The year lifecycle (§3.4.8, server/years/): the administration reads it; the deputy and the
    # director close, open and promote; reopening is the deputy's (with a reason); the sysadmin
    # prepares the next year too. The calendar template is for every member of staff.
    ("GET", "/school/lifecycle"): ADMINISTRATION,
    ("GET", "/school/years/{year_id:int}/close"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/close"): {"deputy", "director"},  # an empty form: 400
    ("POST", "/school/years/{year_id:int}/reopen"): {"deputy"},
    ("POST", "/school/years/{year_id:int}/periods/{period_id:int}/close"): {"deputy", "director"},
    ("POST", "/school/years/{year_id:int}/periods/{period_id:int}/reopen"): {"deputy"},
    ("GET", "/school/years/{year_id:int}/next"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/next"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/open"): {"deputy", "director"},
    ("GET", "/school/years/{year_id:int}/promotion"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/promotion/order"): {"deputy", "director"},
    ("GET", "/school/years/{year_id:int}/promotion/classes/{class_id:int}"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/promotion/classes/{class_id:int}"): {"deputy", "director"},
    ("POST", "/school/years/{year_id:int}/promotion/debt/{student_id:int}"): {"deputy", "director"},
    ("GET", "/school/years/{year_id:int}/promotion.csv"): ADMINISTRATION,
    ("POST", "/school/years/{year_id:int}/promotion/apply"): {"deputy", "director"},
    ("GET", "/api/v1/calendar/template"): STAFF,
    # Grading settings (§3.2.3): read like the school's set-up, changed by its managers.
    ("GET", "/school/grading"): ADMINISTRATION,
    ("POST", "/school/grading/settings"): MANAGERS,  # an empty form: 400
    ("POST", "/school/grading/work-types"): MANAGERS,
    ("POST", "/school/grading/work-types/new"): MANAGERS,  # an empty form: 400
    # Import of class lists and staff (§3.5.1): the sysadmin and the deputy; the director
    # reads the school but does not import.
    ("GET", "/school/import"): MANAGERS,
    ("POST", "/school/import"): MANAGERS,
    ("GET", "/school/import/preview"): MANAGERS,
    ("POST", "/school/import/confirm"): MANAGERS,
    ("POST", "/school/import/cancel"): MANAGERS,
    ("GET", "/school/import/template-students.csv"): MANAGERS,
    ("GET", "/school/import/template-students.xlsx"): MANAGERS,
    ("GET", "/school/import/template-staff.csv"): MANAGERS,
    ("GET", "/school/import/template-staff.xlsx"): MANAGERS,
    ("GET", "/admin/logins"): ADMINISTRATION,
    # Backups (§3.4.6): the director may look; the deputy owns them; restore is the sysadmin's.
    ("GET", "/admin/backups"): ADMINISTRATION,
    ("POST", "/admin/backups/create"): {"deputy", "sysadmin"},
    ("POST", "/admin/backups/usb"): {"deputy", "sysadmin"},
    ("POST", "/admin/backups/keep"): {"deputy", "sysadmin"},
    ("POST", "/admin/backups/test-restore"): {"deputy", "sysadmin"},
    ("POST", "/admin/backups/restore"): {"sysadmin"},
    ("POST", "/admin/backups/restore/upload"): {"sysadmin"},
    ("POST", "/admin/backups/restore/confirm"): {"sysadmin"},
    ("POST", "/admin/backups/restore/cancel"): {"sysadmin"},
    ("POST", "/admin/backups/recipients"): {"deputy", "sysadmin"},
    ("POST", "/admin/backups/setup"): {"deputy", "sysadmin"},
    # District sync (sync/routes.py): its settings are the sysadmin's; the director and the
    # deputy may look. The POSTs with an empty form answer 400/409, after the guard.
    ("GET", "/admin/sync"): ADMINISTRATION,
    ("POST", "/admin/sync/setup"): {"sysadmin"},
    ("POST", "/admin/sync/now"): {"sysadmin"},
    ("POST", "/admin/sync/usb"): {"sysadmin"},
    ("POST", "/admin/sync/lost"): {"sysadmin"},
    # Credentials (§2.3): the class teacher for their class, the deputy for staff and
    # families, the sysadmin for recovery; the director does not issue.
    ("GET", "/classes/{class_id:int}/credentials"): {"deputy", "sysadmin", "class_teacher"},
    ("POST", "/classes/{class_id:int}/credentials"): {"deputy", "sysadmin", "class_teacher"},
    ("GET", "/school/staff/credentials"): {"deputy", "sysadmin"},
    ("POST", "/school/staff/credentials"): {"deputy", "sysadmin"},
    ("POST", "/api/v1/credentials"): {"deputy", "sysadmin", "class_teacher"},
    ("POST", "/classes/{class_id:int}/kiosk-pins"): {"deputy", "sysadmin", "class_teacher"},  # kiosk PIN slips
    # Messages (§1.4.8, §3.3.3): everyone writes, to the people server/messages/audience.py
    # allows (tests/test_messages.py). The sample thread is teacher01's to 5А's parents, which
    # parent0001 received: other people are refused by the row rule.
    ("GET", "/messages"): ANY_USER,
    ("GET", "/messages/new"): ANY_USER,
    ("POST", "/messages"): ANY_USER,  # an empty form: 400
    ("GET", "/messages/{thread_id:int}"): Rows(ALL_ROLES, refused=MESSAGE_OUTSIDERS),
    ("POST", "/messages/{thread_id:int}/reply"): Rows(ALL_ROLES, refused=MESSAGE_OUTSIDERS),
    ("POST", "/messages/{thread_id:int}/pin"): Rows(ADMINISTRATION, refused=ADMINISTRATION),  # only one's own
    ("GET", "/messages/files/{attachment_id:int}"): ANY_USER,  # 404: no such file
    ("GET", "/api/v1/messages"): ANY_USER,
    ("GET", "/api/v1/messages/recipients"): ANY_USER,
    ("GET", "/api/v1/messages/{thread_id:int}"): Rows(ALL_ROLES, refused=MESSAGE_OUTSIDERS),
    ("POST", "/api/v1/messages"): ANY_USER,  # {}: 400
    ("POST", "/api/v1/messages/{thread_id:int}/reply"): ANY_USER,  # {} is refused (400) before the row rule
    # §3.3.4: the class teacher informs the families of their own class.
    ("GET", "/classes/{class_id:int}/informing"): {"class_teacher"},
    ("POST", "/classes/{class_id:int}/informing"): {"class_teacher"},
    ("GET", "/classes/{class_id:int}/informing/print"): {"class_teacher"},
    # The hall kiosk (server/kiosk.py): its form is public; a kiosk session reaches only
    # routes marked kiosk=True (tests/test_kiosk.py).
    ("GET", "/kiosk"): PUBLIC,
    ("POST", "/kiosk/login"): PUBLIC,
    ("POST", "/kiosk/logout"): ANY_USER,
    ("POST", "/kiosk/ping"): ANY_USER,
    # Reports (server/reports/, §2.6): summary forms only to those who need them — the
    # administration (director, deputy) the whole school, a class teacher their class (5А is
    # teacher01's: teacher20 and the sysadmin, who also teaches, are turned away by the row rule),
    # a teacher their own journals; never families, nor the sysadmin or staff as such.
    ("GET", "/reports"): REPORTERS,
    ("GET", "/reports/progress"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),  # no class of their own
    ("GET", "/reports/results"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/reports/attendance"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/reports/classes/{class_id:int}/summary"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/reports/classes/{class_id:int}/analysis"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/reports/my-journals"): {"director", "deputy", "teacher"},
    ("GET", "/reports/movement"): REPORT_ADMIN,
    ("GET", "/reports/journal-control"): REPORT_ADMIN,
    ("GET", "/reports/journal-control/{journal_id:int}"): REPORT_ADMIN,
    ("POST", "/reports/journal-control/{journal_id:int}/remarks"): {"deputy"},  # an empty form: 400
    ("POST", "/reports/remarks/{remark_id:int}/done"): {"deputy"},  # 404: no remark 1
    ("GET", "/reports/certificate"): REPORT_ADMIN,
    ("GET", "/api/v1/reports/classes/{class_id:int}/summary"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/api/v1/reports/journal-control"): REPORT_ADMIN,
    ("GET", "/api/v1/reports/progress"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/api/v1/reports/results"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/api/v1/reports/attendance"): Rows(REPORTERS, refused={"teacher", "sysadmin"}),
    ("GET", "/api/v1/reports/movement"): REPORT_ADMIN,
    # The appliance (server/appliance/): the server's health for the administration (the home
    # page's line links there), checks and updates by the sysadmin; the page with the school's
    # CA certificate is public (a phone fetches it before it can trust HTTPS); 404 until set up.
    ("GET", "/admin/health"): ADMINISTRATION,
    ("POST", "/admin/health/check-db"): {"sysadmin"},
    ("GET", "/admin/update"): {"sysadmin"},
    ("GET", "/admin/update/status"): {"sysadmin"},
    ("POST", "/admin/update"): {"sysadmin"},  # no file: 409 with the reason
    ("POST", "/admin/update/district"): {"sysadmin"},  # nothing offered here: 409 with the reason
    ("GET", "/tls"): PUBLIC,
    ("GET", "/tls/ca.crt"): PUBLIC,
    # The timetable of dates (server/timetable/): a teacher's own week and lessons; a class's
    # week for who may read the class; the deputy plans substitutions, moves, extra and
    # cancelled lessons (§3.4.4), the administration looks (sample ids name nothing: 404).
    ("GET", "/my/timetable"): {"teacher"},
    ("GET", "/api/v1/me/lessons"): {"teacher"},
    ("GET", "/classes/{class_id:int}/timetable"): Rows(ADMINISTRATION | {"class_teacher", "teacher", "staff"},
                                                       refused={"teacher", "staff"}),
    ("GET", "/school/changes"): ADMINISTRATION,
    ("GET", "/school/changes/lesson"): ADMINISTRATION,
    ("GET", "/school/absences/{absence_id:int}"): ADMINISTRATION,
    ("POST", "/school/absences"): {"deputy"},
    ("POST", "/school/absences/{absence_id:int}"): {"deputy"},
    ("POST", "/school/absences/{absence_id:int}/delete"): {"deputy"},
    ("POST", "/school/changes/substitute"): {"deputy"},
    ("POST", "/school/changes/cancel"): {"deputy"},
    ("POST", "/school/changes/restore"): {"deputy"},
    ("POST", "/school/changes/move"): {"deputy"},
    ("POST", "/school/changes/extra"): {"deputy"},
    ("POST", "/school/changes/{change_id:int}/undo"): {"deputy"},
    # The family's side (§4.1.1, §4.1.5, §4.1.6): a family's own profile and its request to
    # correct personal data; the recipient marks a request done (the sample thread is not one:
    # its members get 400, others the row rule); the administration chooses who of it
    # receives families' messages.
    ("GET", "/profile"): FAMILY,
    ("POST", "/profile/data-correction"): FAMILY,  # no child named: 404
    ("POST", "/messages/{thread_id:int}/done"): Rows(ALL_ROLES, refused=MESSAGE_OUTSIDERS),
    ("GET", "/school/family-messages"): ADMINISTRATION,
    ("POST", "/school/family-messages"): {"director", "deputy"},  # nothing chosen: 400
    # The journal's archive (server/archive/, §1.6, §2.6, §3.4.7): the administration only; the sample
    # archive and file name nothing (404), an empty build form or no build to cancel is a 400.
    ("GET", "/archive"): REPORT_ADMIN,
    ("GET", "/archive/progress"): REPORT_ADMIN,
    ("POST", "/archive/build"): REPORT_ADMIN,
    ("POST", "/archive/cancel"): REPORT_ADMIN,
    ("GET", "/archive/{name:str}/{file_name:str}"): REPORT_ADMIN,
}


def registered_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every handler, less the OPTIONS answers Litestar adds itself."""
    found = set()
    for route in app.routes:
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.add((method, route.path))
    return found


def concrete(path: str, params: dict[str, str]) -> str:
    query = QUERIES.get(path, "").format(**params)
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: params[m.group(1)], path) + ("?" + query if query else "")


def test_every_route_has_an_access_rule(client):
    missing = registered_routes(client.app) - set(RULES)
    assert not missing, f"routes without a rule in tests/test_access.py: {sorted(missing)}"
    stale = set(RULES) - registered_routes(client.app)
    assert not stale, f"rules for routes that no longer exist: {sorted(stale)}"


def _request(client, method: str, path: str, csrf: str | None):
    if method in ("GET", "HEAD"):
        return client.request(method, path, follow_redirects=False)
    if path.startswith("/api/"):
        headers = {"X-CSRF-Token": csrf} if csrf else {}
        return client.request(method, path, json={}, headers=headers, follow_redirects=False)
    return client.request(method, path, data={"csrf_token": csrf or ""}, follow_redirects=False)


GUARD_REFUSALS = re.compile("У вас нет доступа к этой странице|Учащимся доступ к электронному журналу")


def _denied_anonymous(r) -> bool:
    return r.status_code == 401 or (r.status_code == 303 and r.headers["location"].startswith("/login"))


def sample_thread(data_dir, author: int, recipient: int, class_id: int) -> int:
    """A message to a class's parents (as server/messages/store.py writes one) that `recipient` got."""
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    with conn:
        now = "2026-09-01T09:00:00Z"
        thread = conn.execute("INSERT INTO message_thread(subject, kind, class_id, author_id, audience, created_at)"
                              " VALUES ('Собрание', 'class_parents', ?, ?, 'Родителям 5А', ?)",
                              (class_id, author, now)).lastrowid
        conn.executemany("INSERT INTO thread_member(thread_id, person_id) VALUES (?, ?)",
                         [(thread, author), (thread, recipient)])
        message = conn.execute("INSERT INTO message(thread_id, author_id, body, created_at) VALUES (?, ?, 'В пятницу.', ?)",
                               (thread, author, now)).lastrowid
        conn.execute("INSERT INTO message_recipient(message_id, person_id) VALUES (?, ?)", (message, recipient))
    conn.close()
    return thread


@pytest.fixture
def params(data_dir):
    """Path parameters that the allowed roles may really see: teacher01's class 5А,
    student0001 in it, parent0001, teacher20 as a staff member."""
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    person = dict(conn.execute("SELECT login, person_id FROM account"
                               " WHERE login IN ('student0001', 'parent0001', 'teacher20', 'teacher01')").fetchall())
    class_id = conn.execute("SELECT id FROM class WHERE class_teacher_id = ?", (person["teacher01"],)).fetchone()[0]
    year_id = conn.execute("SELECT id FROM academic_year WHERE status = 'open'").fetchone()[0]
    conn.close()
    ids = {"class_id": class_id, "student_id": person["student0001"], "parent_id": person["parent0001"],
           "person_id": person["teacher20"], "year_id": year_id, "subject_id": 1, "holiday_id": 1, "group_id": 1,
           "journal_id": 1, "slot_id": 1, "period_id": 1,
           "lesson_id": 1, "number": 1, "item_id": 1, "position": 0, "remark_id": 1, "absence_id": 1, "change_id": 1,
           "name": "archive-x", "file_name": "file-x.pdf"}
    ids["thread_id"] = sample_thread(data_dir, person["teacher01"], person["parent0001"], class_id)
    ids["attachment_id"] = 1
    # A lesson of journal 1 from the timetable: its first weekday slot, in the current week.
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    weekday, number = conn.execute("SELECT weekday, lesson_number FROM timetable_slot WHERE journal_id = 1"
                                   " ORDER BY weekday, lesson_number LIMIT 1").fetchone()
    conn.close()
    today = clock.today()
    day = today - timedelta(days=(today.isoweekday() - weekday) % 7)
    ids["number"] = number
    return {"file_path": "zhurnal.css", "path": "openapi.json", "day": day.isoformat(),
            **{k: str(v) for k, v in ids.items()}}


@pytest.mark.parametrize("role", sorted(ALL_ROLES) + ["anonymous"])
def test_each_role_reaches_exactly_the_routes_it_is_allowed(client, params, role):
    problems = []
    csrf = None
    # The demo's people hold several roles, as real ones do (teacher01 is a teacher and the
    # class teacher of 5А; sysadmin teaches informatics): the guard admits a person when
    # any of their roles is in the rule.
    roles = set()
    for method, path in sorted(RULES, key=lambda k: "logout" in k[1]):
        rule = RULES[(method, path)]
        if role == "anonymous":
            client.cookies.clear()
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        elif client.get("/api/v1/me").status_code != 200:  # first time, or a logout route ran
            client.cookies.clear()
            login(client, ROLE_LOGINS[role], PASSWORD)
            csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/password").text).group(1)
            roles = set(client.get("/api/v1/me").json()["roles"])
        r = _request(client, method, concrete(path, params), csrf)
        allowed = rule == PUBLIC or (role != "anonymous" and (rule == ANY_USER or bool(roles & rule)))
        if allowed and role in getattr(rule, "refused", ()):
            if r.status_code != 403 or GUARD_REFUSALS.search(r.text):
                problems.append(f"{method} {path}: {role} should pass the guard and be refused by the row rule,"
                                f" got {r.status_code}")
        elif allowed:
            if r.status_code in (401, 403) or (_denied_anonymous(r) and path != "/logout"):
                problems.append(f"{method} {path}: {role} should be let in, got {r.status_code}")
        elif role == "anonymous":
            if not _denied_anonymous(r):
                problems.append(f"{method} {path}: anonymous should be sent to log in, got {r.status_code}")
        elif r.status_code != 403 or not GUARD_REFUSALS.search(r.text):
            problems.append(f"{method} {path}: {role} should be refused by the guard, got {r.status_code}")
    assert not problems, "\n".join(problems)


def test_student_is_refused_staff_pages_with_the_regulation_cited(client, params):
    login(client, "student0001")
    for path in ("/admin/logins", f"/classes/{params['class_id']}"):
        r = client.get(path)
        assert r.status_code == 403
        assert "Учащимся доступ к электронному журналу" in r.text
        assert "2.1" in r.text


def test_class_teacher_sees_only_their_own_class(client, params):
    login(client, "teacher02")  # class teacher of 5Б, not of teacher01's 5А
    r = client.get(f"/classes/{params['class_id']}")
    assert r.status_code == 403
    assert "Это не ваш класс" in r.text
    client.cookies.clear()
    login(client, "teacher01")
    r = client.get(f"/classes/{params['class_id']}")
    assert r.status_code == 200
    assert "5А класс" in r.text
    assert r.text.count("<tr>") >= 25


def test_parent_sees_only_own_children_in_me(client):
    login(client, "parent0001")
    me = client.get("/api/v1/me").json()
    names = {c["name"] for c in me["children"]}
    assert len(names) == 2
    client.cookies.clear()
    login(client, "parent0100")
    other = client.get("/api/v1/me").json()
    assert names.isdisjoint({c["name"] for c in other["children"]})
