"""The `zhurnal` command at the console: creating and repairing accounts when nobody can
log in, refusing to overwrite a school, refusing a database from a newer version.

Account commands run in-process through `server.cli.main`; the commands whose whole
point is the process (serve, demo, argparse errors) run as a real subprocess."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PASSWORD, login, make_client, session_csrf
from server.cli import main

REPO = Path(__file__).resolve().parents[1]
NEW_PASSWORD = "novyi-parol-2026"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """`zhurnal ARGS` in this process: (exit status, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse exits by itself
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`zhurnal ARGS` as a separate process, as an admin would type it."""
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def create_admin(capsys, data: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "user", "create", "--data", str(data), "admin", "--last-name", "Орлова",
                   "--first-name", "Мария", "--middle-name", "Петровна", "--roles", "sysadmin", *extra)


def one_time_password(out: str) -> str:
    m = re.search(r"Одноразовый пароль: (\S+)", out)
    assert m, f"no one-time password printed:\n{out}"
    return m.group(1)


# --- user create ---------------------------------------------------------------------

def test_admin_cannot_create_the_first_user_of_an_empty_server_without_naming_the_school(capsys, tmp_path):
    data = tmp_path / "data"
    code, out, err = create_admin(capsys, data, "--password", NEW_PASSWORD)
    assert code == 2
    assert "--school" in err and "Ошибка" in err
    assert "Создан" not in out
    # Nothing was created: the server still offers its first set-up page, and nobody logs in.
    with make_client(data) as c:
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/setup"
        assert c.get("/login", follow_redirects=False).headers["location"] == "/setup"


def test_admin_can_create_the_first_sysadmin_at_the_console_and_log_in_with_it(capsys, tmp_path):
    data = tmp_path / "data"
    code, out, err = create_admin(capsys, data, "--password", NEW_PASSWORD, "--school", "Школа № 12 г. Озёрска")
    assert code == 0, err
    assert "Создан пользователь admin" in out and "Администратор АСУ" in out
    assert "Одноразовый пароль" not in out

    with make_client(data) as c:
        r = login(c, "admin", NEW_PASSWORD)
        assert r.headers["location"] == "/"
        home = c.get("/")
        assert home.status_code == 200
        assert "Школа № 12 г. Озёрска" in home.text
        assert "Администратор АСУ" in home.text
        me = c.get("/api/v1/me").json()
        assert me["roles"] == ["sysadmin"]
        assert me["name"] == "Орлова Мария Петровна"


def test_user_created_without_a_password_gets_a_one_time_password_and_must_change_it_at_first_login(capsys, tmp_path):
    data = tmp_path / "data"
    code, out, err = create_admin(capsys, data, "--school", "Школа № 3")
    assert code == 0, err
    otp = one_time_password(out)
    assert "сменить при первом входе" in out

    with make_client(data) as c:
        r = login(c, "admin", otp)
        assert r.headers["location"] == "/password"
        # Until the password is changed, every page sends the person back to /password.
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/password"
        assert c.get("/admin/logins", follow_redirects=False).headers["location"] == "/password"

        r = c.post("/password", data={"current": otp, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD,
                                       "csrf_token": session_csrf(c)})
        assert r.status_code == 200, r.text[:500]
        home = c.get("/", follow_redirects=False)
        assert home.status_code == 200
        assert "Школа № 3" in home.text

    with make_client(data) as c:
        login(c, "admin", otp, expect=401)
        assert login(c, "admin", NEW_PASSWORD).headers["location"] == "/"


def test_admin_cannot_create_a_second_account_with_a_taken_login(capsys, data_dir):
    db = data_dir / "zhurnal.sqlite3"
    people_before = count(db, "SELECT count(*) FROM person")
    accounts_before = count(db, "SELECT count(*) FROM account")
    for taken in ("teacher01", "TEACHER01"):
        code, out, err = run_cli(capsys, "user", "create", "--data", str(data_dir), taken, "--last-name", "Новая",
                                 "--first-name", "Учительница", "--roles", "teacher", "--password", NEW_PASSWORD)
        assert code == 2, (taken, out, err)
        assert "уже занят" in err
    assert count(db, "SELECT count(*) FROM person") == people_before
    assert count(db, "SELECT count(*) FROM account") == accounts_before
    with make_client(data_dir) as c:
        login(c, "teacher01", PASSWORD)
        login(c, "teacher01", NEW_PASSWORD, expect=401)


def test_admin_cannot_create_a_user_with_a_malformed_login_or_bad_roles(capsys, data_dir):
    args = ["user", "create", "--data", str(data_dir), "--last-name", "Иванов", "--first-name", "Иван",
            "--password", NEW_PASSWORD]
    code, _, err = run_cli(capsys, *args, "иван", "--roles", "teacher")
    assert code == 2 and "Логин" in err
    code, _, err = run_cli(capsys, *args, "ivanov", "--roles", "teacher,wizard")
    assert code == 2 and "wizard" in err
    code, _, err = run_cli(capsys, *args, "ivanov", "--roles", "class_teacher")
    assert code == 2 and "class_teacher" in err
    code, _, err = run_cli(capsys, "user", "create", "--data", str(data_dir), "ivanov", "--last-name", "Иванов",
                           "--first-name", "Иван", "--roles", "teacher", "--password", "123")
    assert code == 2 and "Пароль" in err
    with make_client(data_dir) as c:
        login(c, "ivanov", NEW_PASSWORD, expect=401)


# --- user reset-password -----------------------------------------------------------------

def test_admin_can_reset_a_forgotten_password_at_the_console_which_ends_the_users_sessions(capsys, data_dir):
    with make_client(data_dir) as c:
        login(c, "teacher01")
        assert c.get("/", follow_redirects=False).status_code == 200

        code, out, err = run_cli(capsys, "user", "reset-password", "--data", str(data_dir), "teacher01")
        assert code == 0, err
        assert "сеансы завершены" in out
        otp = one_time_password(out)

        # The browser that was logged in is logged out.
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/api/v1/me").status_code == 401

    with make_client(data_dir) as c:
        login(c, "teacher01", PASSWORD, expect=401)
        assert login(c, "teacher01", otp).headers["location"] == "/password"


def test_admin_can_reset_a_password_to_a_chosen_one_without_forcing_a_change(capsys, data_dir):
    code, out, err = run_cli(capsys, "user", "reset-password", "--data", str(data_dir), "deputy",
                             "--password", NEW_PASSWORD)
    assert code == 0, err
    assert "Одноразовый пароль" not in out
    with make_client(data_dir) as c:
        login(c, "deputy", PASSWORD, expect=401)
        assert login(c, "deputy", NEW_PASSWORD).headers["location"] == "/"


def test_admin_cannot_reset_the_password_of_an_unknown_login(capsys, data_dir):
    code, out, err = run_cli(capsys, "user", "reset-password", "--data", str(data_dir), "nobody")
    assert code == 2
    assert "nobody" in err and "Нет учётной записи" in err
    assert "Одноразовый пароль" not in out


# --- user set-roles ------------------------------------------------------------------------

def test_admin_can_change_a_users_roles_at_the_console(capsys, data_dir):
    with make_client(data_dir) as c:
        login(c, "teacher20")
        assert c.get("/api/v1/me").json()["roles"] == ["teacher"]

        code, out, err = run_cli(capsys, "user", "set-roles", "--data", str(data_dir), "teacher20", "teacher,deputy")
        assert code == 0, err
        assert "Заместитель директора" in out and "Учитель" in out
        # The change applies to the session already open.
        assert c.get("/api/v1/me").json()["roles"] == ["deputy", "teacher"]
        assert c.get("/admin/logins").status_code == 200


def test_admin_cannot_give_unknown_roles_or_class_teacher_at_the_console(capsys, data_dir):
    for roles, named in (("teacher,wizard", "wizard"), ("class_teacher", "class_teacher"),
                         ("teacher,class_teacher", "class_teacher")):
        code, out, err = run_cli(capsys, "user", "set-roles", "--data", str(data_dir), "teacher20", roles)
        assert code == 2, (roles, out, err)
        assert named in err and "Ошибка" in err
    with make_client(data_dir) as c:
        login(c, "teacher20")
        assert c.get("/api/v1/me").json()["roles"] == ["teacher"]


def test_admin_cannot_set_roles_of_an_unknown_login(capsys, data_dir):
    code, _, err = run_cli(capsys, "user", "set-roles", "--data", str(data_dir), "nobody", "teacher")
    assert code == 2
    assert "nobody" in err


def test_accounts_and_roles_changed_at_the_console_are_ledger_entries_of_the_console(capsys, data_dir):
    db = data_dir / "zhurnal.sqlite3"
    start = count(db, "SELECT max(id) FROM audit_log")
    code, _, err = run_cli(capsys, "user", "create", "--data", str(data_dir), "novaya", "--last-name", "Новая",
                           "--first-name", "Анна", "--roles", "teacher", "--password", NEW_PASSWORD)
    assert code == 0, err
    code, _, err = run_cli(capsys, "user", "set-roles", "--data", str(data_dir), "teacher20", "teacher,deputy")
    assert code == 0, err
    conn = sqlite3.connect(db)
    try:
        made = conn.execute("SELECT account_id, entity, reason FROM audit_log WHERE id > ? ORDER BY id",
                            (start,)).fetchall()
        new_account = conn.execute("SELECT id FROM account WHERE login = 'novaya'").fetchone()[0]
        passwords = conn.execute("SELECT count(*) FROM audit_log WHERE new LIKE '%password%'").fetchone()[0]
    finally:
        conn.close()
    assert [e for _, e, _ in made] == ["person", "account", "account_role", "account_role"]
    assert {a for a, _, _ in made} == {None} and all("консоль" in r for _, _, r in made)
    assert passwords == 0, "a password (or its hash) is not school data"
    # A password reset changes nothing the ledger keeps.
    before = count(db, "SELECT max(id) FROM audit_log")
    assert run_cli(capsys, "user", "reset-password", "--data", str(data_dir), "novaya")[0] == 0
    assert count(db, "SELECT max(id) FROM audit_log") == before
    assert new_account and run_cli(capsys, "audit", "verify", "--data", str(data_dir))[0] == 0


# --- user list -------------------------------------------------------------------------------

def test_admin_can_list_all_logins_at_the_console(capsys, data_dir):
    code, out, err = run_cli(capsys, "user", "list", "--data", str(data_dir))
    assert code == 0, err
    logins = {line.split()[0] for line in out.splitlines() if line and not line.startswith("Всего")}
    for expected in ("director", "deputy", "sysadmin", "teacher01", "parent0001", "student0001"):
        assert expected in logins
    total = count(data_dir / "zhurnal.sqlite3", "SELECT count(*) FROM account")
    assert f"Всего: {total}" in out
    assert len(logins) == total


def test_list_shows_that_a_user_still_has_a_one_time_password(capsys, data_dir):
    run_cli(capsys, "user", "reset-password", "--data", str(data_dir), "teacher05")
    _, out, _ = run_cli(capsys, "user", "list", "--data", str(data_dir))
    line = next(line for line in out.splitlines() if line.startswith("teacher05 "))
    assert "одноразовый пароль" in line


# --- demo and serve: never damage an existing database ------------------------------------------

def test_demo_refuses_to_overwrite_an_existing_school(data_dir):
    db = data_dir / "zhurnal.sqlite3"
    before = db.read_bytes()
    r = run_process("demo", "--data", str(data_dir), "--password", PASSWORD)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "уже есть база" in r.stderr
    assert "Демо-школа создана" not in r.stdout
    assert db.read_bytes() == before


def test_server_refuses_a_database_made_by_a_newer_version_and_leaves_it_untouched(data_dir):
    db = data_dir / "zhurnal.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_version(version, name, applied_at) VALUES (999, 'future', '2030-01-01T00:00:00Z')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    files_before = sorted(p.name for p in data_dir.iterdir())

    r = run_process("serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", str(free_port()),
                    "--no-mdns", timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "более новой версией" in r.stderr
    assert "999" in r.stderr
    assert "Traceback" not in r.stderr
    assert "запущен" not in r.stdout
    assert db.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir()) == files_before


def test_console_refuses_a_file_that_is_not_a_journal_database(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "zhurnal.sqlite3").write_bytes(b"this is a spreadsheet, not a database" * 100)
    code, _, err = run_cli(capsys, "user", "list", "--data", str(data))
    assert code == 2
    assert "не является базой данных" in err


# --- argparse speaks Russian -------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["user", "set-roles"],                       # missing arguments
    ["frobnicate"],                              # unknown command
    ["serve", "--port", "восемь"],               # not a number
    ["user", "list", "--verbose"],               # unknown option
])
def test_console_mistakes_are_explained_in_russian(args):
    r = run_process(*args)
    assert r.returncode == 2
    assert "ошибка" in r.stderr
    assert "error:" not in r.stderr
    assert "использование" in r.stderr


def test_console_help_is_in_russian():
    r = run_process("user", "create", "--help")
    assert r.returncode == 0
    assert "использование" in r.stdout and "название школы" in r.stdout


# --- the stable surface of DESIGN.md and the README's command table ------------------------------

def leaf_parsers(parser=None, path=()):
    """(["user", "create"], parser) for every command an admin can run."""
    import argparse

    from server.cli import build_parser

    parser = parser or build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield list(path), parser
        return
    for name, sub in subs[0].choices.items():
        yield from leaf_parsers(sub, (*path, name))


def options_of(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def readme_commands() -> list[tuple[list[str], set[str]]]:
    """Each `zhurnal …` of the README's command table: (the command words, the --flags it names)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = []
    for cell in re.findall(r"^\| `zhurnal ([^`]+)` \|", text, flags=re.M):
        words = cell.replace("|", " ").split()
        command = []
        for w in words:
            if not re.fullmatch(r"[a-z-]+", w) or w.startswith("-"):
                break
            command.append(w)
        flags = set(re.findall(r"(--[a-z-]+)", cell))
        found.append((command, flags))
    return found


def test_every_command_takes_data(capsys):
    leaves = list(leaf_parsers())
    assert len(leaves) >= 15
    for path, parser in leaves:
        assert "--data" in options_of(parser), f"zhurnal {' '.join(path)} has no --data"


def test_every_command_documented_in_design_and_readme_exists_with_its_flags():
    leaves = {tuple(path): parser for path, parser in leaf_parsers()}
    documented = {
        ("serve",): {"--host", "--port", "--no-mdns"},
        ("demo",): {"--password"},
        ("user", "create"): {"--last-name", "--first-name", "--roles", "--password", "--school"},
        ("user", "reset-password"): {"--password"},
        ("user", "set-roles"): set(),
        ("user", "list"): set(),
        ("audit", "verify"): set(),
        ("backup", "setup"): {"--recovery-key-out"},
        ("backup", "create"): set(),
        ("backup", "list"): set(),
        ("backup", "verify"): {"--key"},
        ("backup", "restore"): {"--key", "--yes"},
    }
    table = readme_commands()
    assert len(table) >= 15, table
    for command, flags in table:
        documented.setdefault(tuple(command), set()).update(flags)
    for command, flags in documented.items():
        assert command in leaves, f"zhurnal {' '.join(command)} is documented but does not exist"
        missing = flags - options_of(leaves[command])
        assert not missing, f"zhurnal {' '.join(command)} lacks {missing}"


def test_help_of_every_command_is_in_russian():
    for path, parser in leaf_parsers():
        text = parser.format_help()
        assert "использование:" in text and "usage:" not in text and "options:" not in text, path
        for action in parser._actions:
            if action.nargs == 0:
                continue
            shown = action.metavar or action.dest
            assert re.search("[А-Яа-яЁё]", shown), f"zhurnal {' '.join(path)}: {shown} is not Russian"


def test_zhurnal_data_names_the_data_folder_when_data_is_not_given(capsys, data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("ZHURNAL_DATA", str(data_dir))
    code, out, err = run_cli(capsys, "user", "list")
    assert code == 0, err
    assert "teacher01" in out
    # --data wins over the variable.
    code, _, err = run_cli(capsys, "user", "list", "--data", str(tmp_path / "elsewhere"))
    assert code == 2 and "нет базы" in err
    code, out, err = run_cli(capsys, "audit", "verify")
    assert code == 0, err


@pytest.mark.parametrize("command", [["user", "list"], ["user", "reset-password", "teacher01"],
                                     ["user", "set-roles", "teacher01", "teacher"], ["audit", "verify"]])
def test_a_mistyped_data_folder_is_refused_and_nothing_is_created(capsys, tmp_path, command):
    typo = tmp_path / "dta"
    code, out, err = run_cli(capsys, *command, "--data", str(typo))
    assert code == 2, out + err
    assert "нет базы журнала" in err and "Ошибка" in err
    assert not typo.exists()


def test_a_file_given_as_the_data_folder_is_refused_in_russian(capsys, tmp_path):
    f = tmp_path / "journal.xlsx"
    f.write_bytes(b"not a folder")
    for command in (["user", "list"], ["audit", "verify"], ["backup", "list"], ["demo"]):
        code, _, err = run_cli(capsys, *command, "--data", str(f))
        assert code == 2, command
        assert "это файл, а не папка" in err
    assert f.read_bytes() == b"not a folder"


def test_server_started_twice_on_one_port_says_so_in_russian_and_writes_nothing(tmp_path):
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_process("serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port), "--no-mdns")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"Порт {port} уже занят" in r.stderr
    assert "Traceback" not in r.stderr and "error" not in r.stderr.lower()
    assert "запущен" not in r.stdout
    assert not data.exists()


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "от 1 до 65535"),
    (["--port", "0"], "от 1 до 65535"),
    (["--host", "192.0.2.250"], "не принадлежит этому компьютеру"),  # TEST-NET-1: nobody's address
])
def test_server_refuses_a_port_or_address_it_cannot_use(capsys, tmp_path, args, message):
    data = tmp_path / "data"
    code, out, err = run_cli(capsys, "serve", "--data", str(data), "--no-mdns", *(["--port", "8000"] + args))
    assert code == 2, out + err
    assert message in err
    assert "запущен" not in out
    assert not data.exists()


def test_a_port_from_the_settings_file_is_checked_as_well(capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "zhurnal.toml").write_text("port = 123456\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "serve", "--data", str(data), "--no-mdns")
    assert code == 2 and "от 1 до 65535" in err
    assert not (data / "zhurnal.sqlite3").exists()


def test_a_listing_cut_short_by_head_ends_quietly(tmp_path):
    """`zhurnal user list | head -n 1`: no BrokenPipeError traceback when the reader goes."""
    data = tmp_path / "data"
    assert main(["user", "create", "admin", "--data", str(data), "--last-name", "Иванова", "--first-name", "Анна",
                 "--roles", "sysadmin", "--password", "dlinnyi-parol", "--school", "Школа"]) == 0
    for i in range(40):
        assert main(["user", "create", f"teacher{i:02d}", "--data", str(data), "--last-name", "Петров",
                     "--first-name", "Пётр", "--roles", "teacher", "--password", "dlinnyi-parol"]) == 0
    r = subprocess.run(f"{sys.executable} -m server.cli user list --data {data} | head -n 1",
                       shell=True, capture_output=True, text=True)
    assert r.stdout.count("\n") == 1
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
