"""CSRF on every state-changing route of the app's own route table: no route is exempt.

Each route is tried by a visitor who may use it (signed in with an allowed role, a
client with their code, or an anonymous visitor with a session cookie), so that the
only thing wrong with each forged request is its CSRF evidence. Exempting any single
route from either layer fails its case here.
"""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.app import create_app
from tests.conftest import make_settings
from tests.factories import (
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_adviser,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)

FORGERIES = {
    "no token": ({}, False),
    "another session's token": ({}, "foreign"),
    "cross-site": ({"Sec-Fetch-Site": "cross-site"}, True),
    "same-site, not same-origin": ({"Sec-Fetch-Site": "same-site"}, True),
    "another origin": ({"Origin": "https://attacker.example"}, True),
    "opaque origin": ({"Origin": "null"}, True),
}


def _state_changing_routes() -> list[tuple[str, str, frozenset[str]]]:
    app = create_app(make_settings("sqlite:///never-opened.sqlite3"))
    found = []
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"GET", "HEAD", "OPTIONS"}):
            path = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", route.path)
            found.append((method, path, frozenset(getattr(route, "roles", ()))))
    return found


ROUTES = _state_changing_routes()


def test_the_route_table_has_the_state_changing_routes_we_know() -> None:
    paths = {path for _method, path, _roles in ROUTES}
    assert {"/code", "/login", "/language", "/logout", "/leave", "/ngo/book"} <= paths
    placeholder = "00000000-0000-4000-8000-000000000000"
    assert {
        "/meeting/messages",
        f"/investigator/consultations/{placeholder}/messages",
        f"/investigator/consultations/{placeholder}/messages/share",
        f"/ngo/consultations/{placeholder}/messages",
        f"/ngo/consultations/{placeholder}/messages/share",
        f"/staff/attention/{placeholder}/done",
    } <= paths
    assert {"/login/passkey", "/staff/passkeys", "/staff/passkeys/options"} <= paths
    # The key page of every key holder (investigators and NGO workers).
    assert {"/staff/key", "/staff/key/passphrase"} <= paths
    assert "/investigator/key" not in paths  # only a GET redirect is left there
    assert {"/staff/email", "/staff/email/verify"} <= paths
    assert len(ROUTES) >= 40


def _visitor(client: TestClient, clock: FakeClock, world: World, roles: frozenset[str]) -> Actor:
    """Someone allowed to use a route with these roles, with a session and a token."""
    actor = Actor(client)
    staff = {
        "coordinator": world.coordinator,
        "investigator": world.investigator,
        "ngo_worker": world.ngo_worker,
    }
    for role, person in staff.items():
        if role in roles:
            actor.log_in(person, clock)
            return actor
    if "adviser" in roles:
        actor.log_in(in_app(client, make_adviser, services_of(client)), clock)
        return actor
    if "client" in roles:
        svc = services_of(client)
        place = in_app(client, make_place, svc)
        slot = in_app(client, make_slot, svc, world.investigator, place)
        ngo = Actor(client)
        ngo.log_in(world.ngo_worker, clock)
        person, _code = redeem(client, slip_code(book(ngo, slot)))
        return person
    actor.get("/login")  # an anonymous visitor with a session cookie
    return actor


def _token(actor: Actor) -> str:
    page = "/meeting" if actor.get("/meeting").status_code == 200 else "/login"
    if actor.get("/staff").status_code == 200:
        page = "/staff/password"
    return actor.csrf_from(page)


@pytest.mark.parametrize(
    ("method", "path", "roles"), ROUTES, ids=[f"{m} {p}" for m, p, _r in ROUTES]
)
def test_every_forged_request_is_refused(
    client: TestClient,
    clock: FakeClock,
    world: World,
    method: str,
    path: str,
    roles: frozenset[str],
) -> None:
    actor = _visitor(client, clock, world, roles)
    own = _token(actor)
    foreign = _token(_visitor(client, clock, world, frozenset({"public"})))
    for name, (headers, token) in FORGERIES.items():
        data = {"csrf_token": own if token is True else foreign} if token else {}
        answer = actor.request(method, path, data=data, headers=headers)
        assert answer.status_code == 403, f"{name}: {answer.status_code}"
    # The same request with this session's own token, from this origin, gets past the
    # CSRF layers (whatever the handler then makes of its placeholder ids): so each 403
    # above came from CSRF, not from something else refusing this visitor.
    passed = actor.request(
        method, path, data={"csrf_token": own}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert passed.status_code != 403
