"""Queries on safety plans: the plain codes (safety_plans) and the sealed details
(safety_plan_envelopes, one per staff participant's key, replaced on each save)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class SafetyPlan:
    consultation_id: str
    housing: str
    urgent_risk: bool
    safe_contact_agreed: bool
    updated_by: str
    updated_by_name: str
    updated_at: int
    has_details: bool  # sealed details exist (for someone)


_PLAN = """
SELECT p.consultation_id, p.housing, p.urgent_risk, p.safe_contact_agreed, p.updated_by,
       a.display_name, p.updated_at,
       EXISTS (SELECT 1 FROM safety_plan_envelopes e
               WHERE e.consultation_id = p.consultation_id) AS has_details
"""
_FROM = """
FROM safety_plans p JOIN accounts a ON a.id = p.updated_by
"""


async def plan_of(db: Queryable, consultation_id: str) -> SafetyPlan | None:
    row = await db.fetch_one(_PLAN + _FROM + "WHERE p.consultation_id = :c", c=consultation_id)
    return None if row is None else _plan(row)


async def plan_and_details(
    db: Queryable, consultation_id: str, key_id: str
) -> tuple[SafetyPlan | None, bytes | None]:
    """The plan and the details sealed to ``key_id`` (None: none for that key), in one
    statement: the consultation pages show both on every view."""
    row = await db.fetch_one(
        _PLAN + ", d.envelope" + _FROM + "LEFT JOIN safety_plan_envelopes d"
        " ON d.consultation_id = p.consultation_id AND d.recipient_key_id = :k"
        " WHERE p.consultation_id = :c",
        c=consultation_id,
        k=key_id,
    )
    if row is None:
        return None, None
    return _plan(row), None if row["envelope"] is None else bytes(row["envelope"])


def _plan(row: Row) -> SafetyPlan:
    return SafetyPlan(
        row["consultation_id"],
        row["housing"],
        bool(row["urgent_risk"]),
        bool(row["safe_contact_agreed"]),
        row["updated_by"],
        row["display_name"],
        row["updated_at"],
        bool(row["has_details"]),
    )


async def save_plan(
    db: Queryable,
    consultation_id: str,
    *,
    housing: str,
    urgent_risk: bool,
    safe_contact_agreed: bool,
    updated_by: str,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO safety_plans (consultation_id, housing, urgent_risk, safe_contact_agreed,"
        " updated_by, updated_at) VALUES (:c, :housing, :urgent, :contact, :by, :now)"
        " ON CONFLICT (consultation_id) DO UPDATE SET housing = excluded.housing,"
        " urgent_risk = excluded.urgent_risk,"
        " safe_contact_agreed = excluded.safe_contact_agreed,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        c=consultation_id,
        housing=housing,
        urgent=int(urgent_risk),
        contact=int(safe_contact_agreed),
        by=updated_by,
        now=now,
    )


async def delete_envelopes(db: Queryable, consultation_id: str) -> None:
    await db.execute(
        "DELETE FROM safety_plan_envelopes WHERE consultation_id = :c", c=consultation_id
    )


async def insert_envelope(
    db: Queryable, consultation_id: str, recipient_key_id: str, envelope: bytes, now: int
) -> None:
    await db.execute(
        "INSERT INTO safety_plan_envelopes (consultation_id, recipient_key_id, envelope,"
        " created_at) VALUES (:c, :k, :e, :now)",
        c=consultation_id,
        k=recipient_key_id,
        e=envelope,
        now=now,
    )
