"""What every page shares: security headers, escaping, Russian error pages, limits."""

from __future__ import annotations

import sqlite3

from conftest import PASSWORD, csrf_from, login

from server.accounts.passwords import hash_password


def test_every_response_carries_security_headers(client):
    for r in (client.get("/login"), client.get("/nope"), client.get("/static/zhurnal.css")):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
    assert client.get("/login").headers["cache-control"] == "no-store"


def test_pages_have_no_inline_script(client):
    login(client, "deputy")
    for path in ("/", "/admin/logins", "/password"):
        html = client.get(path).text
        assert "<script>" not in html and " on" + "click=" not in html
        assert '<script src="/static/vendor/htmx/htmx.min.js"' in html


def test_names_are_escaped_in_pages(client, data_dir):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE person SET first_name = '<script>alert(1)</script>' WHERE id = "
                 "(SELECT person_id FROM account WHERE login = 'teacher01')")
    conn.commit()
    conn.close()
    login(client, "teacher01")
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_page_is_a_friendly_russian_404(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "Страница не найдена" in r.text and "На главную" in r.text
    assert "Traceback" not in r.text
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["error"].startswith("Такой страницы нет")


def test_forbidden_page_is_russian_and_keeps_the_navigation(client):
    login(client, "parent0001")
    r = client.get("/admin/logins")
    assert r.status_code == 403 and "Доступ запрещён" in r.text
    assert "Выйти" in r.text


def test_htmx_error_goes_to_the_flash_area(client):
    login(client, "parent0001")
    r = client.get("/admin/logins", headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert r.headers["HX-Retarget"] == "#flash"
    assert "<html" not in r.text and "Доступ запрещён" in r.text


def test_over_long_request_is_refused_and_changes_nothing(client, data_dir):
    page = client.get("/login")
    big = "x" * 3_000_000
    r = client.post("/login", data={"login": "teacher01", "password": big, "csrf_token": csrf_from(page.text)})
    assert r.status_code == 413
    assert "Слишком большой запрос" in r.text
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 0
    conn.close()


def test_over_long_login_fields_are_just_wrong_credentials(client):
    r = login(client, "a" * 500, "b" * 500, expect=401)
    assert "Неверный логин или пароль." in r.text


def test_a_disabled_account_cannot_log_in(client, data_dir):
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE account SET disabled_at = '2026-01-01T00:00:00Z' WHERE login = 'teacher03'")
    conn.commit()
    conn.close()
    r = login(client, "teacher03", expect=403)
    assert "Учётная запись отключена" in r.text


def test_login_record_shows_failures_to_the_administration(client):
    login(client, "teacher01", "wrong-password", expect=401)
    login(client, "deputy")
    html = client.get("/admin/logins?failures=true").text
    assert "неверный пароль" in html and "teacher01" in html
    assert "wrong-password" not in html


def test_openapi_document_is_served_and_lists_the_fixed_points(client):
    doc = client.get("/api/v1/schema/openapi.json").json()
    for path in ("/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/me"):
        assert path in doc["paths"]


def test_a_hash_made_elsewhere_verifies(client, data_dir):
    # A password set at the console (another process) logs in through the web.
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("UPDATE account SET password_hash = ? WHERE login = 'teacher04'", (hash_password("Другой-1234"),))
    conn.commit()
    conn.close()
    login(client, "teacher04", "Другой-1234")
    login(client, "teacher05", PASSWORD)


def test_a_server_error_is_a_russian_page_without_internals(client, data_dir):
    login(client, "deputy")
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    conn.execute("DROP TABLE login_event")  # the kind of damage a failing SD card does
    conn.commit()
    conn.close()
    r = client.get("/admin/logins")
    assert r.status_code == 500
    assert "Внутренняя ошибка сервера" in r.text and "сообщите администратору" in r.text
    assert "Traceback" not in r.text and "login_event" not in r.text
    r = client.get("/api/v1/me", headers={"Accept": "application/json"})
    assert r.status_code == 200  # the rest of the server keeps working


def test_the_served_app_compiles_templates_and_settles_memory_at_start(data_dir):
    """`zhurnal serve` makes the app with warm=True: every template compiled before the first
    page, and the start-up objects frozen out of the garbage collector's full collections
    (which otherwise fell inside every twentieth journal page); released again at shutdown."""
    import gc

    from litestar.testing import TestClient

    from server.app import create_app
    from server.config import load_settings

    assert gc.get_freeze_count() == 0
    app = create_app(load_settings(data_dir, mdns=False), warm=True)
    jinja = app.state.jinja
    with TestClient(app=app, base_url="http://testserver.local") as c:
        assert gc.get_freeze_count() > 10_000
        assert len(jinja.cache) == len(jinja.list_templates(extensions=["html"])) > 50
        login(c, "teacher01")
        assert "Русский язык" in c.get("/journals/1").text
    assert gc.get_freeze_count() == 0


def test_names_are_escaped_in_the_journal_grid(client, data_dir):
    """The grid's cells are built in Python (routes.grid_rows), not by Jinja: they escape too."""
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    student = conn.execute("SELECT e.student_id FROM enrollment e JOIN journal j ON j.class_id = e.class_id"
                           " WHERE j.id = 1 LIMIT 1").fetchone()[0]
    conn.execute("UPDATE person SET last_name = '\"><script>alert(1)</script>' WHERE id = ?", (student,))
    conn.commit()
    conn.close()
    login(client, "teacher01")
    html = client.get("/journals/1").text
    assert "<script>alert(1)" not in html
    assert 'aria-label="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in html


MALLOC_PROBE = r"""
import ctypes, sys, threading
sys.path.insert(0, sys.argv[2])
from server.memory import return_big_blocks_to_the_os
if sys.argv[1] == "on":
    assert return_big_blocks_to_the_os()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def anon_mb():
    return int(next(l for l in open("/proc/self/status") if l.startswith("RssAnon")).split()[1]) // 1024
base = anon_mb()
def login_sized_block():  # what an Argon2 verification does in a worker thread
    p = libc.malloc(7 << 20); libc.memset(p, 1, 7 << 20); libc.free(p)
for _ in range(10):
    threads = [threading.Thread(target=login_sized_block) for _ in range(2)]
    [t.start() for t in threads]; [t.join() for t in threads]
print(anon_mb() - base)
"""


def test_memory_of_finished_logins_goes_back_to_the_system():
    """server.memory.return_big_blocks_to_the_os (called by `zhurnal serve`): 7 MiB blocks
    freed in worker threads are given back, where glibc's default keeps them."""
    import ctypes.util
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    if not ctypes.util.find_library("c") or not Path("/proc/self/status").exists():
        pytest.skip("needs glibc and /proc (Linux)")
    root = str(Path(__file__).resolve().parents[1])
    kept = {mode: int(subprocess.run([sys.executable, "-c", MALLOC_PROBE, mode, root], capture_output=True,
                                     text=True, check=True).stdout) for mode in ("off", "on")}
    assert kept["off"] >= 7, kept  # the default: a thread's heap keeps its block
    assert kept["on"] <= 2, kept


def test_pages_and_scripts_go_gzipped_to_browsers_that_ask(client):
    """Weak school Wi-Fi: the journal grid (176 KB for a quarter) travels as ~10 KB."""
    import gzip

    login(client, "teacher01")
    # httpx would unpack the answer itself: read the bytes as they came.
    with client.stream("GET", "/journals/1", headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip" and r.headers["vary"].lower().count("accept-encoding")
    html = gzip.decompress(raw).decode()
    assert 'id="journal"' in html and len(raw) * 5 < len(html)
    js = client.get("/static/vendor/htmx/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert js.headers["content-encoding"] == "gzip" and js.text.startswith(("var htmx", "(function", "!function"))
    plain = client.get("/journals/1", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and 'id="journal"' in plain.text
