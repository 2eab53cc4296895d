"""Availability: investigators publish, edit and withdraw slots.

A booked slot cannot be edited or withdrawn (the conditional updates only touch free
slots), so a meeting never silently loses its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain.errors import InputRejected
from portal.domain.needs import LANGUAGES
from portal.i18n import N_
from portal.storage import places as place_store
from portal.storage import slots as store
from portal.storage.database import Database
from portal.storage.slots import Slot as Slot

DURATIONS = (30, 45, 60, 90, 120)


class SlotNotFree(Exception):
    """The slot was booked or withdrawn meanwhile."""


@dataclass(frozen=True)
class SlotInput:
    place_id: str
    starts_at: int | None  # None when the typed date/time could not be read
    duration_minutes: int
    languages: Sequence[str]
    interpreter_available: bool


async def _check(db: Database, clock: Clock, given: SlotInput) -> int:
    if given.starts_at is None:
        raise InputRejected(
            "starts_at", N_("Enter the date and time, for example 2026-12-01 10:00.")
        )
    if given.starts_at <= clock.now():
        raise InputRejected("starts_at", N_("Choose a time in the future."))
    if given.duration_minutes not in DURATIONS:
        raise InputRejected("duration_minutes", N_("Choose one of the options."))
    if not given.languages or any(code not in LANGUAGES for code in given.languages):
        raise InputRejected("languages", N_("Choose at least one language you can work in."))
    place = await place_store.place_by_id(db, given.place_id)
    if place is None or place.archived_at is not None:
        raise InputRejected("place_id", N_("Choose a meeting place."))
    return given.starts_at


async def publish_slot(db: Database, clock: Clock, investigator_id: str, given: SlotInput) -> str:
    starts_at = await _check(db, clock, given)
    slot_id = random_id()
    await store.insert_slot(
        db,
        slot_id=slot_id,
        investigator_id=investigator_id,
        place_id=given.place_id,
        starts_at=starts_at,
        duration_minutes=given.duration_minutes,
        languages=list(given.languages),
        interpreter_available=given.interpreter_available,
        now=clock.now(),
    )
    return slot_id


async def edit_slot(db: Database, clock: Clock, slot_id: str, given: SlotInput) -> None:
    starts_at = await _check(db, clock, given)
    if not await store.update_free_slot(
        db,
        slot_id=slot_id,
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
