"""Queries on the append-only audit log (no UPDATE or DELETE lives here on purpose; the
database refuses them too, see migration 0007)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.storage.database import Queryable

FOREVER = 2**62


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
    subject_account_id: str | None = None
    subject_id: str | None = None
    # The display name of the subject account, or the name of the organisation, place or
    # invitee the subject id names (staff-managed names, never a client's).
    subject_name: str | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which events to list. ``actions_in``/``actions_not_in`` choose a kind of event;
    ``actor`` is an account id, or a role ("client", "system", "visitor") for events no
    account did; ``subject`` is the account an event concerns."""

    action: str = ""
    pseudonym: str = ""
    since: int = 0
    until: int = FOREVER
    actions_in: tuple[str, ...] = ()
    actions_not_in: tuple[str, ...] = ()
    actor: str = ""
    subject: str = ""


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
    subject_account_id: str | None = None,
    subject_id: str | None = None,
) -> None:
    await db.execute(
        "INSERT INTO audit_events (at, actor_account_id, actor_role, action, consultation_id,"
        " pseudonym, detail, subject_account_id, subject_id)"
        " VALUES (:at, :actor, :role, :action, :c, :pseudonym, :detail, :subject_account,"
        " :subject)",
        at=at,
        actor=actor_account_id,
        role=actor_role,
        action=action,
        c=consultation_id,
        pseudonym=pseudonym,
        detail=detail,
        subject_account=subject_account_id,
        subject=subject_id,
    )


def _one_of(column: str, prefix: str, values: tuple[str, ...], params: dict[str, Any]) -> str:
    """``column IN (:prefix0, ...)`` with its parameters (both drivers take no lists)."""
    names = [f"{prefix}{i}" for i in range(len(values))]
    params.update(zip(names, values, strict=True))
    return f"{column} IN ({', '.join(':' + name for name in names)})"


async def list_events(
    db: Queryable, chosen: AuditFilter | None = None, *, limit: int = 100, offset: int = 0
) -> Sequence[AuditEvent]:
    """Newest first, filtered by ``chosen`` (the pseudonym as a prefix)."""
    chosen = chosen or AuditFilter()
    params: dict[str, Any] = {
        "action": chosen.action,
        "pseudonym": chosen.pseudonym,
        "pattern": chosen.pseudonym.replace("%", "").replace("_", "") + "%",
        "since": chosen.since,
        "until": chosen.until,
        "actor": chosen.actor,
        "subject": chosen.subject,
        "limit": limit,
        "offset": offset,
    }
    kind = ""
    if chosen.actions_in:
        kind = " AND " + _one_of("e.action", "k", chosen.actions_in, params)
    if chosen.actions_not_in:
        kind += " AND NOT " + _one_of("e.action", "x", chosen.actions_not_in, params)
    rows = await db.fetch_all(
        f"""
        SELECT e.id, e.at, e.actor_account_id, a.display_name AS actor_name, e.actor_role,
               e.action, e.consultation_id, e.pseudonym, e.detail, e.subject_account_id,
               e.subject_id,
               COALESCE(s.display_name, o.name, p.name, i.display_name) AS subject_name
        FROM audit_events e
        LEFT JOIN accounts a ON a.id = e.actor_account_id
        LEFT JOIN accounts s ON s.id = e.subject_account_id
        LEFT JOIN organisations o ON o.id = e.subject_id
        LEFT JOIN places p ON p.id = e.subject_id
        LEFT JOIN invitations i ON i.id = e.subject_id
        WHERE (:action = '' OR e.action = :action)
          AND (:pseudonym = '' OR e.pseudonym LIKE :pattern)
          AND (:actor = '' OR e.actor_account_id = :actor
               OR (e.actor_account_id IS NULL AND e.actor_role = :actor))
          AND (:subject = '' OR e.subject_account_id = :subject)
          AND e.at >= :since AND e.at < :until{kind}
        ORDER BY e.at DESC, e.id DESC LIMIT :limit OFFSET :offset
        """,  # noqa: S608 - only placeholders are formatted in
        **params,
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
            row["subject_account_id"],
            row["subject_id"],
            row["subject_name"],
        )
        for row in rows
    ]


async def count_since(db: Queryable, action: str, since: int) -> int:
    """How many ``action`` events were recorded at or after ``since`` (a count only)."""
    value = await db.fetch_value(
        "SELECT COUNT(*) FROM audit_events WHERE action = :action AND at >= :since",
        action=action,
        since=since,
    )
    return int(value or 0)
