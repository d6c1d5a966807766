"""Security headers on every response, error pages included."""

from __future__ import annotations

from litestar.types import Message, Scope

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    names = {name.lower() for name, _ in headers}
    headers.extend(h for h in _HEADERS if h[0] not in names)
    # Pages carry children's personal data: no copy stays in a browser's or proxy's cache
    # (this matters most on the shared kiosk in the hall). Static files may be cached.
    if not scope.get("path", "").startswith("/static/") and b"cache-control" not in names:
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers
