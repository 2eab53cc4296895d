"""Continuity when an NGO worker books another time: the same investigator's times first,
never an investigator without a key, a reason when switching, and an item for the
previous investigator to re-seal the notes."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.factories import (
    FakeClock,
    World,
    in_app,
    make_person,
    make_place,
    make_slot,
    services_of,
)
from tests.web.sealed import Case, create_key


def rebook_page(case: Case) -> str:
    return f"/ngo/consultations/{case.consultation}/rebook"


def offered(page: str) -> dict[str, list[str]]:
    same, _, others = page.partition("Other times")
    pick = re.compile(r'name="slot_id" value="([^"]+)"')
    return {"same": pick.findall(same), "others": pick.findall(others)}


def test_the_same_investigators_times_come_first_and_keyless_ones_never(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Second room")
    own = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=100)
    create_key(client, clock, world.other_investigator)
    keyed = in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=90)
    keyless_person = in_app(client, make_person, svc, world.police, "investigator", "inv3")
    keyless = in_app(client, make_slot, svc, keyless_person, place, hours_ahead=80)
    choices = offered(case.ngo.get(rebook_page(case)).text)
    assert choices["same"] == [own]
    assert keyed in choices["others"]
    assert keyless not in choices["others"] and own not in choices["others"]


def test_switching_investigator_asks_why_and_asks_the_previous_one_to_reseal(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Second room")
    create_key(client, clock, world.other_investigator)
    theirs = in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=90)
    page = rebook_page(case)
    unexplained = case.ngo.submit(page, page, slot_id=theirs)
    assert unexplained.status_code == 400
    assert "Say why another investigator should meet the client." in unexplained.text
    assert f'value="{theirs}" checked' in unexplained.text  # the choice is kept
    explained = case.ngo.submit(page, page, slot_id=theirs, reason="language")
    assert explained.status_code == 303
    detail = in_app(
        client,
        svc.db.fetch_value,
        "SELECT detail FROM audit_events WHERE action = 'meeting_rebooked'",
    )
    assert detail == "language"
    queue = case.investigator.actor.get("/investigator").text
    assert "seal its notes again for them" in queue
    assert 'href="/investigator/reseal"' in queue


def test_staying_with_the_same_investigator_needs_no_reason_and_no_reseal(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Second room")
    own = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=100)
    page = rebook_page(case)
    assert case.ngo.submit(page, page, slot_id=own).status_code == 303
    items = in_app(
        client,
        svc.db.fetch_value,
        "SELECT count(*) FROM attention_items WHERE kind = 'reseal_needed'",
    )
    assert items == 0
