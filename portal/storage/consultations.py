"""Queries on consultations, their meetings and their one-time codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Consultation:
    id: str
    pseudonym: str
    organisation_id: str
    organisation_name: str
    booked_by: str
    first_investigator_id: str
    investigator_id: str
    investigator_name: str
    client_locale: str
    needs: dict[str, Any]  # the structured needs columns (see domain/needs.py)
    has_client_code: bool
    created_at: int
    last_activity_at: int
    outcome: str | None = None
    reflection_status: str | None = None  # None: nobody has decided yet
    reflection_ends_on: int | None = None
    reported_at: int | None = None
    case_reference: str | None = None
    first_interview_at: int | None = None
    first_interview_investigator_id: str | None = None
    retention_extended_until: int | None = None

    @property
    def is_case(self) -> bool:
        """After the decision to report, the consultation is a case."""
        return self.reported_at is not None


@dataclass(frozen=True)
class Meeting:
    id: str
    consultation_id: str
    pseudonym: str
    slot_id: str
    investigator_id: str
    investigator_name: str
    investigator_gender: str
    place_id: str
    place_name: str
    place_kind: str
    place_address: str
    place_directions: str
    starts_at: int
    duration_minutes: int
    status: str
    change_reason: str | None
    is_follow_up: bool
    interpreter_available: bool
    language: str
    interpreter_needed: bool
    support_person: bool
    updated_at: int = 0  # its last change of status
    # The interpreter for this meeting (domain/interpreters.py), and whether the
    # consultation's safety plan says there is an urgent risk (domain/safety_plans.py).
    interpreter_status: str = "not_needed"
    interpreter_language: str | None = None
    interpreter_wishes_met: bool | None = None
    urgent_risk: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in {"booked", "confirmed", "change_requested"}


NEEDS_COLUMNS = (
    "language",
    "interpreter_needed",
    "interpreter_gender",
    "interpreter_other_community",
    "investigator_gender",
    "support_person",
    "accessibility",
    "childcare",
    "venue_preference",
    "urgency",
    "minor",
    "reflection_period",
    "safe_contact",
)

CONSULTATION_COLUMNS = (
    "SELECT c.*, o.name AS organisation_name, a.display_name AS investigator_name"
)
CONSULTATION_FROM = """
FROM consultations c
JOIN organisations o ON o.id = c.organisation_id
JOIN accounts a ON a.id = c.investigator_id
"""
_CONSULTATION = CONSULTATION_COLUMNS + CONSULTATION_FROM

MEETING_SELECT = """
SELECT m.id, m.consultation_id, c.pseudonym, m.slot_id, m.investigator_id,
       a.display_name AS investigator_name, a.gender AS investigator_gender,
       m.place_id, p.name AS place_name, p.kind AS place_kind, p.address AS place_address,
       p.directions AS place_directions, m.starts_at, m.duration_minutes, m.status,
       m.change_reason, m.is_follow_up, s.interpreter_available, c.language,
       c.interpreter_needed, c.support_person, m.updated_at, m.interpreter_status,
       m.interpreter_language, m.interpreter_wishes_met, sp.urgent_risk
FROM meetings m
JOIN consultations c ON c.id = m.consultation_id
JOIN accounts a ON a.id = m.investigator_id
JOIN places p ON p.id = m.place_id
JOIN slots s ON s.id = m.slot_id
LEFT JOIN safety_plans sp ON sp.consultation_id = m.consultation_id
"""


def consultation_from_row(row: Row) -> Consultation:
    return Consultation(
        id=row["id"],
        pseudonym=row["pseudonym"],
        organisation_id=row["organisation_id"],
        organisation_name=row["organisation_name"],
        booked_by=row["booked_by"],
        first_investigator_id=row["first_investigator_id"],
        investigator_id=row["investigator_id"],
        investigator_name=row["investigator_name"],
        client_locale=row["client_locale"],
        needs={k: row[k] for k in NEEDS_COLUMNS},
        has_client_code=row["client_code_lookup"] is not None,
        created_at=row["created_at"],
        last_activity_at=row["last_activity_at"],
        outcome=row["outcome"],
        reflection_status=row["reflection_status"],
        reflection_ends_on=row["reflection_ends_on"],
        reported_at=row["reported_at"],
        case_reference=row["case_reference"],
        first_interview_at=row["first_interview_at"],
        first_interview_investigator_id=row["first_interview_investigator_id"],
        retention_extended_until=row["retention_extended_until"],
    )


def meeting_from_row(row: Row) -> Meeting:
    return Meeting(
        id=row["id"],
        consultation_id=row["consultation_id"],
        pseudonym=row["pseudonym"],
        slot_id=row["slot_id"],
        investigator_id=row["investigator_id"],
        investigator_name=row["investigator_name"],
        investigator_gender=row["investigator_gender"],
        place_id=row["place_id"],
        place_name=row["place_name"],
        place_kind=row["place_kind"],
        place_address=row["place_address"],
        place_directions=row["place_directions"],
        starts_at=row["starts_at"],
        duration_minutes=row["duration_minutes"],
        status=row["status"],
        change_reason=row["change_reason"],
        is_follow_up=bool(row["is_follow_up"]),
        interpreter_available=bool(row["interpreter_available"]),
        language=row["language"],
        interpreter_needed=bool(row["interpreter_needed"]),
        support_person=bool(row["support_person"]),
        updated_at=row["updated_at"],
        interpreter_status=row["interpreter_status"],
        interpreter_language=row["interpreter_language"],
        interpreter_wishes_met=(
            None if row["interpreter_wishes_met"] is None else bool(row["interpreter_wishes_met"])
        ),
        urgent_risk=bool(row["urgent_risk"]),
    )


async def insert_consultation(
    db: Queryable,
    *,
    consultation_id: str,
    pseudonym: str,
    organisation_id: str,
    booked_by: str,
    investigator_id: str,
    client_locale: str,
    needs: dict[str, Any],
    now: int,
) -> None:
    values = {k: needs[k] for k in NEEDS_COLUMNS}
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    sql = (
        "INSERT INTO consultations (id, pseudonym, organisation_id, booked_by,"  # noqa: S608 - column names from NEEDS_COLUMNS
        " first_investigator_id, investigator_id, client_locale, created_at, last_activity_at,"
        f" {columns}) VALUES (:id, :pseudonym, :org, :booked_by, :inv, :inv, :locale, :now,"
        f" :now, {params})"
    )
    await db.execute(
        sql,
        id=consultation_id,
        pseudonym=pseudonym,
        org=organisation_id,
        booked_by=booked_by,
        inv=investigator_id,
        locale=client_locale,
        now=now,
        **values,
    )


async def consultation_by_id(db: Queryable, consultation_id: str) -> Consultation | None:
    row = await db.fetch_one(_CONSULTATION + "WHERE c.id = :id", id=consultation_id)
    return None if row is None else consultation_from_row(row)


async def booked_on_slot(db: Queryable, slot_id: str, booked_by: str) -> Consultation | None:
    """The consultation ``booked_by`` holds ``slot_id`` for (a meeting not cancelled), if any."""
    row = await db.fetch_one(
        _CONSULTATION + "WHERE c.booked_by = :by AND c.id IN (SELECT m.consultation_id"  # noqa: S608 - constant columns
        " FROM meetings m WHERE m.slot_id = :slot AND m.status <> :cancelled)",
        by=booked_by,
        slot=slot_id,
        cancelled="cancelled",
    )
    return None if row is None else consultation_from_row(row)


async def organisation_consultations(
    db: Queryable, organisation_id: str, limit: int, offset: int
) -> Sequence[Consultation]:
    rows = await db.fetch_all(
        _CONSULTATION + "WHERE c.organisation_id = :org ORDER BY c.created_at DESC"
        " LIMIT :limit OFFSET :offset",
        org=organisation_id,
        limit=limit,
        offset=offset,
    )
    return [consultation_from_row(row) for row in rows]


async def touch_consultation(db: Queryable, consultation_id: str, now: int) -> None:
    await db.execute(
        "UPDATE consultations SET last_activity_at = :now WHERE id = :id",
        id=consultation_id,
        now=now,
    )


async def assign_investigator(db: Queryable, consultation_id: str, investigator_id: str) -> None:
    await db.execute(
        "UPDATE consultations SET investigator_id = :inv WHERE id = :id",
        id=consultation_id,
        inv=investigator_id,
    )


@dataclass(frozen=True)
class ClientKeyColumns:
    """The client key v1 columns of a consultation (never the key itself)."""

    key_id: str
    public_key: bytes
    salt: bytes
    opslimit: int
    memlimit_kib: int
    verifier: bytes


@dataclass(frozen=True)
class ClientCodeRow:
    """What signing in with a client code reads: the client key v1 columns (docs/crypto.md)
    or, for a client who redeemed before them, the legacy argon2 hash."""

    consultation_id: str
    legacy_hash: str | None
    key: ClientKeyColumns | None


_SET_CLIENT_KEY = """
UPDATE consultations SET client_code_lookup = :lookup, client_code_hash = NULL,
       client_key_id = :key_id, client_public_key = :public_key, client_key_salt = :salt,
       client_key_opslimit = :ops, client_key_memlimit_kib = :mem, client_verifier = :verifier
WHERE id = :id
"""


def _key_params(key: ClientKeyColumns) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "public_key": key.public_key,
        "salt": key.salt,
        "ops": key.opslimit,
        "mem": key.memlimit_kib,
        "verifier": key.verifier,
    }


async def set_client_key(
    db: Queryable, consultation_id: str, lookup: bytes, key: ClientKeyColumns
) -> None:
    """A new client code: its lookup and its client key v1 (any legacy hash goes)."""
    await db.execute(_SET_CLIENT_KEY, id=consultation_id, lookup=lookup, **_key_params(key))


async def upgrade_legacy_client_code(
    db: Queryable, consultation_id: str, legacy_hash: str, lookup: bytes, key: ClientKeyColumns
) -> bool:
    """Replace the legacy hash by client key v1, only if that hash is still the stored one
    (False if a concurrent sign-in or a new code got there first)."""
    changed = await db.execute(
        _SET_CLIENT_KEY + " AND client_code_hash = :legacy",
        id=consultation_id,
        lookup=lookup,
        legacy=legacy_hash,
        **_key_params(key),
    )
    return changed == 1


async def rekey_client_code(db: Queryable, consultation_id: str, lookup: bytes) -> None:
    await db.execute(
        "UPDATE consultations SET client_code_lookup = :l WHERE id = :id",
        id=consultation_id,
        l=lookup,
    )


async def client_code_by_lookup(db: Queryable, lookup: bytes) -> ClientCodeRow | None:
    row = await db.fetch_one(
        "SELECT id, client_code_hash, client_key_id, client_key_salt, client_key_opslimit,"
        " client_key_memlimit_kib, client_verifier, client_public_key"
        " FROM consultations WHERE client_code_lookup = :l",
        l=lookup,
    )
    if row is None:
        return None
    key = None
    if row["client_verifier"] is not None:
        key = ClientKeyColumns(
            key_id=row["client_key_id"],
            public_key=bytes(row["client_public_key"]),
            salt=bytes(row["client_key_salt"]),
            opslimit=row["client_key_opslimit"],
            memlimit_kib=row["client_key_memlimit_kib"],
            verifier=bytes(row["client_verifier"]),
        )
    return ClientCodeRow(row["id"], row["client_code_hash"], key)


# --- meetings ---------------------------------------------------------------------------


async def insert_meeting(
    db: Queryable,
    *,
    meeting_id: str,
    consultation_id: str,
    slot_id: str,
    investigator_id: str,
    place_id: str,
    starts_at: int,
    duration_minutes: int,
    is_follow_up: bool,
    now: int,
    interpreter_status: str = "not_needed",
) -> None:
    await db.execute(
        "INSERT INTO meetings (id, consultation_id, slot_id, investigator_id, place_id,"
        " starts_at, duration_minutes, status, is_follow_up, created_at, updated_at,"
        " interpreter_status)"
        " VALUES (:id, :c, :slot, :inv, :place, :starts, :duration, 'booked', :follow, :now,"
        " :now, :interpreter)",
        id=meeting_id,
        c=consultation_id,
        slot=slot_id,
        inv=investigator_id,
        place=place_id,
        starts=starts_at,
        duration=duration_minutes,
        follow=int(is_follow_up),
        now=now,
        interpreter=interpreter_status,
    )


async def meeting_by_id(db: Queryable, meeting_id: str) -> Meeting | None:
    row = await db.fetch_one(MEETING_SELECT + "WHERE m.id = :id", id=meeting_id)
    return None if row is None else meeting_from_row(row)


async def consultation_meetings(db: Queryable, consultation_id: str) -> Sequence[Meeting]:
    rows = await db.fetch_all(
        MEETING_SELECT + "WHERE m.consultation_id = :c ORDER BY m.starts_at", c=consultation_id
    )
    return [meeting_from_row(row) for row in rows]


async def investigator_meetings(
    db: Queryable, investigator_id: str, *, upcoming: bool, now: int, limit: int, offset: int
) -> Sequence[Meeting]:
    """Upcoming meetings soonest first, or past ones latest first (an index range scan)."""
    where, order = ("m.starts_at >= :now", "ASC") if upcoming else ("m.starts_at < :now", "DESC")
    rows = await db.fetch_all(
        MEETING_SELECT + f"WHERE m.investigator_id = :inv AND {where}"
        f" ORDER BY m.starts_at {order} LIMIT :limit OFFSET :offset",
        inv=investigator_id,
        now=now,
        limit=limit,
        offset=offset,
    )
    return [meeting_from_row(row) for row in rows]


async def unit_meetings(db: Queryable, after: int, limit: int, offset: int) -> Sequence[Meeting]:
    rows = await db.fetch_all(
        MEETING_SELECT
        + "WHERE m.starts_at >= :after ORDER BY m.starts_at LIMIT :limit OFFSET :offset",
        after=after,
        limit=limit,
        offset=offset,
    )
    return [meeting_from_row(row) for row in rows]


async def set_meeting_status(
    db: Queryable,
    meeting_id: str,
    status: str,
    now: int,
    *,
    only_if: Sequence[str],
    change_reason: str | None = None,
) -> bool:
    """Move a meeting to ``status`` if it is in one of ``only_if``; False otherwise."""
    allowed = ", ".join(f":s{i}" for i in range(len(only_if)))
    sql = (
        "UPDATE meetings SET status = :status, change_reason = :reason, updated_at = :now"  # noqa: S608 - placeholders only
        f" WHERE id = :id AND status IN ({allowed})"
    )
    changed = await db.execute(
        sql,
        id=meeting_id,
        status=status,
        reason=change_reason,
        now=now,
        **{f"s{i}": s for i, s in enumerate(only_if)},
    )
    return changed == 1


async def reassign_meeting(db: Queryable, meeting_id: str, investigator_id: str, now: int) -> None:
    await db.execute(
        "UPDATE meetings SET investigator_id = :inv, updated_at = :now WHERE id = :id",
        id=meeting_id,
        inv=investigator_id,
        now=now,
    )


# --- one-time codes ---------------------------------------------------------------------


@dataclass(frozen=True)
class OneTimeCode:
    id: str
    consultation_id: str
    code_hash: str
    expires_at: int
    used_at: int | None
    revoked_at: int | None

    def is_usable(self, now: int) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


async def insert_one_time_code(
    db: Queryable,
    *,
    code_id: str,
    consultation_id: str,
    lookup: bytes,
    code_hash: str,
    now: int,
    expires_at: int,
) -> None:
    await db.execute(
        "INSERT INTO one_time_codes (id, consultation_id, lookup, code_hash, created_at,"
        " expires_at) VALUES (:id, :c, :lookup, :hash, :now, :expires)",
        id=code_id,
        c=consultation_id,
        lookup=lookup,
        hash=code_hash,
        now=now,
        expires=expires_at,
    )


_ONE_TIME_CODE = (
    "SELECT id, consultation_id, code_hash, expires_at, used_at, revoked_at FROM one_time_codes "
)


def _one_time_code(row: Row) -> OneTimeCode:
    return OneTimeCode(
        row["id"],
        row["consultation_id"],
        row["code_hash"],
        row["expires_at"],
        row["used_at"],
        row["revoked_at"],
    )


async def one_time_code_by_lookup(db: Queryable, lookup: bytes) -> OneTimeCode | None:
    row = await db.fetch_one(
        _ONE_TIME_CODE + "WHERE lookup = :l",
        l=lookup,
    )
    return None if row is None else _one_time_code(row)


async def burn_one_time_code(db: Queryable, code_id: str, now: int) -> bool:
    changed = await db.execute(
        "UPDATE one_time_codes SET used_at = :now WHERE id = :id AND used_at IS NULL"
        " AND revoked_at IS NULL AND expires_at > :now",
        id=code_id,
        now=now,
    )
    return changed == 1


async def revoke_one_time_codes(db: Queryable, consultation_id: str, now: int) -> None:
    await db.execute(
        "UPDATE one_time_codes SET revoked_at = :now WHERE consultation_id = :c"
        " AND used_at IS NULL AND revoked_at IS NULL",
        c=consultation_id,
        now=now,
    )


async def latest_code_state(db: Queryable, consultation_id: str) -> OneTimeCode | None:
    row = await db.fetch_one(
        _ONE_TIME_CODE + "WHERE consultation_id = :c"
        " ORDER BY (revoked_at IS NULL) DESC, created_at DESC LIMIT 1",
        c=consultation_id,
    )
    return None if row is None else _one_time_code(row)


@dataclass(frozen=True)
class BookingRow:
    """One line of an NGO's booking list: the consultation and its latest meeting."""

    consultation_id: str
    pseudonym: str
    created_at: int
    code_redeemed: bool
    starts_at: int | None
    status: str | None
    is_follow_up: bool
    interpreter_status: str | None = None  # the latest meeting's
    interpreter_language: str | None = None
    urgent_risk: bool = False  # the safety plan's


@dataclass(frozen=True)
class BookingSearch:
    """What an NGO worker's booking list is narrowed to (each None: not narrowed).

    ``booked_from``/``booked_until``: epoch seconds, the booking's time in [from, until);
    ``status``: the latest meeting's status; ``pseudonym``: the whole pseudonym, or its
    first words ("Blue Heron" finds "Blue Heron 42")."""

    status: str | None = None
    booked_from: int | None = None
    booked_until: int | None = None
    pseudonym: str | None = None


def bookings_query(search: BookingSearch) -> tuple[str, dict[str, int | str]]:
    """The SQL and parameters of ``organisation_bookings`` (also for its query-plan
    test): one query on the (organisation_id, created_at) index, a date range narrowing
    the part of it read. Status and pseudonym are checked on the rows read (the latest
    meeting through its consultation index), so a rare match reads more of the
    organisation's rows: an index on them would need a schema change."""
    conditions: list[str] = []
    params: dict[str, int | str] = {}
    if search.booked_from is not None:
        conditions.append("AND c.created_at >= :booked_from")
        params["booked_from"] = search.booked_from
    if search.booked_until is not None:
        conditions.append("AND c.created_at < :booked_until")
        params["booked_until"] = search.booked_until
    if search.status is not None:
        conditions.append("AND m.status = :status")
        params["status"] = search.status
    if search.pseudonym is not None:
        # Pseudonyms are letters, digits and spaces: the caller strips LIKE's wildcards.
        conditions.append("AND (c.pseudonym = :pseudonym OR c.pseudonym LIKE :prefix)")
        params["pseudonym"] = search.pseudonym
        params["prefix"] = search.pseudonym + " %"
    sql = f"""
        SELECT c.id, c.pseudonym, c.created_at, c.client_code_lookup, m.starts_at, m.status,
               m.is_follow_up, m.interpreter_status, m.interpreter_language, sp.urgent_risk
        FROM consultations c
        LEFT JOIN meetings m ON m.id = (
            SELECT m2.id FROM meetings m2 WHERE m2.consultation_id = c.id
            ORDER BY m2.created_at DESC, m2.starts_at DESC LIMIT 1)
        LEFT JOIN safety_plans sp ON sp.consultation_id = c.id
        WHERE c.organisation_id = :org {" ".join(conditions)}
        ORDER BY c.created_at DESC, c.id LIMIT :limit OFFSET :offset
        """  # noqa: S608 - fixed fragments; every value is a bound parameter
    return sql, params


async def organisation_bookings(
    db: Queryable,
    organisation_id: str,
    limit: int,
    offset: int,
    search: BookingSearch = BookingSearch(),
) -> Sequence[BookingRow]:
    """Newest first, narrowed by ``search`` (see ``bookings_query``)."""
    sql, params = bookings_query(search)
    rows = await db.fetch_all(sql, org=organisation_id, limit=limit, offset=offset, **params)
    return [
        BookingRow(
            row["id"],
            row["pseudonym"],
            row["created_at"],
            row["client_code_lookup"] is not None,
            row["starts_at"],
            row["status"],
            bool(row["is_follow_up"]),
            row["interpreter_status"],
            row["interpreter_language"],
            bool(row["urgent_risk"]),
        )
        for row in rows
    ]


async def set_outcome(
    db: Queryable, consultation_id: str, outcome: str, now: int, *, only_from: str | None
) -> bool:
    """Set the outcome if it is still ``only_from`` (None: none yet) and the consultation
    is not a case; False otherwise."""
    changed = await db.execute(
        "UPDATE consultations SET outcome = :o, outcome_at = :now, last_activity_at = :now"
        " WHERE id = :id AND reported_at IS NULL AND COALESCE(outcome, '') = :before",
        id=consultation_id,
        o=outcome,
        now=now,
        before=only_from or "",
    )
    return changed == 1


async def set_reflection(
    db: Queryable, consultation_id: str, status: str, ends_on: int | None, now: int
) -> None:
    await db.execute(
        "UPDATE consultations SET reflection_status = :s, reflection_ends_on = :e,"
        " last_activity_at = :now WHERE id = :id",
        id=consultation_id,
        s=status,
        e=ends_on,
        now=now,
    )


async def set_reported(
    db: Queryable,
    consultation_id: str,
    *,
    case_reference: str,
    first_interview_at: int,
    interviewer_id: str,
    now: int,
) -> bool:
    """The decision to report, only after the outcome "wants to report"; False if it was
    recorded already or the outcome changed meanwhile."""
    changed = await db.execute(
        "UPDATE consultations SET reported_at = :now, case_reference = :ref,"
        " first_interview_at = :at, first_interview_investigator_id = :inv,"
        " last_activity_at = :now"
        " WHERE id = :id AND reported_at IS NULL AND outcome = 'wants_to_report'",
        id=consultation_id,
        now=now,
        ref=case_reference,
        at=first_interview_at,
        inv=interviewer_id,
    )
    return changed == 1


@dataclass(frozen=True)
class ReflectionEnd:
    consultation_id: str
    pseudonym: str
    investigator_name: str
    ends_on: int


async def reflection_ends(
    db: Queryable, now: int, investigator_id: str | None, limit: int = 20
) -> Sequence[ReflectionEnd]:
    """Granted reflection periods still running, soonest end first (one investigator's,
    or the whole unit's when ``investigator_id`` is None)."""
    # Two fixed statements rather than "(:inv = '' OR ...)", which keeps planners from
    # using ix_consultations_reflection_status_reflection_ends_on (measured in bench/).
    whose = "AND c.investigator_id = :inv" if investigator_id else ""
    rows = await db.fetch_all(
        f"""
        SELECT c.id, c.pseudonym, a.display_name, c.reflection_ends_on
        FROM consultations c JOIN accounts a ON a.id = c.investigator_id
        WHERE c.reflection_status = 'granted' AND c.reflection_ends_on >= :now {whose}
        ORDER BY c.reflection_ends_on LIMIT :limit
        """,  # noqa: S608 - a fixed fragment, no input
        now=now,
        inv=investigator_id or "",
        limit=limit,
    )
    return [
        ReflectionEnd(r["id"], r["pseudonym"], r["display_name"], r["reflection_ends_on"])
        for r in rows
    ]


async def meetings_between(
    db: Queryable, start: int, end: int, investigator_id: str | None
) -> Sequence[Meeting]:
    """Meetings starting in [start, end): one investigator's or the whole unit's."""
    whose = " AND m.investigator_id = :inv" if investigator_id else ""
    rows = await db.fetch_all(
        MEETING_SELECT
        + "WHERE m.starts_at >= :start AND m.starts_at < :end"
        + whose
        + " ORDER BY m.starts_at LIMIT 2000",
        start=start,
        end=end,
        inv=investigator_id or "",
    )
    return [meeting_from_row(row) for row in rows]
