"""Queries for retention: what is due for purge, the purge itself, extensions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class DueForPurge:
    consultation_id: str
    pseudonym: str
    organisation_name: str
    last_activity_at: int
    purge_at: int
    extended_until: int | None
    extension_reason: str | None


# Last activity is the latest of three times (MAX skips the NULL of a missing meeting or
# code); the purge date is ``retention_days`` later, or the extension if that is later.
_DUE = """
SELECT r.* FROM (
    SELECT d.*, CASE WHEN d.extended_until > d.last_activity_at + :keep
                     THEN d.extended_until ELSE d.last_activity_at + :keep END AS purge_at
    FROM (
        SELECT c.id, c.pseudonym, o.name AS organisation_name,
               c.retention_extended_until AS extended_until,
               c.retention_extension_reason AS extension_reason,
               (SELECT MAX(t.at) FROM (
                   SELECT c.last_activity_at AS at
                   UNION ALL SELECT MAX(m.starts_at) FROM meetings m
                             WHERE m.consultation_id = c.id
                   UNION ALL SELECT MAX(k.expires_at) FROM one_time_codes k
                             WHERE k.consultation_id = c.id
               ) t) AS last_activity_at
        FROM consultations c JOIN organisations o ON o.id = c.organisation_id
        WHERE c.reported_at IS NULL AND c.last_activity_at <= :cutoff
    ) d
) r
WHERE r.purge_at <= :horizon
ORDER BY r.purge_at, r.id LIMIT :limit OFFSET :offset
"""
_ONE = """
SELECT c.id, c.pseudonym, o.name AS organisation_name,
       c.retention_extended_until AS extended_until,
       c.retention_extension_reason AS extension_reason,
       (SELECT MAX(t.at) FROM (
           SELECT c.last_activity_at AS at
           UNION ALL SELECT MAX(m.starts_at) FROM meetings m WHERE m.consultation_id = c.id
           UNION ALL SELECT MAX(k.expires_at) FROM one_time_codes k
                     WHERE k.consultation_id = c.id
       ) t) AS last_activity_at
FROM consultations c JOIN organisations o ON o.id = c.organisation_id
WHERE c.id = :id AND c.reported_at IS NULL
"""


def _due(row: Row, purge_at: int) -> DueForPurge:
    return DueForPurge(
        consultation_id=row["id"],
        pseudonym=row["pseudonym"],
        organisation_name=row["organisation_name"],
        last_activity_at=row["last_activity_at"],
        purge_at=purge_at,
        extended_until=row["extended_until"],
        extension_reason=row["extension_reason"],
    )


async def due_rows(
    db: Queryable, *, keep: int, horizon: int, limit: int, offset: int
) -> Sequence[DueForPurge]:
    """Consultations whose purge date is at or before ``horizon``, soonest first."""
    rows = await db.fetch_all(
        _DUE, keep=keep, cutoff=horizon - keep, horizon=horizon, limit=limit, offset=offset
    )
    return [_due(row, row["purge_at"]) for row in rows]


async def one_row(db: Queryable, consultation_id: str, keep: int) -> DueForPurge | None:
    """One consultation's last activity and purge date; None for a case or no such id."""
    row = await db.fetch_one(_ONE, id=consultation_id)
    if row is None:
        return None
    usual = int(row["last_activity_at"]) + keep
    return _due(row, max(usual, row["extended_until"] or 0))


async def delete_if_due(db: Queryable, consultation_id: str, *, cutoff: int, now: int) -> bool:
    """Hard-delete the consultation (cascading to its children) if it is still due.

    The row conditions are repeated here so PostgreSQL re-checks them on the locked row:
    a concurrent decision to report, extension or new activity keeps the consultation.
    """
    deleted = await db.execute(
        "DELETE FROM consultations WHERE id = :id AND reported_at IS NULL"
        " AND last_activity_at <= :cutoff"
        " AND (retention_extended_until IS NULL OR retention_extended_until <= :now)",
        id=consultation_id,
        cutoff=cutoff,
        now=now,
    )
    return deleted == 1


async def set_extension(db: Queryable, consultation_id: str, until: int, reason: str) -> bool:
    changed = await db.execute(
        "UPDATE consultations SET retention_extended_until = :until,"
        " retention_extension_reason = :reason WHERE id = :id AND reported_at IS NULL",
        id=consultation_id,
        until=until,
        reason=reason,
    )
    return changed == 1
