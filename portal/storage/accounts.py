"""Queries on staff accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Account:
    """A staff account as every request sees it (the session holds one).

    No password hash and no TOTP secret: loaded with every session, they would sit in
    every handler's and template's reach, one slip from a page, a log line or an error
    report. Sign-in and password change read them by account id (``AccountSecrets``).
    """

    id: str
    organisation_id: str
    organisation_name: str
    username: str
    display_name: str
    role: str
    gender: str
    disabled_at: int | None
    security_notices: str = ""  # encoded: see ``SecurityNotice``
    # How many passkeys the account has, and whether its role must have one (both read
    # with the account, so the guard needs no query of its own).
    passkey_count: int = 0
    passkey_required: bool = False

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def passkey_missing(self) -> bool:
        """The role requires a passkey and the account has none: registering one comes
        before anything else."""
        return bool(self.passkey_required) and self.passkey_count == 0

    @property
    def passkey_only(self) -> bool:
        """The role requires a passkey and the account has one: it signs in with it."""
        return bool(self.passkey_required) and self.passkey_count > 0

    @property
    def notices(self) -> list[SecurityNotice]:
        return decode_notices(self.security_notices)


@dataclass(frozen=True)
class SecurityNotice:
    """A key or password change the owner has not dismissed yet.

    ``session_tag`` names the session that made the change (the first 8 bytes of its id
    hash, in hex): that session is told on the spot, every other one by the notice.
    Stored in ``accounts.security_notices`` as ``action@at@tag`` entries joined by ``;``.
    """

    action: str
    at: int
    session_tag: str


# A repeated change from one session replaces its earlier entry; at most this many are
# kept (the newest), so the column stays within its 400 characters.
MAX_NOTICES = 8


def decode_notices(text: str) -> list[SecurityNotice]:
    notices = []
    for entry in text.split(";") if text else []:
        action, _, rest = entry.partition("@")
        at, _, tag = rest.partition("@")
        if action and at.isascii() and at.isdigit():
            notices.append(SecurityNotice(action, int(at), tag))
    return notices


def encode_notices(notices: Sequence[SecurityNotice]) -> str:
    return ";".join(f"{n.action}@{n.at}@{n.session_tag}" for n in notices)


@dataclass(frozen=True)
class AccountSecrets:
    """What only the checks of a password or TOTP code read."""

    account_id: str
    password_hash: str
    totp_secret: str
    totp_last_step: int


# The column each field of Account is read from (``a.<field>`` unless named here), in the
# order of the fields: rows are unpacked by position (``Account(*row)``; faster than by
# name, and the session query runs on every request), so the list is derived from the
# dataclass once, and a field added or moved cannot shift the others.
_ACCOUNT_SOURCES = {
    "organisation_name": "o.name",
    "passkey_count": "(SELECT COUNT(*) FROM passkeys p WHERE p.account_id = a.id)",
    "passkey_required": ("(SELECT COUNT(*) FROM passkey_requirements r WHERE r.role = a.role)"),
}
ACCOUNT_COLUMNS = ", ".join(_ACCOUNT_SOURCES.get(f.name, f"a.{f.name}") for f in fields(Account))

_SELECT = f"""
SELECT {ACCOUNT_COLUMNS}
FROM accounts a JOIN organisations o ON o.id = a.organisation_id
"""  # noqa: S608 - column names from the dataclass above, no input

_SECRETS = """
SELECT id, password_hash, totp_secret, totp_last_step FROM accounts
"""


def account_from_row(row: Row) -> Account:
    return Account(*row)


def _secrets(row: Row | None) -> AccountSecrets | None:
    return None if row is None else AccountSecrets(*row)


async def secrets_by_id(db: Queryable, account_id: str) -> AccountSecrets | None:
    return _secrets(await db.fetch_one(_SECRETS + "WHERE id = :id", id=account_id))


async def secrets_by_username(db: Queryable, username: str) -> AccountSecrets | None:
    return _secrets(await db.fetch_one(_SECRETS + "WHERE username = :u", u=username))


async def account_by_username(db: Queryable, username: str) -> Account | None:
    row = await db.fetch_one(_SELECT + "WHERE a.username = :username", username=username)
    return None if row is None else account_from_row(row)


async def account_by_id(db: Queryable, account_id: str) -> Account | None:
    row = await db.fetch_one(_SELECT + "WHERE a.id = :id", id=account_id)
    return None if row is None else account_from_row(row)


async def username_taken(db: Queryable, username: str) -> bool:
    found = await db.fetch_value("SELECT 1 FROM accounts WHERE username = :u", u=username)
    return found is not None


async def list_accounts(db: Queryable) -> Sequence[Account]:
    rows = await db.fetch_all(_SELECT + "ORDER BY o.name, a.display_name")
    return [account_from_row(row) for row in rows]


async def insert_account(
    db: Queryable,
    *,
    account_id: str,
    organisation_id: str,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    totp_secret: str,
    totp_last_step: int,
    now: int,
    gender: str = "unspecified",
) -> None:
    await db.execute(
        """
        INSERT INTO accounts (id, organisation_id, username, display_name, role, gender,
                              password_hash, totp_secret, totp_last_step, created_at)
        VALUES (:id, :org, :username, :display_name, :role, :gender, :password_hash,
                :totp_secret, :totp_last_step, :now)
        """,
        id=account_id,
        org=organisation_id,
        username=username,
        display_name=display_name,
        role=role,
        gender=gender,
        password_hash=password_hash,
        totp_secret=totp_secret,
        totp_last_step=totp_last_step,
        now=now,
    )


async def clear_totp_secret(db: Queryable, account_id: str) -> bool:
    """An empty key: the person sets up an authenticator app at the next sign-in."""
    changed = await db.execute(
        "UPDATE accounts SET totp_secret = '', totp_last_step = 0 WHERE id = :id", id=account_id
    )
    return changed == 1


async def set_totp_secret_if_empty(db: Queryable, account_id: str, secret: str, step: int) -> bool:
    """The new key, only where the key is still empty (two tabs cannot both set one)."""
    changed = await db.execute(
        "UPDATE accounts SET totp_secret = :secret, totp_last_step = :step"
        " WHERE id = :id AND totp_secret = ''",
        id=account_id,
        secret=secret,
        step=step,
    )
    return changed == 1


async def claim_totp_step(db: Queryable, account_id: str, step: int) -> bool:
    """Record ``step`` as used; False if it (or a later one) was used already (a replay)."""
    changed = await db.execute(
        "UPDATE accounts SET totp_last_step = :step WHERE id = :id AND totp_last_step < :step",
        id=account_id,
        step=step,
    )
    return changed == 1


async def set_password_hash(db: Queryable, account_id: str, password_hash: str) -> None:
    await db.execute(
        "UPDATE accounts SET password_hash = :h WHERE id = :id", id=account_id, h=password_hash
    )


async def set_disabled(db: Queryable, account_id: str, disabled_at: int | None) -> None:
    await db.execute(
        "UPDATE accounts SET disabled_at = :at WHERE id = :id", id=account_id, at=disabled_at
    )


async def _locked_notices(tx: Queryable, account_id: str) -> list[SecurityNotice]:
    """The account's notices, its row locked for the rest of the caller's transaction (a
    no-op update: PostgreSQL holds the row lock, SQLite's writer lock is already held), so
    two changes at once cannot drop each other's entry."""
    await tx.execute(
        "UPDATE accounts SET security_notices = security_notices WHERE id = :id", id=account_id
    )
    text = await tx.fetch_value(
        "SELECT security_notices FROM accounts WHERE id = :id", id=account_id
    )
    return decode_notices(text or "")


async def _store_notices(tx: Queryable, account_id: str, notices: Sequence[SecurityNotice]) -> None:
    await tx.execute(
        "UPDATE accounts SET security_notices = :n WHERE id = :id",
        id=account_id,
        n=encode_notices(notices),
    )


async def add_security_notice(tx: Queryable, account_id: str, notice: SecurityNotice) -> None:
    """Call inside a transaction."""
    kept = [
        n
        for n in await _locked_notices(tx, account_id)
        if (n.action, n.session_tag) != (notice.action, notice.session_tag)
    ]
    await _store_notices(tx, account_id, [*kept, notice][-MAX_NOTICES:])


async def dismiss_security_notices(tx: Queryable, account_id: str, session_tag: str) -> None:
    """Call inside a transaction. Only the notices of other sessions: the session that
    made a change cannot dismiss its notice (a thief's stolen session would)."""
    notices = await _locked_notices(tx, account_id)
    await _store_notices(tx, account_id, [n for n in notices if n.session_tag == session_tag])
