"""Queries on attention items: what needs a staff member's attention, and who gets it.

Items are content-free rows (a kind, a fixed detail code, ids, times): never a message's
text, never a name. A row with ``dedupe`` exists at most once per account (the unique
constraint on ``(account_id, dedupe)``): the sweep inserts its items with
``ON CONFLICT DO NOTHING``, a new message re-opens the one item of its conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class AttentionItem:
    id: str
    account_id: str
    consultation_id: str | None
    pseudonym: str | None
    kind: str
    detail: str | None
    subject_id: str | None
    urgent: bool
    created_at: int
    done_at: int | None
    # The meeting's start for items about a meeting, the period's end for a reflection
    # period ending (read at display time: the item itself holds no schedule).
    when: int | None


# What an item is about: a meeting's start (for the kinds whose subject is a meeting) or
# the reflection period's end, from the rows they name, never copied into the item.
_ITEM = """
SELECT i.id, i.account_id, i.consultation_id, c.pseudonym, i.kind, i.detail, i.subject_id,
       i.urgent, i.created_at, i.done_at,
       CASE WHEN i.kind = 'reflection_ending' THEN c.reflection_ends_on
            ELSE m.starts_at END AS at_time
FROM attention_items i
LEFT JOIN consultations c ON c.id = i.consultation_id
LEFT JOIN meetings m ON m.id = i.subject_id AND i.kind <> 'message'
"""


def _item(row: Row) -> AttentionItem:
    return AttentionItem(
        id=row["id"],
        account_id=row["account_id"],
        consultation_id=row["consultation_id"],
        pseudonym=row["pseudonym"],
        kind=row["kind"],
        detail=row["detail"],
        subject_id=row["subject_id"],
        urgent=bool(row["urgent"]),
        created_at=row["created_at"],
        done_at=row["done_at"],
        when=row["at_time"],
    )


async def insert_item(
    db: Queryable,
    *,
    item_id: str,
    account_id: str,
    consultation_id: str | None,
    kind: str,
    detail: str | None,
    subject_id: str | None,
    urgent: bool,
    now: int,
    dedupe: str | None = None,
) -> bool:
    """A new item; with ``dedupe``, only if the account has none of that name yet (done
    or not: a time-driven item comes once). True if a row was written."""
    written = await db.execute(
        "INSERT INTO attention_items (id, account_id, consultation_id, kind, detail,"
        " subject_id, urgent, dedupe, created_at)"
        " VALUES (:id, :a, :c, :kind, :detail, :subject, :urgent, :dedupe, :now)"
        " ON CONFLICT (account_id, dedupe) DO NOTHING",
        id=item_id,
        a=account_id,
        c=consultation_id,
        kind=kind,
        detail=detail,
        subject=subject_id,
        urgent=int(urgent),
        dedupe=dedupe,
        now=now,
    )
    return written == 1


async def refresh_item(
    db: Queryable,
    *,
    item_id: str,
    account_id: str,
    consultation_id: str,
    kind: str,
    subject_id: str,
    dedupe: str,
    now: int,
    urgent: bool = False,
) -> None:
    """The account's item named ``dedupe``: created, or re-opened and moved to ``now``
    (a new message in a conversation whose item was already there, or done)."""
    await db.execute(
        "INSERT INTO attention_items (id, account_id, consultation_id, kind, subject_id,"
        " urgent, dedupe, created_at)"
        " VALUES (:id, :a, :c, :kind, :subject, :urgent, :dedupe, :now)"
        " ON CONFLICT (account_id, dedupe) DO UPDATE SET done_at = NULL,"
        " created_at = excluded.created_at, subject_id = excluded.subject_id",
        id=item_id,
        a=account_id,
        c=consultation_id,
        kind=kind,
        subject=subject_id,
        dedupe=dedupe,
        now=now,
        urgent=int(urgent),
    )


async def close_named(db: Queryable, consultation_id: str, dedupe: str, now: int) -> int:
    """Mark done everyone's open item named ``dedupe`` of the consultation (what it was
    about is over: an urgent risk the safety plan no longer says). The number closed."""
    closed: int = await db.execute(
        "UPDATE attention_items SET done_at = :now"
        " WHERE consultation_id = :c AND dedupe = :d AND done_at IS NULL",
        c=consultation_id,
        d=dedupe,
        now=now,
    )
    return closed


async def open_items(
    db: Queryable, account_id: str, limit: int, offset: int
) -> Sequence[AttentionItem]:
    """The account's open items: urgent ones first, then newest first."""
    rows = await db.fetch_all(
        _ITEM + "WHERE i.account_id = :a AND i.done_at IS NULL"
        " ORDER BY i.urgent DESC, i.created_at DESC, i.id LIMIT :limit OFFSET :offset",
        a=account_id,
        limit=limit,
        offset=offset,
    )
    return [_item(row) for row in rows]


async def item_by_id(db: Queryable, item_id: str) -> AttentionItem | None:
    row = await db.fetch_one(_ITEM + "WHERE i.id = :id", id=item_id)
    return None if row is None else _item(row)


async def mark_done(db: Queryable, item_id: str, account_id: str, now: int) -> bool:
    """Close the owner's open item; False if it was not open (or not theirs)."""
    changed = await db.execute(
        "UPDATE attention_items SET done_at = :now"
        " WHERE id = :id AND account_id = :a AND done_at IS NULL",
        id=item_id,
        a=account_id,
        now=now,
    )
    return changed == 1


# --- recipients ----------------------------------------------------------------------


async def active_ngo_workers(
    db: Queryable, organisation_id: str, *, with_key: bool = False
) -> list[str]:
    """The ids of an organisation's NGO workers who are not disabled (and, with
    ``with_key``, have a current key to read a conversation with)."""
    key = (
        " AND EXISTS (SELECT 1 FROM investigator_keys k"
        " WHERE k.account_id = a.id AND k.retired_at IS NULL)"
        if with_key
        else ""
    )
    rows = await db.fetch_all(
        "SELECT a.id FROM accounts a WHERE a.organisation_id = :org"  # noqa: S608 - fixed text
        " AND a.role = 'ngo_worker' AND a.disabled_at IS NULL" + key + " ORDER BY a.id",
        org=organisation_id,
    )
    return [row["id"] for row in rows]


async def account_is_active(db: Queryable, account_id: str) -> bool:
    value = await db.fetch_value(
        "SELECT COUNT(*) FROM accounts WHERE id = :id AND disabled_at IS NULL", id=account_id
    )
    return bool(value)


# --- the sweep -----------------------------------------------------------------------


@dataclass(frozen=True)
class UnconfirmedMeeting:
    meeting_id: str
    consultation_id: str
    investigator_id: str
    organisation_id: str
    booked_by: str
    booker_active: bool


async def unconfirmed_meetings(db: Queryable, start: int, end: int) -> list[UnconfirmedMeeting]:
    """Meetings still only booked (the client has not confirmed) starting in (start, end]."""
    rows = await db.fetch_all(
        "SELECT m.id, m.consultation_id, m.investigator_id, c.organisation_id, c.booked_by,"
        " b.disabled_at AS booker_disabled_at"
        " FROM meetings m JOIN consultations c ON c.id = m.consultation_id"
        " JOIN accounts b ON b.id = c.booked_by"
        " WHERE m.status = 'booked' AND m.starts_at > :start AND m.starts_at <= :end"
        " ORDER BY m.starts_at, m.id",
        start=start,
        end=end,
    )
    return [
        UnconfirmedMeeting(
            row["id"],
            row["consultation_id"],
            row["investigator_id"],
            row["organisation_id"],
            row["booked_by"],
            row["booker_disabled_at"] is None,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class EndingReflection:
    consultation_id: str
    investigator_id: str
    ends_on: int


async def ending_reflections(db: Queryable, start: int, end: int) -> list[EndingReflection]:
    """Granted reflection periods ending in [start, end] (the status and end-date index)."""
    rows = await db.fetch_all(
        "SELECT id, investigator_id, reflection_ends_on FROM consultations"
        " WHERE reflection_status = 'granted' AND reflection_ends_on >= :start"
        " AND reflection_ends_on <= :end ORDER BY reflection_ends_on, id",
        start=start,
        end=end,
    )
    return [
        EndingReflection(row["id"], row["investigator_id"], row["reflection_ends_on"])
        for row in rows
    ]
