"""A plain `pip install .` gives a working server (DESIGN.md, "Principles"), and nothing
the browser loads comes from the internet (the school may have none)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SHIPPED_FILES = [
    "server/templates/base.html",
    "server/templates/accounts/login.html",
    "server/static/zhurnal.css",
    "server/static/vendor/htmx/htmx.min.js",
    "server/migrations/0001_platform.sql",
]


def _no_wheel_builder() -> str | None:
    """Why this Python cannot build a wheel without build isolation, or None if it can."""
    probe = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import importlib.util, sys
            try:
                import setuptools
            except ImportError:
                sys.exit("setuptools is not installed")
            v = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
            if v < (70, 1) and importlib.util.find_spec("wheel") is None:
                sys.exit(f"setuptools {setuptools.__version__} needs the 'wheel' package to build wheels")
        """)],
        capture_output=True, text=True,
    )
    if probe.returncode:
        return (probe.stderr.strip().splitlines() or ["?"])[-1] + \
            " (install the test extra: pip install -e '.[test]', which brings setuptools>=70.1)"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel .` builds, from a copy of the source tree (the build writes
    build/ and *.egg-info, which must not land in the working tree)."""
    reason = _no_wheel_builder()
    if reason:
        pytest.skip(f"cannot build a wheel offline in this environment: {reason}")
    src = tmp_path_factory.mktemp("src") / "zhurnal"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", "data", "tests", "bench"))
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                        "--no-index", "-q", "-w", str(out)],
                       cwd=src, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheels = list(out.glob("zhurnal-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_ships_templates_static_files_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in SHIPPED_FILES if f not in names]
    assert not missing, f"not in the wheel: {missing}"
    # Every template and static file of the source tree is in the wheel.
    for folder in ("templates", "static"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                shipped = f"server/{folder}/{path.relative_to(REPO / folder).as_posix()}"
                assert shipped in names, f"{shipped} is not in the wheel"
    # Every module of every package is in the wheel.
    for package in ("server", "sync", "backups"):
        for module in (REPO / package).rglob("*.py"):
            assert module.relative_to(REPO).as_posix() in names, f"{module.relative_to(REPO)} is not in the wheel"


def test_the_wheel_installs_the_zhurnal_command(wheel):
    z = zipfile.ZipFile(wheel)
    entry_points = next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))
    text = z.read(entry_points).decode()
    assert "[console_scripts]" in text
    assert re.search(r"^zhurnal\s*=\s*server\.cli:main\s*$", text, re.M), text


def test_a_plain_install_of_the_wheel_serves_the_login_page_and_static_files(wheel, tmp_path):
    """Installed (not editable) into an empty folder, the app finds its templates, static
    files and migrations inside the package."""
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                        "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    script = textwrap.dedent(f"""
        import sys
        # The development venv has the source tree installed editable; its import hook
        # would quietly supply whatever the wheel lacks. Take it out: only the wheel counts.
        sys.meta_path = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "").lower()
                         and "editable" not in getattr(f, "__name__", "").lower()]
        import server
        assert server.__file__.startswith({str(target)!r}), server.__file__
        from litestar.testing import TestClient
        from server.app import create_app
        from server.config import load_settings
        app = create_app(load_settings({str(tmp_path / 'data')!r}, mdns=False))
        with TestClient(app=app) as c:
            page = c.get("/setup")
            assert page.status_code == 200, page.status_code
            assert "<html" in page.text
            for path in ("/static/zhurnal.css", "/static/vendor/htmx/htmx.min.js"):
                assert c.get(path).status_code == 200, path
        leaked = [m.__name__ for m in list(sys.modules.values())
                  if m.__name__.split(".")[0] == "server" and getattr(m, "__file__", None)
                  and not m.__file__.startswith({str(target)!r})]
        assert not leaked, f"imported from outside the installed wheel: {{leaked}}"
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert r.stdout.strip().endswith("ok")


def test_every_python_package_is_declared_in_pyproject():
    """A package missing from [tool.setuptools] packages is silently left out of a
    plain install, and the server fails to start there."""
    declared = set(PYPROJECT["tool"]["setuptools"]["packages"])
    for top in ("server", "sync", "backups"):
        for init in (REPO / top).rglob("__init__.py"):
            package = ".".join(init.parent.relative_to(REPO).parts)
            assert package in declared, f"{package} is not listed in pyproject.toml [tool.setuptools] packages"


def test_the_console_command_is_declared():
    assert PYPROJECT["project"]["scripts"]["zhurnal"] == "server.cli:main"


# --- nothing from the internet ------------------------------------------------------------------

# A reference the browser would follow: src/href/action/srcset=, CSS url(...) and @import,
# to an absolute or protocol-relative address.
_EXTERNAL_REFERENCE = re.compile(
    r"""(?:\b(?:src|href|action|srcset|poster|data)\s*=\s*["']?\s*"""
    r"""|url\(\s*["']?\s*"""
    r"""|@import\s+(?:url\(\s*)?["']?\s*)"""
    r"""(?:https?:)?//""",
    re.I,
)
# A URL in a string literal of a script or page (fetch("https://…"), new WebSocket("wss://…")).
_URL_LITERAL = re.compile(r"""["'`](?:https?|wss?):(?://|\\/\\/)(?!www\.w3\.org/)""", re.I)
_KNOWN_HOSTS = re.compile(r"//(?:cdn|unpkg\.com|cdnjs|fonts\.googleapis|fonts\.gstatic|ajax\.googleapis|"
                          r"code\.jquery|use\.fontawesome|maxcdn|stackpath)", re.I)
_SCANNED_AS_CODE = {".html", ".htm", ".js", ".mjs", ".css", ".svg", ".json", ".webmanifest", ".xml", ".txt"}


def external_references(text: str, suffix: str) -> list[str]:
    """The bits of a file that would make a browser reach beyond the school server."""
    found = [m.group(0) for m in _EXTERNAL_REFERENCE.finditer(text)]
    found += [m.group(0) for m in _KNOWN_HOSTS.finditer(text)]
    if suffix in _SCANNED_AS_CODE:
        found += [m.group(0) for m in _URL_LITERAL.finditer(text)]
    return found


def test_pages_and_static_files_load_nothing_from_the_internet():
    scanned = 0
    problems = []
    for folder in ("templates", "static"):
        for path in sorted((REPO / folder).rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")  # fonts, images: still look for URLs in them
            found = external_references(text, path.suffix.lower())
            if found:
                problems.append(f"{path.relative_to(REPO)}: {sorted(set(found))[:5]}")
            scanned += 1
    assert scanned >= 5 and (REPO / "static/vendor/htmx/htmx.min.js").is_file()
    assert not problems, "files that load something from outside the school server:\n" + "\n".join(problems)


@pytest.mark.parametrize("snippet", [
    '<script src="https://unpkg.com/htmx.org@2.0.0"></script>',
    "<link rel=stylesheet href=//cdn.example.org/x.css>",
    "body { background: url('https://example.org/bg.png') }",
    '@import url("https://fonts.googleapis.com/css?family=Roboto");',
    "@import 'http://example.org/a.css';",
    'fetch("https://api.example.org/grades")',
])
def test_the_offline_check_catches_a_page_that_reaches_the_internet(snippet):
    assert external_references(snippet, ".html")


@pytest.mark.parametrize("snippet", [
    '<link rel="stylesheet" href="/static/zhurnal.css">',
    '<a href="/classes/{{ c.id }}">',
    'document.createElementNS("http://www.w3.org/2000/svg", "svg")',
    "background: url(/static/img/logo.svg)",
    "// a comment about the API",
])
def test_the_offline_check_accepts_links_to_the_school_server_itself(snippet):
    assert not external_references(snippet, ".js")


# --- deploy/: the real-school install (deploy/install.sh is not run here: it changes the system) ---

def test_the_config_example_lists_every_setting_with_its_default(tmp_path, monkeypatch):
    from dataclasses import fields

    monkeypatch.delenv("ZHURNAL_CLOCK", raising=False)  # the suite's own clock setting
    monkeypatch.delenv("ZHURNAL_WORKERS", raising=False)  # and its one worker

    from server.config import Settings, load_settings

    example = (REPO / "deploy" / "zhurnal.toml.example").read_text(encoding="utf-8")
    # Installed as it is, every line commented: the defaults.
    data = tmp_path / "as-installed"
    data.mkdir()
    (data / "zhurnal.toml").write_text(example, encoding="utf-8")
    assert load_settings(data) == Settings(data_dir=data)
    # With every setting uncommented: still the defaults, and every setting is there.
    settings_lines = re.findall(r"^# ([a-z_]+ = .+)$", example, flags=re.M)
    named = {line.split(" = ")[0] for line in settings_lines}
    assert named == {f.name for f in fields(Settings)} - {"data_dir"}
    data = tmp_path / "uncommented"
    data.mkdir()
    (data / "zhurnal.toml").write_text("\n".join(settings_lines) + "\n", encoding="utf-8")
    assert load_settings(data) == Settings(data_dir=data)


def test_the_systemd_unit_runs_the_installed_program_on_the_installed_data_folder():
    unit = (REPO / "deploy" / "zhurnal.service").read_text(encoding="utf-8")
    install = (REPO / "deploy" / "install.sh").read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=(.+)$", unit, flags=re.M).group(1).split()
    app = re.search(r"^APP=(\S+)$", install, flags=re.M).group(1)
    data = re.search(r"^DATA=(\S+)$", install, flags=re.M).group(1)
    # The version the `current` link points at (versions/V/venv; server/appliance/update.py).
    assert exec_start == [f"{app}/current/venv/bin/zhurnal", "serve", "--data", data]
    update_unit = (REPO / "deploy" / "zhurnal-update.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=(.+)$", update_unit, flags=re.M).group(1).split() == [
        f"{app}/current/venv/bin/zhurnal", "update", "--queued", "--data", data]
    path_unit = (REPO / "deploy" / "zhurnal-update.path").read_text(encoding="utf-8")
    assert f"PathExists={data}/updates/request.json" in path_unit
    assert re.search(r"^User=zhurnal$", unit, flags=re.M)
    assert re.search(r"^USER_NAME=zhurnal$", install, flags=re.M)
    assert f"WorkingDirectory={data}" in unit


def test_the_install_script_is_plain_sh():
    for script in ("deploy/install.sh", "deploy/demo.sh", "deploy/venv.sh", "tests/run.sh", ".ci/run",
                   "deploy/bundle.sh", "deploy/kiosk-setup.sh"):
        r = subprocess.run(["sh", "-n", str(REPO / script)], capture_output=True, text=True)
        assert r.returncode == 0, (script, r.stderr)


def test_the_kiosk_autostart_and_browser_policy_files_are_usable():
    import configparser
    import json

    deploy = Path(__file__).resolve().parents[1] / "deploy"
    policy = json.loads((deploy / "kiosk-policy.json").read_text(encoding="utf-8"))
    assert policy["IncognitoModeAvailability"] == 2 and policy["DownloadRestrictions"] == 3
    assert policy["PasswordManagerEnabled"] is False
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(deploy / "zhurnal-kiosk.desktop", encoding="utf-8")
    command = entry["Desktop Entry"]["Exec"]
    assert "--kiosk" in command and "--incognito" in command and command.rstrip("'").endswith("/kiosk; sleep 2; done")


# --- the lock files (deploy/lock.sh): every install takes exact versions with checked hashes ---

def _locked(name: str) -> dict[str, tuple[str, int]]:
    """{package: (version, number of hashes)} of a lock file."""
    text = (REPO / name).read_text(encoding="utf-8")
    found = {}
    for block in re.split(r"\n(?=\S)", text):
        m = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if m:
            found[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = (m.group(2), block.count("--hash=sha256:"))
    return found


def _requirement(spec: str) -> tuple[str, str]:
    m = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([^;]*)", spec)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(3).strip()


@pytest.mark.parametrize("lock, groups", [("requirements.lock", ["dependencies"]),
                                          ("requirements-test.lock", ["dependencies", "test"])])
def test_each_lock_pins_every_dependency_with_hashes_within_the_projects_ranges(lock, groups):
    from packaging.specifiers import SpecifierSet

    locked = _locked(lock)
    specs = list(PYPROJECT["project"]["dependencies"])
    if "test" in groups:
        specs += PYPROJECT["project"]["optional-dependencies"]["test"]
    for spec in specs:
        name, wanted = _requirement(spec)
        assert name in locked, f"{name} is not in {lock}: run deploy/lock.sh"
        version, hashes = locked[name]
        assert hashes >= 1 and version in SpecifierSet(wanted), (name, version, wanted)
    # Every line is a pin with its hashes (pip --require-hashes refuses anything else).
    assert all(hashes >= 1 for _, hashes in locked.values())


def test_the_program_lock_agrees_with_the_test_lock():
    program, test = _locked("requirements.lock"), _locked("requirements-test.lock")
    assert program and all(test.get(name, (None,))[0] == v for name, (v, _) in program.items())


def test_installs_take_the_lock_with_hashes():
    venv = (REPO / "deploy" / "venv.sh").read_text(encoding="utf-8")
    install = (REPO / "deploy" / "install.sh").read_text(encoding="utf-8")
    assert "--require-hashes" in venv and 'requirements${ZH_EXTRAS:+-$ZH_EXTRAS}.lock' in venv
    assert "--require-hashes" in install and "requirements.lock" in install
