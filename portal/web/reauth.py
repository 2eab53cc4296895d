"""Re-authentication for sensitive actions, asked on the action's own form.

Threat: a stolen session cookie. Creating, replacing or re-wrapping a staff member's key
and changing a password need password and a new TOTP code within the last 5 minutes in
this session (a sign-in counts). The fields sit on the form of the action itself and are
checked in the same POST, so nothing the page made is lost when they are needed: a key
pair made in the browser comes back in the refused page, ready to save. Attempts are
limited per account before any hashing, go through the bounded hashing pool, and a code
already used (at sign-in or here) is refused.

A passkey may stand in for the code (domain/passkeys.py): the page's script puts its
answer to this session's challenge in ``passkey_assertion``, and password and passkey
are checked instead of password and code. An account that signs in with a passkey (its
role requires one and it has one) confirms with it too: the code is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.crypto.tokens import sha256
from portal.domain import accounts, passkeys
from portal.i18n import N_
from portal.web.sign_in_gate import TOO_MANY_ATTEMPTS
from portal.web.visit import Visit

PASSWORD_FIELD = "current_password"  # noqa: S105  (a form field name)
CODE_FIELD = "totp_code"
PASSKEY_FIELD = "passkey_assertion"
CONFIRM_NEEDED = N_(
    "Confirm it is you: enter your password and a new code from your authenticator app."
)


@dataclass(frozen=True)
class Refused:
    status: int
    message: str


async def confirm(visit: Visit, *, always: bool = False) -> Refused | None:
    """None when the action may go ahead; otherwise why not (the page says it).

    Left empty, the fields are not needed while the session's last sign-in or
    confirmation is fresh (unless ``always``); filled in, they are always checked, and a
    success makes the session fresh again."""
    svc = visit.services
    account = visit.staff
    password = visit.field(PASSWORD_FIELD)
    code = visit.field(CODE_FIELD)
    assertion = visit.field(PASSKEY_FIELD)
    if (
        not always
        and not password
        and not code
        and not assertion
        and accounts.reauth_is_fresh(visit.session.reauth_at, svc.clock.now())
    ):
        return None
    if not password or not (code or assertion):
        return Refused(400, CONFIRM_NEEDED)
    if account.passkey_only and not assertion:
        # Its role signs in with a passkey and it has one: a phished password and code
        # (with a stolen cookie) must not remove the passkey and bring the code back.
        return Refused(400, accounts.PASSKEY_REQUIRED)
    # Counted before any hashing, like sign-in: a stolen session cannot guess the
    # password or code faster than this, nor keep the hashing pool busy.
    limit = svc.limits.per_minute(svc.settings.reauth_attempts_per_account_per_minute)
    key = svc.keys.mac("reauth-account", account.id)
    if not await svc.limits.hit(limit, "reauth-account", key):
        return Refused(429, TOO_MANY_ATTEMPTS)
    try:
        if assertion:
            await passkeys.confirm(
                svc.db,
                svc.hasher,
                svc.hashing,
                svc.clock,
                svc.settings,
                account.id,
                password,
                sha256(visit.session.sid),
                assertion,
            )
        else:
            await accounts.reauthenticate(
                svc.db, svc.hasher, svc.hashing, svc.clock, account.id, password, code
            )
    except accounts.ReauthFailed:
        return Refused(400, accounts.REAUTH_FAILED)
    await svc.limits.clear(limit, "reauth-account", key)
    visit.session = await svc.sessions.mark_reauthenticated(visit.session)
    return None
