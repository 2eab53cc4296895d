"""Security headers on every response, errors and 404 included.

Threats: XSS (a strict CSP with no inline script or style and no eval), clickjacking
(frame-ancestors), MIME sniffing, leaking the portal's address through Referer, cross-
origin window and resource access, and a browser or proxy caching a client's page.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
# Only features current browsers recognise: an unknown one makes Chromium log a warning.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), midi=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), browsing-topics=()"
)
BASE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": PERMISSIONS_POLICY,
    "x-frame-options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"
STATIC_CACHE = "public, max-age=3600"
# A file found (whole, in part, or unchanged): only these under /static/ are public. A
# 404 or 405 there is the portal's own error page, with the session's header and token.
STATIC_FOUND = frozenset({200, 206, 304})


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


# Per (TLS, static file): the raw header pairs added to every response, encoded once.
_ADDED = {
    (tls, static): _encoded({
        **BASE_HEADERS,
        **({"strict-transport-security": HSTS} if tls else {}),
        # Static assets are public and integrity-checked; everything else may show a
        # client's meeting and must never be kept by a browser or proxy.
        "cache-control": STATIC_CACHE if static else "no-store",
    })
    for tls in (False, True)
    for static in (False, True)
}  # fmt: skip
_REPLACED = frozenset(name for name, _value in _ADDED[True, True]) | {b"server"}


def secured(
    headers: Iterable[tuple[bytes, bytes]], *, tls: bool, static: bool
) -> list[tuple[bytes, bytes]]:
    """Raw response headers with ours set (replacing any the app set, and ``server``)."""
    kept = [pair for pair in headers if pair[0].lower() not in _REPLACED]
    return kept + _ADDED[tls, static]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, force_tls: bool = False) -> None:
        self.app = app
        self.force_tls = force_tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = self.force_tls or scope.get("scheme") == "https"
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                public = static and message["status"] in STATIC_FOUND
                message["headers"] = secured(message.get("headers", ()), tls=tls, static=public)
            await send(message)

        await self.app(scope, receive, send_with_headers)
