"""A meeting's interpreter through the web: a new meeting starts "needed" only if the
consultation needs an interpreter, every change of the transition table is allowed and
every other one refused, confirming needs the language and the client's wishes met,
only the meeting's investigator or a coordinator may change it, the staff pages show it
in words, and the client is told an interpreter will be there only once one is
confirmed (and "we are arranging one" before), in their language."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from portal.domain.interpreters import TRANSITIONS
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

STATES = ("not_needed", "needed", "requested", "confirmed")
WISHES = {"interpreter_gender": "female", "interpreter_other_community": "yes"}


def booked(
    client: TestClient,
    clock: FakeClock,
    world: World,
    locale: str = "en",
    hours: int = 48,
    **needs: str,
) -> tuple[Actor, str, str, Actor]:
    """An NGO worker books a meeting with ``needs``; the client redeems the slip in
    ``locale``. (NGO worker, consultation id, meeting id, client.)"""
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(
        client, make_slot, svc, world.investigator, place, hours_ahead=hours, interpreter=True
    )
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    person, _code = redeem(
        client, slip_code(book(ngo, slot, client_locale=locale, **needs)), locale
    )
    found = re.search(r'href="/ngo/consultations/([^"]+)"', ngo.get("/ngo").text)  # newest
    assert found
    meeting = in_app(
        client,
        svc.db.fetch_value,
        "SELECT id FROM meetings WHERE consultation_id = :c",
        c=found.group(1),
    )
    return ngo, found.group(1), meeting, person


def state(client: TestClient, meeting: str) -> tuple[str, str | None, int | None]:
    row = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT interpreter_status, interpreter_language, interpreter_wishes_met"
        " FROM meetings WHERE id = :m",
        m=meeting,
    )
    assert row is not None
    return row["interpreter_status"], row["interpreter_language"], row["interpreter_wishes_met"]


def put(client: TestClient, meeting: str, status: str, language: str | None = None) -> None:
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE meetings SET interpreter_status = :s, interpreter_language = :l WHERE id = :m",
        s=status,
        l=language,
        m=meeting,
    )


def signed_in(client: TestClient, clock: FakeClock, person: object) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)  # type: ignore[arg-type]
    return actor


def change(actor: Actor, prefix: str, meeting: str, **fields: str):  # type: ignore[no-untyped-def]
    page = f"{prefix}/meetings/{meeting}/interpreter"
    return actor.submit(page, page, **fields)


def test_a_new_meeting_starts_needed_only_if_an_interpreter_is_needed(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    _ngo, _c, without, _p = booked(client, clock, world)
    assert state(client, without) == ("not_needed", None, None)
    ngo, consultation, meeting, _p = booked(
        client, clock, world, hours=96, interpreter_needed="yes", language="ar"
    )
    assert state(client, meeting) == ("needed", None, None)
    # Rebooking and a follow-up start from the consultation's needs too.
    svc = services_of(client)
    place = in_app(client, make_place, svc, "Room 2")
    later = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=120)
    rebooked = ngo.submit(
        f"/ngo/consultations/{consultation}/rebook",
        f"/ngo/consultations/{consultation}/rebook",
        slot_id=later,
    )
    assert rebooked.status_code == 303, rebooked.text
    rows = in_app(
        client,
        svc.db.fetch_all,
        "SELECT status, interpreter_status FROM meetings WHERE consultation_id = :c"
        " ORDER BY starts_at",
        c=consultation,
    )
    assert [(r["status"], r["interpreter_status"]) for r in rows] == [
        ("cancelled", "needed"),
        ("booked", "needed"),
    ]


@pytest.mark.parametrize(("before", "after"), [(b, a) for b in STATES for a in (*STATES, "bogus")])
def test_every_change_of_the_table_is_allowed_and_every_other_refused(
    client: TestClient, clock: FakeClock, world: World, before: str, after: str
) -> None:
    _ngo, consultation, meeting, _p = booked(client, clock, world, interpreter_needed="yes")
    put(client, meeting, before, "fi" if before == "confirmed" else None)
    investigator = signed_in(client, clock, world.investigator)
    response = change(
        investigator, "/investigator", meeting, status=after, language="ar", wishes_met="yes"
    )
    if after in TRANSITIONS[before]:
        assert response.status_code == 303, response.text
        assert response.headers["location"] == (
            f"/investigator/consultations/{consultation}#meeting-{meeting}"
        )
        expected = ("ar", 1) if after == "confirmed" else (None, None)
        assert state(client, meeting) == (after, *expected)
        detail = in_app(
            client,
            services_of(client).db.fetch_value,
            "SELECT detail FROM audit_events WHERE action = 'interpreter_changed'",
        )
        assert detail == f"{before}-{after}"
    else:
        assert response.status_code == 400
        assert "Choose one of the changes offered." in response.text
        assert state(client, meeting)[0] == before


def test_the_table_is_the_one_described() -> None:
    assert dict(TRANSITIONS) == {
        "not_needed": ("needed",),
        "needed": ("requested", "not_needed"),
        "requested": ("confirmed", "needed"),
        "confirmed": ("needed",),
    }


def test_confirming_needs_the_language_and_the_wishes_met(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    _ngo, _c, meeting, _p = booked(client, clock, world, interpreter_needed="yes", **WISHES)
    put(client, meeting, "requested")
    investigator = signed_in(client, clock, world.investigator)
    page = investigator.get(f"/investigator/meetings/{meeting}/interpreter").text
    assert "The interpreter meets the client&#39;s wishes:" in page or (
        "The interpreter meets the client's wishes:" in page
    )
    assert "a woman interpreter; not from the client's community" in page

    refused = change(investigator, "/investigator", meeting, status="confirmed")
    assert refused.status_code == 400
    assert "Choose the interpreter&#39;s language." in refused.text or (
        "Choose the interpreter's language." in refused.text
    )
    assert "Confirm only an interpreter who meets the client's wishes." in refused.text
    assert '<option value="confirmed" selected>' in refused.text  # the choice is kept
    assert state(client, meeting) == ("requested", None, None)

    done = change(
        investigator, "/investigator", meeting, status="confirmed", language="fi", wishes_met="yes"
    )
    assert done.status_code == 303
    assert state(client, meeting) == ("confirmed", "fi", 1)
    # It falls through: back to needed, the language forgotten.
    assert change(investigator, "/investigator", meeting, status="needed").status_code == 303
    assert state(client, meeting) == ("needed", None, None)


def test_without_wishes_the_language_alone_confirms(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    _ngo, _c, meeting, _p = booked(client, clock, world, interpreter_needed="yes")
    put(client, meeting, "requested")
    investigator = signed_in(client, clock, world.investigator)
    page = investigator.get(f"/investigator/meetings/{meeting}/interpreter").text
    assert "The client has no wishes about the interpreter" in page
    assert 'name="wishes_met"' not in page
    response = change(investigator, "/investigator", meeting, status="confirmed", language="ru")
    assert response.status_code == 303
    assert state(client, meeting) == ("confirmed", "ru", 1)


def test_the_investigator_of_the_meeting_or_a_coordinator_sets_it(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    ngo, _c, meeting, _p = booked(client, clock, world, interpreter_needed="yes")
    coordinator = signed_in(client, clock, world.coordinator)
    schedule = coordinator.get("/coordinator/schedule").text
    assert "Interpreter: needed" in schedule
    assert f'href="/coordinator/meetings/{meeting}/interpreter"' in schedule
    response = change(coordinator, "/coordinator", meeting, status="requested")
    assert response.status_code == 303
    assert response.headers["location"] == "/coordinator/schedule"
    assert state(client, meeting)[0] == "requested"

    other = signed_in(client, clock, world.other_investigator)
    page = f"/investigator/meetings/{meeting}/interpreter"
    assert other.get(page).status_code == 404
    token = other.csrf_from("/investigator")
    refused = other.request("POST", page, data={"csrf_token": token, "status": "needed"})
    assert refused.status_code == 404
    # An NGO worker, even the booking one, has no such route.
    token = ngo.csrf_from("/ngo")
    for path in (page, f"/coordinator/meetings/{meeting}/interpreter"):
        answer = ngo.request("POST", path, data={"csrf_token": token, "status": "needed"})
        assert answer.status_code == 404
    assert state(client, meeting)[0] == "requested"


def test_a_cancelled_meeting_keeps_its_interpreter(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    _ngo, _c, meeting, _p = booked(client, clock, world, interpreter_needed="yes")
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE meetings SET status = 'cancelled' WHERE id = :m",
        m=meeting,
    )
    investigator = signed_in(client, clock, world.investigator)
    response = change(investigator, "/investigator", meeting, status="requested")
    assert response.status_code == 400
    assert "This meeting is cancelled or over" in response.text
    assert state(client, meeting)[0] == "needed"


def test_staff_pages_show_the_state_in_words(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    ngo, consultation, meeting, _p = booked(client, clock, world, interpreter_needed="yes")
    put(client, meeting, "confirmed", "fi")
    shown = "Interpreter: confirmed (fi)"
    investigator = signed_in(client, clock, world.investigator)
    assert shown in investigator.get("/investigator").text
    assert shown in investigator.get(f"/investigator/consultations/{consultation}").text
    assert shown in investigator.get("/investigator/day?date=2027-01-17").text
    assert shown in investigator.get("/investigator/week?start=2027-01-17").text
    assert shown in ngo.get(f"/ngo/consultations/{consultation}").text
    assert shown in ngo.get("/ngo").text
    put(client, meeting, "requested")
    assert "Interpreter: requested" in ngo.get("/ngo").text


CLIENT_WORDS = {
    "en": ("An interpreter will be there.", "We are arranging an interpreter for you."),
    "fi": ("Tapaamisessa on mukana tulkki.", "Järjestämme sinulle tulkin."),
    "ar": ("سيحضر مترجم إلى اللقاء.", "نعمل على ترتيب مترجم لك."),
}


@pytest.mark.parametrize("locale", sorted(CLIENT_WORDS))
def test_the_client_is_told_only_once_an_interpreter_is_confirmed(
    client: TestClient, clock: FakeClock, world: World, locale: str
) -> None:
    _ngo, _c, meeting, person = booked(client, clock, world, locale, interpreter_needed="yes")
    will_be_there, arranging = CLIENT_WORDS[locale]
    for status, expected in (
        ("needed", arranging),
        ("requested", arranging),
        ("confirmed", will_be_there),
    ):
        put(client, meeting, status, "fi" if status == "confirmed" else None)
        page = person.get("/meeting").text
        assert expected in page, status
        assert (will_be_there if expected == arranging else arranging) not in page
    put(client, meeting, "not_needed")
    page = person.get("/meeting").text
    assert will_be_there not in page and arranging not in page
