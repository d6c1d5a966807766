"""Bad input never breaks the server: every route, as a person allowed there, with garbage in
the query, the path, the form or the JSON body answers below 500, shows no traceback, and a
refusal says what is wrong in Russian (README: "Bad input gets a clear Russian message")."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROLE_LOGINS, login
from test_access import ANY_USER, PUBLIC, RULES, concrete, params  # noqa: F401 (params is a fixture)

CYRILLIC = re.compile("[А-Яа-яЁё]")
# Litestar's and Starlette's own words: a page showing them was not translated.
ENGLISH = re.compile(r"Validation failed|Bad Request|Internal Server Error|Not Found|Method Not Allowed|"
                     r"JSON is malformed|Expected `|Missing required|Traceback")
HUGE = "99999999999999999999999"  # beyond SQLite's 64-bit INTEGER
GARBAGE = ["abc", "2026-13-45", "2026-02-31", "31.02.2026", "-1", "0", HUGE, "9223372036854775808", "1e5",
           "", " ", "%00", "x" * 1500]
# Every query parameter a page reads (grep request.query_params, QueryParameter).
QUERY_KEYS = ["period", "plan_item_id", "log", "edit", "edit_period", "token", "changed", "class", "classes", "class_id", "ok",
              "sent", "all", "to", "kind", "list", "year", "year_id", "student", "from", "week", "new", "ended",
              "terminal", "failures", "next", "date", "n", "done", "reason"]
# Every form field a handler reads (grep form.get / form[ / body.get).
FORM_KEYS = ["address", "archived", "backup", "birth_date", "body", "class", "class_id", "class_teacher_id", "closed",
             "consent", "date", "diary_form", "district_code", "email", "ends_on", "expected", "file", "first_name",
             "from_date", "h_ends_on", "h_starts_on", "hours", "journal_id", "keep", "key_file", "key_text", "kind",
             "label", "last_name", "lesson_number", "list", "login", "middle_name", "minutes", "n", "name", "next",
             "number", "on_date", "p_first_name", "p_last_name", "p_middle_name", "password", "period",
             "period_kind", "person_id", "phone", "pin", "plan_item_id", "position", "public_key", "reason",
             "relation", "remove_file", "repeat", "replace", "room", "school_name", "sex", "short_name", "source",
             "starts_on", "status", "status_reason", "student", "student_id", "study_form", "subject", "subject_id",
             "substitute_id", "target", "teacher_id", "text", "to", "token", "topic", "value", "week", "weekday",
             "work_type", "new_password", "password2", "mark", "homework", "items", "what", "classes"]
# Who probes a route: the first of these the route's rule lets in and its row rule does not refuse.
PROBERS = ["deputy", "class_teacher", "sysadmin", "director", "parent", "student", "staff", "teacher"]


def _prober(rule) -> str | None:
    if rule == PUBLIC:
        return "anonymous"
    if rule == ANY_USER:
        return "deputy"
    refused = getattr(rule, "refused", frozenset())
    return next((r for r in PROBERS if r in rule and r not in refused), None)


def _messages(r) -> list[str]:
    """The error text a person reads: the JSON `error`, else the alerts and the error page."""
    if r.headers.get("content-type", "").startswith("application/json"):
        try:
            body = r.json()
        except json.JSONDecodeError:
            return [r.text]
        return [str(body.get("error", body))] if isinstance(body, dict) else [r.text]
    found = re.findall(r'role="alert"[^>]*>(.*?)</(?:div|p|section)>', r.text, re.S)
    found += re.findall(r'<section class="error-page">(.*?)</section>', r.text, re.S)
    return found or [r.text]


def _check(r, what: str, problems: list[str]) -> None:
    if r.status_code >= 500:
        problems.append(f"{what}: {r.status_code}")
    elif "Traceback" in r.text:
        problems.append(f"{what}: traceback in the answer")
    elif 400 <= r.status_code < 500 and r.status_code != 401:
        for text in _messages(r):
            if not CYRILLIC.search(text) or ENGLISH.search(text):
                problems.append(f"{what}: {r.status_code} without a Russian message: {text[:200]!r}")


class Session:
    """One client switching between the probers as needed (a logout route may end the session).

    Each role keeps its own cookies, so switching back does not log in again: the garbage sent
    to /password counts as wrong current passwords, and a new login of that person would be
    throttled (as it should be)."""

    def __init__(self, client):
        self.client, self.role, self.csrf = client, None, ""
        self.saved: dict[str, tuple[dict, str]] = {}

    def be(self, role: str) -> None:
        c = self.client
        if self.role == role and (role == "anonymous" or c.get("/api/v1/me").status_code == 200):
            return
        if self.role is not None:
            self.saved[self.role] = (dict(c.cookies), self.csrf)
        c.cookies.clear()
        if role in self.saved and role != "anonymous":
            cookies, csrf = self.saved[role]
            for name, value in cookies.items():
                c.cookies.set(name, value)
            if c.get("/api/v1/me").status_code == 200:
                self.role, self.csrf = role, csrf
                return
            c.cookies.clear()
        if role == "anonymous":
            self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        else:
            login(c, ROLE_LOGINS[role])
            self.csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', c.get("/password").text).group(1)
        self.role = role


def _bodies(path: str, csrf: str):
    """(name, request kwargs): nothing, wrong types, over-long and out-of-range values, broken JSON."""
    h = {"X-CSRF-Token": csrf}
    if path.startswith("/api/"):
        yield "{}", {"json": {}, "headers": h}
        yield "broken JSON", {"content": b'{"value": ', "headers": {**h, "content-type": "application/json"}}
        yield "a list", {"json": [1, 2], "headers": h}
        yield "null", {"content": b"null", "headers": {**h, "content-type": "application/json"}}
        yield "lists", {"json": {k: [1] for k in FORM_KEYS}, "headers": h}
        yield "long strings", {"json": {k: "x" * 3000 for k in FORM_KEYS}, "headers": h}
        yield "huge numbers", {"json": {k: int(HUGE) for k in FORM_KEYS}, "headers": h}
        yield "31.02", {"json": {k: "2026-02-31" for k in FORM_KEYS}, "headers": h}
        yield "empty multipart", {"files": {"file": ("a.txt", b"", "text/plain")}, "headers": h}
        return
    yield "only the token", {"data": {"csrf_token": csrf}, "headers": h}
    for g in ["abc", "31.02.2026", "2026-02-31", "-1", HUGE, "x" * 3000]:
        yield f"all fields {g[:12]!r}", {"data": {"csrf_token": csrf, **{k: g for k in FORM_KEYS}}, "headers": h}
    yield "empty file", {"data": {"csrf_token": csrf}, "files": {"file": ("a.csv", b"", "text/csv")}, "headers": h}
    yield "broken JSON (htmx)", {"content": b"{bad", "headers": {**h, "HX-Request": "true",
                                                                  "content-type": "application/json"}}


def _path_variants(path: str, ids: dict[str, str]):
    yield "", ids
    for name in re.findall(r"\{(\w+):int\}", path):
        for bad in ("-1", "0", HUGE, "9223372036854775808"):
            yield f" {name}={bad}", {**ids, name: bad}
    for name in re.findall(r"\{(\w+):str\}", path):
        if name == "path":
            continue
        for bad in ("abc", "2026-02-31", "31.02.2026", "2026-13-45", "9999-12-31", "0001-01-01", "x" * 2000):
            yield f" {name}={bad[:12]}", {**ids, name: bad}


def _routes(methods: set[str]):
    for (method, path), rule in sorted(RULES.items()):
        if method in methods and "logout" not in path and not path.startswith(("/static", "/api/v1/schema")):
            role = _prober(rule)
            if role:
                yield method, path, role


def test_every_get_route_takes_garbage_in_its_query_and_path(client, params):
    s, problems = Session(client), []
    for method, path, role in _routes({"GET"}):
        for note, ids in _path_variants(path, params):
            url = concrete(path, ids)
            urls = [url]
            if not note:
                urls += [url + ("&" if "?" in url else "?") + "&".join(f"{k}={g}" for k in QUERY_KEYS)
                         for g in GARBAGE]
            for u in urls:
                s.be(role)
                _check(client.get(u, follow_redirects=False), f"GET {u[:120]} as {role}", problems)
    assert not problems, "\n".join(problems)


def test_every_write_route_takes_an_empty_or_garbage_body(client, params):
    s, problems = Session(client), []
    for method, path, role in _routes({"POST", "PUT", "DELETE"}):
        for note, ids in _path_variants(path, params):
            url = concrete(path, ids)
            s.be(role)
            for name, kwargs in _bodies(path, s.csrf):
                s.be(role)
                kwargs["headers"]["X-CSRF-Token"] = s.csrf
                if "data" in kwargs:
                    kwargs["data"]["csrf_token"] = s.csrf
                r = client.request(method, url, follow_redirects=False, **kwargs)
                _check(r, f"{method} {url[:120]}{note} with {name} as {role}", problems)
                if note:  # a bad path: one body is enough
                    break
    assert not problems, "\n".join(problems)


@pytest.fixture
def deputy(client):
    login(client, "deputy")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/password").text).group(1)
    client.headers["X-CSRF-Token"] = csrf
    return client


@pytest.mark.parametrize("kwargs, expected", [
    ({"json": {}}, "не указано обязательное поле «name»"),
    ({"json": {"name": 5}}, "поле «name»: ожидается строка, а передано целое число"),
    ({"json": {"name": "5В", "class_teacher_id": "x"}}, "поле «class_teacher_id»"),
    ({"content": b'{"name": ', "headers": {"content-type": "application/json"}}, "не JSON"),
    ({"json": [1]}, "тело запроса должно быть JSON-объектом"),
])
def test_api_validation_errors_are_russian_and_name_the_field(deputy, kwargs, expected):
    r = deputy.post("/api/v1/classes", **kwargs)
    assert r.status_code == 400
    assert expected in r.json()["error"]


def test_api_query_parameter_errors_name_the_parameter(deputy):
    r = deputy.get("/api/v1/timetable")
    assert r.status_code == 400
    assert r.json()["error"] == "Запрос содержит ошибку: не указан параметр запроса «class_id»."
    r = deputy.get("/api/v1/timetable?class_id=abc")
    assert "«class_id»: ожидается целое число" in r.json()["error"]
    r = deputy.get(f"/api/v1/timetable?class_id={HUGE}")
    assert r.status_code == 400
    assert "вне допустимого диапазона" in r.json()["error"]


def test_an_id_beyond_sqlite_integers_is_not_found(deputy):
    for url in (f"/journals/{HUGE}", f"/api/v1/journals/{HUGE}", f"/students/{HUGE}", "/classes/-9223372036854775809"):
        r = deputy.get(url)
        assert r.status_code == 404, url
        assert CYRILLIC.search(_messages(r)[0])


def test_a_huge_id_in_a_form_changes_nothing(deputy, data_dir):
    import sqlite3

    def grants():
        conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
        try:
            return conn.execute("SELECT COUNT(*) FROM class_access").fetchone()[0]
        finally:
            conn.close()

    before = grants()
    r = deputy.post("/school/access", data={"csrf_token": deputy.headers["X-CSRF-Token"], "person_id": HUGE,
                                            "class_id": HUGE}, follow_redirects=False)
    assert r.status_code == 400
    assert grants() == before
