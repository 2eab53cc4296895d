"""Week calendars and the printable day sheet."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from tests.factories import Actor, FakeClock, World, in_app, make_place, make_slot, services_of
from tests.web.sealed import FEARS, Case


def _week_of(clock: FakeClock, hours_ahead: int) -> str:
    moment = datetime.fromtimestamp(clock.now() + hours_ahead * 3600, ZoneInfo("Europe/Helsinki"))
    return moment.date().isoformat()


def test_investigator_week_shows_own_times_and_meetings(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Other room")
    in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=50)
    actor = case.investigator.actor
    page = actor.get(f"/investigator/week?start={_week_of(clock, 48)}")
    assert page.status_code == 200
    assert "Station room 4" in page.text  # the booked meeting (from the case fixture)
    assert "Other room" not in page.text  # another investigator's time
    assert 'class="week-day c-' in page.text and "is-meeting" in page.text
    partial = actor.get(
        f"/investigator/week?start={_week_of(clock, 48)}", headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text and 'id="week"' in partial.text


def test_coordinator_week_shows_the_unit(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Other room")
    in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=50)
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    page = coordinator.get(f"/coordinator/week?start={_week_of(clock, 48)}").text
    assert "Other room" in page and "Station room 4" in page
    assert "Inv2" in page or "Inv" in page
    assert coordinator.get("/coordinator/week?start=not-a-date").status_code == 200


def test_day_sheet_lists_meetings_without_sealed_content(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    page = f"/ngo/consultations/{case.consultation}"
    case.ngo.submit(page, page + "/notes", fears=FEARS)
    actor = case.investigator.actor
    sheet = actor.get(f"/investigator/day?date={_week_of(clock, 48)}")
    assert sheet.status_code == 200
    assert "Station room 4" in sheet.text and "Street 1" in sheet.text
    assert FEARS not in sheet.text and "envelope" not in sheet.text


def test_calendars_belong_to_their_roles(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    for path in ("/investigator/week", "/investigator/day", "/coordinator/week"):
        assert ngo.get(path).status_code == 404
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    assert investigator.get("/coordinator/week").status_code == 404
