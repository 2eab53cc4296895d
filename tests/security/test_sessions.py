"""Sessions: cookie flags, rotation at login, timeouts, and the ways a session ends."""

from __future__ import annotations

from starlette.testclient import TestClient

from portal.crypto.tokens import sha256
from portal.crypto.totp import code_at
from portal.storage.sessions import session_by_hash
from tests.factories import (
    CANARIES,
    CSRF,
    Actor,
    FakeClock,
    World,
    book,
    from_address,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)


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


def _thief(client: TestClient, stolen: str) -> Actor:
    thief = Actor(client)
    thief.cookies.set("__Host-sid", stolen, domain="portal.test")
    return thief


def test_quick_exit_ends_a_clients_session_on_the_server(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(worker, slot)))
    stolen = person.session_id()
    assert _thief(client, stolen).get("/meeting").status_code == 200  # a copy works before
    response = person.submit("/meeting", "/bye")
    assert response.status_code == 303 and response.headers["location"] == "/bye"
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert "set-cookie" not in response.headers  # nothing new handed out on the way out
    copy = _thief(client, stolen).get("/meeting")
    assert copy.status_code == 303 and copy.headers["location"].startswith("/code")
    # A plain GET of the page it lands on still changes nothing and clears the browser.
    landed = person.get("/bye")
    assert landed.status_code == 200 and "lentil soup" in landed.text


def test_quick_exit_ends_a_staff_session_on_the_server(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.ngo_worker, clock)
    stolen = actor.session_id()
    assert actor.submit("/staff", "/bye").status_code == 303
    assert _thief(client, stolen).get("/staff").status_code == 303


def test_a_refused_quick_exit_still_leaves(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(worker, slot)))
    token = person.csrf_from("/meeting")
    clock.advance(11 * 60)  # the client's session times out while the page stays open
    response = person.request("POST", "/bye", data={"csrf_token": token})
    assert response.status_code == 403
    assert "lentil soup" in response.text and "refused" not in response.text
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    # From another site it is a plain refusal: no site may wipe this one's data.
    forged = Actor(client).request(
        "POST", "/bye", data={"csrf_token": token}, headers={"sec-fetch-site": "cross-site"}
    )
    assert forged.status_code == 403 and "clear-site-data" not in forged.headers
    assert "lentil soup" not in forged.text


def test_quick_exit_tells_the_browser_to_forget_this_site(actor: Actor) -> None:
    response = actor.get("/bye")
    assert response.headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert "Appointments" not in response.text.split("<body")[1]


def test_a_session_carries_no_password_hash_or_totp_secret(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    svc = services_of(client)
    row = in_app(client, session_by_hash, svc.db, sha256(actor.session_id()))
    assert row is not None and row.account is not None
    account = row.account
    # Each field holds its own column (rows are read by position).
    assert (
        account.id,
        account.username,
        account.display_name,
        account.role,
        account.organisation_id,
        account.organisation_name,
        account.disabled_at,
    ) == (
        world.coordinator.id,
        "coord",
        "Coord",
        "coordinator",
        world.police.id,
        "Police unit",
        None,
    )
    stored_hash = in_app(
        client,
        svc.db.fetch_value,
        "SELECT password_hash FROM accounts WHERE id = :id",
        id=world.coordinator.id,
    )
    assert stored_hash.startswith("$argon2id$")
    # Neither secret is anywhere in what every request loads.
    loaded = repr(row) + repr(vars(account))
    assert stored_hash not in loaded and world.coordinator.totp_secret not in loaded
    assert not hasattr(account, "password_hash") and not hasattr(account, "totp_secret")
    # Signing in and changing the password still read them where they are needed.
    assert actor.get("/staff").status_code == 200
    CANARIES.add("another-Canary-pass-31")
    clock.advance(30)  # a code not used at sign-in
    changed = actor.submit(
        "/staff/password",
        current_password=world.coordinator.password,
        totp_code=code_at(world.coordinator.totp_secret, clock.now()),
        new_password="another-Canary-pass-31",
        confirm_password="another-Canary-pass-31",
    )
    assert changed.status_code == 303


def test_an_error_page_has_the_visitors_session_and_language(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    """The session middleware loads the session for error pages too: a client who chose
    Arabic reads a missing page in Arabic, and its quick exit carries a token that works."""
    actor.submit("/", "/language", locale="ar", next="/")
    missing = actor.get("/no-such-page")
    assert missing.status_code == 404
    assert "هذه الصفحة غير موجودة." in missing.text
    assert 'dir="rtl"' in missing.text
    token = CSRF.search(missing.text)
    assert token is not None
    left = actor.request("POST", "/bye", data={"csrf_token": token.group(1)})
    assert left.status_code == 303


def test_a_staff_members_error_page_keeps_their_header(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    missing = actor.get("/coordinator/no-such-page")
    assert missing.status_code == 404
    assert ">Coord<" in missing.text  # signed in (their name), on the error page too


def test_one_sender_cannot_fill_the_sessions_table_by_choosing_languages(
    client: TestClient,
) -> None:
    """Each new visitor's first language choice stores a row holding the language: from
    one sender, only 20 a minute; past that the choice is simply not kept."""

    def rows() -> int:
        return in_app(client, services_of(client).db.fetch_value, "SELECT COUNT(*) FROM sessions")

    before = rows()
    with from_address(client, "192.0.2.77"):
        for _ in range(25):
            visitor = Actor(client)
            answer = visitor.submit("/", "/language", locale="fi", next="/code")
            assert answer.status_code == 303 and answer.headers["location"] == "/code"
    assert rows() - before == 20
    assert '<html lang="en"' in visitor.get("/code").text  # the 25th: not kept, not refused
    elsewhere = Actor(client)  # another sender is not affected
    elsewhere.submit("/", "/language", locale="fi", next="/code")
    assert '<html lang="fi"' in elsewhere.get("/code").text
