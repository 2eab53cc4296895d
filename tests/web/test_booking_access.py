"""IDOR matrix for consultations, meetings and slots, across organisations and people."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from tests.factories import (
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)


@dataclass
class Booked:
    consultation: str
    meeting: str
    slot: str
    free_slot: str
    client: Actor


@pytest.fixture
def booked(client: TestClient, clock: FakeClock, world: World) -> Booked:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    free_slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=72)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(worker, slot)))
    consultation = re.search(r'href="/ngo/consultations/([^"]+)"', worker.get("/ngo").text)
    meeting = re.search(r'action="/meeting/([^/]+)/answer"', person.get("/meeting").text)
    assert consultation and meeting
    return Booked(consultation.group(1), meeting.group(1), slot, free_slot, person)


def _as(client: TestClient, clock: FakeClock, person: object) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)  # type: ignore[arg-type]
    return actor


def test_owners_can_open_what_is_theirs(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    assert (
        _as(client, clock, world.ngo_worker)
        .get(f"/ngo/consultations/{booked.consultation}")
        .status_code
        == 200
    )
    assert (
        _as(client, clock, world.investigator)
        .get(f"/investigator/consultations/{booked.consultation}")
        .status_code
        == 200
    )
    assert (
        _as(client, clock, world.investigator)
        .get(f"/investigator/slots/{booked.free_slot}")
        .status_code
        == 200
    )


def test_another_ngo_sees_nothing_of_the_booking(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    other = _as(client, clock, world.other_ngo_worker)
    c = booked.consultation
    assert other.get(f"/ngo/consultations/{c}").status_code == 404
    assert other.get(f"/ngo/consultations/{c}/rebook").status_code == 404
    token = other.csrf_from("/ngo")
    for path in (
        f"/ngo/consultations/{c}/code",
        f"/ngo/consultations/{c}/rebook",
        f"/ngo/meetings/{booked.meeting}/cancel",
    ):
        response = other.request(
            "POST", path, data={"csrf_token": token, "slot_id": booked.free_slot}
        )
        assert response.status_code == 404, path
    assert booked.consultation not in other.get("/ngo").text
    assert "Please tell us if you can come." in booked.client.get("/meeting").text


def test_another_investigator_sees_nothing(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    other = _as(client, clock, world.other_investigator)
    c = booked.consultation
    assert other.get(f"/investigator/consultations/{c}").status_code == 404
    assert other.get(f"/investigator/slots/{booked.free_slot}").status_code == 404
    token = other.csrf_from("/investigator")
    for path in (
        f"/investigator/consultations/{c}/follow-up",
        f"/investigator/slots/{booked.free_slot}",
        f"/investigator/slots/{booked.free_slot}/withdraw",
    ):
        response = other.request(
            "POST", path, data={"csrf_token": token, "slot_id": booked.free_slot}
        )
        assert response.status_code == 404, path
    assert booked.consultation not in other.get("/investigator").text


def test_one_client_cannot_touch_another_clients_meeting(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Second place")
    slot = in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=30)
    worker = _as(client, clock, world.other_ngo_worker)
    intruder, _code = redeem(client, slip_code(book(worker, slot)))
    own = re.search(r'action="/meeting/([^/]+)/answer"', intruder.get("/meeting").text)
    assert own and own.group(1) != booked.meeting
    token = intruder.csrf_from("/meeting")
    for data in (
        {"answer": "cancel"},
        {"answer": "confirm"},
        {"answer": "change", "reason": "unsafe"},
        {"answer": "nonsense"},
    ):
        for meeting in (booked.meeting, "no-such-meeting"):
            response = intruder.request(
                "POST", f"/meeting/{meeting}/answer", data={"csrf_token": token, **data}
            )
            assert response.status_code == 404, (meeting, data)
    status = in_app(
        client,
        svc.db.fetch_value,
        "SELECT status FROM meetings WHERE id = :id",
        id=booked.meeting,
    )
    assert status == "booked"  # nothing happened
    assert "Please tell us if you can come." in booked.client.get("/meeting").text
    # The intruder's own meeting still answers as before.
    mine = intruder.submit("/meeting", f"/meeting/{own.group(1)}/answer", answer="confirm")
    assert mine.status_code == 303 and mine.headers["location"] == "/meeting?done=confirm"


def test_staff_and_clients_stay_on_their_own_side(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    assert booked.client.get("/ngo").status_code == 404  # a client is not staff
    assert booked.client.get("/investigator").status_code == 404
    worker = _as(client, clock, world.ngo_worker)
    assert worker.get("/meeting").status_code == 404  # staff have no client page
    assert worker.get("/investigator").status_code == 404
    assert _as(client, clock, world.investigator).get("/ngo/book").status_code == 404


def test_coordinator_sees_the_unit_and_can_reassign(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    coordinator = _as(client, clock, world.coordinator)
    schedule = coordinator.get("/coordinator/schedule")
    assert schedule.status_code == 200 and booked.meeting in schedule.text
    response = coordinator.submit(
        "/coordinator/schedule",
        f"/coordinator/meetings/{booked.meeting}/reassign",
        investigator_id=world.other_investigator.id,
    )
    assert response.status_code == 303
    new = _as(client, clock, world.other_investigator)
    assert new.get(f"/investigator/consultations/{booked.consultation}").status_code == 200
    old = _as(client, clock, world.investigator)
    assert old.get(f"/investigator/consultations/{booked.consultation}").status_code == 404
    svc = services_of(client)
    first = in_app(
        client,
        svc.db.fetch_value,
        "SELECT first_investigator_id FROM consultations WHERE id = :id",
        id=booked.consultation,
    )
    assert first == world.investigator.id  # continuity: who held the first meeting is kept


def test_reassigning_to_a_non_investigator_is_refused(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    coordinator = _as(client, clock, world.coordinator)
    response = coordinator.submit(
        "/coordinator/schedule",
        f"/coordinator/meetings/{booked.meeting}/reassign",
        investigator_id=world.ngo_worker.id,
    )
    assert response.status_code == 400


def test_a_meeting_goes_only_to_an_investigator_free_at_its_time(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    """One investigator's times never overlap: the meeting's time moves into the new
    investigator's calendar, so it cannot land on a time they have already."""
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    clash = in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=48)
    coordinator = _as(client, clock, world.coordinator)
    path = f"/coordinator/meetings/{booked.meeting}/reassign"

    def audited() -> int:
        return in_app(
            client,
            svc.db.fetch_value,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'meeting_reassigned'",
        )

    refused = coordinator.submit(
        "/coordinator/schedule", path, investigator_id=world.other_investigator.id
    )
    assert refused.status_code == 400
    assert "This investigator has another time then." in refused.text
    # The same investigator: nothing changes and nothing is recorded.
    same = coordinator.submit("/coordinator/schedule", path, investigator_id=world.investigator.id)
    assert same.headers["location"] == "/coordinator/schedule?done=unchanged"
    assert audited() == 0
    # Once the clashing time is withdrawn, the meeting goes, and its time with it.
    mikko = _as(client, clock, world.other_investigator)
    withdrawn = mikko.submit("/investigator/slots", f"/investigator/slots/{clash}/withdraw")
    assert withdrawn.status_code == 303
    given = coordinator.submit(
        "/coordinator/schedule", path, investigator_id=world.other_investigator.id
    )
    assert given.headers["location"] == "/coordinator/schedule?done=reassigned"
    assert (
        "The meeting was given to the investigator you chose."
        in coordinator.get(given.headers["location"]).text
    )
    assert audited() == 1
    owner = in_app(
        client,
        svc.db.fetch_value,
        "SELECT investigator_id FROM slots WHERE id = :id",
        id=booked.slot,
    )
    assert owner == world.other_investigator.id


def test_a_place_taken_out_of_use_is_no_longer_offered(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    """Its free times are withdrawn (nobody can book them); the meeting booked there
    stays, and the coordinator is told both."""
    svc = services_of(client)

    def status_of(slot: str) -> str:
        return in_app(
            client, svc.db.fetch_value, "SELECT status FROM slots WHERE id = :id", id=slot
        )

    place = in_app(
        client, svc.db.fetch_value, "SELECT place_id FROM slots WHERE id = :id", id=booked.free_slot
    )
    worker = _as(client, clock, world.ngo_worker)
    assert booked.free_slot in worker.submit("/ngo/book", action="search", language="fi").text
    coordinator = _as(client, clock, world.coordinator)
    stopped = coordinator.submit("/coordinator/places", f"/coordinator/places/{place}/archive")
    assert stopped.headers["location"] == "/coordinator/places?stopped=1"
    assert "its free times are withdrawn" in coordinator.get(stopped.headers["location"]).text
    assert booked.free_slot not in worker.submit("/ngo/book", action="search", language="fi").text
    assert (status_of(booked.free_slot), status_of(booked.slot)) == ("withdrawn", "booked")
    assert f'action="/meeting/{booked.meeting}/answer"' in booked.client.get("/meeting").text
