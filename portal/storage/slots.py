"""Queries on investigators' availability slots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from portal.storage.database import Database, Queryable, Row


class Slot(NamedTuple):
    """A slot with its investigator's and place's names. A named tuple, not a dataclass:
    the slot search maps a page of these per request and the booking page's markup is
    cached by them, and a tuple is built, hashed and compared in C (bench/)."""

    id: str
    investigator_id: str
    investigator_name: str
    investigator_gender: str
    place_id: str
    place_name: str
    place_kind: str
    starts_at: int
    duration_minutes: int
    languages: tuple[str, ...]
    interpreter_available: bool
    status: str


_COLUMNS = """
SELECT s.id, s.investigator_id, a.display_name AS investigator_name,
       a.gender AS investigator_gender, s.place_id, p.name AS place_name,
       p.kind AS place_kind, s.starts_at, s.duration_minutes, s.languages,
       s.interpreter_available, s.status
"""
_NAMES = """
JOIN accounts a ON a.id = s.investigator_id
JOIN places p ON p.id = s.place_id
"""
_SELECT = _COLUMNS + "FROM slots s" + _NAMES


def _slot(row: Row) -> Slot:
    """A row of ``_COLUMNS``, unpacked in their order (a driver's look-up by column name
    costs several times more)."""
    (
        id_,
        investigator_id,
        investigator_name,
        investigator_gender,
        place_id,
        place_name,
        place_kind,
        starts_at,
        duration_minutes,
        languages,
        interpreter_available,
        status,
    ) = row
    return Slot(
        id_, investigator_id, investigator_name, investigator_gender, place_id, place_name,
        place_kind, starts_at, duration_minutes,
        tuple(filter(None, languages.split(","))),
        bool(interpreter_available),
        status,
    )  # fmt: skip


def framed(languages: Sequence[str]) -> str:
    return "," + ",".join(languages) + ","


async def insert_slot(
    db: Queryable,
    *,
    slot_id: str,
    investigator_id: str,
    place_id: str,
    starts_at: int,
    duration_minutes: int,
    languages: Sequence[str],
    interpreter_available: bool,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO slots (id, investigator_id, place_id, starts_at, duration_minutes,"
        " languages, interpreter_available, status, created_at)"
        " VALUES (:id, :inv, :place, :starts, :duration, :languages, :interp, 'free', :now)",
        id=slot_id,
        inv=investigator_id,
        place=place_id,
        starts=starts_at,
        duration=duration_minutes,
        languages=framed(languages),
        interp=int(interpreter_available),
        now=now,
    )


async def lock_calendar(tx: Queryable, investigator_id: str) -> None:
    """Serialise changes to one investigator's slots until ``tx`` ends: a write to their
    account row takes its row lock on PostgreSQL (SQLite has one writer anyway)."""
    await tx.execute("UPDATE accounts SET id = id WHERE id = :id", id=investigator_id)


async def busy_times(
    db: Queryable,
    investigator_id: str,
    start: int,
    end: int,
    *,
    longest: int,
    except_id: str | None = None,
) -> list[tuple[int, int]]:
    """(start, end) of the investigator's published or booked slots that meet [start, end).

    No slot lasts more than ``longest`` seconds, so only slots starting from that long
    before ``start`` can reach into it (ix_slots_investigator_id_starts_at)."""
    rows = await db.fetch_all(
        "SELECT starts_at, duration_minutes FROM slots WHERE investigator_id = :inv"
        " AND starts_at >= :earliest AND starts_at < :end AND status != 'withdrawn'"
        " AND id != :other",
        inv=investigator_id,
        earliest=start - longest,
        end=end,
        other=except_id or "",
    )
    return [(row["starts_at"], row["starts_at"] + row["duration_minutes"] * 60) for row in rows]


async def update_free_slot(
    db: Queryable,
    *,
    slot_id: str,
    place_id: str,
    starts_at: int,
    duration_minutes: int,
    languages: Sequence[str],
    interpreter_available: bool,
) -> bool:
    """Edit a slot that is still free; False if it was booked or withdrawn meanwhile."""
    changed = await db.execute(
        "UPDATE slots SET place_id = :place, starts_at = :starts, duration_minutes = :duration,"
        " languages = :languages, interpreter_available = :interp"
        " WHERE id = :id AND status = 'free'",
        id=slot_id,
        place=place_id,
        starts=starts_at,
        duration=duration_minutes,
        languages=framed(languages),
        interp=int(interpreter_available),
    )
    return changed == 1


async def take_slot(db: Queryable, slot_id: str, status: str = "booked") -> bool:
    """Atomically move a free slot to ``status``: exactly one of many callers wins."""
    changed = await db.execute(
        "UPDATE slots SET status = :status WHERE id = :id AND status = 'free'",
        id=slot_id,
        status=status,
    )
    return changed == 1


async def give_slot(db: Queryable, slot_id: str, investigator_id: str) -> None:
    """The slot (and its time in their calendar) now belongs to another investigator."""
    await db.execute(
        "UPDATE slots SET investigator_id = :inv WHERE id = :id", id=slot_id, inv=investigator_id
    )


async def free_slot(db: Queryable, slot_id: str) -> None:
    await db.execute(
        "UPDATE slots SET status = 'free' WHERE id = :id AND status = 'booked'", id=slot_id
    )


async def slot_by_id(db: Queryable, slot_id: str) -> Slot | None:
    row = await db.fetch_one(_SELECT + "WHERE s.id = :id", id=slot_id)
    return None if row is None else _slot(row)


async def investigator_slots(
    db: Queryable, investigator_id: str, after: int, limit: int, offset: int
) -> Sequence[Slot]:
    rows = await db.fetch_all(
        _SELECT + "WHERE s.investigator_id = :inv AND s.starts_at >= :after"
        " AND s.status != 'withdrawn' ORDER BY s.starts_at LIMIT :limit OFFSET :offset",
        inv=investigator_id,
        after=after,
        limit=limit,
        offset=offset,
    )
    return [_slot(row) for row in rows]


async def all_slots(db: Queryable, after: int, limit: int, offset: int) -> Sequence[Slot]:
    rows = await db.fetch_all(
        _SELECT + "WHERE s.status != 'withdrawn' AND s.starts_at >= :after"
        " ORDER BY s.starts_at LIMIT :limit OFFSET :offset",
        after=after,
        limit=limit,
        offset=offset,
    )
    return [_slot(row) for row in rows]


# Free future slots that fit the needs, soonest first, in the shape each planner runs
# best (bench/). PostgreSQL plans a prepared statement generically after five runs, and
# for the joined form below that plan compares every free slot with every account
# (1.3 ms in the database); here each list of eligible investigators and places is
# computed once (`= ANY(ARRAY(...))`) and names are joined to the page of slots only
# (0.35 ms). SQLite runs the joined form in a third of the time of this one. A language
# is found with instr/strpos: SQLite's LIKE (case-insensitive) took twice as long.
_MATCHING = {
    "sqlite": _SELECT
    + """WHERE s.status = 'free' AND s.starts_at >= :after
    AND (instr(s.languages, :language) > 0 OR (:interp = 1 AND s.interpreter_available = 1))
    AND (:gender = 'any' OR a.gender = :gender)
    AND (:kind = 'any' OR p.kind = :kind)
    AND a.disabled_at IS NULL
    ORDER BY s.starts_at, s.id LIMIT :limit OFFSET :offset""",
    "postgresql": _COLUMNS  # noqa: S608 - constant fragments; values are parameters
    + """FROM (
        SELECT * FROM slots
        WHERE status = 'free' AND starts_at >= :after
        AND (strpos(languages, :language) > 0 OR (:interp = 1 AND interpreter_available = 1))
        AND investigator_id = ANY(ARRAY(SELECT id FROM accounts
            WHERE disabled_at IS NULL AND (:gender = 'any' OR gender = :gender)))
        AND place_id = ANY(ARRAY(SELECT id FROM places WHERE :kind = 'any' OR kind = :kind))
        ORDER BY starts_at, id LIMIT :limit OFFSET :offset
    ) s"""
    + _NAMES
    + "ORDER BY s.starts_at, s.id",
}


async def matching_free_slots(
    db: Database,
    *,
    after: int,
    language: str,
    needs_interpreter: bool,
    investigator_gender: str,
    place_kind: str,
    limit: int,
    offset: int = 0,
) -> Sequence[Slot]:
    """Free future slots that fit the needs, soonest first (ix_slots_status_starts_at_id).

    A slot fits the language if the investigator speaks it, or if an interpreter is
    needed and can be arranged for that slot.
    """
    rows = await db.fetch_all(
        _MATCHING[db.dialect],
        after=after,
        language=framed([language]),
        interp=int(needs_interpreter),
        gender=investigator_gender,
        kind=place_kind,
        limit=limit,
        offset=offset,
    )
    return [_slot(row) for row in rows]


async def withdraw_free_slots_at(db: Queryable, place_id: str, after: int) -> int:
    """Withdraw every free future slot at a place (taken out of use); how many."""
    return await db.execute(
        "UPDATE slots SET status = 'withdrawn'"
        " WHERE place_id = :place AND status = 'free' AND starts_at >= :after",
        place=place_id,
        after=after,
    )


async def withdraw_free_slot(db: Queryable, slot_id: str) -> bool:
    changed = await db.execute(
        "UPDATE slots SET status = 'withdrawn' WHERE id = :id AND status = 'free'", id=slot_id
    )
    return changed == 1


async def slots_between(
    db: Queryable, start: int, end: int, investigator_id: str | None
) -> Sequence[Slot]:
    """Published (not withdrawn) slots starting in [start, end): one investigator's or all."""
    whose = " AND s.investigator_id = :inv" if investigator_id else ""
    rows = await db.fetch_all(
        _SELECT
        + "WHERE s.starts_at >= :start AND s.starts_at < :end AND s.status != 'withdrawn'"
        + whose
        + " ORDER BY s.starts_at LIMIT 2000",
        start=start,
        end=end,
        inv=investigator_id or "",
    )
    return [_slot(row) for row in rows]
