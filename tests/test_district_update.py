"""Updates through the district: the district offers a signed bundle, a school's sync round
fetches and checks it, the sysadmin sees «Район предлагает версию X» and queues it.

Real PostgreSQL (test_sync's throwaway cluster), the district served by `zhurnal district
serve` over real HTTP, the school's round over real HTTP to it, the school's pages through the
app's test client. The bundles are small but real in form (MANIFEST.json, SHA256SUMS and its
Ed25519 signature, one tar), signed by this run's release key, which the program here is made
to trust (its release-keys.txt swapped for one with the key added) — the building of real
bundles is test_appliance's."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import platform
import re
import sqlite3
import sys
import tarfile
import urllib.request
from pathlib import Path

import httpx
import pytest
from conftest import login, make_client, session_csrf
from test_cli import run_cli
from test_sync import district, pg, server, set_up_school  # noqa: F401 (fixtures)

from district import store
from district import updates as offers
from server import __version__
from server.appliance import release
from server.appliance import update as updates
from sync import school

major, minor, patch = (int(p) for p in __version__.split("."))
NEWER = f"{major}.{minor}.{patch + 1}"
NEWEST = f"{major}.{minor}.{patch + 2}"


@pytest.fixture
def release_key(tmp_path, monkeypatch):
    """This run's release key, trusted by the program in this process (the district's CLI
    and the school's round and pages all run here)."""
    key_path = tmp_path / "release.pem"
    line = release.new_key(key_path)
    keys = tmp_path / "release-keys.txt"
    keys.write_text(release.KEYS_FILE.read_text() + line + " test-run\n")
    monkeypatch.setattr(release, "KEYS_FILE", keys)
    return release.load_private_key(key_path)


def schema_of(data_dir: Path) -> int:
    conn = sqlite3.connect(data_dir / "zhurnal.sqlite3")
    try:
        return conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()


def make_bundle(where: Path, key, version: str, schema_version: int) -> Path:
    """A bundle as deploy/bundle.sh lays it out, signed by `key`; > 1 MiB (two pieces at the district)."""
    top = where / f"zhurnal-{version}"
    (top / "wheels").mkdir(parents=True)
    (top / "wheels" / f"zhurnal-{version}-py3-none-any.whl").write_bytes(os.urandom(1_500_000))
    (top / "install.sh").write_text("#!/bin/sh\necho test\n")
    manifest = {"format": release.FORMAT, "name": "zhurnal", "version": version, "schema_version": schema_version,
                "python": f"{sys.version_info[0]}.{sys.version_info[1]}", "platforms": [platform.machine()],
                "missing": {}, "built_at": "2026-12-01T10:00:00+00:00", "commit": "test"}
    (top / release.MANIFEST).write_text(json.dumps(manifest))
    sums = "".join(f"{hashlib.sha256((top / n).read_bytes()).hexdigest()}  {n}\n" for n in release._listing(top))
    (top / release.SUMS).write_text(sums)
    (top / release.SIGNATURE).write_text(json.dumps({"key_id": release.key_id(key.public_key()),
                                                    "signature": base64.b64encode(key.sign(sums.encode())).decode()}))
    out = where / f"zhurnal-{version}.tar"
    with tarfile.open(out, "w") as t:
        t.add(top, arcname=top.name)
    return out


def offer(capsys, url: str, bundle: Path) -> tuple[int, str, str]:
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        return run_cli(capsys, "district", "offer-update", "--database", url, str(bundle))
    finally:
        # main()'s logging.basicConfig would leave a handler on this test's captured stderr.
        root.handlers[:] = handlers


def current_offer(url: str):
    with store.connect(url) as conn:
        return offers.current(conn)


def offered_state(data_dir: Path) -> dict:
    path = data_dir / "updates" / "district.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_an_offered_bundle_is_fetched_in_a_sync_round_shown_to_the_sysadmin_and_queued(
        data_dir, district, server, release_key, tmp_path, capsys, monkeypatch):
    url = district[0]
    base = f"http://127.0.0.1:{server.port}"
    settings = set_up_school(data_dir, district, base)
    bundle = make_bundle(tmp_path / "b", release_key, NEWER, schema_of(data_dir))

    # The district admin offers it; a bad file or a stranger's bundle is refused and changes nothing.
    code, out, err = offer(capsys, url, bundle)
    assert code == 0, err
    assert f"Школам предложена версия {NEWER}" in out
    first = current_offer(url)
    assert first["version"] == NEWER and first["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar at all")
    code, out, err = offer(capsys, url, garbage)
    assert code == 2 and "не является пакетом обновления" in err
    stranger = make_bundle(tmp_path / "s", release.Ed25519PrivateKey.generate(), NEWEST, schema_of(data_dir))
    code, out, err = offer(capsys, url, stranger)
    assert code == 2 and "неизвестным ключом" in err
    code, out, err = offer(capsys, url, tmp_path / "nothing.tar")
    assert code == 2 and "нет" in err
    assert current_offer(url) == first

    # The district's dashboard names the offered version.
    with store.connect(url) as conn, conn.transaction():
        from server.accounts.passwords import hash_password

        store.create_account(conn, "rono", "Иванова Мария Петровна", "admin", hash_password("rayon-parol"))
    with httpx.Client(base_url=base) as web:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").text).group(1)
        web.post("/login", data={"login": "rono", "password": "rayon-parol", "csrf_token": csrf})
        home = web.get("/").text
        assert "Школам предлагается обновление: версия" in home and NEWER in home
        # The endpoints are the schools': a district user's session is not a school's signature.
        assert web.get("/api/v1/sync/update").status_code == 403

    # The metadata endpoint, as a school asks it (signed with the school's key).
    cfg = school.config(data_dir)
    with urllib.request.urlopen(base + "/api/v1/sync/update?" + school._signed_query(data_dir, cfg, "update")) as r:
        meta = json.loads(r.read())["offer"]
    assert meta["version"] == NEWER and meta["size"] == bundle.stat().st_size
    assert meta["schema_version"] == schema_of(data_dir) and meta["sha256"] == first["sha256"]
    forged = school._signed_query(data_dir, cfg, "mark")  # signed for another purpose
    assert httpx.get(base + "/api/v1/sync/update?" + forged).status_code == 403

    # Before the school has it, the sysadmin's page offers nothing.
    with make_client(data_dir) as client:
        login(client, "sysadmin")
        assert "Район предлагает" not in client.get("/admin/update").text

    # A sync round fetches it (one request more than the mark) and checks it; the next one does not again.
    r = school.run_round(settings)
    assert r.complete and r.traffic.received > bundle.stat().st_size
    st = offered_state(data_dir)
    assert st["state"] == "ready" and st["version"] == NEWER
    kept = data_dir / "updates" / "district" / f"zhurnal-{NEWER}.tar"
    assert kept.read_bytes() == bundle.read_bytes()
    again = school.run_round(settings)
    assert again.traffic.requests == 1 and again.traffic.received < 2000

    # The sysadmin sees it and queues it, exactly as an uploaded bundle; nobody else can.
    monkeypatch.setattr(updates, "app_root", lambda: tmp_path / "opt-zhurnal")
    with make_client(data_dir) as client:
        for who in ("deputy", "director", "teacher01"):
            client.cookies.clear()
            login(client, who)
            assert client.post("/admin/update/district", data={"csrf_token": session_csrf(client)}).status_code == 403
            assert not (data_dir / "updates" / "request.json").exists()
        client.cookies.clear()
        login(client, "sysadmin")
        page = client.get("/admin/update").text
        assert f"Район предлагает версию {NEWER}" in page and f"Установить версию {NEWER}" in page
        assert release.fingerprint(release.key_id(release_key.public_key())) in page
        assert f"Район предлагает версию {NEWER}: пакет скачан и проверен" in client.get("/admin/health").text
        assert client.post("/admin/update/district", data={}).status_code == 403  # no CSRF token
        assert not (data_dir / "updates" / "request.json").exists()
        r = client.post("/admin/update/district", data={"csrf_token": session_csrf(client)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/update?done=queued"
        request = json.loads((data_dir / "updates" / "request.json").read_text())
        assert request["version"] == NEWER and request["by"] == "sysadmin"
        queued = data_dir / "updates" / "incoming" / request["bundle"]
        assert queued.read_bytes() == bundle.read_bytes()
        assert "ждёт запуска обновления" in client.get("/admin/update").text
        # Once queued, a second press is refused as for an upload.
        r = client.post("/admin/update/district", data={"csrf_token": session_csrf(client)})
        assert r.status_code == 409 and "уже ждёт запуска" in r.text

    # Once that version runs, the next round drops the fetched file and the page offers nothing.
    from sync import offer as school_offer

    monkeypatch.setattr(school_offer, "__version__", NEWER)
    assert school.run_round(settings).traffic.requests == 1
    assert not kept.exists() and school_offer.ready(settings) is None


def test_a_bundle_tampered_with_at_the_district_is_not_offered_to_the_sysadmin(
        data_dir, district, server, release_key, tmp_path, capsys, caplog):
    url = district[0]
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    schema = schema_of(data_dir)

    # 1. The bytes changed in the district's store, the announced checksum left as it was.
    assert offer(capsys, url, make_bundle(tmp_path / "a", release_key, NEWER, schema))[0] == 0
    with store.connect(url) as conn, conn.transaction():
        conn.execute("UPDATE update_offer_piece SET data = overlay(data placing '\\xff'::bytea from 700000 for 1)"
                     " WHERE n = 0")
    with caplog.at_level(logging.INFO, logger="zhurnal.sync"):
        assert school.run_round(settings).complete
    st = offered_state(data_dir)
    assert st["state"] == "refused" and st["version"] == NEWER and "не совпадает с его описанием" in st["reason"]
    assert f"Обновление {NEWER} от района отклонено" in caplog.text
    assert not list((data_dir / "updates" / "district").glob("*.tar"))
    # At most once per version: the next round does not download it again.
    assert school.run_round(settings).traffic.requests == 1

    # 2. The bytes and the announced checksum both changed: the release signature tells.
    assert offer(capsys, url, make_bundle(tmp_path / "b", release_key, NEWEST, schema))[0] == 0
    with store.connect(url) as conn, conn.transaction():
        conn.execute("UPDATE update_offer_piece SET data = overlay(data placing '\\xff'::bytea from 700000 for 1)"
                     " WHERE n = 0")
        data = b"".join(bytes(r[0]) for r in conn.execute("SELECT data FROM update_offer_piece ORDER BY n"))
        conn.execute("UPDATE update_offer SET sha256 = %s", (hashlib.sha256(data).hexdigest(),))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="zhurnal.sync"):
        assert school.run_round(settings).complete
    st = offered_state(data_dir)
    assert st["state"] == "refused" and st["version"] == NEWEST and "повреждён" in st["reason"]
    assert f"Обновление {NEWEST} от района отклонено" in caplog.text
    assert not list((data_dir / "updates" / "district").glob("*.tar"))

    with make_client(data_dir) as client:
        login(client, "sysadmin")
        assert "Район предлагает" not in client.get("/admin/update").text
        r = client.post("/admin/update/district", data={"csrf_token": session_csrf(client)})
        assert r.status_code == 409 and not (data_dir / "updates" / "request.json").exists()


def test_an_older_or_the_same_version_is_not_fetched_nor_offered(
        data_dir, district, server, release_key, tmp_path, capsys, caplog):
    url = district[0]
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete  # the school's data is at the district already
    older = "0.0.1" if release.version_key("0.0.1") < release.version_key(__version__) else None
    for version in filter(None, (older, __version__)):
        assert offer(capsys, url, make_bundle(tmp_path / version, release_key, version, schema_of(data_dir)))[0] == 0
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="zhurnal.sync"):
            r = school.run_round(settings)
        assert r.complete and r.traffic.requests == 1  # the mark only: nothing downloaded
        assert f"Район предлагает версию {version}, она не новее установленной" in caplog.text
        assert offered_state(data_dir)["state"] == "older"
        assert not (data_dir / "updates" / "district").exists() or not list(
            (data_dir / "updates" / "district").glob("*.tar"))
    with make_client(data_dir) as client:
        login(client, "sysadmin")
        assert "Район предлагает" not in client.get("/admin/update").text


def test_a_district_that_offers_nothing_keeps_the_round_one_small_request(data_dir, district, server):
    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete
    with store.connect(district[0]) as conn:
        assert offers.current(conn) is None
    r = school.run_round(settings)
    assert r.traffic.requests == 1 and r.traffic.received < 2000
    assert offered_state(data_dir) == {}
    # The mark's answer has no `update` then (an older school ignores it anyway).
    query = school._signed_query(data_dir, school.config(data_dir))
    answer = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/sync/mark?{query}").json()
    assert "update" not in answer and answer["epoch"] == 1


def test_a_download_cut_short_goes_on_from_where_it_stopped(
        data_dir, district, server, release_key, tmp_path, capsys, monkeypatch, caplog):
    from sync import offer as school_offer

    settings = set_up_school(data_dir, district, f"http://127.0.0.1:{server.port}")
    assert school.run_round(settings).complete
    bundle = make_bundle(tmp_path / "b", release_key, NEWER, schema_of(data_dir))
    assert offer(capsys, district[0], bundle)[0] == 0
    real = school_offer.http_fetch

    class CutAfter:
        """The connection drops after `n` bytes of the bundle."""

        def __init__(self, out, n):
            self.out, self.n = out, n

        def write(self, data):
            if self.n <= 0:
                raise ConnectionResetError("cut")
            data = data[:self.n]
            self.n -= len(data)
            self.out.write(data)

        def restart(self):
            self.out.restart()

    def cutting(url, opener, timeout, traffic):
        inner = real(url, opener, timeout, traffic)
        return lambda meta, out, start=0: inner(meta, CutAfter(out, 1_200_000), start)

    monkeypatch.setattr(school_offer, "http_fetch", cutting)
    with caplog.at_level(logging.INFO, logger="zhurnal.sync"):
        assert school.run_round(settings).complete  # the round itself succeeded
    assert "связь прервалась при скачивании обновления" in caplog.text
    folder = data_dir / "updates" / "district"
    partial = list(folder.glob(".partial-*.tar"))
    assert len(partial) == 1 and partial[0].stat().st_size == 1_200_000
    assert school_offer.ready(settings) is None and offered_state(data_dir) == {}

    monkeypatch.setattr(school_offer, "http_fetch", real)
    r = school.run_round(settings)
    size = bundle.stat().st_size
    assert size - 1_200_000 <= r.traffic.received < size - 1_100_000  # only the rest came
    assert (folder / f"zhurnal-{NEWER}.tar").read_bytes() == bundle.read_bytes()
    assert not list(folder.glob(".partial-*.tar")) and school_offer.ready(settings)["version"] == NEWER
