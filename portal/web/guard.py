"""Routes that say who may use them, and the one guard every request passes.

Everything is denied unless a route names the roles allowed (``roles=``); a test walks
every route of the app and fails on one without. The guard, in order:

1. loads the session (one query, with the account) into the handle the session
   middleware (security/sessions.py) put in the scope, which sets the cookie;
2. for a state-changing method: reads the form once within the field limits
   (form_reader.py) and checks the session-bound CSRF token (the second CSRF layer: the
   first, cross-origin requests, is refused by security/csrf.py's middleware before any
   route);
3. checks the role (a client's session counts as the role ``client``): a visitor who is
   not signed in is sent to the login or code page, a signed-in one without the role gets
   404 (not 403: a route's existence is not confirmed);
   a POST refused in 2 or 3 because the session ended (or the page was older than the
   session) gets the 403 page of ended.py: it says so in the page's language, lets the
   person sign in or enter their code again, and gives back what they typed (kept.py);
4. sends a staff member whose role requires a passkey, and who has none, to the
   passkey page first (web/passkeys.py);
5. calls the handler with the request and the ``Visit`` (visit.py).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from portal.domain.roles import CLIENT, PUBLIC
from portal.security import csrf
from portal.security.sessions import CurrentSession, SessionHandle
from portal.services import services
from portal.web import ended
from portal.web.form_reader import read_form
from portal.web.visit import Visit

PASSKEY_PAGE = "/staff/passkeys"
Endpoint = Callable[[Request, Visit], Awaitable[Response]]


class GuardedRoute(Route):
    """A route with the set of roles allowed to use it (``PUBLIC`` for anyone)."""

    def __init__(
        self,
        path: str,
        endpoint: Endpoint,
        *,
        roles: Collection[str],
        methods: Collection[str] = ("GET",),
    ) -> None:
        if not roles:
            raise ValueError(f"route {path} must name the roles allowed")
        self.roles = frozenset(roles)
        super().__init__(
            path, _guarded(endpoint, self.roles), methods=list(methods), name=endpoint.__name__
        )


def route(
    path: str, endpoint: Endpoint, *, roles: Collection[str], methods: Collection[str] = ("GET",)
) -> GuardedRoute:
    return GuardedRoute(path, endpoint, roles=roles, methods=methods)


def _refuse_nul(request: Request) -> None:
    """NUL is never valid input, and PostgreSQL text cannot hold it: a path or query value
    with one would fail in the driver as a 500; it is a 400 here (form fields: read_form).
    """
    if any(isinstance(value, str) and "\x00" in value for value in request.path_params.values()):
        raise HTTPException(400)
    if request.scope["query_string"] and any(
        "\x00" in value for _key, value in request.query_params.multi_items()
    ):
        raise HTTPException(400)


def _guarded(endpoint: Endpoint, roles: frozenset[str]) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(endpoint)
    async def guard(request: Request) -> Response:
        _refuse_nul(request)
        svc = services(request)
        handle: SessionHandle = request.scope["session"]
        session = await handle.load()
        form = FormData()
        if request.method not in csrf.SAFE_METHODS:
            s = svc.settings
            form = await read_form(
                request, max_fields=s.max_fields, max_field_bytes=s.max_field_bytes
            )
            presented = request.headers.get(csrf.HEADER) or form.get(csrf.FIELD)
            if session.is_new_cookie or not csrf.token_matches(
                svc.keys, session.sid, presented if isinstance(presented, str) else None
            ):
                svc.metrics.csrf_refused("token")
                if PUBLIC in roles:
                    raise HTTPException(403)
                return await ended.page(request, Visit(svc, handle, "", form), roles)
        visit = Visit(svc, handle, ended.page_language(request, svc, session, form), form)
        if PUBLIC not in roles:
            role = _role(session)
            if role is None:
                if request.method in csrf.SAFE_METHODS:
                    start = "/code" if CLIENT in roles else "/login"
                    target = start + "?ended=1" if session.expired else start
                    return RedirectResponse(target, status_code=303)
                return await ended.page(request, visit, roles)
            if role not in roles:
                raise HTTPException(404)
            if _passkey_first(session, request):
                return RedirectResponse(PASSKEY_PAGE, status_code=303)
        return await endpoint(request, visit)

    return guard


def _passkey_first(session: CurrentSession, request: Request) -> bool:
    """The account's role requires a passkey and it has none: its passkey page comes
    before any other staff page (a sign-in with password and code gets that far)."""
    account = session.account
    return (
        account is not None
        and account.passkey_missing
        and not request.url.path.startswith(PASSKEY_PAGE)
    )


def _role(session: CurrentSession) -> str | None:
    if session.account is not None:
        return session.account.role
    return CLIENT if session.consultation_id is not None else None
