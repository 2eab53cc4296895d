"""Queries on a meeting's interpreter (meetings.interpreter_*): one conditional update."""

from __future__ import annotations

from portal.storage.database import Queryable


async def set_interpreter(
    db: Queryable,
    meeting_id: str,
    *,
    before: str,
    status: str,
    language: str | None,
    wishes_met: bool | None,
    now: int,
) -> bool:
    """Move the meeting's interpreter from ``before`` to ``status``; False if it is no
    longer ``before`` (someone else changed it meanwhile)."""
    changed = await db.execute(
        "UPDATE meetings SET interpreter_status = :status, interpreter_language = :language,"
        " interpreter_wishes_met = :wishes, interpreter_updated_at = :now"
        " WHERE id = :id AND interpreter_status = :before",
        id=meeting_id,
        before=before,
        status=status,
        language=language,
        wishes=None if wishes_met is None else int(wishes_met),
        now=now,
    )
    return changed == 1
