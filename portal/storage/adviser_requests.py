"""Queries on adviser requests and the advisers' part in consultations (adviser_meetings).

A request carries no text: the consultation, the organisation asked, who asked, when and
its status. What the advisers are shown of the consultation (its language and structured
needs) is read from the consultation row when a page needs it, never copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.storage.consultations import NEEDS_COLUMNS
from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class AdviserRequest:
    id: str
    consultation_id: str
    pseudonym: str
    organisation_id: str
    organisation_name: str
    organisation_kind: str
    requested_by: str
    requester_role: str
    requester_organisation: str
    created_at: int
    status: str  # "open", "answered" or "withdrawn"
    answered_by: str | None
    answered_at: int | None
    needs: dict[str, Any]  # the consultation's structured needs (domain/needs.py)


@dataclass(frozen=True)
class AdviserMeeting:
    """An adviser taking part: at one of the consultation's meetings (``meeting_id``) or
    at a time of their own. Time and place are the meeting's for a joined meeting."""

    id: str
    consultation_id: str
    pseudonym: str
    request_id: str | None
    adviser_id: str
    adviser_name: str
    organisation_kind: str
    meeting_id: str | None
    place_id: str
    place_name: str
    place_address: str
    place_directions: str
    starts_at: int
    duration_minutes: int
    status: str  # "planned", "held" or "cancelled"
    meeting_status: str | None  # the joined meeting's status (None: the adviser's own time)

    @property
    def is_planned(self) -> bool:
        """Planned, and for a joined meeting the meeting itself still on (a meeting the
        client asked to move is no longer planned at its time)."""
        return self.status == "planned" and (
            self.meeting_status is None or self.meeting_status in {"booked", "confirmed"}
        )


@dataclass(frozen=True)
class AdviserOrganisation:
    id: str
    name: str
    kind: str


_NEEDS = ", ".join(f"c.{name}" for name in NEEDS_COLUMNS)
_REQUEST = f"""
SELECT r.id, r.consultation_id, c.pseudonym, r.organisation_id, o.name AS organisation_name,
       o.kind AS organisation_kind, r.requested_by, ra.role AS requester_role,
       ro.name AS requester_organisation, r.created_at, r.status, r.answered_by,
       r.answered_at, {_NEEDS}
FROM adviser_requests r
JOIN consultations c ON c.id = r.consultation_id
JOIN organisations o ON o.id = r.organisation_id
JOIN accounts ra ON ra.id = r.requested_by
JOIN organisations ro ON ro.id = ra.organisation_id
"""  # noqa: S608 - column names from consultations.py, no input

PART_SELECT = """
SELECT am.id, am.consultation_id, c.pseudonym, am.request_id, am.adviser_id,
       a.display_name AS adviser_name, o.kind AS organisation_kind, am.meeting_id,
       p.id AS place_id, p.name AS place_name, p.address AS place_address,
       p.directions AS place_directions,
       COALESCE(m.starts_at, am.starts_at) AS starts_at,
       COALESCE(m.duration_minutes, am.duration_minutes) AS duration_minutes,
       am.status, m.status AS meeting_status
FROM adviser_meetings am
JOIN consultations c ON c.id = am.consultation_id
JOIN accounts a ON a.id = am.adviser_id
JOIN organisations o ON o.id = a.organisation_id
LEFT JOIN meetings m ON m.id = am.meeting_id
JOIN places p ON p.id = COALESCE(m.place_id, am.place_id)
"""


def _request(r: Row) -> AdviserRequest:
    return AdviserRequest(
        id=r["id"],
        consultation_id=r["consultation_id"],
        pseudonym=r["pseudonym"],
        organisation_id=r["organisation_id"],
        organisation_name=r["organisation_name"],
        organisation_kind=r["organisation_kind"],
        requested_by=r["requested_by"],
        requester_role=r["requester_role"],
        requester_organisation=r["requester_organisation"],
        created_at=r["created_at"],
        status=r["status"],
        answered_by=r["answered_by"],
        answered_at=r["answered_at"],
        needs={k: r[k] for k in NEEDS_COLUMNS},
    )


def part_from_row(r: Row) -> AdviserMeeting:
    return AdviserMeeting(
        id=r["id"],
        consultation_id=r["consultation_id"],
        pseudonym=r["pseudonym"],
        request_id=r["request_id"],
        adviser_id=r["adviser_id"],
        adviser_name=r["adviser_name"],
        organisation_kind=r["organisation_kind"],
        meeting_id=r["meeting_id"],
        place_id=r["place_id"],
        place_name=r["place_name"],
        place_address=r["place_address"],
        place_directions=r["place_directions"],
        starts_at=r["starts_at"],
        duration_minutes=r["duration_minutes"],
        status=r["status"],
        meeting_status=r["meeting_status"],
    )


# --- requests ---------------------------------------------------------------------------


async def insert_request(
    db: Queryable,
    *,
    request_id: str,
    consultation_id: str,
    organisation_id: str,
    requested_by: str,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO adviser_requests (id, consultation_id, organisation_id, requested_by,"
        " created_at, status) VALUES (:id, :c, :o, :by, :now, 'open')",
        id=request_id,
        c=consultation_id,
        o=organisation_id,
        by=requested_by,
        now=now,
    )


async def request_by_id(db: Queryable, request_id: str) -> AdviserRequest | None:
    row = await db.fetch_one(_REQUEST + " WHERE r.id = :id", id=request_id)
    return None if row is None else _request(row)


async def open_request_exists(db: Queryable, consultation_id: str, organisation_id: str) -> bool:
    found = await db.fetch_value(
        "SELECT 1 FROM adviser_requests WHERE consultation_id = :c AND organisation_id = :o"
        " AND status = 'open'",
        c=consultation_id,
        o=organisation_id,
    )
    return found is not None


async def open_requests_to(
    db: Queryable, organisation_id: str, limit: int
) -> Sequence[AdviserRequest]:
    """The organisation's open requests, oldest first (the longest waiting on top)."""
    rows = await db.fetch_all(
        _REQUEST + " WHERE r.organisation_id = :o AND r.status = 'open'"
        " ORDER BY r.created_at, r.id LIMIT :limit",
        o=organisation_id,
        limit=limit,
    )
    return [_request(r) for r in rows]


async def consultation_requests(db: Queryable, consultation_id: str) -> Sequence[AdviserRequest]:
    rows = await db.fetch_all(
        _REQUEST + " WHERE r.consultation_id = :c ORDER BY r.created_at, r.id", c=consultation_id
    )
    return [_request(r) for r in rows]


async def set_status(db: Queryable, request_id: str, status: str, by: str | None, now: int) -> bool:
    """Open -> ``status``; False if it is no longer open (answered or withdrawn meanwhile)."""
    written = await db.execute(
        "UPDATE adviser_requests SET status = :status, answered_by = :by, answered_at = :now"
        " WHERE id = :id AND status = 'open'",
        id=request_id,
        status=status,
        by=by,
        now=now,
    )
    return written == 1


# --- organisations and advisers ---------------------------------------------------------


async def organisations_with_advisers(
    db: Queryable, kinds: Sequence[str]
) -> Sequence[AdviserOrganisation]:
    """Organisations of ``kinds`` with at least one active adviser, by name."""
    names = ", ".join(f":k{i}" for i in range(len(kinds)))
    rows = await db.fetch_all(
        f"SELECT o.id, o.name, o.kind FROM organisations o WHERE o.kind IN ({names})"  # noqa: S608
        " AND EXISTS (SELECT 1 FROM accounts a WHERE a.organisation_id = o.id"
        " AND a.role = 'adviser' AND a.disabled_at IS NULL)"
        " ORDER BY o.name, o.id",
        **{f"k{i}": kind for i, kind in enumerate(kinds)},
    )
    return [AdviserOrganisation(r["id"], r["name"], r["kind"]) for r in rows]


async def active_advisers(db: Queryable, organisation_id: str) -> list[str]:
    rows = await db.fetch_all(
        "SELECT id FROM accounts WHERE organisation_id = :o AND role = 'adviser'"
        " AND disabled_at IS NULL ORDER BY id",
        o=organisation_id,
    )
    return [r["id"] for r in rows]


async def participant_advisers(
    db: Queryable, consultation_id: str, *, with_key: bool = False
) -> list[str]:
    """Active advisers taking part in the consultation (a meeting not cancelled)."""
    keyed = (
        " AND EXISTS (SELECT 1 FROM investigator_keys k WHERE k.account_id = a.id"
        " AND k.retired_at IS NULL)"
        if with_key
        else ""
    )
    rows = await db.fetch_all(
        "SELECT DISTINCT a.id FROM adviser_meetings am JOIN accounts a ON a.id = am.adviser_id"  # noqa: S608
        " WHERE am.consultation_id = :c AND am.status <> 'cancelled'"
        " AND a.disabled_at IS NULL" + keyed + " ORDER BY a.id",
        c=consultation_id,
    )
    return [r["id"] for r in rows]


async def meeting_advisers(db: Queryable, meeting_id: str) -> list[str]:
    """Active advisers who join this meeting (their part not cancelled)."""
    rows = await db.fetch_all(
        "SELECT DISTINCT a.id FROM adviser_meetings am JOIN accounts a ON a.id = am.adviser_id"
        " WHERE am.meeting_id = :m AND am.status <> 'cancelled' AND a.disabled_at IS NULL"
        " ORDER BY a.id",
        m=meeting_id,
    )
    return [r["id"] for r in rows]


async def joins_meeting(db: Queryable, adviser_id: str, meeting_id: str) -> bool:
    found = await db.fetch_value(
        "SELECT 1 FROM adviser_meetings WHERE adviser_id = :a AND meeting_id = :m"
        " AND status <> 'cancelled'",
        a=adviser_id,
        m=meeting_id,
    )
    return found is not None


async def takes_part(db: Queryable, adviser_id: str, consultation_id: str) -> bool:
    found = await db.fetch_value(
        "SELECT 1 FROM adviser_meetings WHERE adviser_id = :a AND consultation_id = :c"
        " AND status <> 'cancelled'",
        a=adviser_id,
        c=consultation_id,
    )
    return found is not None


# --- the advisers' meetings -------------------------------------------------------------


async def insert_meeting(
    db: Queryable,
    *,
    adviser_meeting_id: str,
    consultation_id: str,
    request_id: str | None,
    adviser_id: str,
    meeting_id: str | None,
    place_id: str | None,
    starts_at: int | None,
    duration_minutes: int | None,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO adviser_meetings (id, consultation_id, request_id, adviser_id, meeting_id,"
        " place_id, starts_at, duration_minutes, status, created_at, updated_at)"
        " VALUES (:id, :c, :r, :a, :m, :p, :s, :d, 'planned', :now, :now)",
        id=adviser_meeting_id,
        c=consultation_id,
        r=request_id,
        a=adviser_id,
        m=meeting_id,
        p=place_id,
        s=starts_at,
        d=duration_minutes,
        now=now,
    )


async def meeting_by_id(db: Queryable, adviser_meeting_id: str) -> AdviserMeeting | None:
    row = await db.fetch_one(PART_SELECT + " WHERE am.id = :id", id=adviser_meeting_id)
    return None if row is None else part_from_row(row)


async def cancel_meeting(db: Queryable, adviser_meeting_id: str, now: int) -> bool:
    written = await db.execute(
        "UPDATE adviser_meetings SET status = 'cancelled', updated_at = :now"
        " WHERE id = :id AND status = 'planned'",
        id=adviser_meeting_id,
        now=now,
    )
    return written == 1


async def adviser_meetings(db: Queryable, adviser_id: str, limit: int) -> Sequence[AdviserMeeting]:
    """The adviser's part in consultations, not cancelled, soonest first."""
    rows = await db.fetch_all(
        PART_SELECT + " WHERE am.adviser_id = :a AND am.status <> 'cancelled'"
        " ORDER BY starts_at, am.id LIMIT :limit",
        a=adviser_id,
        limit=limit,
    )
    return [part_from_row(r) for r in rows]


async def consultation_meetings(db: Queryable, consultation_id: str) -> Sequence[AdviserMeeting]:
    """Every adviser's part in the consultation (cancelled ones too), soonest first."""
    rows = await db.fetch_all(
        PART_SELECT + " WHERE am.consultation_id = :c ORDER BY starts_at, am.id",
        c=consultation_id,
    )
    return [part_from_row(r) for r in rows]
