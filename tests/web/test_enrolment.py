"""Enrolment links: signed, single use, expiring, revocable; enrolment sets password + TOTP."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from tests.factories import CANARIES, Actor, FakeClock, World

NEW_PASSWORD = "canary-Enrol-Pass-4242"


def invite(actor: Actor, clock: FakeClock, world: World, role: str = "investigator") -> str:
    actor.log_in(world.coordinator, clock)
    page = actor.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="Nina Newcomer",
        organisation_id=world.police.id,
        role=role,
    )
    assert page.status_code == 200
    found = re.search(r"https://portal\.test(/enrol/[^<\s]+)", page.text)
    assert found, "the page shows the enrolment link once"
    path = found.group(1)
    CANARIES.add(path.rsplit("/", 1)[1])
    return path


def enrol(
    client: TestClient,
    clock: FakeClock,
    path: str,
    username: str = "nina",
    password: str = NEW_PASSWORD,
    confirm: str | None = None,
) -> tuple[Actor, object]:
    newcomer = Actor(client)
    page = newcomer.get(path)
    assert page.status_code == 200, page.text
    secret = re.search(r'name="totp_secret" value="([A-Z2-7]{32})"', page.text)
    assert secret and "<svg" in page.text  # QR code inline, no external service
    CANARIES.add(secret.group(1))
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token
    response = newcomer.request(
        "POST",
        path,
        data={
            "csrf_token": token.group(1),
            "username": username,
            "password": password,
            "confirm_password": confirm if confirm is not None else password,
            "totp_secret": secret.group(1),
            "totp_code": code_at(secret.group(1), clock.now()),
        },
    )
    return newcomer, response


def test_invited_person_enrols_and_is_logged_in(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    newcomer, response = enrol(client, clock, path)
    assert response.status_code == 303  # type: ignore[attr-defined]
    # An investigator goes on to create the key pair that notes are sealed to.
    assert response.headers["location"] == "/investigator/key"  # type: ignore[attr-defined]
    assert "Create my key" in newcomer.get("/investigator/key").text
    home = newcomer.get("/staff")
    assert (
        "Nina Newcomer" in home.text and "Police unit" in home.text and "Investigator" in home.text
    )


def test_link_works_only_once(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    enrol(client, clock, path)
    again = Actor(client).get(path)
    assert again.status_code == 404
    assert "does not work" in again.text


def test_link_expires(client: TestClient, actor: Actor, clock: FakeClock, world: World) -> None:
    path = invite(actor, clock, world)
    clock.advance(7 * 24 * 3600 + 1)
    assert Actor(client).get(path).status_code == 404


def test_revoked_link_stops_working(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    people = actor.get("/coordinator/people").text
    revoke = re.search(r'action="(/coordinator/invitations/[^/"]+/revoke)"', people)
    assert revoke
    assert actor.submit("/coordinator/people", revoke.group(1)).status_code == 303
    assert Actor(client).get(path).status_code == 404
    assert "Withdrawn" in actor.get("/coordinator/people").text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
        lambda t: "x" + t,
        lambda t: "not-a-token",
    ],
)
def test_forged_or_altered_link_is_refused(
    client: TestClient, actor: Actor, clock: FakeClock, world: World, tamper: object
) -> None:
    path = invite(actor, clock, world)
    token = path.rsplit("/", 1)[1]
    assert Actor(client).get("/enrol/" + tamper(token)).status_code == 404  # type: ignore[operator]


def test_weak_password_is_refused_and_the_form_keeps_the_rest(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    _newcomer, response = enrol(client, clock, path, username="nina.k", password="password1234")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "too common" in response.text  # type: ignore[attr-defined]
    assert 'value="nina.k"' in response.text  # type: ignore[attr-defined]
    assert Actor(client).get(path).status_code == 200  # the link still works


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", "at least 12"),
        ("x" * 129, "at most 128"),
        ("aaaaaaaaaaaaaa", "too common"),
    ],
)
def test_password_policy(
    client: TestClient, actor: Actor, clock: FakeClock, world: World, password: str, message: str
) -> None:
    path = invite(actor, clock, world)
    _newcomer, response = enrol(client, clock, path, password=password)
    assert response.status_code == 400 and message in response.text  # type: ignore[attr-defined]


def test_mismatched_passwords_and_taken_username(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    _n, mismatch = enrol(client, clock, path, confirm=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400 and "not the same" in mismatch.text  # type: ignore[attr-defined]
    _n, taken = enrol(client, clock, path, username="coord")
    assert taken.status_code == 400 and "taken" in taken.text  # type: ignore[attr-defined]


def test_role_must_fit_the_organisation(actor: Actor, clock: FakeClock, world: World) -> None:
    actor.log_in(world.coordinator, clock)
    page = actor.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="Wrong Place",
        organisation_id=world.ngo.id,
        role="investigator",
    )
    assert page.status_code == 400
    assert "does not belong" in page.text
    assert 'value="Wrong Place"' in page.text
