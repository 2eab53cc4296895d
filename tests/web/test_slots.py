"""Availability: investigators publish, change and withdraw free times; booked ones stay."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

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
    services_of,
)


@pytest.fixture
def investigator(client: TestClient, clock: FakeClock, world: World) -> Actor:
    actor = Actor(client)
    actor.log_in(world.investigator, clock)
    return actor


def local(clock: FakeClock, days: int) -> str:
    moment = datetime.fromtimestamp(clock.now() + days * 86400, ZoneInfo("Europe/Helsinki"))
    return moment.replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M")


def test_publish_a_time_and_see_it_listed(
    client: TestClient, clock: FakeClock, investigator: Actor
) -> None:
    place = in_app(client, make_place, services_of(client))
    response = investigator.request(
        "POST",
        "/investigator/slots",
        data={
            "csrf_token": investigator.csrf_from("/investigator/slots"),
            "starts_at": local(clock, 3),
            "duration_minutes": "90",
            "place_id": place,
            "languages": ["fi", "ru"],
            "interpreter_available": "yes",
        },
    )
    assert response.status_code == 303
    page = investigator.get("/investigator/slots").text
    assert "Station room 4" in page and "Russian" in page and "90 min" in page
    assert "interpreter can be arranged" in page


@pytest.mark.parametrize(
    ("starts_at", "languages", "message"),
    [
        ("", ["fi"], "Enter the date and time"),
        ("2001-01-01T10:00", ["fi"], "Choose a time in the future."),
        ("2099-12-08T10:00", ["fi"], "Choose a time within the next year."),  # a typo
        ("tomorrow", ["fi"], "Enter the date and time"),
        (None, [], "Choose at least one language"),
        (None, ["xx"], "Choose at least one language"),
    ],
)
def test_bad_times_are_refused_and_the_form_is_kept(
    client: TestClient,
    clock: FakeClock,
    investigator: Actor,
    starts_at: str | None,
    languages: list[str],
    message: str,
) -> None:
    place = in_app(client, make_place, services_of(client))
    response = investigator.request(
        "POST",
        "/investigator/slots",
        data={
            "csrf_token": investigator.csrf_from("/investigator/slots"),
            "starts_at": local(clock, 2) if starts_at is None else starts_at,
            "duration_minutes": "45",
            "place_id": place,
            "languages": languages,
        },
    )
    assert response.status_code == 400
    assert message in response.text
    assert '<option value="45" selected>' in response.text


def test_a_free_time_can_be_changed_and_withdrawn(
    client: TestClient, clock: FakeClock, world: World, investigator: Actor
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    edit = investigator.request(
        "POST",
        f"/investigator/slots/{slot}",
        data={
            "csrf_token": investigator.csrf_from(f"/investigator/slots/{slot}"),
            "starts_at": local(clock, 5),
            "duration_minutes": "120",
            "place_id": place,
            "languages": ["sv"],
        },
    )
    assert edit.status_code == 303
    assert "120 min" in investigator.get("/investigator/slots").text
    gone = investigator.submit("/investigator/slots", f"/investigator/slots/{slot}/withdraw")
    assert gone.status_code == 303
    assert slot not in investigator.get("/investigator/slots").text


def test_a_booked_time_cannot_silently_disappear(
    client: TestClient, clock: FakeClock, world: World, investigator: Actor
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    assert book(worker, slot).status_code == 200
    withdraw = investigator.submit("/investigator/slots", f"/investigator/slots/{slot}/withdraw")
    assert withdraw.status_code == 409
    assert "booked or withdrawn" in withdraw.text
    edit = investigator.request(
        "POST",
        f"/investigator/slots/{slot}",
        data={
            "csrf_token": investigator.csrf_from("/investigator/slots"),
            "starts_at": local(clock, 9),
            "duration_minutes": "60",
            "place_id": place,
            "languages": ["fi"],
        },
    )
    assert edit.status_code == 409
    assert "Booked" in investigator.get("/investigator").text


def test_lists_are_paged(
    client: TestClient, clock: FakeClock, world: World, investigator: Actor
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    for hour in range(30):
        in_app(client, make_slot, svc, world.investigator, place, hours_ahead=24 + hour)
    first = investigator.get("/investigator/slots").text
    assert 'rel="next"' in first and first.count("/withdraw") == 25
    second = investigator.get("/investigator/slots?page=2").text
    assert second.count("/withdraw") == 5 and 'rel="prev"' in second
    assert investigator.get("/investigator/slots?page=-3").status_code == 200
