"""Queries on enrolment invitations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Invitation:
    id: str
    organisation_id: str
    organisation_name: str
    role: str
    display_name: str
    gender: str
    nonce_hash: bytes
    created_at: int
    expires_at: int
    used_at: int | None
    revoked_at: int | None

    def is_open(self, now: int) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


_SELECT = """
SELECT i.id, i.organisation_id, o.name AS organisation_name, i.role, i.display_name, i.gender,
       i.nonce_hash, i.created_at, i.expires_at, i.used_at, i.revoked_at
FROM invitations i JOIN organisations o ON o.id = i.organisation_id
"""


def _invitation(row: Row) -> Invitation:
    return Invitation(
        id=row["id"],
        organisation_id=row["organisation_id"],
        organisation_name=row["organisation_name"],
        role=row["role"],
        display_name=row["display_name"],
        gender=row["gender"],
        nonce_hash=bytes(row["nonce_hash"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


async def insert_invitation(
    db: Queryable,
    *,
    invitation_id: str,
    organisation_id: str,
    role: str,
    display_name: str,
    gender: str,
    nonce_hash: bytes,
    created_by: str | None,
    now: int,
    expires_at: int,
) -> None:
    await db.execute(
        """
        INSERT INTO invitations (id, organisation_id, role, display_name, gender, nonce_hash,
                                 created_by, created_at, expires_at)
        VALUES (:id, :org, :role, :display_name, :gender, :nonce_hash, :created_by, :now,
                :expires_at)
        """,
        id=invitation_id,
        org=organisation_id,
        role=role,
        display_name=display_name,
        gender=gender,
        nonce_hash=nonce_hash,
        created_by=created_by,
        now=now,
        expires_at=expires_at,
    )


async def invitation_by_id(db: Queryable, invitation_id: str) -> Invitation | None:
    row = await db.fetch_one(_SELECT + "WHERE i.id = :id", id=invitation_id)
    return None if row is None else _invitation(row)


async def list_invitations(db: Queryable, limit: int = 100) -> Sequence[Invitation]:
    rows = await db.fetch_all(_SELECT + "ORDER BY i.created_at DESC LIMIT :limit", limit=limit)
    return [_invitation(row) for row in rows]


async def mark_used(db: Queryable, invitation_id: str, now: int) -> bool:
    """Burn the invitation; False if it was used, revoked or expired meanwhile."""
    changed = await db.execute(
        """
        UPDATE invitations SET used_at = :now
        WHERE id = :id AND used_at IS NULL AND revoked_at IS NULL AND expires_at > :now
        """,
        id=invitation_id,
        now=now,
    )
    return changed == 1


async def revoke(db: Queryable, invitation_id: str, now: int) -> bool:
    changed = await db.execute(
        "UPDATE invitations SET revoked_at = :now WHERE id = :id AND used_at IS NULL"
        " AND revoked_at IS NULL",
        id=invitation_id,
        now=now,
    )
    return changed == 1
