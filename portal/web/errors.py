"""Error pages that leak nothing: a status, a plain sentence in the visitor's language.

No exception text, traceback, path or input is echoed. The 500 handler runs outside the
middleware stack (Starlette's ServerErrorMiddleware is outermost), so it adds the
security headers itself.
"""

from __future__ import annotations

import logging
import secrets

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from portal.crypto.hashing import Overloaded, SenderBusy
from portal.i18n import N_, negotiate
from portal.logs import infrastructure_cause
from portal.security.bodylimit import BodyTimeout, BodyTooLarge
from portal.security.headers import secured
from portal.security.sessions import CurrentSession, SessionHandle
from portal.services import services
from portal.web.rendering import templates_of
from portal.web.responses import render
from portal.web.visit import Visit, language

log = logging.getLogger("portal.errors")
# Seconds a refused visitor should wait (429 and 503): a flood's effect ends with it.
RETRY_AFTER = "60"

MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("This request was refused. Go back, reload the page and try again."),
    404: N_("This page does not exist."),
    405: N_("This page does not exist."),
    409: N_("This cannot be done now. Go back and reload the page to see why."),
    413: N_("What you sent is too large."),
    429: N_("Too many attempts. Wait a minute and try again."),
    500: N_("Something went wrong on our side. Try again in a moment."),
    503: N_("The service is busy. Try again in a moment."),
}
# What a quick exit tells the browser to forget about this site.
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


# Development only, and for the person running the demo, so in English like the console:
# why a form is refused when the demo is opened under another name than localhost.
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
COOKIE_HINT = (
    "Development mode: this browser sent no session cookie. The cookie is called "
    "__Host-sid and is marked Secure, so browsers keep it only over HTTPS or on "
    "http://localhost and http://127.0.0.1. Open the portal at http://127.0.0.1:{port}/ "
    "or http://localhost:{port}/ on this machine, or put it behind HTTPS "
    "(docs/operations.md) to use another host name."
)


def cookie_hint(request: Request) -> str:
    """The hint above, when it explains a refusal; otherwise nothing."""
    settings = services(request).settings
    url = request.url
    if settings.is_production or url.scheme != "http" or (url.hostname or "") in LOCAL_NAMES:
        return ""
    if "__Host-sid" in request.cookies:
        return ""
    return COOKIE_HINT.format(port=url.port or 80)


async def error_page(
    request: Request, status: int, request_id: str = "", hint: str = ""
) -> Response:
    """The error page, in the visitor's language and with their session (the header of
    a signed-in staff member, a quick exit whose token fits), like any other page."""
    svc = services(request)
    handle: SessionHandle | None = request.scope.get("session")
    session = None
    if handle is not None:
        # A 500 is answered outside the session middleware: its cookie could not be set,
        # and the database may be what failed, so only a session already loaded is used.
        session = handle.loaded if status == 500 else await _loaded(handle)
    message = MESSAGES.get(status, MESSAGES[400])
    if handle is not None and session is not None and status != 500:
        visit = Visit(svc, handle, language(request, session, svc), FormData())
        response = render(
            request,
            visit,
            "error.html",
            status,
            status=status,
            message=message,
            request_id=request_id,
            hint=hint,
        )
    else:
        context = {
            "status": status,
            "message": message,
            "request_id": request_id,
            "account": None,
            "csrf_token": "",
            "csrf_field": "",
            "hint": hint,
        }
        locale = language(request, session, svc)
        response = templates_of(request).render(
            request, "error.html", context, locale=locale, status_code=status
        )
    if status in (429, 503):
        response.headers["retry-after"] = RETRY_AFTER
    return response


async def _loaded(handle: SessionHandle) -> CurrentSession | None:
    try:
        return await handle.load()
    except Exception:  # the page must still be answered; the error is logged elsewhere
        return None


async def refused(scope: Scope, receive: Receive, send: Send) -> None:
    """The 403 page as an ASGI app, for the cross-origin middleware (security/csrf.py)."""
    services(Request(scope)).metrics.csrf_refused("origin")
    await (await error_page(Request(scope, receive), 403))(scope, receive, send)


def _refused_quick_exit(request: Request) -> Response:
    """The quick exit from a page whose session has ended (its CSRF token fits no more):
    the person must still leave at once, not read an error and try again. The status
    stays 403; there is no session left to end on the server."""
    svc = services(request)
    locale = negotiate(
        request.headers.get("accept-language"), svc.catalogues.locales, svc.settings.default_locale
    )
    context = {"account": None, "csrf_token": "", "csrf_field": ""}
    response = templates_of(request).render(
        request, "public/bye.html", context, locale=locale, status_code=403
    )
    response.headers["clear-site-data"] = CLEAR_SITE_DATA
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    if (
        status == 403 and request.method == "POST" and request.scope["path"] == "/bye"
        # (A request from another site never gets here: the cross-origin middleware
        # refuses it first, so no other site can wipe this site's data in the browser.)
    ):
        return _refused_quick_exit(request)
    hint = cookie_hint(request) if status == 403 else ""
    response = await error_page(request, status if status in MESSAGES else 400, hint=hint)
    if isinstance(exc, HTTPException) and exc.headers and "Allow" in exc.headers:
        response.headers["allow"] = exc.headers["Allow"]
    return response


async def too_large(request: Request, exc: Exception) -> Response:
    return _closing(await error_page(request, 413))


async def too_slow(request: Request, exc: Exception) -> Response:
    # 408 has no sentence of its own: the 400 one ("could not be understood") fits.
    return _closing(await error_page(request, 408))


def _closing(response: Response) -> Response:
    """Ask the server to close the connection after a refused body.

    The rest of the body is never read, so the connection cannot carry another request;
    left open, a client that keeps sending resets uvicorn's keep-alive timer with every
    byte and holds the connection for ever (tests/reliability/test_slow_requests.py).
    """
    response.headers["connection"] = "close"
    return response


async def overloaded(request: Request, exc: Exception) -> Response:
    return await error_page(request, 503)


async def sender_busy(request: Request, exc: Exception) -> Response:
    services(request).metrics.rate_limited("hashing-sender")
    return await error_page(request, 429)


async def server_error(request: Request, exc: Exception) -> Response:
    # The exception type and handler only: a message or path could carry a code or token.
    # A random request id, on the log line and the page, lets a person quote the error
    # and the operator find it, without anything about the person in either; a named
    # infrastructure cause (logs.infrastructure_cause) says e.g. that Redis refused.
    request_id = secrets.token_hex(6)
    endpoint = getattr(request.scope.get("endpoint"), "__name__", "?")
    cause = infrastructure_cause(exc)
    log.error(
        "unhandled %s%s in %s %s (request id %s)",
        type(exc).__name__,
        f" ({cause})" if cause else "",
        request.method,
        endpoint,
        request_id,
        extra={"request_id": request_id},
    )
    response = await error_page(request, 500, request_id)
    tls = services(request).settings.uses_tls or request.url.scheme == "https"
    response.raw_headers = secured(response.raw_headers, tls=tls, static=False)
    return response


HANDLERS = {
    HTTPException: http_error,
    BodyTooLarge: too_large,
    BodyTimeout: too_slow,
    Overloaded: overloaded,
    SenderBusy: sender_busy,
    Exception: server_error,
}
