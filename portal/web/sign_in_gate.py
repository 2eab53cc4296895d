"""The two sign-in limits, in one place: per sender and per account, counted before any
hashing, for every form that checks a password (sign-in, setting up the authenticator
app again, a passkey recovery link).

Threat: password guessing, spread over many accounts from one sender or over many
senders against one account, and floods that keep the argon2 pool busy. Counting
first means a refused attempt costs no hashing, and attempts made at the same moment
cannot all slip past a check-then-count. Success clears the account's count, so only
failures add up against it; the sender's count is of attempts (docs/security.md,
"Fairness": one sender spends only its own budget).
"""

from __future__ import annotations

from starlette.requests import Request

from portal.i18n import N_
from portal.security.senders import sender_of
from portal.web.refusals import refused
from portal.web.visit import Visit

TOO_MANY_ATTEMPTS = N_("Too many attempts. Wait a minute and try again.")
BUSY = N_("The service is busy. Try again in a moment.")


class SignInGate:
    def __init__(self, request: Request, visit: Visit, username: str) -> None:
        svc = visit.services
        self._visit = visit
        self._sender = sender_of(request.scope)
        self._username = username
        self._account_key = svc.keys.mac("login-account", username)
        self._per_source = svc.limits.per_minute(svc.settings.login_attempts_per_source_per_minute)
        self._per_account = svc.limits.per_minute(
            svc.settings.login_failures_per_account_per_minute
        )

    async def refuses(self) -> bool:
        """Count this attempt; True (and a content-free refusal recorded) when either
        limit is spent."""
        limits = self._visit.services.limits
        if not await limits.hit(self._per_source, "login-source", self._sender):
            await refused(self._visit, "sign_in_throttled", self._sender)
            return True
        if not await limits.hit(self._per_account, "login-account", self._account_key):
            await refused(self._visit, "sign_in_locked", self._account_key, username=self._username)
            return True
        return False

    async def passed(self) -> None:
        """The password was right: the account's failures start again from nothing."""
        await self._visit.services.limits.clear(
            self._per_account, "login-account", self._account_key
        )
