"""HTTPS on the LAN: `zhurnal tls setup` makes a school CA (valid only for the LAN) and a server
certificate; `zhurnal serve` then answers HTTPS, and plain HTTP redirects there except for the
page with the CA and the addresses the school keeps on HTTP (the hall kiosk). The update page's
refusals are here too (the full update path is in tests/test_appliance.py)."""

from __future__ import annotations

import ipaddress
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from conftest import login, make_client, session_csrf
from cryptography import x509
from test_cli import REPO, free_port, run_cli


def _setup(capsys, data_dir) -> str:
    code, out, err = run_cli(capsys, "tls", "setup", "--data", str(data_dir))
    assert code == 0, err
    return out


def test_tls_setup_makes_a_lan_only_school_ca_and_a_server_certificate(capsys, data_dir):
    out = _setup(capsys, data_dir)
    assert "Создан сертификат школы" in out and "Отпечаток SHA-256" in out
    tls = data_dir / "tls"
    assert oct((tls / "ca.key").stat().st_mode & 0o777) == "0o600"
    assert oct((tls / "server.key").stat().st_mode & 0o777) == "0o600"
    ca = x509.load_pem_x509_certificate((tls / "ca.crt").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    permitted = constraints.value.permitted_subtrees
    assert x509.DNSName("local") in permitted
    assert x509.IPAddress(ipaddress.ip_network("192.168.0.0/16")) in permitted
    assert not any(isinstance(n, x509.DNSName) and n.value in ("", "com", "ru") for n in permitted)
    server = x509.load_pem_x509_certificate((tls / "server.crt").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "zhurnal.local" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert server.issuer == ca.subject
    # Run again (the address changed): the same CA, a new server certificate.
    fingerprint = (tls / "ca.crt").read_bytes()
    out = _setup(capsys, data_dir)
    assert "оставлен прежним" in out and (tls / "ca.crt").read_bytes() == fingerprint
    assert x509.load_pem_x509_certificate((tls / "server.crt").read_bytes()).serial_number != server.serial_number


def test_the_tls_page_offers_the_school_ca_to_phones(capsys, data_dir):
    with make_client(data_dir) as c:
        r = c.get("/tls")
        assert r.status_code == 200 and "HTTPS не настроен" in r.text
        assert c.get("/tls/ca.crt").status_code == 404
    _setup(capsys, data_dir)
    with make_client(data_dir) as c:
        r = c.get("/tls")  # no login: a phone fetches it before it trusts anything
        assert r.status_code == 200
        assert "Скачать сертификат школы" in r.text and "Android" in r.text and "iPhone" in r.text
        cert = c.get("/tls/ca.crt")
        assert cert.status_code == 200 and cert.headers["content-type"].startswith("application/x-x509-ca-cert")
        assert cert.content == (data_dir / "tls/ca.crt").read_bytes()
        ca = x509.load_pem_x509_certificate(cert.content)
        assert ca.fingerprint(__import__("cryptography.hazmat.primitives.hashes",
                                         fromlist=["SHA256"]).SHA256()).hex(":").upper() in r.text
        # The health page reports HTTPS as set up.
        login(c, "sysadmin")
        assert "сертификат сервера до" in c.get("/admin/health").text


def _fetch(url: str, context: ssl.SSLContext | None = None) -> tuple[int, dict, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    handlers = [NoRedirect]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    try:
        with urllib.request.build_opener(*handlers).open(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


@pytest.mark.parametrize("allow", ["", "127.0.0.1"])
def test_serve_answers_https_with_the_school_ca_and_http_redirects_except_the_ca_page(capsys, data_dir, allow):
    _setup(capsys, data_dir)
    port, https_port = free_port(), free_port()
    env = {**os.environ, "ZHURNAL_HTTPS_PORT": str(https_port), "ZHURNAL_TLS_HTTP_ALLOW": allow}
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--data", str(data_dir), "--host",
                             "127.0.0.1", "--port", str(port), "--no-mdns"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        trusting = ssl.create_default_context(cafile=str(data_dir / "tls/ca.crt"))  # a phone that installed it
        import time

        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = _fetch(f"https://127.0.0.1:{https_port}/login", trusting)
                # The HTTP side starts a moment after HTTPS (after the app's start-up): wait for it too.
                _fetch(f"http://127.0.0.1:{port}/tls")
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert status == 200 and "<form" in body
        status, headers, _ = _fetch(f"http://127.0.0.1:{port}/login?next=/diary")
        if allow:  # the kiosk's address keeps plain HTTP
            assert status == 200
        else:
            assert status == 307
            assert headers["location"] == f"https://127.0.0.1:{https_port}/login?next=/diary"
        status, _, body = _fetch(f"http://127.0.0.1:{port}/tls")
        assert status == 200 and "Скачать сертификат школы" in body
        # A browser that does not trust the school's CA is warned (the certificate is not public).
        with pytest.raises(urllib.error.URLError):
            _fetch(f"https://127.0.0.1:{https_port}/login", ssl.create_default_context())
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "https://" in out and "Электронный журнал запущен" in out


def test_serve_refuses_unusable_certificates_with_exit_2(capsys, data_dir):
    _setup(capsys, data_dir)
    (data_dir / "tls/server.key").write_text("испорчен")
    code, out, err = run_cli(capsys, "serve", "--data", str(data_dir), "--host", "127.0.0.1",
                             "--port", str(free_port()), "--no-mdns")
    assert code == 2 and "Сертификат сервера" in err and "zhurnal tls setup" in err


# --- the update page (in a development checkout) ----------------------------------------------------

def test_the_update_page_is_the_sysadmins_and_refuses_without_an_installed_layout(client, data_dir):
    login(client, "sysadmin")
    r = client.get("/admin/update")
    assert r.status_code == 200 and "установлена не через" in r.text
    r = client.post("/admin/update", data={"csrf_token": session_csrf(client)})
    assert r.status_code == 409 and "Выберите файл пакета" in r.text
    r = client.post("/admin/update", data={"csrf_token": session_csrf(client)},
                    files={"bundle": ("zhurnal-9.9.9.tar", b"x" * 100, "application/x-tar")})
    assert r.status_code == 409 and "не через install.sh" in r.text
    assert not (data_dir / "updates/request.json").exists()
    # The last update's story is shown, whatever it was.
    (data_dir / "updates").mkdir(exist_ok=True)
    (data_dir / "updates/state.json").write_text(
        '{"last": {"from": "0.1.0", "to": "0.1.1", "state": "failed", "ok": false, "error": "новая версия не '
        'отвечает", "started_at": "2026-11-18T10:00:00Z", "finished_at": "2026-11-18T10:02:00Z", "steps": '
        '[{"at": "2026-11-18T10:00:00Z", "text": "Пакет 0.1.1 проверен."}]}, "history": []}', encoding="utf-8")
    r = client.get("/admin/update")
    assert "не удалось" in r.text and "новая версия не отвечает" in r.text and "Пакет 0.1.1 проверен." in r.text
    assert client.get("/admin/update/status").status_code == 200
    login_page = client.get("/admin/health").text
    assert "Обновление до 0.1.1 не удалось" in login_page
