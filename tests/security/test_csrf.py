"""CSRF: a state-changing request needs this session's token, and no cross-site origin."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.factories import Actor, FakeClock, World


@pytest.fixture
def logged_in(actor: Actor, clock: FakeClock, world: World) -> Actor:
    actor.log_in(world.coordinator, clock)
    return actor


def _create_org(actor: Actor, token: str | None, **headers: str) -> int:
    data = {"name": "Forged organisation", "kind": "ngo"}
    if token is not None:
        data["csrf_token"] = token
    return actor.request(
        "POST", "/coordinator/organisations", data=data, headers=headers
    ).status_code


def _org_exists(actor: Actor) -> bool:
    return "Forged organisation" in actor.get("/coordinator/organisations").text


def test_valid_token_in_the_form_is_accepted(logged_in: Actor) -> None:
    token = logged_in.csrf_from("/coordinator/organisations")
    assert _create_org(logged_in, token) == 303
    assert _org_exists(logged_in)


def test_valid_token_in_the_htmx_header_is_accepted(logged_in: Actor) -> None:
    token = logged_in.csrf_from("/coordinator/organisations")
    assert _create_org(logged_in, None, **{"X-CSRF-Token": token}) == 303


def test_missing_token_is_refused(logged_in: Actor) -> None:
    assert _create_org(logged_in, None) == 403
    assert not _org_exists(logged_in)


def test_wrong_token_is_refused(logged_in: Actor) -> None:
    assert _create_org(logged_in, "0" * 64) == 403
    assert not _org_exists(logged_in)


def test_token_of_another_session_is_refused(
    client: TestClient, logged_in: Actor, clock: FakeClock, world: World
) -> None:
    attacker = Actor(client)
    attacker.log_in(world.investigator, clock)
    foreign = attacker.csrf_from("/staff/password")
    assert _create_org(logged_in, foreign) == 403
    assert not _org_exists(logged_in)


def test_token_from_before_login_stops_working_after_login(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    before = actor.csrf_from("/login")
    actor.log_in(world.coordinator, clock)
    assert _create_org(actor, before) == 403


def test_cross_site_request_is_refused_even_with_a_valid_token(logged_in: Actor) -> None:
    token = logged_in.csrf_from("/coordinator/organisations")
    assert _create_org(logged_in, token, **{"Sec-Fetch-Site": "cross-site"}) == 403
    assert not _org_exists(logged_in)


def test_same_origin_fetch_metadata_is_fine(logged_in: Actor) -> None:
    token = logged_in.csrf_from("/coordinator/organisations")
    assert _create_org(logged_in, token, **{"Sec-Fetch-Site": "same-origin"}) == 303


def test_post_without_any_session_cookie_is_refused(client: TestClient) -> None:
    fresh = Actor(client)
    response = fresh.request("POST", "/login", data={"username": "x", "password": "y"})
    assert response.status_code == 403
