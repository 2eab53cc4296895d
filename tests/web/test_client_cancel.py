"""The client's safety on their page: cancelling asks once more (no JavaScript needed),
a cancellation can be taken back for 10 minutes while the time is still free, and after
asking for another time the page says plainly that this time is no longer planned."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.factories import Actor, FakeClock, World, book, in_app, redeem, services_of, slip_code


@pytest.fixture
def ngo(client: TestClient, clock: FakeClock, world: World) -> Actor:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    return worker


@pytest.fixture
def slot(client: TestClient, world: World) -> str:
    from tests.factories import make_place, make_slot

    svc = services_of(client)
    return in_app(client, make_slot, svc, world.investigator, in_app(client, make_place, svc))


def status_of(client: TestClient, meeting: str) -> str:
    return in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT status FROM meetings WHERE id = :id",
        id=meeting,
    )


def meeting_of(person: Actor) -> str:
    found = re.search(r'action="/meeting/([^/]+)/answer"', person.get("/meeting").text)
    assert found
    return found.group(1)


def test_cancelling_asks_once_more_and_can_be_taken_back(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    meeting = meeting_of(person)
    asked = person.submit("/meeting", f"/meeting/{meeting}/answer", answer="cancel")
    assert asked.status_code == 200
    assert "Do you really want to cancel this meeting?" in asked.text
    assert "No, keep the meeting" in asked.text
    assert status_of(client, meeting) == "booked"  # one tap changed nothing
    done = person.submit("/meeting", f"/meeting/{meeting}/answer", answer="cancel", confirm="yes")
    assert done.status_code == 303
    assert status_of(client, meeting) == "cancelled"
    page = person.get("/meeting").text
    assert "Take back the cancellation" in page
    undone = person.submit("/meeting", f"/meeting/{meeting}/undo")
    assert undone.status_code == 303 and undone.headers["location"] == "/meeting?done=undo"
    assert status_of(client, meeting) == "booked"
    slot_status = in_app(
        client, services_of(client).db.fetch_value, "SELECT status FROM slots WHERE id = :id",
        id=slot,
    )  # fmt: skip
    assert slot_status == "booked"
    # The investigator and the booker hear that it is on again.
    kinds = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT kind FROM attention_items WHERE kind = 'client_undid_cancel'",
    )
    assert len(kinds) == 2


def test_after_ten_minutes_the_cancellation_stays(
    client: TestClient, clock: FakeClock, ngo: Actor, slot: str
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    meeting = meeting_of(person)
    person.submit("/meeting", f"/meeting/{meeting}/answer", answer="cancel", confirm="yes")
    clock.advance(5 * 60)
    assert "Take back the cancellation" in person.get("/meeting").text  # keeps the session
    clock.advance(5 * 60 + 1)
    assert "Take back the cancellation" not in person.get("/meeting").text
    token = person.csrf_from("/meeting")
    refused = person.request("POST", f"/meeting/{meeting}/undo", data={"csrf_token": token})
    assert refused.headers["location"] == "/meeting?done=undo_failed"
    assert status_of(client, meeting) == "cancelled"


def test_a_time_booked_by_someone_else_meanwhile_is_not_taken_back(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    meeting = meeting_of(person)
    person.submit("/meeting", f"/meeting/{meeting}/answer", answer="cancel", confirm="yes")
    book(ngo, slot)  # the freed time goes to another client
    undone = person.submit("/meeting", f"/meeting/{meeting}/undo")
    assert undone.headers["location"] == "/meeting?done=undo_failed"
    assert "the time is no longer free" in person.get("/meeting?done=undo_failed").text
    assert status_of(client, meeting) == "cancelled"


def test_the_support_workers_cancellation_cannot_be_undone_by_the_client(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    meeting = meeting_of(person)
    consultation = re.search(r'href="/ngo/consultations/([^"]+)"', ngo.get("/ngo").text)
    assert consultation
    page = f"/ngo/consultations/{consultation.group(1)}"
    assert ngo.submit(page, f"/ngo/meetings/{meeting}/cancel").status_code == 303
    assert "Take back the cancellation" not in person.get("/meeting").text
    undone = person.submit("/meeting", f"/meeting/{meeting}/undo")
    assert undone.headers["location"] == "/meeting?done=undo_failed"


def test_someone_elses_meeting_is_not_found_at_either_step(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    token = person.csrf_from("/meeting")
    for path, data in (
        ("/meeting/no-such-meeting/answer", {"answer": "cancel"}),
        ("/meeting/no-such-meeting/undo", {}),
    ):
        response = person.request("POST", path, data={"csrf_token": token, **data})
        assert response.status_code == 404


def test_after_asking_for_another_time_the_old_time_is_plainly_off(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    meeting = meeting_of(person)
    person.submit("/meeting", f"/meeting/{meeting}/answer", answer="change", reason="unsafe")
    page = person.get("/meeting").text
    assert "this time is no longer planned" in page
    assert "I will come" not in page
