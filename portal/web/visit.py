"""What the guard learned about one request (``Visit``), and the language it is in.

The guard (guard.py) builds a ``Visit`` for every handler; error pages (errors.py) build
one too, so they have the visitor's session and language like any other page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from portal.domain.accounts import Account
from portal.i18n import negotiate
from portal.security import csrf
from portal.security.sessions import CurrentSession, SessionHandle
from portal.services import Services

T = TypeVar("T")


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

    async def visible(
        self, lookup: Callable[[Any, Account, str], Awaitable[T | None]], wanted: str
    ) -> T:
        """What ``lookup`` (a question of domain/visibility.py, the one place that decides
        access) lets this staff member see of ``wanted``; else 404, the same as for
        something that does not exist."""
        found = await lookup(self.services.db, self.staff, wanted)
        if found is None:
            raise HTTPException(404)
        return found


def language(request: Request, session: CurrentSession | None, svc: Services) -> str:
    """The session's language, or the browser's first one the portal has."""
    if session is not None and session.locale in svc.catalogues.locales:
        return session.locale or svc.settings.default_locale
    return negotiate(
        request.headers.get("accept-language"), svc.catalogues.locales, svc.settings.default_locale
    )
