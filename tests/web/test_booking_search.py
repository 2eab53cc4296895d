"""NGO workers search their organisation's bookings by status, booking date and
pseudonym, paged; never another organisation's (portal/web/booking_search.py)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from portal.domain.visibility import BookingSearch
from portal.storage.consultations import bookings_query
from tests.factories import (
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_organisation,
    make_person,
    make_place,
    make_slot,
    services_of,
)

if TYPE_CHECKING:
    import httpx

ROW = re.compile(r'<td><a href="/ngo/consultations/([^"]+)">([^<]+)</a></td>')
DAY = 24 * 3600


def listed(worker: Actor, query: str = "") -> list[str]:
    response = worker.get("/ngo" + query)
    assert response.status_code == 200, response.text
    return [pseudonym for _id, pseudonym in ROW.findall(response.text)]


def booked(slip: httpx.Response) -> str:
    """The consultation a booking's slip links to."""
    found = re.search(r'href="/ngo/consultations/([^"]+)"', slip.text)
    assert found, slip.text
    return found.group(1)


def set_pseudonym(
    client: TestClient, consultation: str, pseudonym: str, booked_at: int | None = None
) -> None:
    """A known pseudonym (they are drawn at random), and when it was booked."""
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE consultations SET pseudonym = :p, created_at = COALESCE(:at, created_at)"
        " WHERE id = :id",
        p=pseudonym,
        at=booked_at,
        id=consultation,
    )


def test_a_worker_finds_bookings_by_status_date_and_pseudonym(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    names = ["Blue Heron 42", "Blue Heron 17", "Red Fox 42"]
    for hours, name in zip((48, 72, 96), names, strict=True):
        slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=hours)
        set_pseudonym(client, booked(book(worker, slot)), name, clock.now() + hours)
    assert listed(worker) == ["Red Fox 42", "Blue Heron 17", "Blue Heron 42"]

    assert listed(worker, "?pseudonym=blue+heron") == ["Blue Heron 17", "Blue Heron 42"]
    assert listed(worker, "?pseudonym=Blue+Heron+42") == ["Blue Heron 42"]
    assert listed(worker, "?pseudonym=Heron") == []  # the first words, not any part
    assert listed(worker, "?status=booked") == ["Red Fox 42", "Blue Heron 17", "Blue Heron 42"]
    assert listed(worker, "?status=held") == []
    assert "No bookings match this search." in worker.get("/ngo?status=held").text


def test_the_booking_date_range_counts_whole_days(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    for hours, name, days_ago in ((48, "Grey Seal 10", 6), (72, "Grey Seal 20", 3)):
        slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=hours)
        set_pseudonym(client, booked(book(worker, slot)), name, clock.now() - days_ago * DAY)

    def day(offset_days: int) -> str:
        moment = datetime.fromtimestamp(
            clock.now() - offset_days * DAY, ZoneInfo("Europe/Helsinki")
        )
        return moment.strftime("%Y-%m-%d")

    assert listed(worker) == ["Grey Seal 20", "Grey Seal 10"]
    first_day, second_day = day(6), day(3)
    assert listed(worker, f"?booked_from={first_day}&booked_until={first_day}") == ["Grey Seal 10"]
    assert listed(worker, f"?booked_from={second_day}") == ["Grey Seal 20"]
    assert listed(worker, f"?booked_until={second_day}") == ["Grey Seal 20", "Grey Seal 10"]
    assert listed(worker, f"?booked_until={day(4)}") == ["Grey Seal 10"]


def test_bad_search_input_is_explained_and_the_list_stays(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    response = worker.get("/ngo?status=x&booked_from=soon&booked_until=1999-01-01&pseudonym=a%25b")
    assert response.status_code == 400
    for message in (
        "Choose one of the options.",
        "Enter a date such as 2026-12-01.",
        "A pseudonym has only letters, numbers and spaces, such as Blue Heron 42.",
    ):
        assert message in response.text
    assert 'value="soon"' in response.text  # what was typed comes back
    later = worker.get("/ngo?booked_from=2026-12-10&booked_until=2026-12-01")
    assert "The first day must not be after the last one." in later.text


def test_another_organisations_bookings_are_never_found(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    book(worker, slot)
    found = ROW.search(worker.get("/ngo").text)
    assert found
    set_pseudonym(client, found.group(1), "Green Owl 11")
    other_org = in_app(client, make_organisation, svc, "Another Shelter", "ngo")
    other = in_app(client, make_person, svc, other_org, "ngo_worker", "otherworker")
    stranger = Actor(client)
    stranger.log_in(other, clock)
    assert listed(stranger, "?pseudonym=Green+Owl+11") == []
    assert listed(stranger, "?organisation_id=" + world.ngo_worker.organisation_id) == []


def test_the_pager_keeps_the_search(client: TestClient, clock: FakeClock, world: World) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    for hours in range(30, 30 + 26):
        slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=hours)
        book(worker, slot)
    first = worker.get("/ngo?status=booked").text
    assert 'href="/ngo?status=booked&amp;page=2" rel="next"' in first
    second = listed(worker, "?status=booked&page=2")
    assert len(second) == 1


def test_every_search_reads_the_organisations_index(client: TestClient) -> None:
    """On SQLite: the list reads the (organisation_id, created_at) index, a date range
    narrowing it; no search scans the consultations table (PostgreSQL's planner picks by
    table size, so the plan is checked where it is fixed)."""
    svc = services_of(client)
    if not svc.settings.database_url.startswith("sqlite"):
        return
    searches = [
        BookingSearch(),
        BookingSearch(status="held"),
        BookingSearch(booked_from=1, booked_until=2, pseudonym="Blue Heron"),
    ]
    for search in searches:
        sql, params = bookings_query(search)
        plan = in_app(
            client,
            svc.db.fetch_all,
            "EXPLAIN QUERY PLAN " + sql,
            org="o",
            limit=26,
            offset=0,
            **params,
        )
        details = [str(tuple(row)[-1]) for row in plan]
        assert any(
            "USING INDEX ix_consultations_organisation_id_created_at" in d for d in details
        ), details
        assert not any(d.startswith("SCAN c") for d in details), details
        if search.booked_from is not None:
            assert any("created_at>? AND created_at<?" in d for d in details), details
