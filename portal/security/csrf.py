"""Cross-site request forgery defence, in two independent layers.

Threat: another site making a signed-in browser submit a form here (a trafficker's
page that cancels a client's meeting, or a forged booking from a staff member's
browser).

1. ``CrossOriginMiddleware``, a pure ASGI middleware around the whole app, so that no
   route can forget it (the shape of Datasette's ``CrossOriginProtectionMiddleware``).
   A request that is not GET/HEAD/OPTIONS is refused with 403 unless the browser says
   it comes from this origin: ``Sec-Fetch-Site`` must be ``same-origin`` or ``none``
   (typed by the user); a browser that sends no ``Sec-Fetch-Site`` is judged by
   ``Origin``, which must name this host (or ``PORTAL_PUBLIC_URL``). A request with
   neither header is no browser's cross-site form, and goes on to the second layer.
2. A token bound to the session (``csrf_token``, checked by the route guard in
   web/guard.py): an HMAC of the cookie value under a CSRF-only key, sent as the
   hidden field ``csrf_token`` in plain forms or the ``X-CSRF-Token`` header from htmx.
   It changes when the session id does (sign-in), so a token from another session
   never fits.

SameSite=Strict on the session cookie is a third. tests/security/test_csrf.py posts to
every state-changing route of the app's route table without a token, with another
session's token and cross-site, and expects 403 from each.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.crypto.tokens import Keys

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def csrf_token(keys: Keys, sid: str) -> str:
    return keys.mac("csrf", sid)


def token_matches(keys: Keys, sid: str, presented: str | None) -> bool:
    """The current token, or one made under a previous secret during a key rotation."""
    if not presented:
        return False
    return any(hmac.compare_digest(token, presented) for token in keys.accepted_macs("csrf", sid))


def comes_from_this_origin(headers: Headers, public_netloc: str) -> bool:
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.lower() in ALLOWED_FETCH_SITES
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request; the token decides
    netloc = urlsplit(origin).netloc.lower()
    # "Origin: null" (sandboxed frames, some redirects) has no netloc and is refused.
    return bool(netloc) and netloc in {headers.get("host", "").lower(), public_netloc}


class CrossOriginMiddleware:
    """Refuses state-changing requests that a browser marks as coming from elsewhere;
    ``refuse`` is the ASGI app that answers them (the 403 page)."""

    def __init__(self, app: ASGIApp, *, refuse: ASGIApp, public_url: str) -> None:
        self.app = app
        self.refuse = refuse
        self.public_netloc = urlsplit(public_url).netloc.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and not comes_from_this_origin(Headers(scope=scope), self.public_netloc)
        ):
            await self.refuse(scope, receive, send)
            return
        await self.app(scope, receive, send)
