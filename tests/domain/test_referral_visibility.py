"""Who sees a referral, through domain/visibility.py: the adviser role's access matrix.

The booking of tests/domain/test_visibility.py (a consultation with a meeting, a sealed
note, a message, a referral consent), plus a referral of it to an assistance-system
organisation. Every person asks every question visibility.py answers about the
consultation and the referral; the test lists, literally, those that show them
something. An adviser of the receiving organisation sees only the referral (never the
consultation, its notes, messages, meetings or outcome); an adviser of another
organisation sees nothing; police and the NGO see the referral only as the
consultation's plain status list.
"""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.domain import referrals, visibility
from portal.services import Services
from portal.storage import keys as key_store
from portal.storage.accounts import Account
from portal.storage.organisations import Organisation
from tests.domain.test_visibility import Booked, _account, _book, _seen
from tests.factories import Person, World, in_app, make_organisation, make_person, services_of
from tests.web.referring import sealed_note

# Literal answers: the consultation's questions (test_visibility) and the referral's.
EXPECTED: dict[str, set[str]] = {
    "coordinator": {"consultation_referrals", "unit_referrals"},
    "investigator": {"consultation_referrals"},
    "other_investigator": set(),
    "ngo_worker": {"consultation_referrals"},
    "other_ngo_worker": set(),
    "adviser": {"received_referral", "received_referrals"},
    "other_adviser": set(),
}
# What every role sees of the booking itself, from test_visibility (unchanged here).
CONSULTATION_QUESTIONS = {
    "booked_consultation",
    "assigned_consultation",
    "unit_consultation",
    "booked_meeting",
    "held_meeting",
    "unit_meeting",
    "notes",
    "messages",
    "organisation_bookings",
    "own_meetings",
    "unit_meetings",
    "day_meetings",
    "calendar_meetings",
    "reflection_ends",
}


async def _refer(
    client: TestClient, world: World
) -> tuple[Booked, str, dict[str, Account], Organisation]:
    svc = services_of(client)
    booked = await _book(client, world)
    assistance = await make_organisation(svc, "Victim assistance", "assistance")
    other = await make_organisation(svc, "Other assistance", "assistance")
    adviser = await make_person(svc, assistance, "adviser", "adv")
    other_adviser = await make_person(svc, other, "adviser", "adv2")
    keys = {}
    for person in (adviser, other_adviser):
        private = PrivateKey.generate()
        key_id = f"key-{person.username}"
        await key_store.insert_key(
            svc.db,
            key_id=key_id,
            account_id=person.id,
            public_key=bytes(private.public_key),
            wrapped_key=b"\x01" * 97,
            recovery_wrapped_key=b"\x01" * 97,
            now=svc.clock.now(),
        )
        keys[person.id] = (key_id, bytes(private.public_key))
    referral_id = referrals.new_referral_id()
    key_id, public = keys[adviser.id]
    investigator = await _account(svc, world.investigator.id)
    # The consent of test_visibility's booking says "explained" and "consents".
    await referrals.send(
        svc.db,
        svc.clock,
        booked.consultation,
        sender=investigator,
        organisation_id=assistance.id,
        referral_id=referral_id,
        envelopes={
            key_id: sealed_note(
                public,
                referral_id=referral_id,
                author="investigator",
                key_id=key_id,
                text="note",
                at=1,
            )
        },
    )
    people = {
        "adviser": await _account(svc, adviser.id),
        "other_adviser": await _account(svc, other_adviser.id),
    }
    return booked, referral_id, people, assistance


async def _referral_seen(
    svc: Services, actor: Account, booked: Booked, referral_id: str, world: World
) -> set[str]:
    db = svc.db
    seen = set()
    if await visibility.received_referral(db, actor, referral_id) is not None:
        seen.add("received_referral")
    if referral_id in [r.id for r in await visibility.received_referrals(db, actor, 50, 0)]:
        seen.add("received_referrals")
    found = await visibility.consultation_referrals(db, actor, booked.consultation)
    if referral_id in [r.id for r in found]:
        seen.add("consultation_referrals")
    if referral_id in [r.id for r in await visibility.unit_referrals(db, actor, 50, 0)]:
        seen.add("unit_referrals")
    # The booking's own questions: an adviser must get none of the consultation's.
    booking = await _seen(svc, actor, booked, world)
    return seen | (booking & ({"own_attention_items"} | CONSULTATION_QUESTIONS))


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_exactly_its_own_referrals(
    client: TestClient, world: World, who: str
) -> None:
    svc = services_of(client)
    booked, referral_id, advisers, _org = in_app(client, _refer, client, world)
    if who in advisers:
        actor = advisers[who]
    else:
        person: Person = getattr(world, who)
        actor = in_app(client, _account, svc, person.id)
    seen = in_app(client, _referral_seen, svc, actor, booked, referral_id, world)
    if who in advisers:
        assert seen == EXPECTED[who]
    else:
        # Police and NGO keep what test_visibility pins; here only the referral's part.
        referral_part = {
            "received_referral",
            "received_referrals",
            "consultation_referrals",
            "unit_referrals",
        }
        assert seen & referral_part == EXPECTED[who]
