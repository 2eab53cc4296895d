"""Queries on the append-only audit log (no UPDATE or DELETE lives here on purpose)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: int
    actor_account_id: str | None
    actor_name: str | None
    actor_role: str
    action: str
    consultation_id: str | None
    pseudonym: str | None
    detail: str | None


async def insert_event(
    db: Queryable,
    *,
    at: int,
    actor_account_id: str | None,
    actor_role: str,
    action: str,
    consultation_id: str | None,
    pseudonym: str | None,
    detail: str | None,
) -> None:
    await db.execute(
        "INSERT INTO audit_events (at, actor_account_id, actor_role, action, consultation_id,"
        " pseudonym, detail) VALUES (:at, :actor, :role, :action, :c, :pseudonym, :detail)",
        at=at,
        actor=actor_account_id,
        role=actor_role,
        action=action,
        c=consultation_id,
        pseudonym=pseudonym,
        detail=detail,
    )


async def list_events(
    db: Queryable,
    *,
    action: str = "",
    pseudonym: str = "",
    since: int = 0,
    until: int = 2**62,
    limit: int = 100,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    """Newest first, filtered by action, pseudonym (prefix) and a time range."""
    rows = await db.fetch_all(
        """
        SELECT e.id, e.at, e.actor_account_id, a.display_name AS actor_name, e.actor_role,
               e.action, e.consultation_id, e.pseudonym, e.detail
        FROM audit_events e LEFT JOIN accounts a ON a.id = e.actor_account_id
        WHERE (:action = '' OR e.action = :action)
          AND (:pseudonym = '' OR e.pseudonym LIKE :pattern)
          AND e.at >= :since AND e.at < :until
        ORDER BY e.at DESC, e.id DESC LIMIT :limit OFFSET :offset
        """,
        action=action,
        pseudonym=pseudonym,
        pattern=pseudonym.replace("%", "").replace("_", "") + "%",
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return [
        AuditEvent(
            row["id"],
            row["at"],
            row["actor_account_id"],
            row["actor_name"],
            row["actor_role"],
            row["action"],
            row["consultation_id"],
            row["pseudonym"],
            row["detail"],
        )
        for row in rows
    ]
