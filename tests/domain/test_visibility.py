"""Who sees what: every role against every kind of object, through domain/visibility.py.

One consultation booked by the support centre, its meeting held by the investigator, a
sealed note and message, a running reflection period, and a free slot of the same
investigator. Each person asks every question visibility.py answers; the test lists, literally, the
questions that show them the object. Loosening any condition there (another
organisation's worker, another investigator, a role check dropped) adds a question to
someone's list and fails the test. The adviser role has its own matrix in
tests/domain/test_adviser_access.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from portal.domain import bookings, client_access, invitations, outcomes, visibility
from portal.domain.needs import parse_needs
from portal.services import Services
from portal.storage.accounts import Account, account_by_id
from portal.storage.consultations import Consultation, Meeting
from tests.domain.purgeable import add_note_and_consent
from tests.factories import NEEDS, World, in_app, make_place, make_slot, services_of

DAY = 24 * 60 * 60

# Literal answers: the questions that show each person the objects of the booking.
EXPECTED: dict[str, set[str]] = {
    "coordinator": {
        "unit_consultation",
        "unit_meeting",
        "managed_account",
        "unit_place",
        "unit_invitation",
        "unit_meetings",
        "unit_slots",
        "calendar_slots",
        "calendar_meetings",
        "reflection_ends",
    },
    "investigator": {
        "assigned_consultation",
        "held_meeting",
        "own_slot",
        "notes",
        "messages",
        "own_meetings",
        "own_slots",
        "day_meetings",
        "calendar_slots",
        "calendar_meetings",
        "follow_up_own",
        "reflection_ends",
        "own_attention_item",
        "own_attention_items",
    },
    # Not assigned: only the free time, offered for a follow-up with a reason.
    "other_investigator": {"follow_up_others"},
    "ngo_worker": {
        "booked_consultation",
        "booked_meeting",
        "notes",
        "messages",
        "organisation_bookings",
    },
    "other_ngo_worker": set(),
}


@dataclass(frozen=True)
class Booked:
    consultation: Consultation
    meeting: Meeting
    free_slot: str
    place: str
    invitation_id: str
    attention_item: str


async def _account(svc: Services, account_id: str) -> Account:
    found = await account_by_id(svc.db, account_id)
    assert found is not None
    return found


async def _book(client: TestClient, world: World) -> Booked:
    """A booking by the support centre with a meeting, a sealed note, a running
    reflection period; a free slot of the same investigator; an enrolment link."""
    svc = services_of(client)
    db, now = svc.db, svc.clock.now()
    place = await make_place(svc)
    booked_slot = await make_slot(svc, world.investigator, place, hours_ahead=30)
    free_slot = await make_slot(svc, world.investigator, place, hours_ahead=50)
    needs, _ = parse_needs(NEEDS)
    assert needs is not None
    worker = await _account(svc, world.ngo_worker.id)
    booking = await bookings.book_meeting(
        db,
        svc.clock,
        svc.codes,
        worker=worker,
        slot_id=booked_slot,
        needs=needs,
        client_locale="en",
        code_ttl=3600,
    )
    consultation = await visibility.booked_consultation(db, worker, booking.consultation_id)
    assert consultation is not None
    meeting = (await bookings.meetings_of(db, consultation))[0]
    investigator = await _account(svc, world.investigator.id)
    await outcomes.record_reflection(
        db, svc.clock, consultation, "granted", now + 40 * DAY, actor=investigator
    )
    await add_note_and_consent(client, world, consultation.id)
    await invitations.invite(
        db,
        svc.keys,
        svc.clock,
        organisation_id=world.ngo.id,
        role="ngo_worker",
        display_name="New Worker",
        actor=await _account(svc, world.coordinator.id),
        ttl=3600,
    )
    invitation = (await invitations.list_invitations(db))[0]
    # The client asked for another time: an item for the investigator and the booker.
    await client_access.answer_meeting(
        db, svc.clock, consultation.id, meeting.id, "change", "unsafe"
    )
    item_id = await db.fetch_value(
        "SELECT id FROM attention_items WHERE account_id = :a", a=world.investigator.id
    )
    return Booked(consultation, meeting, free_slot, place, invitation.id, item_id)


async def _seen(svc: Services, actor: Account, booked: Booked, world: World) -> set[str]:
    db, now = svc.db, svc.clock.now()
    consultation, meeting, free_slot = booked.consultation, booked.meeting, booked.free_slot
    by_id: dict[str, Awaitable[Any]] = {
        "booked_consultation": visibility.booked_consultation(db, actor, consultation.id),
        "assigned_consultation": visibility.assigned_consultation(db, actor, consultation.id),
        "unit_consultation": visibility.unit_consultation(db, actor, consultation.id),
        "booked_meeting": visibility.booked_meeting(db, actor, meeting.id),
        "held_meeting": visibility.held_meeting(db, actor, meeting.id),
        "unit_meeting": visibility.unit_meeting(db, actor, meeting.id),
        "own_slot": visibility.own_slot(db, actor, free_slot),
        "managed_account": visibility.managed_account(db, actor, world.ngo_worker.id),
        # Nobody manages their own account (someone must be left to undo a lock-out).
        "managed_self": visibility.managed_account(db, actor, actor.id),
        "unit_place": visibility.unit_place(db, actor, booked.place),
        "unit_invitation": visibility.unit_invitation(db, actor, booked.invitation_id),
        "own_attention_item": visibility.own_attention_item(db, actor, booked.attention_item),
    }
    seen = {name for name, lookup in by_id.items() if await lookup is not None}
    day_start = meeting.starts_at - meeting.starts_at % DAY
    slots, meetings = await visibility.calendar(db, actor, now, now + 7 * DAY)
    own_free, others_free = await visibility.follow_up_slots(
        db, actor, await bookings.meetings_of(db, consultation), now
    )
    lists: dict[str, tuple[Sequence[Any], str]] = {
        "notes": (
            [
                n.consultation_id
                for n in await visibility.consultation_notes(db, actor, consultation)
            ],
            consultation.id,
        ),
        "messages": (
            [
                r.message.consultation_id
                for r in await visibility.consultation_messages(db, actor, consultation, "")
            ],
            consultation.id,
        ),
        "organisation_bookings": (
            [r.consultation_id for r in await visibility.organisation_bookings(db, actor, 50, 0)],
            consultation.id,
        ),
        "own_meetings": (
            [
                m.id
                for m in await visibility.own_meetings(
                    db, actor, upcoming=True, now=now, limit=50, offset=0
                )
            ],
            meeting.id,
        ),
        "own_slots": ([s.id for s in await visibility.own_slots(db, actor, now, 50, 0)], free_slot),
        "unit_meetings": (
            [m.id for m in await visibility.unit_meetings(db, actor, now, 50, 0)],
            meeting.id,
        ),
        "unit_slots": (
            [s.id for s in await visibility.unit_slots(db, actor, now, 50, 0)],
            free_slot,
        ),
        "day_meetings": (
            [
                m.id
                for m in await visibility.day_meetings(db, actor, day_start, day_start + 2 * DAY)
            ],
            meeting.id,
        ),
        "calendar_slots": ([s.id for s in slots], free_slot),
        "calendar_meetings": ([m.id for m in meetings], meeting.id),
        "follow_up_own": ([s.id for s in own_free], free_slot),
        "follow_up_others": ([s.id for s in others_free], free_slot),
        "reflection_ends": (
            [r.consultation_id for r in await visibility.reflection_ends(db, actor, now)],
            consultation.id,
        ),
        "own_attention_items": (
            [i.id for i in await visibility.own_attention_items(db, actor, 50, 0)],
            booked.attention_item,
        ),
    }
    return seen | {name for name, (ids, wanted) in lists.items() if wanted in ids}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_exactly_its_own(client: TestClient, world: World, who: str) -> None:
    svc = services_of(client)
    booked = in_app(client, _book, client, world)
    actor = in_app(client, _account, svc, getattr(world, who).id)
    assert in_app(client, _seen, svc, actor, booked, world) == EXPECTED[who]
