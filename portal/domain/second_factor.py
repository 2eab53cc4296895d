"""Setting up an authenticator app again, after ``portal reset-second-factor``.

Threat: a staff member who lost their phone is locked out, and the way back must not be
a way in for someone else. The reset happens only on the server (a typed confirmation on
a terminal, portal/cli.py), empties the account's TOTP key (no migration: an empty key
means "set up again") and ends the account's sessions. At the next sign-in the right
password alone leads to a page with a new key chosen by the server and signed (like
enrolment), and only the password typed again together with a code from that key sets
it and signs in. Wrong codes count against the same limits as sign-in; every step is
audited with a fixed code.
"""

from __future__ import annotations

import hmac
import re

from portal.clock import Clock
from portal.crypto import totp
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import InvalidToken, Keys
from portal.domain import audit
from portal.domain.accounts import Account, Credentials, LoginFailed, PasskeyRequired
from portal.domain.invitations import PendingSecret
from portal.storage import accounts as store
from portal.storage import sessions as session_store
from portal.storage.database import Database

PURPOSE = "second-factor-again"
PENDING_TTL = 30 * 60
_BASE32_SECRET = re.compile(r"[A-Z2-7]{32}")


class NoSuchAccount(Exception):
    """No account has this username."""


class PendingInvalid(Exception):
    """The signed key from the form is altered, expired or for another account."""


async def reset(db: Database, clock: Clock, username: str) -> Account:
    """Empty the account's TOTP key and end its sessions (the operator's command)."""
    account = await store.account_by_username(db, username.strip().lower())
    if account is None:
        raise NoSuchAccount
    async with db.transaction() as tx:
        await store.clear_totp_secret(tx, account.id)
        await session_store.delete_account_sessions(tx, account.id)
        await audit.record(
            tx,
            clock,
            "second_factor_reset",
            None,
            actor_role=audit.SYSTEM_ROLE,
            subject_account_id=account.id,
        )
    return account


def new_pending(keys: Keys, account: Account) -> PendingSecret:
    secret = totp.new_secret()
    return PendingSecret(secret, keys.sign(PURPOSE, {"a": account.id, "s": secret}))


def open_pending(keys: Keys, signed: str) -> tuple[str, str]:
    """(account id, secret) that this server chose, from the form's signed value."""
    try:
        payload = keys.unsign(PURPOSE, signed, max_age=PENDING_TTL)
        account_id, secret = str(payload["a"]), str(payload["s"])
    except (InvalidToken, KeyError, TypeError) as exc:
        raise PendingInvalid from exc
    if not _BASE32_SECRET.fullmatch(secret):
        raise PendingInvalid
    return account_id, secret


async def set_up_again(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    given: Credentials,
    account_id: str,
    secret: str,
) -> Account:
    """The account, signed in with its new key; ``LoginFailed`` for a wrong password or
    code, another account's key, or a key that was set meanwhile. An account that signs
    in with a passkey gets the app set up (a recovery link asks for its code) but no
    sign-in: ``PasskeyRequired``."""
    secrets = await store.secrets_by_username(db, given.username.strip().lower())
    stored_hash = secrets.password_hash if secrets else None
    if not await hashing.run(lambda: hasher.verify_or_dummy(stored_hash, given.password)):
        raise await _failure(db, clock, secrets.account_id if secrets else None, "password")
    if secrets is None or not hmac.compare_digest(secrets.account_id, account_id):
        raise await _failure(db, clock, None, "password")
    account = await store.account_by_id(db, secrets.account_id)
    if account is None or not account.is_active:
        raise await _failure(db, clock, secrets.account_id, "disabled")
    step = totp.accepted_step(secret, given.totp_code, clock.now(), 0)
    if secrets.totp_secret or step is None:
        raise await _failure(db, clock, account.id, "second_factor")
    async with db.transaction() as tx:
        if not await store.set_totp_secret_if_empty(tx, account.id, secret, step):
            raise LoginFailed
        await audit.record(tx, clock, "second_factor_set_up", None, actor=account)
        if not account.passkey_only:
            await audit.record(tx, clock, "signed_in", None, actor=account)
    if account.passkey_only:
        raise PasskeyRequired
    return account


async def _failure(db: Database, clock: Clock, account_id: str | None, detail: str) -> LoginFailed:
    """The audit event of a failed attempt, and the exception to raise for it."""
    await audit.record(
        db,
        clock,
        "sign_in_failed",
        None,
        actor_role=audit.VISITOR_ROLE,
        detail=detail if account_id else None,
        subject_account_id=account_id,
    )
    return LoginFailed()
