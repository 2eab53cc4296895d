"""Server-side sessions behind an opaque cookie.

Threats: session theft and fixation. The cookie holds only 128 random bits
(``__Host-`` prefix, Secure, HttpOnly, SameSite=Strict); the database holds only its
sha256, so a stolen database yields no live session. A client's secret key rests in
their row only sealed under a key derived from the cookie value (client key v1), so the
database alone cannot open it. The id is replaced at every login
(fixation), rows end on logout, password change and account disable, and idle and
absolute timeouts are enforced on every request against the injected clock.

A visitor without a row still gets a cookie id: it anchors the CSRF token of the login
form without writing a row for every anonymous page view.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.clock import Clock
from portal.crypto import client_keys
from portal.crypto.tokens import sha256
from portal.settings import Settings
from portal.storage import sessions as rows
from portal.storage.accounts import Account, SecurityNotice
from portal.storage.database import Database

COOKIE_NAME = "__Host-sid"
_SID = re.compile(r"[A-Za-z0-9_-]{22}")
# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_INTERVAL = 60


@dataclass(frozen=True)
class CurrentSession:
    sid: str
    row: rows.SessionRow | None
    is_new_cookie: bool
    expired: bool = False

    @property
    def account(self) -> Account | None:
        return self.row.account if self.row else None

    @property
    def consultation_id(self) -> str | None:
        """Set for a client who opened their consultation with a code."""
        return self.row.consultation_id if self.row else None

    @property
    def client_secret_key(self) -> bytes | None:
        """A signed-in client's secret key, opened with this session's own cookie value;
        None for staff, for a session begun before client key v1, or if it does not
        open."""
        if self.row is None or self.row.account is not None:
            return None
        sealed = self.row.sealed_client_key
        return None if sealed is None else client_keys.open_from_session(self.sid, sealed)

    @property
    def locale(self) -> str | None:
        return self.row.locale if self.row else None

    @property
    def reauth_at(self) -> int | None:
        """When this session last proved password and second factor (a sign-in counts)."""
        return self.row.reauth_at if self.row else None

    @property
    def attention_count(self) -> int:
        """The signed-in staff member's open attention items (read with the session)."""
        return self.row.attention_count if self.row and self.row.account else 0

    @property
    def tag(self) -> str:
        return session_tag(self.sid)

    @property
    def notices(self) -> list[SecurityNotice]:
        """The account's security notices this session should show: those of changes
        made in any other session (this one was told when it made its own)."""
        if self.account is None:
            return []
        tag = self.tag
        return [n for n in self.account.notices if n.session_tag != tag]


def session_tag(sid: str) -> str:
    """A short name of a session for security notices: the start of its stored hash."""
    return sha256(sid)[:8].hex()


def new_sid() -> str:
    return secrets.token_urlsafe(16)


def cookie_header(session: CurrentSession) -> str:
    return f"{COOKIE_NAME}={session.sid}; Path=/; Secure; HttpOnly; SameSite=Strict"


class SessionStore:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings

    def _timeouts(self, row: rows.SessionRow) -> tuple[int, int]:
        s = self._settings
        if row.account is not None:
            return s.staff_idle_timeout, s.staff_absolute_timeout
        return s.client_idle_timeout, s.client_absolute_timeout

    async def load(self, cookie: str | None) -> CurrentSession:
        if cookie is None or not _SID.fullmatch(cookie):
            return CurrentSession(new_sid(), None, is_new_cookie=True)
        row = await rows.session_by_hash(self._db, sha256(cookie))
        if row is None:
            return CurrentSession(cookie, None, is_new_cookie=False)
        now = self._clock.now()
        idle, absolute = self._timeouts(row)
        too_idle = now - row.last_seen_at >= idle
        too_old = now - row.created_at >= absolute
        disabled = row.account is not None and not row.account.is_active
        if too_idle or too_old or disabled:
            await rows.delete_session(self._db, row.id_hash)
            return await self._language_only(row.locale, expired=True)
        if now - row.last_seen_at >= TOUCH_INTERVAL:
            await rows.touch_session(self._db, row.id_hash, now)
        return CurrentSession(cookie, row, is_new_cookie=False)

    async def begin(
        self, current: CurrentSession, account_id: str, sid: str | None = None
    ) -> CurrentSession:
        """Log in: a fresh id (against fixation) carrying over the chosen language. The
        session counts as freshly re-authenticated. ``sid``: one made with ``new_sid``
        beforehand, when its tag must be known first (a password change)."""
        if current.row is not None:
            await rows.delete_session(self._db, current.row.id_hash)
        sid = sid or new_sid()
        await rows.insert_session(
            self._db, sha256(sid), account_id, current.locale, self._clock.now()
        )
        return await self._reload(sid)

    async def begin_client(
        self, current: CurrentSession, consultation_id: str, client_sk: bytes
    ) -> CurrentSession:
        """A client opened their consultation: a fresh id, keeping the chosen language.
        Their secret key is stored only sealed under the new cookie value (client key v1,
        docs/crypto.md), so the row alone cannot open it and it ends with the row."""
        if current.row is not None:
            await rows.delete_session(self._db, current.row.id_hash)
        sid = new_sid()
        await rows.insert_session(
            self._db,
            sha256(sid),
            None,
            current.locale,
            self._clock.now(),
            consultation_id,
            client_keys.seal_for_session(sid, client_sk),
        )
        return await self._reload(sid)

    async def mark_reauthenticated(self, current: CurrentSession) -> CurrentSession:
        """This session has just proved password and second factor again."""
        if current.row is None:
            return current
        await rows.set_session_reauth(self._db, current.row.id_hash, self._clock.now())
        return await self._reload(current.sid, is_new_cookie=current.is_new_cookie)

    async def end(self, current: CurrentSession, *, keep_language: bool = False) -> CurrentSession:
        """End the session; with ``keep_language``, a fresh one holds only its language
        (the pages after leaving or signing out speak it)."""
        if current.row is not None:
            await rows.delete_session(self._db, current.row.id_hash)
        return await self._language_only(current.locale if keep_language else None)

    async def _language_only(self, locale: str | None, *, expired: bool = False) -> CurrentSession:
        """A fresh session after one ended: nothing of it is kept but its language, so
        that a client reading Russian is not told in English that their page closed."""
        sid = new_sid()
        if locale is None:
            return CurrentSession(sid, None, is_new_cookie=True, expired=expired)
        await rows.insert_session(self._db, sha256(sid), None, locale, self._clock.now())
        return await self._reload(sid, expired=expired)

    async def end_all_for_account(self, account_id: str) -> None:
        await rows.delete_account_sessions(self._db, account_id)

    async def remember_locale(self, current: CurrentSession, locale: str) -> CurrentSession:
        if current.row is None:
            await rows.insert_session(
                self._db, sha256(current.sid), None, locale, self._clock.now()
            )
        else:
            await rows.set_session_locale(self._db, current.row.id_hash, locale)
        return await self._reload(current.sid, is_new_cookie=current.is_new_cookie)

    async def _reload(
        self, sid: str, is_new_cookie: bool = True, *, expired: bool = False
    ) -> CurrentSession:
        row = await rows.session_by_hash(self._db, sha256(sid))
        return CurrentSession(sid, row, is_new_cookie=is_new_cookie, expired=expired)


class SessionHandle:
    """This request's session: loaded once, when a route or an error page first asks,
    and replaced by handlers that sign in, out or change the language. The middleware
    reads it again when the answer starts, to set the cookie."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._current: CurrentSession | None = None
        self.original_sid = ""
        # A new visitor gets a cookie only once a page hands out a CSRF token (a form)
        # or the session changes, so /healthz and the quick-exit page leave no cookie.
        self.token_issued = False

    @property
    def loaded(self) -> CurrentSession | None:
        return self._current

    async def load(self) -> CurrentSession:
        if self._current is None:
            store: SessionStore = self._scope["app"].state.services.sessions
            cookies = cookie_parser(Headers(scope=self._scope).get("cookie", ""))
            self._current = await store.load(cookies.get(COOKIE_NAME))
            self.original_sid = self._current.sid
        return self._current

    @property
    def current(self) -> CurrentSession:
        if self._current is None:
            raise SessionNotLoaded
        return self._current

    @current.setter
    def current(self, session: CurrentSession) -> None:
        self._current = session

    def cookie_to_set(self) -> str | None:
        session = self._current
        if session is None or not session.is_new_cookie:
            return None
        # A form was handed out, the session changed, or a row was stored for it (the
        # language kept after a session timed out).
        if self.token_issued or session.sid != self.original_sid or session.row is not None:
            return cookie_header(session)
        return None


class SessionNotLoaded(Exception):
    """A handler read the session before the guard loaded it (a programming error)."""


class SessionMiddleware:
    """The session in ``scope["session"]`` for everything below, error pages included,
    and its cookie written when the answer starts (the shape of Starlette's
    ``SessionMiddleware``, with the session itself on the server)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        handle = scope["session"] = SessionHandle(scope)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = handle.cookie_to_set()
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)
