"""Forms show every problem at once, and an empty form says what is missing: a form that
stops at its first error makes people send it again and again; one that answers an empty
note or a reasonless request with nothing looks broken."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.factories import Actor, FakeClock, World, in_app, make_place, services_of
from tests.web.sealed import Case
from tests.web.test_case import local, page_of

ERRORS = re.compile(r'<p class="error"[^>]*>([^<]+)</p>')


def errors_of(page: str) -> list[str]:
    return ERRORS.findall(page)


def test_the_organisation_form_shows_every_error(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    page = "/coordinator/organisations"
    response = coordinator.submit(page, name="x", kind="")
    assert response.status_code == 400
    assert errors_of(response.text) == [
        "Enter a name of 2 to 200 characters.",
        "Choose the kind of organisation.",
    ]
    assert 'value="x"' in response.text  # what was typed comes back


def test_the_invitation_form_shows_every_error(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    response = coordinator.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="",
        organisation_id="",
        role="",
        gender="",
    )
    assert response.status_code == 400
    found = errors_of(response.text)
    assert "Enter a name of 2 to 200 characters." in found
    assert "Choose an organisation." in found


def test_the_place_form_shows_every_error(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    page = "/coordinator/places"
    response = coordinator.submit(page, name="", kind="", address="", directions="")
    assert response.status_code == 400
    assert errors_of(response.text) == [
        "Enter a name of 2 to 200 characters.",
        "Choose one of the options.",
        "Enter an address of 2 to 300 characters.",
    ]


def test_the_slot_form_shows_every_error(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    in_app(client, make_place, services_of(client))
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    page = "/investigator/slots"
    response = investigator.submit(
        page, starts_at="", duration_minutes="7", weeks="1", place_id="", action="publish"
    )
    found = errors_of(response.text)
    assert response.status_code == 400, found
    for message in (
        "Enter the date and time, for example 2026-12-01 10:00.",
        "Choose one of the options.",
        "Choose at least one language you can work in.",
        "Choose a meeting place.",
    ):
        assert message in found, found


def test_an_empty_client_note_says_what_is_missing(case: Case) -> None:
    response = case.client.submit("/meeting", "/meeting/notes", threats="  ")
    assert response.status_code == 400
    assert "Write something in at least one box." in errors_of(response.text)


def test_an_empty_identity_record_says_what_is_missing(clock: FakeClock, case: Case) -> None:
    actor = case.investigator.actor
    actor.submit(page_of(case), page_of(case) + "/outcome", outcome="wants_to_report")
    reported = actor.submit(
        page_of(case),
        page_of(case) + "/report",
        case_reference="HEL/2026/1234",
        first_interview_at=local(clock, 7),
    )
    assert reported.status_code == 303
    response = actor.submit(page_of(case), page_of(case) + "/identity", name="", birth_date="")
    assert response.status_code == 400
    assert "Write something in at least one box." in errors_of(response.text)


def test_asking_for_another_time_without_a_reason_says_so(case: Case) -> None:
    page = case.client.get("/meeting").text
    # The address ends with the meeting's anchor: the refusal opens where it is shown.
    found = re.search(r'action="(/meeting/([^"/]+)/answer)#m-\2" class="stack change-form"', page)
    assert found
    response = case.client.submit("/meeting", found.group(1), answer="change")
    assert response.status_code == 400
    assert "Choose why you need another time." in errors_of(response.text)
    assert "change_requested" not in response.text
