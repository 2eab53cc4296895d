"""Routes that say who may use them, and the one guard every request passes.

Everything is denied unless a route names the roles allowed (``roles=``); a test walks
every route of the app and fails on one without. The guard, in order:

1. loads the session (one query, with the account) into the handle the session
   middleware (security/sessions.py) put in the scope, which sets the cookie;
2. for a state-changing method: parses the form once within the field limits and checks
   the session-bound CSRF token (the second CSRF layer: the first, cross-origin
   requests, is refused by security/csrf.py's middleware before any route);
3. checks the role (a client's session counts as the role ``client``): a visitor who is
   not signed in is sent to the login or code page, a signed-in one without the role gets
   404 (not 403: a route's existence is not confirmed);
4. calls the handler with the request and the ``Visit``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any
from urllib.parse import unquote

from markupsafe import escape
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from portal.domain.roles import CLIENT, PUBLIC
from portal.i18n import negotiate
from portal.security import csrf
from portal.security.sessions import CurrentSession, SessionHandle
from portal.services import Services, services
from portal.storage.accounts import Account


class NotLoggedIn(Exception):
    """A staff page was asked for without a staff session."""


class Visit:
    """What the guard learned about this request; handlers may replace the session
    (``visit.session = ...``), and the session middleware then sets the new cookie."""

    def __init__(self, services: Services, handle: SessionHandle, locale: str, form: FormData):
        self.services = services
        self.handle = handle
        self.locale = locale
        self.form = form
        self._token: tuple[str, str] | None = None  # (session id, its token): printed often

    @property
    def session(self) -> CurrentSession:
        return self.handle.current

    @session.setter
    def session(self, session: CurrentSession) -> None:
        self.handle.current = session

    @property
    def account(self) -> Account | None:
        return self.session.account

    @property
    def staff(self) -> Account:
        if self.session.account is None:
            raise NotLoggedIn
        return self.session.account

    @property
    def csrf_token(self) -> str:
        self.handle.token_issued = True
        sid = self.session.sid
        if self._token is None or self._token[0] != sid:
            self._token = (sid, csrf.csrf_token(self.services.keys, sid))
        return self._token[1]

    def field(self, name: str) -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else ""


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


class PathRouter(Router):
    """Starlette's router, which tries every route in turn (a regular expression each),
    with the routes that can match each fixed path (one without parameters) found once:
    a request for such a path tries only those, in the same order (bench/). Any other
    path, or an app served under a root path, goes through Starlette's own loop."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        fixed = {r.path for r in self.routes if isinstance(r, Route) and "{" not in r.path}
        self.by_path = {
            path: [r for r in self.routes if r.matches(_probe(path))[0] is not Match.NONE]
            for path in fixed
        }

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.by_path.get(scope["path"]) if scope["type"] == "http" else None
        if found is None or scope.get("root_path"):
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        partial: tuple[BaseRoute, Scope] | None = None
        for route in found:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is None:  # cannot happen: every route found matches the path
            await super().app(scope, receive, send)
            return
        scope["route"] = partial[0]  # the path is known, not the method: 405
        scope.update(partial[1])
        await partial[0].handle(scope, receive, send)


def _probe(path: str) -> Scope:
    return {"type": "http", "path": path, "root_path": "", "method": "GET"}


class StaticMount(Mount):
    roles = frozenset({PUBLIC})

    def __init__(self, path: str, directory: str) -> None:
        super().__init__(path, app=StaticFiles(directory=directory), name="static")


def form_pairs(text: str, max_fields: int) -> list[tuple[str, str]]:
    """An URL-encoded form as ``urllib.parse.parse_qsl(text, keep_blank_values=True,
    max_num_fields=max_fields)`` reads it (ValueError past ``max_fields``), a few times
    faster: only a field with ``%`` or ``+`` is unquoted (bench/)."""
    fields = text.split("&")
    if len(fields) > max_fields:
        raise ValueError("too many fields")
    pairs = []
    for field in fields:
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in field or "+" in field:
            name = unquote(name.replace("+", " "))
            value = unquote(value.replace("+", " "))
        pairs.append((name, value))
    return pairs


async def _read_form(request: Request, svc: Services) -> FormData:
    """The form, within the field limits. Every form here is URL-encoded: read by
    ``form_pairs``, which bench/ measured many times faster than the multipart parser
    Starlette uses (kept for any other content type)."""
    s = svc.settings
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            text = (await request.body()).decode("latin-1")
            pairs: list[tuple[str, str | UploadFile]] = list(form_pairs(text, s.max_fields))
        except ValueError as exc:  # too many fields
            raise HTTPException(400) from exc
        form = FormData(pairs)
    else:
        form = await request.form(
            max_files=0, max_fields=s.max_fields, max_part_size=s.max_field_bytes
        )
    for _key, value in form.multi_items():
        if not isinstance(value, str) or len(value) > s.max_field_bytes or "\x00" in value:
            raise HTTPException(400)
    return form


def _refuse_nul(request: Request) -> None:
    """NUL is never valid input, and PostgreSQL text cannot hold it: a path or query value
    with one would fail in the driver as a 500; it is a 400 here (form fields: _read_form).
    """
    if any(isinstance(value, str) and "\x00" in value for value in request.path_params.values()):
        raise HTTPException(400)
    if request.scope["query_string"] and any(
        "\x00" in value for _key, value in request.query_params.multi_items()
    ):
        raise HTTPException(400)


def language(request: Request, session: CurrentSession | None, svc: Services) -> str:
    """The session's language, or the browser's first one the portal has."""
    if session is not None and session.locale in svc.catalogues.locales:
        return session.locale or svc.settings.default_locale
    return negotiate(
        request.headers.get("accept-language"), svc.catalogues.locales, svc.settings.default_locale
    )


def _guarded(endpoint: Endpoint, roles: frozenset[str]) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(endpoint)
    async def guard(request: Request) -> Response:
        _refuse_nul(request)
        svc = services(request)
        handle: SessionHandle = request.scope["session"]
        session = await handle.load()
        form = FormData()
        if request.method not in csrf.SAFE_METHODS:
            form = await _read_form(request, svc)
            presented = request.headers.get(csrf.HEADER) or form.get(csrf.FIELD)
            if session.is_new_cookie or not csrf.token_matches(
                svc.keys, session.sid, presented if isinstance(presented, str) else None
            ):
                raise HTTPException(403)
        visit = Visit(svc, handle, language(request, session, svc), form)
        if PUBLIC not in roles:
            role = _role(session)
            if role is None:
                if request.method in csrf.SAFE_METHODS:
                    start = "/code" if CLIENT in roles else "/login"
                    target = start + "?ended=1" if session.expired else start
                    return RedirectResponse(target, status_code=303)
                raise HTTPException(403)
            if role not in roles:
                raise HTTPException(404)
        return await endpoint(request, visit)

    return guard


def _role(session: CurrentSession) -> str | None:
    if session.account is not None:
        return session.account.role
    return CLIENT if session.consultation_id is not None else None


class _LazyToken:
    """The CSRF token, computed (and the cookie set) only if a template prints it."""

    def __init__(self, visit: Visit) -> None:
        self._visit = visit

    def __str__(self) -> str:
        return self._visit.csrf_token

    __html__ = __str__


class _LazyField(_LazyToken):
    """The hidden form field that carries the CSRF token (``{{ csrf_field }}``), written
    once per token (a page has several forms)."""

    def __init__(self, visit: Visit) -> None:
        super().__init__(visit)
        self._written = ("", "")  # (token, field)

    def __str__(self) -> str:
        token = self._visit.csrf_token
        if self._written[0] != token:
            field = f'<input type="hidden" name="csrf_token" value="{escape(token)}">'
            self._written = (token, field)
        return self._written[1]

    __html__ = __str__


def redirect(path: str) -> Response:
    """Post/redirect/get: 303 to ``path`` (the guard adds any new session cookie)."""
    return RedirectResponse(path, status_code=303)


def render(
    request: Request,
    visit: Visit,
    template: str,
    status_code: int = 200,
    partial: str | None = None,
    **context: Any,
) -> Response:
    page = {
        "visit": visit,
        "account": visit.account,
        "client": visit.session.consultation_id is not None,
        "current_path": request.scope["path"],
        "csrf_token": _LazyToken(visit),
        "csrf_field": _LazyField(visit),
        **context,
    }
    return visit.services.templates.render(
        request, template, page, locale=visit.locale, status_code=status_code, partial=partial
    )
