"""Every registered route × every role: who gets in. A route without a rule here fails."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, ROLE_LOGINS, login

from server.accounts.roles import ALL_ROLES

PUBLIC = "public"
ANY_USER = "any user"
ADMINISTRATION = {"director", "deputy", "sysadmin"}

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
    ("GET", "/classes/{class_id:int}"): ADMINISTRATION | {"class_teacher"},
    ("GET", "/school/subjects"): ADMINISTRATION,
    ("POST", "/school/subjects"): {"deputy", "sysadmin"},
    ("POST", "/school/subjects/{subject_id:int}/archive"): {"deputy", "sysadmin"},
    ("GET", "/admin/logins"): ADMINISTRATION,
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
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: params[m.group(1)], path)


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


def _denied_anonymous(r) -> bool:
    return r.status_code == 401 or (r.status_code == 303 and r.headers["location"].startswith("/login"))


@pytest.fixture
def params(client):
    """Path parameters that the allowed roles may really see (teacher01's class)."""
    login(client, "teacher01")
    class_id = client.get("/").text.split('href="/classes/')[1].split('"')[0]
    client.cookies.clear()
    return {"file_path": "zhurnal.css", "class_id": class_id, "path": "openapi.json", "subject_id": "1"}


@pytest.mark.parametrize("role", sorted(ALL_ROLES) + ["anonymous"])
def test_each_role_reaches_exactly_the_routes_it_is_allowed(client, params, role):
    problems = []
    for method, path in sorted(RULES, key=lambda k: "logout" in k[1]):
        rule = RULES[(method, path)]
        client.cookies.clear()
        csrf = None
        if role == "anonymous":
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        else:
            login(client, ROLE_LOGINS[role], PASSWORD)
            csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/password").text).group(1)
        r = _request(client, method, concrete(path, params), csrf)
        allowed = rule == PUBLIC or (role != "anonymous" and (rule == ANY_USER or role in rule))
        if allowed:
            if r.status_code in (401, 403) or (_denied_anonymous(r) and path != "/logout"):
                problems.append(f"{method} {path}: {role} should be let in, got {r.status_code}")
        elif role == "anonymous":
            if not _denied_anonymous(r):
                problems.append(f"{method} {path}: anonymous should be sent to log in, got {r.status_code}")
        elif r.status_code != 403:
            problems.append(f"{method} {path}: {role} should get 403, got {r.status_code}")
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
