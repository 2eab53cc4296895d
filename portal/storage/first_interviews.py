"""Queries on a case's planned first interview (columns of ``consultations``)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.storage.database import Queryable


@dataclass(frozen=True)
class FirstInterview:
    consultation_id: str
    at: int
    investigator_id: str
    place_id: str | None
    change_reason: str | None  # why not the investigator the client met (a code)


async def first_interview_of(db: Queryable, consultation_id: str) -> FirstInterview | None:
    """The plan of a case (None before the decision to report)."""
    row = await db.fetch_one(
        "SELECT first_interview_at, first_interview_investigator_id,"
        " first_interview_place_id, first_interview_change_reason"
        " FROM consultations WHERE id = :id AND reported_at IS NOT NULL"
        " AND first_interview_at IS NOT NULL",
        id=consultation_id,
    )
    if row is None:
        return None
    return FirstInterview(
        consultation_id,
        row["first_interview_at"],
        row["first_interview_investigator_id"],
        row["first_interview_place_id"],
        row["first_interview_change_reason"],
    )


async def set_first_interview(
    db: Queryable,
    consultation_id: str,
    *,
    at: int,
    investigator_id: str,
    place_id: str | None,
    change_reason: str | None,
    now: int,
) -> bool:
    """Plan (or re-plan) the first interview of a case; False before the decision."""
    changed = await db.execute(
        "UPDATE consultations SET first_interview_at = :at,"
        " first_interview_investigator_id = :inv, first_interview_place_id = :place,"
        " first_interview_change_reason = :reason, last_activity_at = :now"
        " WHERE id = :id AND reported_at IS NOT NULL",
        id=consultation_id,
        at=at,
        inv=investigator_id,
        place=place_id,
        reason=change_reason,
        now=now,
    )
    return changed == 1
