"""One investigator's times never overlap; a weekly repeat is checked before it is saved;
a follow-up is never offered at the time of the meeting it follows."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from tests.factories import Actor, FakeClock, World, in_app, make_place, services_of
from tests.web.sealed import Case

ZONE = ZoneInfo("Europe/Helsinki")


@pytest.fixture
def investigator(client: TestClient, clock: FakeClock, world: World) -> Actor:
    actor = Actor(client)
    actor.log_in(world.investigator, clock)
    return actor


def at(clock: FakeClock, days: int, hour: int, minute: int = 0) -> str:
    moment = datetime.fromtimestamp(clock.now(), ZONE) + timedelta(days=days)
    return moment.replace(hour=hour, minute=minute).strftime("%Y-%m-%dT%H:%M")


def publish(actor: Actor, place: str, starts_at: str, minutes: int = 60, **more: str):  # type: ignore[no-untyped-def]
    return actor.request(
        "POST",
        "/investigator/slots",
        data={
            "csrf_token": actor.csrf_from("/investigator/slots"),
            "starts_at": starts_at,
            "duration_minutes": str(minutes),
            "place_id": place,
            "languages": ["fi"],
            "interpreter_available": "no",
            **more,
        },
    )


def count_slots(client: TestClient) -> int:
    return in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT count(*) FROM slots WHERE status = 'free'",
    )


def test_a_second_time_at_the_same_hour_in_another_place_is_refused(
    client: TestClient, clock: FakeClock, investigator: Actor
) -> None:
    svc = services_of(client)
    station = in_app(client, make_place, svc, "Station room 4")
    office = in_app(client, make_place, svc, "NGO office")
    assert publish(investigator, station, at(clock, 3, 10), 90).status_code == 303
    # 11:00-12:00 meets 10:00-11:30.
    refused = publish(investigator, office, at(clock, 3, 11))
    assert refused.status_code == 400
    assert "overlaps another of your times" in refused.text
    assert f'value="{at(clock, 3, 11)}"' in refused.text  # what was typed stays
    assert count_slots(client) == 1
    # Right after it ends is fine.
    assert publish(investigator, office, at(clock, 3, 11, 30)).status_code == 303
    assert count_slots(client) == 2


def test_another_investigator_may_have_the_same_hour(
    client: TestClient, clock: FakeClock, world: World, investigator: Actor
) -> None:
    place = in_app(client, make_place, services_of(client))
    assert publish(investigator, place, at(clock, 3, 10)).status_code == 303
    other = Actor(client)
    other.log_in(world.other_investigator, clock)
    assert publish(other, place, at(clock, 3, 10)).status_code == 303


def test_changing_a_time_onto_another_is_refused(
    client: TestClient, clock: FakeClock, investigator: Actor
) -> None:
    place = in_app(client, make_place, services_of(client))
    publish(investigator, place, at(clock, 3, 10))
    publish(investigator, place, at(clock, 3, 14))
    page = investigator.get("/investigator/slots").text
    later = re.findall(r'href="/investigator/slots/([^"]+)"', page)[1]
    response = investigator.request(
        "POST",
        f"/investigator/slots/{later}",
        data={
            "csrf_token": investigator.csrf_from(f"/investigator/slots/{later}"),
            "starts_at": at(clock, 3, 10, 30),
            "duration_minutes": "60",
            "place_id": place,
            "languages": ["fi"],
        },
    )
    assert response.status_code == 400 and "overlaps another of your times" in response.text
    # Its own old time does not count against it.
    moved = investigator.request(
        "POST",
        f"/investigator/slots/{later}",
        data={
            "csrf_token": investigator.csrf_from(f"/investigator/slots/{later}"),
            "starts_at": at(clock, 3, 14, 30),
            "duration_minutes": "60",
            "place_id": place,
            "languages": ["fi"],
        },
    )
    assert moved.status_code == 303


def test_a_weekly_repeat_shows_its_overlaps_then_publishes_the_free_weeks(
    client: TestClient, clock: FakeClock, investigator: Actor
) -> None:
    place = in_app(client, make_place, services_of(client))
    publish(investigator, place, at(clock, 3 + 14, 11))  # the third week is taken
    preview = publish(investigator, place, at(clock, 3, 10), 120, weeks="6")
    assert preview.status_code == 200
    assert count_slots(client) == 1  # nothing saved yet
    assert preview.text.count("overlaps one of your times: not published") == 1
    assert "Publish 5 times" in preview.text
    confirm = dict(
        re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', preview.text)
    )
    assert confirm["confirm"] == "yes" and confirm["weeks"] == "6"
    done = investigator.request(
        "POST",
        "/investigator/slots",
        data={**confirm, "languages": ["fi"]},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("published=5")
    assert count_slots(client) == 6
    starts = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT starts_at FROM slots WHERE duration_minutes = 120 ORDER BY starts_at",
    )
    gaps = {later[0] - earlier[0] for earlier, later in itertools.pairwise(starts)}
    # Weekly, with the third week missing (a DST change would shift the hour, not the rule).
    assert len(starts) == 5 and gaps <= {7 * 86400, 14 * 86400}


def test_a_repeat_of_more_than_twelve_weeks_is_refused(
    client: TestClient, clock: FakeClock, investigator: Actor
) -> None:
    place = in_app(client, make_place, services_of(client))
    response = publish(investigator, place, at(clock, 3, 10), weeks="13")
    assert response.status_code == 400 and "Repeat for 1 to 12 weeks." in response.text
    assert count_slots(client) == 0


def test_a_follow_up_is_never_offered_at_the_meetings_own_time(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    starts_at = in_app(
        client,
        svc.db.fetch_value,
        "SELECT starts_at FROM meetings WHERE consultation_id = :c",
        c=case.consultation,
    )
    other = Actor(client)
    other.log_in(world.other_investigator, clock)
    place = in_app(client, make_place, svc, "Second room")
    moment = datetime.fromtimestamp(starts_at, ZONE)
    publish(other, place, moment.strftime("%Y-%m-%dT%H:%M"))  # the same hour
    publish(other, place, (moment + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page = case.investigator.actor.get(f"/investigator/consultations/{case.consultation}").text
    offered = re.findall(
        r'<option value="([^"]+)"', page.split('name="slot_id"')[1].split("</select>")[0]
    )
    same_hour = in_app(
        client,
        svc.db.fetch_value,
        "SELECT id FROM slots WHERE starts_at = :s AND status = 'free'",
        s=starts_at,
    )
    assert same_hour not in offered
    assert len([o for o in offered if o]) == 1
