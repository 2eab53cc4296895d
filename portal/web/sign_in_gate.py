"""The two sign-in limits, in one place: per sender and per account, counted before any
hashing, for every form that checks a password (sign-in, setting up the authenticator
app again, a passkey recovery link).

Threat: password guessing, spread over many accounts from one sender or over many
senders against one account, and floods that keep the argon2 pool busy; and the
opposite threat, somebody who knows a staff member's username keeping them out by
failing on purpose. Counting first means a refused attempt costs no hashing, and
attempts made at the same moment cannot all slip past a check-then-count. Three counts,
each reached only by attempts the ones before let through:

- every attempt of one sender (30 a minute);
- failures against one account from one sender (5 a minute): this refuses that sender
  only, so one sender can never lock the account for anybody else;
- failures against one account from all senders together (20 a minute): only several
  senders together reach it (one contributes at most 5), and then the account is
  refused for everyone until the minute is over. This is what bounds guessing from
  many addresses.

A refused attempt is refused whatever was typed, the right password included (a guessed
password must not be confirmed). Success clears the account's counts, so only failures
add up against it (docs/security.md, "Fairness": one sender spends only its own budget).
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
        settings = svc.settings
        self._per_source = svc.limits.per_minute(settings.login_attempts_per_source_per_minute)
        self._per_account_and_sender = svc.limits.per_minute(
            settings.login_failures_per_account_and_sender_per_minute
        )
        self._per_account = svc.limits.per_minute(settings.login_failures_per_account_per_minute)

    async def refuses(self) -> bool:
        """Count this attempt; True (and a content-free refusal recorded) when one of
        the limits is spent."""
        limits = self._visit.services.limits
        if not await limits.hit(self._per_source, "login-source", self._sender):
            await refused(self._visit, "sign_in_throttled", self._sender)
            return True
        account = self._account_key
        if not await limits.hit(
            self._per_account_and_sender, "login-account-sender", account, self._sender
        ) or not await limits.hit(self._per_account, "login-account", account):
            await refused(self._visit, "sign_in_locked", account, username=self._username)
            return True
        return False

    async def passed(self) -> None:
        """The password was right: the account's failures start again from nothing."""
        limits = self._visit.services.limits
        await limits.clear(
            self._per_account_and_sender, "login-account-sender", self._account_key, self._sender
        )
        await limits.clear(self._per_account, "login-account", self._account_key)
