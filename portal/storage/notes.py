"""Queries on sealed notes. Only envelopes are stored; the server cannot read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Note:
    id: str
    consultation_id: str
    kind: str
    author_role: str
    key_id: str
    key_account_id: str
    envelope: bytes
    sealed_in: str
    created_at: int


_SELECT = """
SELECT n.id, n.consultation_id, n.kind, n.author_role, n.key_id,
       k.account_id AS key_account_id, n.envelope, n.sealed_in, n.created_at
FROM notes n JOIN investigator_keys k ON k.id = n.key_id
"""


def _note(row: Row) -> Note:
    return Note(
        id=row["id"],
        consultation_id=row["consultation_id"],
        kind=row["kind"],
        author_role=row["author_role"],
        key_id=row["key_id"],
        key_account_id=row["key_account_id"],
        envelope=bytes(row["envelope"]),
        sealed_in=row["sealed_in"],
        created_at=row["created_at"],
    )


async def insert_note(
    db: Queryable,
    *,
    note_id: str,
    consultation_id: str,
    kind: str,
    author_role: str,
    author_account_id: str | None,
    key_id: str,
    envelope: bytes,
    sealed_in: str,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO notes (id, consultation_id, kind, author_role, author_account_id, key_id,"
        " envelope, sealed_in, created_at)"
        " VALUES (:id, :c, :kind, :role, :author, :key, :envelope, :sealed_in, :now)",
        id=note_id,
        c=consultation_id,
        kind=kind,
        role=author_role,
        author=author_account_id,
        key=key_id,
        envelope=envelope,
        sealed_in=sealed_in,
        now=now,
    )


async def consultation_notes(db: Queryable, consultation_id: str) -> Sequence[Note]:
    rows = await db.fetch_all(
        _SELECT + "WHERE n.consultation_id = :c ORDER BY n.created_at, n.id", c=consultation_id
    )
    return [_note(row) for row in rows]


async def notes_to_reseal(db: Queryable, account_id: str) -> Sequence[tuple[Note, str]]:
    """Notes sealed to this investigator's keys in consultations now assigned to another,
    with the account they are assigned to."""
    rows = await db.fetch_all(
        _SELECT.replace("FROM notes n", ", c.investigator_id AS assigned_to FROM notes n")
        + "JOIN consultations c ON c.id = n.consultation_id"
        " WHERE k.account_id = :a AND c.investigator_id != :a"
        " ORDER BY n.consultation_id, n.created_at LIMIT 500",
        a=account_id,
    )
    return [(_note(row), row["assigned_to"]) for row in rows]


async def replace_envelope(
    db: Queryable, note_id: str, old_key_id: str, new_key_id: str, envelope: bytes
) -> bool:
    """Swap in a re-sealed envelope, only if the note is still sealed to the old key."""
    changed = await db.execute(
        "UPDATE notes SET envelope = :e, key_id = :new WHERE id = :id AND key_id = :old",
        id=note_id,
        e=envelope,
        new=new_key_id,
        old=old_key_id,
    )
    return changed == 1
