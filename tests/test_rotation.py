"""Rotating the secret key: clients with valid codes, open forms and unused enrolment
links keep working while the old secret is listed as previous."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.testclient import TestClient

from portal.app import create_app
from tests.conftest import make_settings
from tests.factories import (
    CLIENT_ADDRESS,
    Actor,
    FakeClock,
    book,
    give_legacy_client_code,
    in_app,
    make_place,
    make_slot,
    make_world,
    redeem,
    services_of,
    slip_code,
)

OLD = "old-secret-key-" + "q" * 40
NEW = "new-secret-key-" + "w" * 40


@contextmanager
def portal(
    database_url: str, clock: FakeClock, secret: str, previous: str = ""
) -> Iterator[TestClient]:
    settings = make_settings(database_url, secret_key=secret, previous_secret_keys=previous)
    with TestClient(
        create_app(settings, clock),
        base_url="https://portal.test",
        client=(CLIENT_ADDRESS, 50123),
        follow_redirects=False,
    ) as client:
        yield client


def test_codes_survive_a_secret_rotation(database_url: str, clock: FakeClock) -> None:
    with portal(database_url, clock, OLD) as client:
        svc = services_of(client)
        world = in_app(client, make_world, svc)
        place = in_app(client, make_place, svc)
        first, second = (
            in_app(client, make_slot, svc, world.investigator, place, hours_ahead=h)
            for h in (48, 72)
        )
        ngo = Actor(client)
        ngo.log_in(world.ngo_worker, clock)
        _person, client_code = redeem(client, slip_code(book(ngo, first)))
        unused = slip_code(book(ngo, second))

    with portal(database_url, clock, NEW, previous=OLD) as client:
        back = Actor(client)
        assert back.submit("/code", code=client_code).headers["location"] == "/meeting"
        redeem(client, unused)  # a slip printed before the rotation still works

    with portal(database_url, clock, NEW) as client:
        # The client code was moved to the new pepper when it was used: the old secret
        # can go without locking this client out.
        again = Actor(client)
        assert again.submit("/code", code=client_code).headers["location"] == "/meeting"


def test_forms_opened_before_the_rotation_are_accepted(database_url: str, clock: FakeClock) -> None:
    with portal(database_url, clock, OLD) as client:
        visitor = Actor(client)
        token = visitor.csrf_from("/login")
        cookies = visitor.cookies
    with portal(database_url, clock, NEW, previous=OLD) as client:
        visitor = Actor(client)
        visitor.cookies = cookies
        response = visitor.request(
            "POST", "/language", data={"csrf_token": token, "locale": "fi", "next": "/"}
        )
        assert response.status_code == 303
    with portal(database_url, clock, NEW) as client:
        visitor = Actor(client)
        visitor.cookies = cookies
        response = visitor.request(
            "POST", "/language", data={"csrf_token": token, "locale": "fi", "next": "/"}
        )
        assert response.status_code == 403  # once the old secret is gone, so is the token


def test_readyz_answers_when_the_database_does(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200 and response.text == "ready"
    assert "set-cookie" not in response.headers


def test_a_legacy_client_code_moves_to_v1_and_to_the_new_pepper_at_once(
    database_url: str, clock: FakeClock
) -> None:
    with portal(database_url, clock, OLD) as client:
        svc = services_of(client)
        world = in_app(client, make_world, svc)
        place = in_app(client, make_place, svc)
        slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=48)
        ngo = Actor(client)
        ngo.log_in(world.ngo_worker, clock)
        person, _v1_code = redeem(client, slip_code(book(ngo, slot)))
        current = in_app(client, svc.sessions.load, person.session_id())
        consultation_id = current.consultation_id
        # Made the way codes were made before client key v1, under the old pepper.
        legacy = in_app(client, give_legacy_client_code, svc, consultation_id)

    with portal(database_url, clock, NEW, previous=OLD) as client:
        assert Actor(client).submit("/code", code=legacy).headers["location"] == "/meeting"
        svc = services_of(client)
        row = in_app(
            client,
            svc.db.fetch_one,
            "SELECT client_code_hash, client_verifier FROM consultations WHERE id = :id",
            id=consultation_id,
        )
        assert row["client_code_hash"] is None and row["client_verifier"] is not None

    with portal(database_url, clock, NEW) as client:
        again = Actor(client)
        assert again.submit("/code", code=legacy).headers["location"] == "/meeting"
