"""Coordinator record pages: due for purge with extensions, the audit log and its CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from portal.domain import audit
from portal.settings import Settings
from portal.storage.consultations import consultation_by_id
from tests.domain.purgeable import DAY, Booked, book_consultation, purge_date, run
from tests.factories import CANARIES, CLIENT_ADDRESS, Actor, FakeClock, World, in_app, services_of

PAGES = ("/coordinator/retention", "/coordinator/audit", "/coordinator/audit.csv")
ZONE = ZoneInfo(Settings().timezone)
HEADER = (
    "time,actor_name,actor_role,action,pseudonym,consultation_id,detail,"
    "kind,actor_account_id,subject_name,subject_account_id,subject_id"
)


def _as(client: TestClient, clock: FakeClock, person: object) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)  # type: ignore[arg-type]
    return actor


@pytest.fixture
def booked(client: TestClient, clock: FakeClock, world: World) -> Booked:
    return book_consultation(client, clock, world)


def _day(timestamp: int) -> str:
    """A date as a coordinator types it, in the portal's time zone."""
    return datetime.fromtimestamp(timestamp, ZONE).date().isoformat()


def test_only_coordinators_reach_the_record_pages(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    for person in (world.ngo_worker, world.investigator):
        other = _as(client, clock, person)
        for path in PAGES:
            assert other.get(path).status_code == 404, (person.role, path)
        token = other.csrf_from("/staff")
        response = other.request(
            "POST",
            f"/coordinator/retention/{booked.id}/extend",
            data={"csrf_token": token, "until": "2030-01-01", "reason": "safety_concern"},
        )
        assert response.status_code == 404
    for path in PAGES:
        assert booked.client.get(path).status_code == 404  # a client's session
        assert Actor(client).get(path).headers["location"] == "/login"
    assert (
        in_app(
            client,
            services_of(client).db.fetch_value,
            "SELECT retention_extended_until FROM consultations WHERE id = :c",
            c=booked.id,
        )
        is None
    )


def test_the_coordinator_sees_what_is_due_and_keeps_one_longer(
    client: TestClient, clock: FakeClock, world: World, settings: Settings, booked: Booked
) -> None:
    assert (
        booked.pseudonym
        not in _as(client, clock, world.coordinator).get("/coordinator/retention").text
    )
    usual = purge_date(client, settings, booked.id)
    clock.value = usual - 10 * DAY
    coordinator = _as(client, clock, world.coordinator)
    page = coordinator.get("/coordinator/retention")
    assert page.status_code == 200 and booked.pseudonym in page.text
    assert "Due for purge" in coordinator.get("/staff").text

    path = f"/coordinator/retention/{booked.id}/extend"
    bad = coordinator.submit("/coordinator/retention", path, until="2000-01-01", reason="")
    assert bad.status_code == 400
    assert "Choose one of the options." in bad.text
    past = coordinator.submit(
        "/coordinator/retention", path, until=_day(clock.now() - DAY), reason="safety_concern"
    )
    assert past.status_code == 400
    assert "Choose a date between tomorrow and two years from now." in past.text
    assert 'value="safety_concern" selected' in past.text  # what was chosen is kept
    free_text = coordinator.submit(
        "/coordinator/retention", path, until=_day(usual + 60 * DAY), reason="her boss is here"
    )
    assert free_text.status_code == 400

    chosen = _day(usual + 60 * DAY)
    done = coordinator.submit("/coordinator/retention", path, until=chosen, reason="safety_concern")
    assert (
        done.status_code == 303 and done.headers["location"] == "/coordinator/retention?extended=1"
    )
    assert "Retention extended." in coordinator.get(done.headers["location"]).text
    svc = services_of(client)
    consultation = in_app(client, consultation_by_id, svc.db, booked.id)
    assert consultation is not None and consultation.retention_extended_until is not None
    assert _day(consultation.retention_extended_until - 1) == chosen  # kept through that day

    clock.value = usual + 1
    assert run(client, settings) == []
    clock.value = consultation.retention_extended_until
    assert run(client, settings) == [(booked.id, booked.pseudonym)]
    coordinator = _as(client, clock, world.coordinator)
    log = coordinator.get("/coordinator/audit?action=retention_extended").text
    assert booked.pseudonym in log and "A safety concern" in log


def test_cases_cannot_be_extended(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE consultations SET reported_at = 1 WHERE id = :c",
        c=booked.id,
    )
    coordinator = _as(client, clock, world.coordinator)
    response = coordinator.submit(
        "/coordinator/retention",
        f"/coordinator/retention/{booked.id}/extend",
        until=_day(clock.now() + 30 * DAY),
        reason="safety_concern",
    )
    assert response.status_code == 404


def test_the_audit_log_filters_by_event_pseudonym_and_date(
    client: TestClient, clock: FakeClock, world: World, settings: Settings, booked: Booked
) -> None:
    clock.advance(5 * DAY)
    other = book_consultation(client, clock, world)
    coordinator = _as(client, clock, world.coordinator)

    everything = coordinator.get("/coordinator/audit").text
    assert booked.pseudonym in everything and other.pseudonym in everything
    booked_only = coordinator.get("/coordinator/audit", params={"pseudonym": booked.pseudonym})
    assert booked.pseudonym in booked_only.text and other.pseudonym not in booked_only.text
    redeemed = coordinator.get("/coordinator/audit", params={"action": "code_redeemed"}).text
    assert "Slip used by the client" in redeemed
    assert "<td>Meeting booked</td>" not in redeemed
    start = _day(clock.now())
    later = coordinator.get("/coordinator/audit", params={"from": start, "to": start}).text
    assert other.pseudonym in later and booked.pseudonym not in later
    earlier = coordinator.get("/coordinator/audit", params={"to": _day(clock.now() - 2 * DAY)})
    assert booked.pseudonym in earlier.text and other.pseudonym not in earlier.text
    wrong = coordinator.get("/coordinator/audit", params={"from": "last week", "action": "x"})
    assert wrong.status_code == 400
    assert "Enter a date." in wrong.text and "Choose one of the options." in wrong.text
    backwards = coordinator.get(
        "/coordinator/audit", params={"from": start, "to": _day(clock.now() - 2 * DAY)}
    )
    assert backwards.status_code == 400
    assert "The last day comes before the first" in backwards.text
    assert coordinator.get("/coordinator/audit.csv", params={"to": "soon"}).status_code == 400


def test_the_audit_log_pages_keep_the_filters(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    svc = services_of(client)
    consultation = in_app(client, consultation_by_id, svc.db, booked.id)
    for _ in range(30):
        in_app(client, audit.record, svc.db, svc.clock, "notes_exported", consultation)
    coordinator = _as(client, clock, world.coordinator)
    first = coordinator.get("/coordinator/audit", params={"action": "notes_exported"}).text
    assert first.count("<td>Sealed notes downloaded</td>") == 25
    link = re.search(r'href="(/coordinator/audit\?[^"]*page=2)"', first)
    assert link and "action=notes_exported" in link.group(1)
    second = coordinator.get(link.group(1).replace("&amp;", "&")).text
    assert second.count("<td>Sealed notes downloaded</td>") == 5


def test_the_csv_has_the_columns_and_rows_and_nothing_secret(
    client: TestClient, clock: FakeClock, world: World, settings: Settings, booked: Booked
) -> None:
    clock.value = purge_date(client, settings, booked.id)
    run(client, settings)
    coordinator = _as(client, clock, world.coordinator)
    response = coordinator.get("/coordinator/audit.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "no-store" in response.headers["cache-control"]
    text = response.text
    assert text.splitlines()[0] == HEADER
    everything = list(csv.DictReader(io.StringIO(text)))
    signed_in = [row for row in everything if row["action"] == "signed_in"]
    assert signed_in and {row["kind"] for row in signed_in} == {"security"}
    rows = [row for row in everything if row["kind"] == "consultation"]
    actions = [row["action"] for row in rows]
    assert actions[0] == "purged" and "booked" in actions and "code_redeemed" in actions
    purged = rows[0]
    assert purged["pseudonym"] == booked.pseudonym and purged["consultation_id"] == booked.id
    assert purged["actor_role"] == "system" and purged["actor_name"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", purged["time"])
    assert purged["time"] == datetime.fromtimestamp(clock.now() - 30, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    booked_row = next(row for row in rows if row["action"] == "booked")
    assert booked_row["actor_name"] == "Ngo" and booked_row["actor_role"] == "ngo_worker"
    leaked = [c for c in {*CANARIES, CLIENT_ADDRESS} if c and c in text]
    assert not leaked, leaked

    only = coordinator.get("/coordinator/audit.csv", params={"action": "booked"}).text
    assert {row["action"] for row in csv.DictReader(io.StringIO(only))} == {"booked"}


def test_a_staff_name_cannot_become_a_spreadsheet_formula(
    client: TestClient, clock: FakeClock, world: World, booked: Booked
) -> None:
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE accounts SET display_name = '=HYPERLINK(\"http://x\")' WHERE id = :id",
        id=world.ngo_worker.id,
    )
    coordinator = _as(client, clock, world.coordinator)
    text = coordinator.get("/coordinator/audit.csv", params={"action": "booked"}).text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["actor_name"] == '\'=HYPERLINK("http://x")'
