"""Availability: investigators publish, edit and withdraw slots.

A booked slot cannot be edited or withdrawn (the conditional updates only touch free
slots), so a meeting never silently loses its time. One investigator's times never
overlap: a second slot at the same hour in another place would be booked by someone
else, or offered as the follow-up during the very meeting it duplicates. The overlap
check and the write share one transaction that first locks the investigator's calendar
(storage/slots.py ``lock_calendar``), so two tabs publishing at once cannot both pass.
A weekly repeat ("every Tuesday 10-12 for 6 weeks") is planned first: the times that
overlap are shown before anything is saved, and only the free ones are published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain.errors import InputRejected, Problems
from portal.domain.needs import LANGUAGES
from portal.i18n import N_
from portal.storage import places as place_store
from portal.storage import slots as store
from portal.storage.database import Database, Queryable
from portal.storage.slots import Slot as Slot

DURATIONS = (30, 45, 60, 90, 120)
MAX_WEEKS = 12
OVERLAPS = N_("This overlaps another of your times. Choose another time, or change the other one.")


class SlotNotFree(Exception):
    """The slot was booked or withdrawn meanwhile."""


@dataclass(frozen=True)
class SlotInput:
    place_id: str
    starts_at: int | None  # None when the typed date/time could not be read
    duration_minutes: int
    languages: Sequence[str]
    interpreter_available: bool
    weeks: int = 1  # the same weekday and time, this many weeks in a row


@dataclass(frozen=True)
class Planned:
    """One time of a (repeating) slot, and whether it overlaps a time already there."""

    starts_at: int
    overlaps: bool


# How far ahead a free time may be published: a year (a year typed as 2099 is a typo).
FURTHEST_AHEAD = 366 * 24 * 60 * 60


async def _check(db: Database, clock: Clock, given: SlotInput) -> int:
    problems = Problems()
    if given.starts_at is None:
        problems.add("starts_at", N_("Enter the date and time, for example 2026-12-01 10:00."))
    elif given.starts_at <= clock.now():
        problems.add("starts_at", N_("Choose a time in the future."))
    elif given.starts_at > clock.now() + FURTHEST_AHEAD:  # a typo in the year, most likely
        problems.add("starts_at", N_("Choose a time within the next year."))
    if not 1 <= given.weeks <= MAX_WEEKS:
        problems.add("weeks", N_("Repeat for 1 to 12 weeks."))
    if given.duration_minutes not in DURATIONS:
        problems.add("duration_minutes", N_("Choose one of the options."))
    if not given.languages or any(code not in LANGUAGES for code in given.languages):
        problems.add("languages", N_("Choose at least one language you can work in."))
    place = await place_store.place_by_id(db, given.place_id)
    if place is None or place.archived_at is not None:
        problems.add("place_id", N_("Choose a meeting place."))
    problems.check()
    if given.starts_at is None:  # refused above already; this tells the type checker
        raise InputRejected("starts_at", N_("Choose a time in the future."))
    return given.starts_at


def weekly(starts_at: int, weeks: int, zone: ZoneInfo) -> list[int]:
    """The same weekday and local time, ``weeks`` weeks in a row: across a change to or
    from summer time the wall-clock hour stays (aware arithmetic keeps the local time)."""
    first = datetime.fromtimestamp(starts_at, zone)
    return [int((first + timedelta(weeks=week)).timestamp()) for week in range(weeks)]


async def _plan(
    db: Queryable,
    investigator_id: str,
    given: SlotInput,
    zone: ZoneInfo,
    except_id: str | None = None,
) -> list[Planned]:
    length = given.duration_minutes * 60
    starts = weekly(given.starts_at or 0, given.weeks, zone)  # _check refused None
    taken = await store.busy_times(
        db,
        investigator_id,
        starts[0],
        starts[-1] + length,
        longest=max(DURATIONS) * 60,
        except_id=except_id,
    )
    return [
        Planned(start, any(b_start < start + length and start < b_end for b_start, b_end in taken))
        for start in starts
    ]


async def plan_slots(
    db: Database, clock: Clock, zone: ZoneInfo, investigator_id: str, given: SlotInput
) -> list[Planned]:
    """The times a (repeating) slot would publish, each marked if it overlaps one of the
    investigator's times; nothing is saved. Raises ``InputRejected`` for bad input."""
    await _check(db, clock, given)
    return await _plan(db, investigator_id, given, zone)


async def publish_slots(
    db: Database, clock: Clock, zone: ZoneInfo, investigator_id: str, given: SlotInput
) -> list[str]:
    """Publish every time of ``given`` that overlaps nothing (checked again under the
    calendar lock); the ids published. A single time that overlaps is refused with
    ``InputRejected``, and so is a repeat whose every time overlaps."""
    await _check(db, clock, given)
    now = clock.now()
    published = []
    async with db.transaction() as tx:
        await store.lock_calendar(tx, investigator_id)
        for planned in await _plan(tx, investigator_id, given, zone):
            if planned.overlaps:
                continue
            slot_id = random_id()
            await store.insert_slot(
                tx,
                slot_id=slot_id,
                investigator_id=investigator_id,
                place_id=given.place_id,
                starts_at=planned.starts_at,
                duration_minutes=given.duration_minutes,
                languages=list(given.languages),
                interpreter_available=given.interpreter_available,
                now=now,
            )
            published.append(slot_id)
    if not published:
        raise InputRejected("starts_at", OVERLAPS)
    return published


async def publish_slot(db: Database, clock: Clock, investigator_id: str, given: SlotInput) -> str:
    """Publish one time (``given.weeks`` is 1, so no time zone is needed); its id."""
    return (await publish_slots(db, clock, ZoneInfo("UTC"), investigator_id, given))[0]


async def edit_slot(db: Database, clock: Clock, slot: Slot, given: SlotInput) -> None:
    starts_at = await _check(db, clock, given)
    if given.weeks != 1:
        raise InputRejected("weeks", N_("A time that is already published is changed alone."))
    async with db.transaction() as tx:
        await store.lock_calendar(tx, slot.investigator_id)
        if (await _plan(tx, slot.investigator_id, given, ZoneInfo("UTC"), slot.id))[0].overlaps:
            raise InputRejected("starts_at", OVERLAPS)
        if not await store.update_free_slot(
            tx,
            slot_id=slot.id,
            place_id=given.place_id,
            starts_at=starts_at,
            duration_minutes=given.duration_minutes,
            languages=list(given.languages),
            interpreter_available=given.interpreter_available,
        ):
            raise SlotNotFree


async def withdraw_slot(db: Database, slot_id: str) -> None:
    if not await store.withdraw_free_slot(db, slot_id):
        raise SlotNotFree
