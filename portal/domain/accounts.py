"""Staff accounts: logging in, changing a password, disabling an account."""

from __future__ import annotations

from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto import totp
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher, check_policy
from portal.i18n import N_
from portal.storage import accounts as store
from portal.storage.accounts import Account
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
    secrets = await store.secrets_by_username(db, given.username.strip().lower())
    stored_hash = secrets.password_hash if secrets else None
    # Unknown accounts verify a dummy hash: the same work, so the same timing.
    if not await hashing.run(lambda: hasher.verify_or_dummy(stored_hash, given.password)):
        raise LoginFailed
    if secrets is None:
        raise LoginFailed
    account = await store.account_by_id(db, secrets.account_id)
    if account is None or not account.is_active:
        raise LoginFailed
    step = totp.accepted_step(
        secrets.totp_secret, given.totp_code, clock.now(), secrets.totp_last_step
    )
    if step is None or not await store.claim_totp_step(db, account.id, step):
        raise LoginFailed
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


async def set_disabled(db: Database, clock: Clock, account_id: str, disabled: bool) -> None:
    await store.set_disabled(db, account_id, clock.now() if disabled else None)
