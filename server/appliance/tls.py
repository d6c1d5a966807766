"""Optional HTTPS on the school's LAN: a school certificate authority and a server certificate.

`zhurnal tls setup` makes, in `DATA/tls/`:
- `ca.crt`, `ca.key` — the school's own CA (10 years). People install `ca.crt` on their
  phones and computers once (the page /tls explains how). Its name constraints allow it to
  vouch only for `.local` names, this machine's host name and private (LAN) addresses, so
  even a stolen school CA key cannot impersonate a bank or any site on the internet;
- `server.crt`, `server.key` — the server's certificate for `zhurnal.local` (mdns_hostname),
  the host name and the machine's current LAN addresses (825 days, what iOS accepts).
Run again when the server's address changes: the CA stays (phones keep trusting it), a new
server certificate is issued.

`zhurnal serve` then serves HTTPS on `https_port` and keeps plain HTTP on `port`: it
redirects to HTTPS (`tls_http = "redirect"`) except for the page with the CA certificate and
for the addresses in `tls_http_allow` (the hall kiosk), or works as before (`"all"`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .. import clock
from ..config import Settings
from ..errors import UserError
from ..fsutil import write_atomic

CA_DAYS = 3650
CA_NAME = "Журнал — ЦС школы"  # what a phone shows in its list of trusted certificates
SERVER_DAYS = 825
RENEW_BEFORE = timedelta(days=30)
# The CA may vouch for these only (RFC 5280 name constraints).
LAN_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                "100.64.0.0/10", "fc00::/7", "fe80::/10", "::1/128"]
# Over plain HTTP these always answer (a phone fetches the CA before it trusts HTTPS).
HTTP_ALWAYS = ("/tls", "/static/")


class TlsError(UserError):
    pass


def tls_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "tls"


def paths(settings: Settings) -> dict[str, Path]:
    d = tls_dir(settings)
    return {"ca_crt": d / "ca.crt", "ca_key": d / "ca.key", "crt": d / "server.crt", "key": d / "server.key"}


def is_set_up(settings: Settings) -> bool:
    return all(p.exists() for p in paths(settings).values())


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def ca_certificate_pem(settings: Settings) -> bytes:
    return paths(settings)["ca_crt"].read_bytes()


def sha256_fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _write_key(path: Path, key) -> None:
    write_atomic(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()), mode=0o600)


def server_names(settings: Settings) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the server certificate covers."""
    from ..netinfo import lan_ipv4_addresses

    host = socket.gethostname().split(".")[0].lower()
    dns = [f"{settings.mdns_hostname}.local", "localhost"]
    for name in (host, f"{host}.local"):
        if name and name not in dns:
            dns.append(name)
    ips = ["127.0.0.1"]
    if settings.host not in ("0.0.0.0", "", "::"):
        ips.append(settings.host)
    ips += [ip for ip in lan_ipv4_addresses() if ip not in ips]
    return dns, ips


def _school_name(settings: Settings) -> str:
    import sqlite3

    try:
        from .. import collation

        conn = collation.register(sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True))
        try:
            row = conn.execute("SELECT name FROM school LIMIT 1").fetchone()
        finally:
            conn.close()
        return (row[0] if row else "") or "Школа"
    except sqlite3.Error:
        return "Школа"


def _cut(text: str, limit: int = 64) -> str:
    """X.509 names are limited in bytes of UTF-8 (a Russian letter is two)."""
    return text.encode()[:limit].decode(errors="ignore").strip() or "Журнал"


def _make_ca(settings: Settings, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname().split(".")[0].lower()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, _cut(_school_name(settings))),
        x509.NameAttribute(NameOID.COMMON_NAME, _cut(f"{CA_NAME} ({host})")),
    ])
    permitted = [x509.DNSName("local"), x509.DNSName("localhost")]
    if host and host != "localhost":
        permitted.append(x509.DNSName(host))
    networks = [ipaddress.ip_network(n) for n in LAN_NETWORKS]
    # A school whose LAN uses other addresses: this machine's own /24 too.
    from ..netinfo import lan_ipv4_addresses

    for ip in lan_ipv4_addresses():
        if not any(ipaddress.ip_address(ip) in n for n in networks):
            networks.append(ipaddress.ip_network(f"{ip}/24", strict=False))
    permitted += [x509.IPAddress(n) for n in networks]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def setup(settings: Settings) -> dict:
    """Make the CA (once) and a new server certificate; returns what was done."""
    p = paths(settings)
    d = tls_dir(settings)
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = clock.now()
    made_ca = False
    if p["ca_crt"].exists() and p["ca_key"].exists():
        try:
            ca = _load_cert(p["ca_crt"])
            ca_key = serialization.load_pem_private_key(p["ca_key"].read_bytes(), password=None)
        except (OSError, ValueError) as e:
            raise TlsError(f"Сертификат школы в {d} повреждён ({e}). Удалите папку {d} и выполните "
                           "zhurnal tls setup заново (тогда сертификат школы придётся установить на "
                           "телефоны ещё раз).") from None
        if ca.not_valid_after_utc - now < RENEW_BEFORE:
            raise TlsError(f"Срок сертификата школы заканчивается {ca.not_valid_after_utc:%d.%m.%Y}. Удалите папку "
                           f"{d} и выполните zhurnal tls setup заново.")
    else:
        ca, ca_key = _make_ca(settings, now)
        _write_key(p["ca_key"], ca_key)
        write_atomic(p["ca_crt"], ca.public_bytes(serialization.Encoding.PEM), mode=0o644)
        made_ca = True
    dns, ips = server_names(settings)
    # Only what the school's CA may vouch for: a browser refuses the whole certificate otherwise.
    allowed = ca.extensions.get_extension_for_class(x509.NameConstraints).value.permitted_subtrees or []
    nets = [n.value for n in allowed if isinstance(n, x509.IPAddress)]
    outside = [ip for ip in ips if not any(ipaddress.ip_address(ip) in n for n in nets)]
    ips = [ip for ip in ips if ip not in outside]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns]
                                                   + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(p["key"], key)
    write_atomic(p["crt"], cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM),
                 mode=0o644)
    return {"made_ca": made_ca, "dns": dns, "ips": ips, "outside": outside, "ca_fingerprint": sha256_fingerprint(ca),
            "until": cert.not_valid_after_utc, "dir": d}


def info(settings: Settings) -> dict | None:
    """What the page and the checks show; None when HTTPS is not set up."""
    if not is_set_up(settings):
        return None
    p = paths(settings)
    ca, cert = _load_cert(p["ca_crt"]), _load_cert(p["crt"])
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns, ips = san.get_values_for_type(x509.DNSName), [str(i) for i in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    return {"ca_fingerprint": sha256_fingerprint(ca), "ca_until": ca.not_valid_after_utc,
            "until": cert.not_valid_after_utc, "dns": dns, "ips": ips}


def https_urls(settings: Settings) -> list[str]:
    from ..netinfo import lan_ipv4_addresses

    port = "" if settings.https_port == 443 else f":{settings.https_port}"
    urls = [f"https://{settings.mdns_hostname}.local{port}"] if settings.mdns else []
    return urls + [f"https://{ip}{port}" for ip in lan_ipv4_addresses()]


def health(settings: Settings):
    from ..health import INFO, OK, WARN, Check
    from ..netinfo import lan_ipv4_addresses

    try:
        found = info(settings)
    except (OSError, ValueError) as e:
        return Check("tls", "HTTPS", WARN, "сертификаты повреждены", [f"{e}. Выполните zhurnal tls setup."])
    if found is None:
        return Check("tls", "HTTPS", INFO, "не настроен (работает только HTTP)")
    left = found["until"] - clock.now()
    summary = f"сертификат сервера до {found['until']:%d.%m.%Y}"
    details = []
    status = OK
    if left < RENEW_BEFORE:
        status = WARN
        details.append("Сертификат сервера скоро истечёт: выполните sudo zhurnal tls setup и перезапустите сервер.")
    missing = [ip for ip in lan_ipv4_addresses() if ip not in found["ips"]]
    if missing:
        status = WARN
        details.append(f"Адрес сервера {', '.join(missing)} не записан в сертификат (адрес изменился): выполните "
                       "sudo zhurnal tls setup и перезапустите сервер.")
    return Check("tls", "HTTPS", status, summary, details)


# --- serving -----------------------------------------------------------------------------------

def _allowed(settings: Settings) -> set[str]:
    return {a.strip() for a in settings.tls_http_allow.split(",") if a.strip()}


class HttpSide:
    """The plain-HTTP side once HTTPS is on: redirect to HTTPS, except what must stay HTTP."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.settings = settings
        self.allowed = _allowed(settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.settings.tls_http == "all" or self._keeps_http(scope):
            return await self.app(scope, receive, send)
        host = "zhurnal.local"
        for name, value in scope.get("headers") or []:
            if name == b"host":
                host = value.decode("latin-1")
        if host.startswith("["):
            host = host[: host.index("]") + 1]
        else:
            host = host.rsplit(":", 1)[0]
        port = "" if self.settings.https_port == 443 else f":{self.settings.https_port}"
        query = scope.get("query_string") or b""
        location = f"https://{host}{port}{scope.get('path', '/')}" + (("?" + query.decode("latin-1")) if query else "")
        # 307 for GET/HEAD, 308 keeps a POST a POST.
        status = 307 if scope.get("method") in ("GET", "HEAD") else 308
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0"),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": b""})

    def _keeps_http(self, scope) -> bool:
        client = scope.get("client")
        if client and client[0] in self.allowed:
            return True
        path = scope.get("path", "")
        return path == "/tls" or any(path.startswith(p) for p in HTTP_ALWAYS)


def check_files(settings: Settings) -> None:
    """Refuse to start with HTTPS files that cannot be used (a Russian message, exit 2)."""
    import ssl

    p = paths(settings)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(p["crt"], p["key"])
    except (OSError, ssl.SSLError) as e:
        raise TlsError(f"Сертификат сервера в {tls_dir(settings)} не подходит ({e}). Выполните zhurnal tls setup.") \
            from None
    if settings.tls_http not in ("redirect", "all"):
        raise TlsError(f"Настройка tls_http: «{settings.tls_http}» — нужно \"redirect\" или \"all\".")


def serve_both(app, settings: Settings, **uvicorn_options) -> None:
    """HTTPS on https_port (the app with its lifespan) and HTTP on port (`HttpSide`), one process."""
    import uvicorn

    p = paths(settings)

    class Main(uvicorn.Server):
        partner: uvicorn.Server | None = None

        def handle_exit(self, sig, frame):  # one Ctrl+C or SIGTERM stops both
            super().handle_exit(sig, frame)
            if self.partner is not None:
                self.partner.should_exit = True

    main = Main(uvicorn.Config(app, host=settings.host, port=settings.https_port, ssl_certfile=str(p["crt"]),
                               ssl_keyfile=str(p["key"]), **uvicorn_options))
    http = uvicorn.Server(uvicorn.Config(HttpSide(app, settings), host=settings.host, port=settings.port,
                                         lifespan="off", **uvicorn_options))
    main.partner = http

    async def both() -> None:
        task = asyncio.create_task(main.serve())
        while not main.started and not task.done():
            await asyncio.sleep(0.05)  # the app's start-up (database, migrations) first
        if task.done():
            return await task
        # The partner must not install signal handlers of its own (the main one stops it).
        await asyncio.gather(task, http._serve())

    # uvloop where uvicorn would use it (asyncio.Runner takes a loop factory from 3.11 on).
    with asyncio.Runner(loop_factory=main.config.get_loop_factory()) as runner:
        runner.run(both())
