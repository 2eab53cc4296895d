"""Queries on investigators' public keys and their wrapped private keys."""

from __future__ import annotations

from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class InvestigatorKey:
    id: str
    account_id: str
    public_key: bytes
    wrapped_key: bytes
    recovery_wrapped_key: bytes
    created_at: int
    retired_at: int | None


def _key(row: Row) -> InvestigatorKey:
    return InvestigatorKey(
        id=row["id"],
        account_id=row["account_id"],
        public_key=bytes(row["public_key"]),
        wrapped_key=bytes(row["wrapped_key"]),
        recovery_wrapped_key=bytes(row["recovery_wrapped_key"]),
        created_at=row["created_at"],
        retired_at=row["retired_at"],
    )


async def current_key(db: Queryable, account_id: str) -> InvestigatorKey | None:
    row = await db.fetch_one(
        "SELECT * FROM investigator_keys WHERE account_id = :a AND retired_at IS NULL",
        a=account_id,
    )
    return None if row is None else _key(row)


async def key_by_id(db: Queryable, key_id: str) -> InvestigatorKey | None:
    row = await db.fetch_one("SELECT * FROM investigator_keys WHERE id = :id", id=key_id)
    return None if row is None else _key(row)


async def retire_keys(db: Queryable, account_id: str, now: int) -> None:
    await db.execute(
        "UPDATE investigator_keys SET retired_at = :now"
        " WHERE account_id = :a AND retired_at IS NULL",
        a=account_id,
        now=now,
    )


async def insert_key(
    db: Queryable,
    *,
    key_id: str,
    account_id: str,
    public_key: bytes,
    wrapped_key: bytes,
    recovery_wrapped_key: bytes,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO investigator_keys (id, account_id, public_key, wrapped_key,"
        " recovery_wrapped_key, created_at)"
        " VALUES (:id, :a, :pk, :wrapped, :recovery, :now)",
        id=key_id,
        a=account_id,
        pk=public_key,
        wrapped=wrapped_key,
        recovery=recovery_wrapped_key,
        now=now,
    )


async def replace_wrapped_key(db: Queryable, key_id: str, wrapped_key: bytes) -> None:
    await db.execute(
        "UPDATE investigator_keys SET wrapped_key = :w WHERE id = :id AND retired_at IS NULL",
        id=key_id,
        w=wrapped_key,
    )
