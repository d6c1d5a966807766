"""The school appliance end to end: the offline bundle is built (from a local wheelhouse, so
no network is needed here either), installed into a fresh --root with no network at all, and
served; updates are applied by the installed program and roll back program and data when a
migration fails or the new server does not answer; the kiosk is set up in a --root.

The release key is this test run's own: its public half goes into the source copy's
release-keys.txt, as the project's real key is in the repository's."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from contextlib import contextmanager

import httpx
import pytest
from conftest import PASSWORD
from packaging.requirements import Requirement

from server import __version__

REPO = Path(__file__).resolve().parents[1]
ARCH = platform.machine()
pytestmark = pytest.mark.skipif(ARCH not in ("x86_64", "aarch64") or not shutil.which("sha256sum"),
                                reason="bundles are built for x86_64 and aarch64 Linux")


def _run(cmd, timeout=600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)


def _no_network_prefix() -> list[str]:
    """`unshare -n`: a network namespace with no interface up (only where we may make one)."""
    if shutil.which("unshare") and _run(["unshare", "-n", "true"], timeout=30).returncode == 0:
        return ["unshare", "-n"]
    return []


# --- a wheelhouse from this test environment (what PyPI would give on this platform) ----------

def _closure(name: str = "zhurnal") -> list[md.Distribution]:
    """The installed distributions `name` needs, following the extras asked for on the way
    (weasyprint needs fonttools[woff], which needs brotli and zopfli): what requirements.lock holds."""
    seen, todo, found, names = set(), [(name, frozenset())], [], set()
    while todo:
        raw, extras = todo.pop()
        key = raw.lower().replace("_", "-")
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        dist = md.distribution(key)
        if key != name and key not in names:
            names.add(key)
            found.append(dist)
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((req.name, frozenset(req.extras)))
    return found


def _repack(dist: md.Distribution, out: Path) -> Path:
    """The installed distribution as the wheel it came from (its files, its WHEEL tags)."""
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    py, abi, plat = (".".join(sorted({t.split("-")[i] for t in tags})) for i in range(3))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    wheel = out / f"{name}-{dist.version}-{py}-{abi}-{plat}.whl"
    info_dir = next(str(f).split("/")[0] for f in dist.files if str(f).split("/")[0].endswith(".dist-info"))
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for f in dist.files:
            rel = str(f)
            if rel.startswith("..") or "__pycache__" in rel or rel.endswith(".pyc") or rel in (
                    f"{info_dir}/RECORD", f"{info_dir}/INSTALLER", f"{info_dir}/REQUESTED",
                    f"{info_dir}/direct_url.json"):
                continue
            data = Path(f.locate()).read_bytes()
            z.writestr(rel, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{rel},sha256={digest},{len(data)}")
        record.append(f"{info_dir}/RECORD,,")
        z.writestr(f"{info_dir}/RECORD", "\n".join(record) + "\n")
    return wheel


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    for dist in _closure():
        _repack(dist, out)
    return out


@pytest.fixture(scope="module")
def release_key(tmp_path_factory) -> tuple[Path, str]:
    from server.appliance.release import new_key

    key = tmp_path_factory.mktemp("release") / "test-release.pem"
    return key, new_key(key)


def source_copy(where: Path, key_line: str, version: str | None = None, migration: str | None = None,
                patch: tuple[str, str, str] | None = None) -> Path:
    """The repository as a release manager would build it: this run's key trusted, maybe a
    newer version with one more migration, maybe a change (file, old text, new text)."""
    src = where / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", "data", "tests", "bench",
        ".release-key"))
    keys = src / "server/appliance/release-keys.txt"
    keys.write_text(keys.read_text() + key_line + " test-run\n")
    if version:
        init = src / "server/__init__.py"
        init.write_text(re.sub(r'__version__ = "[^"]+"', f'__version__ = "{version}"', init.read_text()))
        project = src / "pyproject.toml"
        project.write_text(re.sub(r'(?m)^version = "[^"]+"', f'version = "{version}"', project.read_text()))
    if migration:
        n = len(list((src / "server/migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))) + 1
        (src / f"server/migrations/{n:04d}_appliance_test.sql").write_text(migration)
    if patch:
        path, old, new = patch
        text = (src / path).read_text()
        assert old in text, f"{old!r} not in {path}"
        (src / path).write_text(text.replace(old, new, 1))
    return src


def build_bundle(src: Path, out: Path, key: Path, wheelhouse: Path) -> Path:
    env = {**os.environ, "ZHURNAL_RELEASE_KEY": str(key), "ZHURNAL_PYTHON": sys.executable}
    r = _run(["sh", src / "deploy/bundle.sh", out, "--wheels", wheelhouse, "--arch", ARCH], env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.parent == out
    return path


def unpack(bundle: Path, where: Path) -> Path:
    with tarfile.open(bundle) as t:
        t.extractall(where, filter="data")
    return where / bundle.name.removesuffix(".tar")


@pytest.fixture(scope="module")
def bundle_v1(tmp_path_factory, release_key, wheelhouse) -> Path:
    where = tmp_path_factory.mktemp("v1")
    return build_bundle(source_copy(where, release_key[1]), where / "out", release_key[0], wheelhouse)


def install(bundle_dir: Path, root: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHURNAL_INSTALL_PYTHON": sys._base_executable,
           # Were pip to look for anything on the network, it would find nothing there.
           "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "", "http_proxy": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9"}
    return _run([*_no_network_prefix(), "sh", bundle_dir / "install.sh", "--root", root, "--no-start", *extra],
                env=env, timeout=900)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 60) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@contextmanager
def running(program: Path, data: Path):
    """The installed server on a loopback port, stopped afterwards; yields its address."""
    port = free_port()
    proc = subprocess.Popen([str(program), "serve", "--data", str(data), "--host", "127.0.0.1", "--port", str(port),
                             "--no-mdns"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        get(f"http://127.0.0.1:{port}/login")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def serve_once(program: Path, data: Path, path: str = "/setup") -> tuple[int, str]:
    with running(program, data) as base:
        return get(base + path)


# --- the bundle ---------------------------------------------------------------------------------------

def test_the_bundle_is_one_signed_file_with_every_wheel_for_the_platform(bundle_v1):
    checksum = bundle_v1.with_name(bundle_v1.name + ".sha256").read_text()
    assert checksum.split()[0] == hashlib.sha256(bundle_v1.read_bytes()).hexdigest()
    with tarfile.open(bundle_v1) as t:
        names = set(t.getnames())
    top = f"zhurnal-{__version__}"
    for name in ("install.sh", "MANIFEST.json", "SHA256SUMS", "SHA256SUMS.sig", "deploy/zhurnal.service",
                 "deploy/zhurnal-update.path", "deploy/kiosk-setup.sh", f"wheels/zhurnal-{__version__}-py3-none-any.whl"):
        assert f"{top}/{name}" in names, name
    wheels = {n.split("/")[-1].split("-")[0].lower() for n in names if n.endswith(".whl")}
    for needed in ("litestar", "uvicorn", "cryptography", "argon2_cffi_bindings", "aiosqlite", "zeroconf"):
        assert needed in wheels, needed
    manifest = json.loads(tarfile.open(bundle_v1).extractfile(f"{top}/MANIFEST.json").read())
    assert manifest["version"] == __version__ and manifest["python"] == "3.11"
    assert manifest["platforms"] == [ARCH] and manifest["schema_version"] >= 8


def test_bundle_sh_refuses_to_build_without_the_release_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ZHURNAL_RELEASE_KEY"}
    r = _run(["sh", REPO / "deploy/bundle.sh", tmp_path / "out"], env=env)
    assert r.returncode == 2 and "ключом выпуска" in r.stderr
    r = _run(["sh", REPO / "deploy/bundle.sh"], env=env)
    assert r.returncode == 2


def test_the_bundle_installs_with_no_network_into_a_fresh_root_and_serves(bundle_v1, tmp_path):
    bundle_dir = unpack(bundle_v1, tmp_path / "usb")
    root = tmp_path / "root"
    r = install(bundle_dir, root)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Подпись пакета верна, ключ выпуска" in r.stdout
    app = root / "opt/zhurnal"
    assert os.readlink(app / "current") == f"versions/{__version__}"
    for f in ("var/lib/zhurnal/zhurnal.toml", "etc/systemd/system/zhurnal.service",
              "etc/systemd/system/zhurnal-update.path", "etc/systemd/system/zhurnal-update.service",
              "usr/local/bin/zhurnal"):
        assert (root / f).is_file(), f
    unit = (root / "etc/systemd/system/zhurnal.service").read_text()
    assert "ExecStart=/opt/zhurnal/current/venv/bin/zhurnal serve --data /var/lib/zhurnal" in unit
    # The installed program is the bundle's, not this checkout's.
    python = app / "current/venv/bin/python"
    r = _run([python, "-c", "import server, server.appliance.release as r; print(server.__file__);"
                            "print(r.build_info()['version'])"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    installed = Path(r.stdout.splitlines()[0]).resolve()
    assert installed.is_relative_to(app / "versions" / __version__) and r.stdout.splitlines()[1] == __version__
    status, html = serve_once(app / "current/venv/bin/zhurnal", root / "var/lib/zhurnal")
    assert status == 200 and "<html" in html and "/static/zhurnal.css" in html


def test_a_damaged_or_forged_bundle_is_not_installed(bundle_v1, tmp_path):
    bundle_dir = unpack(bundle_v1, tmp_path / "usb")
    wheel = next((bundle_dir / "wheels").glob("[Jj]inja2-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    r = install(bundle_dir, tmp_path / "root1")
    assert r.returncode == 1 and "повреждены или изменены" in r.stderr
    assert not (tmp_path / "root1/opt/zhurnal/current").exists()
    # A forged service file, with the checksums recomputed to match: the signature no longer does.
    wheel.write_bytes(bytes(data[: len(data) // 2]) + bytes([data[len(data) // 2] ^ 0xFF]) + bytes(data[len(data) // 2 + 1:]))
    unit = bundle_dir / "deploy/zhurnal.service"
    unit.write_text(unit.read_text().replace("User=zhurnal", "User=root"))
    sums = "".join(f"{hashlib.sha256((bundle_dir / rel).read_bytes()).hexdigest()}  {rel}\n"
                   for rel in sorted(p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*")
                                     if p.is_file() and p.name not in ("SHA256SUMS", "SHA256SUMS.sig")))
    (bundle_dir / "SHA256SUMS").write_text(sums)
    r = install(bundle_dir, tmp_path / "root2")
    assert r.returncode == 1 and "подпись пакета не подтверждена" in r.stderr
    assert not (tmp_path / "root2/opt/zhurnal/current").exists()
    assert not list((tmp_path / "root2/opt/zhurnal/versions").iterdir())


def test_the_running_program_refuses_a_bundle_signed_by_a_key_it_does_not_trust(bundle_v1, capsys):
    from test_cli import run_cli

    code, out, err = run_cli(capsys, "update", "--check", str(bundle_v1))
    assert code == 2 and "неизвестным ключом" in err
    code, out, err = run_cli(capsys, "update", str(bundle_v1), "--yes")
    assert code == 2 and "не через install.sh" in err


# --- updates -------------------------------------------------------------------------------------------

def _dump_hash(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def _schema(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()


def test_updates_roll_back_program_and_data_when_a_step_fails_and_keep_the_previous_version(
        bundle_v1, release_key, wheelhouse, demo_template, tmp_path):
    key, key_line = release_key
    v = [int(p) for p in __version__.split(".")]
    version = lambda n: f"{v[0]}.{v[1]}.{v[2] + n}"  # noqa: E731
    bad_migration = build_bundle(source_copy(tmp_path / "b1", key_line, version(1),
                                             migration="CREATE TABLE appliance_ok (id INTEGER);\n"
                                                       "CREATE TABLE grade (id INTEGER);\n"),
                                 tmp_path / "b1/out", key, wheelhouse)
    dead_server = build_bundle(source_copy(tmp_path / "b2", key_line, version(2),
                                           migration="CREATE TABLE appliance_probe (id INTEGER PRIMARY KEY);\n",
                                           patch=("server/cli.py", "def serve(settings: Settings) -> int:\n",
                                                  "def serve(settings: Settings) -> int:\n    raise SystemExit(3)\n")),
                               tmp_path / "b2/out", key, wheelhouse)
    good = build_bundle(source_copy(tmp_path / "b3", key_line, version(3),
                                    migration="CREATE TABLE appliance_probe (id INTEGER PRIMARY KEY);\n"),
                        tmp_path / "b3/out", key, wheelhouse)

    root = tmp_path / "root"
    r = install(unpack(bundle_v1, tmp_path / "usb"), root)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    app, data = root / "opt/zhurnal", root / "var/lib/zhurnal"
    toml = (data / "zhurnal.toml").read_text()
    shutil.rmtree(data)
    shutil.copytree(demo_template, data)
    (data / "zhurnal.toml").write_text(toml)
    program = app / "current/venv/bin/zhurnal"
    r = _run([program, "backup", "setup", "--data", data, "--recovery-key-out", tmp_path / "recovery.txt"])
    assert r.returncode == 0, r.stderr
    db = data / "zhurnal.sqlite3"
    before, schema = _dump_hash(db), _schema(db)

    def update(bundle: Path, *extra) -> subprocess.CompletedProcess:
        return _run([app / "current/venv/bin/zhurnal", "update", bundle, "--yes", "--data", data, *extra],
                    timeout=900)

    def last() -> dict:
        return json.loads((data / "updates/state.json").read_text())["last"]

    # 1. A migration that fails: refused on the copy; nothing switched, the data as they were.
    r = update(bad_migration)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "не смогла обновить копию базы данных" in r.stderr and "grade already exists" in r.stderr
    assert os.readlink(app / "current") == f"versions/{__version__}"
    assert not (app / f"versions/{version(1)}").exists()
    assert _dump_hash(db) == before and _schema(db) == schema
    assert last()["ok"] is False and last()["to"] == version(1)
    r = _run([program, "backup", "list", "--data", data])
    assert "вручную" in r.stdout and "хранить" in r.stdout.lower()  # the backup made first, kept

    # 2. Migrations pass, the new server does not answer: program and data rolled back.
    r = update(dead_server)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "новая версия не отвечает после запуска" in r.stderr
    assert f"Прежняя версия {__version__} и данные возвращены" in r.stderr
    assert "База данных возвращена в состояние до обновления." in r.stdout
    assert os.readlink(app / "current") == f"versions/{__version__}"
    assert _dump_hash(db) == before and _schema(db) == schema
    assert not (app / f"versions/{version(2)}").exists()
    assert serve_once(app / "current/venv/bin/zhurnal", data, "/login")[0] == 200

    # 3. A good update through the sysadmin's page: checked and queued by the server, carried
    # out by `zhurnal update --queued` (zhurnal-update.service, started by systemd's path unit).
    with running(app / "current/venv/bin/zhurnal", data) as base:
        with httpx.Client(base_url=base, follow_redirects=False) as web:
            token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text).group(1)
            assert web.post("/login", data={"login": "sysadmin", "password": PASSWORD,
                                            "csrf_token": token}).status_code == 303
            page = web.get("/admin/update").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            assert f'<dd id="version">{__version__}</dd>' in page and "не удалось" in page
            r = web.post("/admin/update", data={"csrf_token": csrf},
                         files={"bundle": ("forged.tar", b"not a tar", "application/x-tar")})
            assert r.status_code == 409 and "не является пакетом обновления" in r.text
            with open(good, "rb") as f:
                r = web.post("/admin/update", data={"csrf_token": csrf},
                             files={"bundle": (good.name, f, "application/x-tar")})
            assert r.status_code == 303, r.text[-2000:]
            assert "ждёт запуска обновления" in web.get("/admin/update").text
    assert json.loads((data / "updates/request.json").read_text())["version"] == version(3)
    at_update = _dump_hash(db)  # with the sysadmin's login on the page
    r = _run([app / "current/venv/bin/zhurnal", "update", "--queued", "--data", data], timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (data / "updates/request.json").exists() and not list((data / "updates/incoming").iterdir())
    assert os.readlink(app / "current") == f"versions/{version(3)}"
    assert os.readlink(app / "previous") == f"versions/{__version__}"
    assert _schema(db) == schema + 1 and last()["ok"] is True and last()["by"] == "sysadmin"
    assert sorted(p.name for p in (app / "versions").iterdir()) == sorted([__version__, version(3)])
    r = _run([app / "current/venv/bin/zhurnal", "doctor", "--data", data])
    assert f"Последнее обновление: {__version__} → {version(3)}" in r.stdout
    with running(app / "current/venv/bin/zhurnal", data) as base:
        with httpx.Client(base_url=base, follow_redirects=False) as web:
            token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text).group(1)
            web.post("/login", data={"login": "sysadmin", "password": PASSWORD, "csrf_token": token})
            page = web.get("/admin/update").text
            assert f'<dd id="version">{version(3)}</dd>' in page and "выполнено" in page

    # 4. The same or an older bundle is refused: nothing changes.
    r = update(good)
    assert r.returncode == 2 and "уже установлена" in r.stderr

    # 5. Back by hand: the previous version and the database as it was before the update.
    r = _run([app / "current/venv/bin/zhurnal", "update", "--rollback", "--yes", "--data", data], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.readlink(app / "current") == f"versions/{__version__}"
    assert os.readlink(app / "previous") == f"versions/{version(3)}"
    assert _dump_hash(db) == at_update and _schema(db) == schema
    assert (data / f"updates/after-{version(3)}.sqlite3").exists()  # today's database kept aside

    # 6. A database newer than the program in the bundle is refused.
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_version(version, name, applied_at) VALUES (99, 'future', '2027-01-01')")
    conn.commit()
    conn.close()
    r = update(bad_migration)
    assert r.returncode == 2 and "База данных новее программы из пакета" in r.stderr
    assert os.readlink(app / "current") == f"versions/{__version__}"


# --- the kiosk ----------------------------------------------------------------------------------------

def test_the_kiosk_setup_writes_autologin_browser_loop_policy_and_no_blanking(tmp_path):
    root = tmp_path / "kiosk"
    r = _run(["sh", REPO / "deploy/kiosk-setup.sh", "--root", root, "--url", "http://192.168.1.10:8000/kiosk"])
    assert r.returncode == 0, r.stderr
    getty = (root / "etc/systemd/system/getty@tty1.service.d/zhurnal-kiosk.conf").read_text()
    assert "--autologin kiosk" in getty
    assert "startx" in (root / "home/kiosk/.profile").read_text()
    xinitrc = (root / "home/kiosk/.xinitrc").read_text()
    assert "xset s off" in xinitrc and "xset -dpms" in xinitrc and "exec /usr/local/bin/zhurnal-kiosk" in xinitrc
    launcher = root / "usr/local/bin/zhurnal-kiosk"
    text = launcher.read_text()
    assert "--kiosk" in text and "--incognito" in text and "http://192.168.1.10:8000/kiosk" in text
    policy = json.loads((root / "etc/chromium/policies/managed/zhurnal-kiosk.json").read_text())
    assert policy == json.loads((REPO / "deploy/kiosk-policy.json").read_text())
    assert "pkill -u kiosk" in (root / "etc/cron.d/zhurnal-kiosk").read_text()
    # The launcher opens the browser again when it crashes.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "chromium").write_text(f'#!/bin/sh\necho "$@" >>{calls}\nexit 1\n')
    (bin_dir / "chromium").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    proc = subprocess.Popen(["sh", str(launcher)], env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not calls.exists() or len(calls.read_text().splitlines()) < 2):
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = calls.read_text().splitlines()
    assert len(lines) >= 2 and all(line.endswith("http://192.168.1.10:8000/kiosk") for line in lines)


def test_the_kiosk_setup_refuses_a_wrong_address(tmp_path):
    r = _run(["sh", REPO / "deploy/kiosk-setup.sh", "--root", tmp_path, "--url", "http://zhurnal.local:8000/"])
    assert r.returncode == 2 and "/kiosk" in r.stderr
