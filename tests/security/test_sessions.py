"""Sessions: cookie flags, rotation at login, timeouts, and the ways a session ends."""

from __future__ import annotations

from starlette.testclient import TestClient

from portal.crypto.tokens import sha256
from portal.crypto.totp import code_at
from portal.storage.sessions import session_by_hash
from tests.factories import Actor, FakeClock, World, in_app, services_of


def _set_cookie(response: object) -> str:
    return response.headers["set-cookie"]  # type: ignore[attr-defined,no-any-return]


def test_cookie_is_host_prefixed_secure_httponly_strict_and_opaque(actor: Actor) -> None:
    cookie = _set_cookie(actor.get("/login"))
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    name, value = name_value.split("=", 1)
    assert name == "__Host-sid"
    assert len(value) == 22  # 128 random bits, base64url
    assert set(attributes) == {"Path=/", "Secure", "HttpOnly", "SameSite=Strict"}


def test_session_id_rotates_at_login(actor: Actor, clock: FakeClock, world: World) -> None:
    actor.get("/login")
    before = actor.session_id()
    actor.log_in(world.coordinator, clock)
    after = actor.session_id()
    assert before and after and before != after


def test_database_holds_only_a_hash_of_the_session_id(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    svc = services_of(client)
    sid = actor.session_id()
    assert in_app(client, session_by_hash, svc.db, sha256(sid)) is not None
    raw = in_app(
        client,
        svc.db.fetch_value,
        "SELECT count(*) FROM sessions WHERE id_hash = :v",
        v=sid.encode(),
    )
    assert raw == 0


def test_idle_timeout_ends_the_session(actor: Actor, clock: FakeClock, world: World) -> None:
    actor.log_in(world.coordinator, clock)
    clock.advance(29 * 60)
    assert actor.get("/staff").status_code == 200  # activity resets the idle clock
    clock.advance(29 * 60)
    assert actor.get("/staff").status_code == 200
    clock.advance(30 * 60)
    response = actor.get("/staff")
    assert response.status_code == 303
    assert "Your session ended" in actor.get(response.headers["location"]).text


def test_absolute_timeout_ends_an_active_session(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    for _ in range(12 * 4 - 1):
        clock.advance(15 * 60)
        assert actor.get("/staff").status_code == 200
    clock.advance(15 * 60)
    assert actor.get("/staff").status_code == 303


def test_logout_ends_the_session_on_the_server(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    stolen = actor.session_id()
    actor.submit("/staff", "/logout")
    thief = Actor(client)
    thief.cookies.set("__Host-sid", stolen, domain="portal.test")
    assert thief.get("/staff").status_code == 303


def test_password_change_ends_other_sessions(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    other_device = Actor(client)
    other_device.log_in(world.coordinator, clock)
    actor.log_in(world.coordinator, clock)
    new_password = "canary-New-Pass-99x1"
    clock.advance(30)  # a code not used at sign-in
    response = actor.submit(
        "/staff/password",
        current_password=world.coordinator.password,
        totp_code=code_at(world.coordinator.totp_secret, clock.now()),
        new_password=new_password,
        confirm_password=new_password,
    )
    assert response.status_code == 303
    assert actor.get("/staff").status_code == 200  # this device stays, with a new session
    assert other_device.get("/staff").status_code == 303


def test_disabling_an_account_ends_its_sessions(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    actor.log_in(world.coordinator, clock)
    response = actor.submit(
        "/coordinator/people", f"/coordinator/accounts/{world.ngo_worker.id}/disable"
    )
    assert response.status_code == 303
    assert worker.get("/staff").status_code == 303


def test_pages_without_forms_set_no_cookie(actor: Actor) -> None:
    for path in ("/healthz", "/bye", "/static/css/portal.css"):
        assert "set-cookie" not in actor.get(path).headers, path
    assert "set-cookie" in actor.get("/login").headers


def test_quick_exit_tells_the_browser_to_forget_this_site(actor: Actor) -> None:
    response = actor.get("/bye")
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert "Appointments" not in response.text.split("<body")[1]
