"""Meeting places, managed by coordinators."""

from __future__ import annotations

from collections.abc import Sequence

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain import audit
from portal.domain.errors import Problems
from portal.i18n import N_
from portal.storage import places as store
from portal.storage import slots as slot_store
from portal.storage.accounts import Account
from portal.storage.database import Database, Queryable
from portal.storage.places import Place as Place

PLACE_KINDS = {
    "police_station": N_("Police station"),
    "ngo_premises": N_("Support organisation's premises"),
    "other": N_("Other safe venue"),
}


def _checked(place_id: str, name: str, kind: str, address: str, directions: str) -> Place:
    name, address = " ".join(name.split()), " ".join(address.split())
    directions = directions.strip()
    problems = Problems()
    if not 2 <= len(name) <= 200:
        problems.add("name", N_("Enter a name of 2 to 200 characters."))
    if kind not in PLACE_KINDS:
        problems.add("kind", N_("Choose one of the options."))
    if not 2 <= len(address) <= 300:
        problems.add("address", N_("Enter an address of 2 to 300 characters."))
    if len(directions) > 1000:
        problems.add("directions", N_("Use at most 1000 characters."))
    problems.check()
    return Place(place_id, name, kind, address, directions, None)


async def add_place(
    db: Database,
    clock: Clock,
    *,
    name: str,
    kind: str,
    address: str,
    directions: str,
    actor: Account | None = None,
) -> Place:
    place = _checked(random_id(), name, kind, address, directions)
    async with db.transaction() as tx:
        await store.insert_place(tx, place, clock.now())
        await audit.record(tx, clock, "place_created", None, actor=actor, subject_id=place.id)
    return place


async def edit_place(
    db: Database,
    clock: Clock,
    place_id: str,
    *,
    name: str,
    kind: str,
    address: str,
    directions: str,
    actor: Account | None = None,
) -> Place:
    place = _checked(place_id, name, kind, address, directions)
    async with db.transaction() as tx:
        await store.update_place(tx, place)
        await audit.record(tx, clock, "place_changed", None, actor=actor, subject_id=place.id)
    return place


async def set_archived(
    db: Database, clock: Clock, place: Place, archived: bool, *, actor: Account | None = None
) -> None:
    """Archive a place (its free future times are withdrawn, so nobody books it any
    more, and no new ones can be published there; meetings booked there keep it), or
    take it back into use (investigators publish new times)."""
    async with db.transaction() as tx:
        await store.set_archived(tx, place.id, clock.now() if archived else None)
        if archived:
            await slot_store.withdraw_free_slots_at(tx, place.id, clock.now())
        await audit.record(
            tx,
            clock,
            "place_archived" if archived else "place_restored",
            None,
            actor=actor,
            subject_id=place.id,
        )


async def list_places(db: Queryable, *, include_archived: bool = False) -> Sequence[Place]:
    return await store.list_places(db, include_archived=include_archived)
