"""Queries on staff key pairs (investigators, NGO workers): public keys and wrapped
private keys."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class StaffKey:
    id: str
    account_id: str
    public_key: bytes
    wrapped_key: bytes
    recovery_wrapped_key: bytes
    created_at: int
    retired_at: int | None


def _key(row: Row, prefix: str = "") -> StaffKey:
    """From a row of investigator_keys, or of a join that names its columns ``prefix...``."""
    return StaffKey(
        id=row[prefix + "id"],
        account_id=row[prefix + "account_id"],
        public_key=bytes(row[prefix + "public_key"]),
        wrapped_key=bytes(row[prefix + "wrapped_key"]),
        recovery_wrapped_key=bytes(row[prefix + "recovery_wrapped_key"]),
        created_at=row[prefix + "created_at"],
        retired_at=row[prefix + "retired_at"],
    )


# The current key's columns for a join on investigator_keys k (see ``_key``'s prefix).
KEY_COLUMNS = ", ".join(
    f"k.{name} AS key_{name}"
    for name in ("id", "account_id", "public_key", "wrapped_key", "recovery_wrapped_key",
                 "created_at", "retired_at")
)  # fmt: skip


def key_from_join(row: Row) -> StaffKey | None:
    return None if row["key_id"] is None else _key(row, "key_")


async def current_key(db: Queryable, account_id: str) -> StaffKey | None:
    row = await db.fetch_one(
        "SELECT * FROM investigator_keys WHERE account_id = :a AND retired_at IS NULL",
        a=account_id,
    )
    return None if row is None else _key(row)


async def holders_of_keys(db: Queryable, account_ids: Iterable[str]) -> set[str]:
    """Which of ``account_ids`` have a current key."""
    ids = sorted(set(account_ids))
    if not ids:
        return set()
    marks = ", ".join(f":a{i}" for i in range(len(ids)))
    rows = await db.fetch_all(
        f"SELECT account_id FROM investigator_keys WHERE retired_at IS NULL"  # noqa: S608 - placeholders only
        f" AND account_id IN ({marks})",
        **{f"a{i}": account_id for i, account_id in enumerate(ids)},
    )
    return {row["account_id"] for row in rows}


async def key_by_id(db: Queryable, key_id: str) -> StaffKey | None:
    row = await db.fetch_one("SELECT * FROM investigator_keys WHERE id = :id", id=key_id)
    return None if row is None else _key(row)


async def retire_keys(db: Queryable, account_id: str, now: int) -> int:
    """How many keys were retired (0: the account had none)."""
    return await db.execute(
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
