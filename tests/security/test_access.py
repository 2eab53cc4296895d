"""Access control: every route names its roles; nothing is reachable by the wrong role."""

from __future__ import annotations

import hashlib

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from portal.domain.roles import CLIENT, COORDINATOR, PUBLIC, STAFF_ROLES
from portal.storage.tables import metadata
from tests.factories import Actor, FakeClock, World, in_app, services_of


def all_routes(app: Starlette) -> list[Route | Mount]:
    return [r for r in app.routes if isinstance(r, Route | Mount)]


def test_every_route_declares_the_roles_allowed(app: Starlette) -> None:
    routes = all_routes(app)
    assert len(routes) == len(app.routes) > 5
    for r in routes:
        roles = getattr(r, "roles", None)
        assert roles, f"{r.path} does not name the roles allowed"
        assert roles <= STAFF_ROLES | {PUBLIC, CLIENT}, f"{r.path} names an unknown role"


def _concrete(path: str) -> str:
    return path.replace("{id}", "AAAAAAAAAAAAAAAAAAAAAA").replace("{token}", "x")


def _staff_routes(app: Starlette) -> list[tuple[str, str, frozenset[str]]]:
    found = []
    for r in all_routes(app):
        if isinstance(r, Route) and PUBLIC not in r.roles:  # type: ignore[attr-defined]
            for method in sorted(r.methods or ()):
                if method != "HEAD":
                    found.append((method, _concrete(r.path), r.roles))  # type: ignore[attr-defined]
    return found


def test_anonymous_visitors_reach_no_staff_page(app: Starlette, client: TestClient) -> None:
    anonymous = Actor(client)
    token = anonymous.csrf_from("/login")
    for method, path, _roles in _staff_routes(app):
        response = anonymous.request(method, path, data={"csrf_token": token})
        if method == "GET":
            location = response.headers.get("location", "")
            assert response.status_code == 303, path
            assert location.startswith("/code" if CLIENT in _roles else "/login"), path
        else:
            assert response.status_code == 403, path


@pytest.mark.parametrize("who", ["investigator", "ngo_worker"])
def test_staff_without_the_role_get_404(
    app: Starlette, client: TestClient, clock: FakeClock, world: World, who: str
) -> None:
    person = getattr(world, who)
    actor = Actor(client)
    actor.log_in(person, clock)
    token = actor.csrf_from("/staff")
    for method, path, roles in _staff_routes(app):
        if person.role in roles:
            continue
        response = actor.request(method, path, data={"csrf_token": token})
        assert response.status_code == 404, (method, path)


def _snapshot(client: TestClient) -> str:
    svc = services_of(client)
    digest = hashlib.sha256()
    for table in metadata.sorted_tables:
        columns = [c.name for c in table.columns if c.name != "last_seen_at"]
        order = ", ".join(c.name for c in table.primary_key.columns)
        rows = in_app(
            client,
            svc.db.fetch_all,
            f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {order}",  # noqa: S608 - names from our own metadata
        )
        digest.update(repr([tuple(row[c] for c in columns) for row in rows]).encode())
    return digest.hexdigest()


def test_no_get_route_changes_state(
    app: Starlette, client: TestClient, clock: FakeClock, world: World
) -> None:
    actors = {}
    for person in (world.coordinator, world.investigator, world.ngo_worker):
        actors[person.role] = Actor(client)
        actors[person.role].log_in(person, clock)
    actors["anonymous"] = Actor(client)
    actors["anonymous"].get("/")
    before = _snapshot(client)
    for r in all_routes(app):
        if isinstance(r, Route) and "GET" in (r.methods or ()):
            for actor in actors.values():
                actor.get(_concrete(r.path))
    assert _snapshot(client) == before


def test_a_coordinator_cannot_disable_themselves(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    response = actor.submit("/staff", f"/coordinator/accounts/{world.coordinator.id}/disable")
    assert response.status_code == 404
    assert actor.get("/staff").status_code == 200
    assert COORDINATOR in world.coordinator.role
