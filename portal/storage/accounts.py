"""Queries on staff accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Account:
    id: str
    organisation_id: str
    organisation_name: str
    username: str
    display_name: str
    role: str
    gender: str
    password_hash: str
    totp_secret: str
    totp_last_step: int
    disabled_at: int | None

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


_SELECT = """
SELECT a.id, a.organisation_id, o.name AS organisation_name, a.username, a.display_name,
       a.role, a.gender, a.password_hash, a.totp_secret, a.totp_last_step, a.disabled_at
FROM accounts a JOIN organisations o ON o.id = a.organisation_id
"""


def account_from_row(row: Row) -> Account:
    return Account(
        id=row["id"],
        organisation_id=row["organisation_id"],
        organisation_name=row["organisation_name"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        gender=row["gender"],
        password_hash=row["password_hash"],
        totp_secret=row["totp_secret"],
        totp_last_step=row["totp_last_step"],
        disabled_at=row["disabled_at"],
    )


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
