"""Staff accounts: logging in, changing a password, disabling an account."""

from __future__ import annotations

from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto import totp
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher, check_policy
from portal.domain import audit
from portal.i18n import N_
from portal.storage import accounts as store
from portal.storage.accounts import Account, AccountSecrets
from portal.storage.database import Database

LOGIN_FAILED = N_("The username, password or code is wrong.")


class LoginFailed(Exception):
    """Unknown account, wrong password, wrong or reused code, or a disabled account.

    One exception for all of them, so the page cannot tell an attacker which it was.
    """


class WrongPassword(Exception):
    """The current password given to change a password was wrong."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    totp_code: str


async def authenticate(
    db: Database, hasher: PasswordHasher, hashing: HashingPool, clock: Clock, given: Credentials
) -> Account:
    """The account, signed in; ``LoginFailed`` otherwise. Either way one audit event:
    ``signed_in``, or ``sign_in_failed`` naming the account only if it exists (a typed
    username that names no account is not kept anywhere)."""
    secrets = await store.secrets_by_username(db, given.username.strip().lower())
    account = await store.account_by_id(db, secrets.account_id) if secrets else None
    try:
        return await _verified(db, hasher, hashing, clock, given, secrets, account)
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
) -> Account:
    stored_hash = secrets.password_hash if secrets else None
    # Unknown accounts verify a dummy hash: the same work, so the same timing.
    if not await hashing.run(lambda: hasher.verify_or_dummy(stored_hash, given.password)):
        raise _Refused("password")
    if secrets is None or account is None:
        raise _Refused("password")
    if not account.is_active:
        raise _Refused("disabled")
    step = totp.accepted_step(
        secrets.totp_secret, given.totp_code, clock.now(), secrets.totp_last_step
    )
    if step is None:
        raise _Refused("second_factor")
    async with db.transaction() as tx:
        if not await store.claim_totp_step(tx, account.id, step):
            raise _Refused("second_factor")
        await audit.record(tx, clock, "signed_in", None, actor=account)
    if hasher.needs_rehash(secrets.password_hash):
        new_hash = await hashing.run(lambda: hasher.hash(given.password))
        await store.set_password_hash(db, account.id, new_hash)
    return account


async def change_password(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    account: Account,
    current: str,
    new: str,
) -> None:
    """Raises ``WrongPassword`` or ``PasswordPolicyError``; the caller ends sessions."""
    check_policy(new)
    # Read here, not carried by the session's account (see storage.accounts.Account).
    secrets = await store.secrets_by_id(db, account.id)
    if secrets is None:
        raise WrongPassword
    stored_hash = secrets.password_hash
    if not await hashing.run(lambda: hasher.verify(stored_hash, current)):
        raise WrongPassword
    new_hash = await hashing.run(lambda: hasher.hash(new))
    await store.set_password_hash(db, account.id, new_hash)


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
