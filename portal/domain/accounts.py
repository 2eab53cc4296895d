"""Staff accounts: logging in, re-authenticating, changing a password, disabling an account.

Threat: a stolen session cookie used for the actions that would hand the thief lasting
power: replacing an investigator's key (every later note sealed to the thief) or the
password. These need password and second factor again within the last 5 minutes in
that session, are audited, and leave a notice the owner sees in every other session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto import totp
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.domain import audit
from portal.domain.password_policy import check_policy
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.storage import accounts as store
from portal.storage.accounts import Account as Account
from portal.storage.accounts import AccountSecrets, SecurityNotice
from portal.storage.database import Database, Queryable

LOGIN_FAILED = N_("The username, password or code is wrong.")
PASSKEY_REQUIRED = N_(
    "Your account signs in with a passkey: enter your password, then use the passkey "
    "button. If you lost your passkey, ask a coordinator for a recovery link."
)
REAUTH_FAILED = N_("The password or code is wrong, or the code was used already.")
# How long a sign-in or a confirmation with password and code counts for sensitive actions.
REAUTH_WINDOW = 5 * 60
# The changes the owner is told about in their other sessions (audit actions too).
NOTICE_ACTIONS = frozenset(
    {
        "key_created",
        "key_replaced",
        "key_rewrapped",
        "password_changed",
        "email_set",
        "email_removed",
        "passkey_registered",
        "passkey_removed",
        "passkey_recovered",
    }
)


class SecondFactorMissing(Exception):
    """The right password for an active account whose authenticator app was reset by the
    operator (``portal reset-second-factor``): no session until it is set up again
    (domain/second_factor.py)."""

    def __init__(self, account: Account) -> None:
        super().__init__("second factor missing")
        self.account = account


class LoginFailed(Exception):
    """Unknown account, wrong password, wrong or reused code, or a disabled account.

    One exception for all of them, so the page cannot tell an attacker which it was.
    """


class PasskeyRequired(LoginFailed):
    """Right password and code, but the account's role signs in with a passkey and the
    account has one (only said once both were right)."""


class ReauthFailed(Exception):
    """A wrong password, a wrong or already used code, or a disabled account."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    totp_code: str


async def authenticate(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    given: Credentials,
    *,
    bypass: Callable[[Queryable, Account], Awaitable[bool]] | None = None,
) -> Account:
    """The account, signed in; ``LoginFailed`` otherwise. Either way one audit event:
    ``signed_in``, or ``sign_in_failed`` naming the account only if it exists (a typed
    username that names no account is not kept anywhere).

    An account that must sign in with its passkey is refused with ``PasskeyRequired``,
    unless ``bypass`` (a recovery link, domain/passkeys.py) says yes inside the sign-in's
    transaction."""
    secrets = await store.secrets_by_username(db, given.username.strip().lower())
    account = await store.account_by_id(db, secrets.account_id) if secrets else None
    try:
        return await _verified(db, hasher, hashing, clock, given, secrets, account, bypass)
    except _Refused as refused:
        await audit.record(
            db,
            clock,
            "sign_in_failed",
            None,
            actor_role=audit.VISITOR_ROLE,
            detail=refused.detail if account else None,
            subject_account_id=account.id if account else None,
        )
        if refused.detail == "passkey_required":
            raise PasskeyRequired from None
        raise LoginFailed from None


class _Refused(Exception):
    """Why a sign-in failed, for the audit log only (the page never says)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def _verified(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    given: Credentials,
    secrets: AccountSecrets | None,
    account: Account | None,
    bypass: Callable[[Queryable, Account], Awaitable[bool]] | None,
) -> Account:
    stored_hash = secrets.password_hash if secrets else None
    # Unknown accounts verify a dummy hash: the same work, so the same timing.
    if not await hashing.run(lambda: hasher.verify_or_dummy(stored_hash, given.password)):
        raise _Refused("password")
    if secrets is None or account is None:
        raise _Refused("password")
    if not account.is_active:
        raise _Refused("disabled")
    if not secrets.totp_secret:
        raise SecondFactorMissing(account)
    step = totp.accepted_step(
        secrets.totp_secret, given.totp_code, clock.now(), secrets.totp_last_step
    )
    if step is None:
        raise _Refused("second_factor")
    async with db.transaction() as tx:
        if not await store.claim_totp_step(tx, account.id, step):
            raise _Refused("second_factor")
        if bypass is not None:
            if not await bypass(tx, account):
                raise _Refused("password")
        elif account.passkey_only:
            raise _Refused("passkey_required")
        await audit.record(tx, clock, "signed_in", None, actor=account)
    if hasher.needs_rehash(secrets.password_hash):
        new_hash = await hashing.run(lambda: hasher.hash(given.password))
        await store.set_password_hash(db, account.id, new_hash)
    return account


def reauth_is_fresh(reauth_at: int | None, now: int) -> bool:
    """Whether a session's last sign-in or confirmation is recent enough for a sensitive
    action (within ``REAUTH_WINDOW``; a time in the future, from a clock set back, is not)."""
    return reauth_at is not None and 0 <= now - reauth_at < REAUTH_WINDOW


async def reauthenticate(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    account_id: str,
    password: str,
    totp_code: str,
) -> Account:
    """Password and a new TOTP code again, for a sensitive action. Raises ``ReauthFailed``
    (and records ``reauth_failed``); the caller limits attempts before calling this.

    The account is read again here, not taken from the session: the password hash and the
    last accepted code step must be current (a code is accepted once, as at sign-in)."""
    account = await store.account_by_id(db, account_id)
    secrets = await store.secrets_by_id(db, account_id)
    if account is None or secrets is None or not account.is_active:
        raise ReauthFailed
    stored_hash = secrets.password_hash
    if not await hashing.run(lambda: hasher.verify(stored_hash, password)):
        await audit.record(db, clock, "reauth_failed", None, actor=account)
        raise ReauthFailed
    step = totp.accepted_step(secrets.totp_secret, totp_code, clock.now(), secrets.totp_last_step)
    if step is None or not await store.claim_totp_step(db, account.id, step):
        await audit.record(db, clock, "reauth_failed", None, actor=account)
        raise ReauthFailed
    return account


async def record_security_change(
    tx: Queryable, clock: Clock, account: Account, action: str, session_tag: str
) -> None:
    """The audit event of a key or password change, and the notice every other session of
    the account shows until the owner dismisses it. Call inside the change's transaction."""
    if action not in NOTICE_ACTIONS:
        raise audit.UnknownAction(action)
    await audit.record(tx, clock, action, None, actor=account)
    await store.add_security_notice(
        tx, account.id, SecurityNotice(action, clock.now(), session_tag)
    )


async def dismiss_notices(db: Database, account_id: str, session_tag: str) -> None:
    """The owner has read the notices: gone from every session, except those made from
    this very session (a thief's stolen session cannot hide its change from the owner)."""
    async with db.transaction() as tx:
        await store.dismiss_security_notices(tx, account_id, session_tag)


async def change_password(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    account: Account,
    new: str,
    session_tag: str,
) -> None:
    """Only after ``reauthenticate`` in the same request. Raises ``PasswordPolicyError``;
    the caller ends the sessions. The new hash, its audit event and the notice are one
    transaction: none without the others."""
    check_policy(new)
    new_hash = await hashing.run(lambda: hasher.hash(new))
    async with db.transaction() as tx:
        await store.set_password_hash(tx, account.id, new_hash)
        await record_security_change(tx, clock, account, "password_changed", session_tag)


async def set_disabled(
    db: Database, clock: Clock, account_id: str, disabled: bool, *, actor: Account | None = None
) -> None:
    async with db.transaction() as tx:
        await store.set_disabled(tx, account_id, clock.now() if disabled else None)
        await audit.record(
            tx,
            clock,
            "account_disabled" if disabled else "account_enabled",
            None,
            actor=actor,
            subject_account_id=account_id,
        )


async def record_refusal(db: Database, clock: Clock, action: str, username: str = "") -> None:
    """Audit a sign-in or code attempt refused by a limit, before any password was checked.
    A ``username`` that names an account puts that account's id in the event; one that
    names none leaves no trace."""
    account = await store.account_by_username(db, username.strip().lower()) if username else None
    await audit.record(
        db,
        clock,
        action,
        None,
        actor_role=audit.VISITOR_ROLE,
        subject_account_id=account.id if account else None,
    )


async def list_accounts(db: Queryable) -> Sequence[Account]:
    return await store.list_accounts(db)


async def name_of(db: Queryable, account_id: str | None) -> str | None:
    """A staff member's display name (for a case bundle: who holds the first interview)."""
    found = await store.account_by_id(db, account_id) if account_id else None
    return None if found is None else found.display_name


async def active_investigators(db: Queryable) -> list[Account]:
    """Who a meeting, a follow-up or a first interview can be given to."""
    return [a for a in await store.list_accounts(db) if a.role == INVESTIGATOR and a.is_active]
