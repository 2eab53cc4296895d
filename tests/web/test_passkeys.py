"""Passkeys over HTTP, with a software authenticator: adding one, signing in and
confirming with it, removing it; and every answer a phishing page or a thief could send
refused: a replayed answer, another origin, another relying party, an expired or
another session's challenge, no user verification, a counter set back, a passkey of
another account. Coordinators require passkeys for a role and recover lost ones."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from tests.factories import CSRF, Actor, FakeClock, Person, World, in_app, services_of
from tests.passkey_authenticator import SoftAuthenticator
from tests.security.test_sensitive_actions import new_key_fields

LOGIN_FAILED = "The username, password or code is wrong."
PASSKEY_REQUIRED = "Your account signs in with a passkey"
REFUSED = "The passkey was not accepted. Try again."
WRONG = "The password or code is wrong, or the code was used already."


def query(client: TestClient, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    rows = in_app(client, services_of(client).db.fetch_all, sql, **params)
    return [tuple(row) for row in rows]


def events(client: TestClient, person: Person) -> list[tuple[str, str | None]]:
    """The person's security events about passkeys, by them or about their account."""
    return [
        (row[0], row[1])
        for row in query(
            client,
            "SELECT action, detail FROM audit_events"
            " WHERE (actor_account_id = :a OR subject_account_id = :a)"
            " AND (action LIKE 'passkey%' OR action = 'sign_in_failed') ORDER BY id",
            a=person.id,
        )
    ]


def options(actor: Actor, page: str, url: str, **data: str) -> str:
    token = actor.csrf_from(page)
    response = actor.request("POST", url, data={"csrf_token": token, **data})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.text


def add_passkey(actor: Actor, key: SoftAuthenticator, name: str = "Work key") -> httpx.Response:
    made = options(actor, "/staff/passkeys", "/staff/passkeys/options", purpose="register")
    return actor.submit("/staff/passkeys", name=name, passkey_attestation=key.create(made))


def signed_in_with_key(
    client: TestClient, clock: FakeClock, person: Person, key: SoftAuthenticator
) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)
    assert add_passkey(actor, key).status_code == 303
    return actor


def passkey_login(actor: Actor, person: Person, assertion: str) -> httpx.Response:
    return actor.submit(
        "/login", username=person.username, password=person.password, passkey_assertion=assertion
    )


def sign_in_challenge(actor: Actor) -> str:
    return options(actor, "/login", "/login/passkey")


def test_a_passkey_is_added_then_signs_in_instead_of_the_code(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    key = SoftAuthenticator()
    person = world.investigator
    owner = signed_in_with_key(client, clock, person, key)
    page = owner.get("/staff/passkeys").text
    assert "Work key" in page and "Not yet" in page

    visitor = Actor(client)
    answer = key.get(sign_in_challenge(visitor))
    response = passkey_login(visitor, person, answer)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    assert "Not yet" not in visitor.get("/staff/passkeys").text
    assert events(client, person) == [("passkey_registered", None), ("passkey_sign_in", None)]
    assert query(client, "SELECT sign_count FROM passkeys") == [(1,)]


def test_answers_a_phishing_page_or_a_thief_could_send_are_refused(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    key = SoftAuthenticator()
    person = world.investigator
    signed_in_with_key(client, clock, person, key)
    visitor = Actor(client)

    # Each of these is a sign-in with the right password and a real passkey.
    bad = {
        "another origin": lambda o: key.get(o, origin="https://portal.test.evil.example"),
        "another relying party": lambda o: key.get(o, rp_id="evil.example"),
        "no user verification": lambda o: key.get(o, verified=False),
        "another account's passkey": lambda o: SoftAuthenticator().get(o),
    }
    for name, answer in bad.items():
        response = passkey_login(visitor, person, answer(sign_in_challenge(visitor)))
        assert response.status_code == 400, name
        assert LOGIN_FAILED in response.text, name

    # Replayed: a good answer works once; sent again it finds no challenge.
    good = key.get(sign_in_challenge(visitor))
    thief = Actor(client)
    thief.cookies = httpx.Cookies(visitor.cookies)
    assert passkey_login(visitor, person, good).status_code == 303
    replay = Actor(client)
    sign_in_challenge(replay)  # even with a challenge of its own outstanding
    assert passkey_login(replay, person, good).status_code == 400
    assert passkey_login(thief, person, good).status_code == 400

    # Expired: a challenge older than two minutes.
    late = Actor(client)
    made = sign_in_challenge(late)
    clock.advance(121)
    assert passkey_login(late, person, key.get(made)).status_code == 400

    # A cloned authenticator: its counter behind the one the portal saw.
    clone = Actor(client)
    assert (
        passkey_login(clone, person, key.get(sign_in_challenge(clone), count=1)).status_code == 400
    )
    # The real one still works.
    assert passkey_login(clone, person, key.get(sign_in_challenge(clone))).status_code == 303

    failed = [e for e in events(client, person) if e[0] == "passkey_failed"]
    assert failed == [("passkey_failed", "sign_in")] * 8


def test_a_wrong_password_with_a_good_passkey_is_refused(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    key = SoftAuthenticator()
    person = world.investigator
    signed_in_with_key(client, clock, person, key)
    visitor = Actor(client)
    response = visitor.submit(
        "/login",
        username=person.username,
        password="not-the-password-9",
        passkey_assertion=key.get(sign_in_challenge(visitor)),
    )
    assert response.status_code == 400
    assert events(client, person)[-1] == ("sign_in_failed", "password")


def test_a_passkey_confirms_a_key_replacement_and_a_password_change(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    key = SoftAuthenticator()
    person = world.investigator
    owner = signed_in_with_key(client, clock, person, key)
    assert owner.submit("/staff/key", **new_key_fields()).status_code == 303
    clock.advance(6 * 60)  # the sign-in no longer counts

    replaced = new_key_fields()
    assert owner.submit("/staff/key", **replaced).status_code == 400
    # A passkey alone is not enough: the password too.
    made = options(owner, "/staff/key", "/staff/passkeys/options", purpose="confirm")
    alone = owner.submit("/staff/key", **replaced, passkey_assertion=key.get(made))
    assert alone.status_code == 400
    made = options(owner, "/staff/key", "/staff/passkeys/options", purpose="confirm")
    response = owner.submit(
        "/staff/key", **replaced, current_password=person.password, passkey_assertion=key.get(made)
    )
    assert response.status_code == 303, response.text
    found = query(
        client,
        "SELECT COUNT(*) FROM investigator_keys WHERE account_id = :a AND retired_at IS NULL",
        a=person.id,
    )
    assert found == [(1,)]
    # A challenge made to sign in does not confirm anything (nor the other way round).
    visitor_answer = key.get(options(owner, "/staff/key", "/login/passkey"))
    refused = owner.submit(
        "/staff/key",
        **new_key_fields(),
        current_password=person.password,
        passkey_assertion=visitor_answer,
    )
    assert refused.status_code == 400
    assert WRONG in refused.text

    made = options(owner, "/staff/password", "/staff/passkeys/options", purpose="confirm")
    changed = owner.submit(
        "/staff/password",
        current_password=person.password,
        passkey_assertion=key.get(made),
        new_password="a new long passphrase 4410",
        confirm_password="a new long passphrase 4410",
    )
    assert changed.status_code == 303


def test_adding_and_removing_need_a_fresh_confirmation_and_tell_other_sessions(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    key = SoftAuthenticator()
    person = world.ngo_worker
    owner = signed_in_with_key(client, clock, person, key)
    other = Actor(client)
    other.log_in(person, clock)
    clock.advance(6 * 60)

    # A stolen, stale session cannot add its own passkey...
    thiefs = SoftAuthenticator()
    refused = add_passkey(owner, thiefs, "Mine now")
    assert refused.status_code == 400
    assert query(client, "SELECT COUNT(*) FROM passkeys") == [(1,)]
    # ...nor remove the owner's.
    passkey_id = query(client, "SELECT id FROM passkeys")[0][0]
    token = owner.csrf_from("/staff/passkeys")
    path = f"/staff/passkeys/{passkey_id}/remove"
    assert owner.request("POST", path, data={"csrf_token": token}).status_code == 400

    made = options(owner, "/staff/passkeys", "/staff/passkeys/options", purpose="confirm")
    token = owner.csrf_from("/staff/passkeys")
    response = owner.request(
        "POST",
        path,
        data={
            "csrf_token": token,
            "current_password": person.password,
            "passkey_assertion": key.get(made),
        },
    )
    assert response.status_code == 303
    assert query(client, "SELECT COUNT(*) FROM passkeys") == [(0,)]
    notices = other.get("/staff").text
    assert "A passkey was added to your account on" in notices
    assert "A passkey was removed from your account on" in notices
    assert [e[0] for e in events(client, person)] == ["passkey_registered", "passkey_removed"]


def test_an_unnamed_or_unverified_passkey_is_not_added(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    actor = Actor(client)
    actor.log_in(world.investigator, clock)
    key = SoftAuthenticator()
    unnamed = add_passkey(actor, key, name="  ")
    assert unnamed.status_code == 400
    assert "Give the passkey a name" in unnamed.text
    # Sent without the browser's answer: no JavaScript, or clicked before it ran.
    plain = actor.submit("/staff/passkeys", name="Key")
    assert plain.status_code == 400
    assert "If it is on, wait until the page has loaded, then try again." in plain.text
    made = options(actor, "/staff/passkeys", "/staff/passkeys/options", purpose="register")
    unverified = actor.submit(
        "/staff/passkeys", name="Key", passkey_attestation=key.create(made, verified=False)
    )
    assert unverified.status_code == 400
    assert REFUSED in unverified.text
    made = options(actor, "/staff/passkeys", "/staff/passkeys/options", purpose="register")
    elsewhere = actor.submit(
        "/staff/passkeys", name="Key", passkey_attestation=key.create(made, origin="https://x.test")
    )
    assert elsewhere.status_code == 400
    assert query(client, "SELECT COUNT(*) FROM passkeys") == [(0,)]
    assert events(client, world.investigator) == [("passkey_failed", "register")] * 2


def test_without_javascript_the_passkey_buttons_stay_hidden(actor: Actor) -> None:
    """The login page works with password and code alone; the passkey block is shown
    only by static/js/passkeys.js, in a browser that has WebAuthn."""
    page = actor.get("/login").text
    assert re.search(r'<div class="passkey-sign-in" hidden data-passkey-sign-in', page)
    assert '<script type="module" src="/static/js/passkeys.js"></script>' in page


def test_a_required_role_registers_first_then_signs_in_only_with_its_passkey(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    response = coordinator.submit("/coordinator/passkeys", role="investigator", required="yes")
    assert response.status_code == 303

    person = world.investigator
    investigator = Actor(client)
    investigator.log_in(person, clock)  # password and code still get this far
    for page in ("/staff", "/investigator", "/staff/key"):
        response = investigator.get(page)
        assert response.status_code == 303, page
        assert response.headers["location"] == "/staff/passkeys", page
    assert "requires a passkey for your role" in investigator.get("/staff/passkeys").text
    key = SoftAuthenticator()
    assert add_passkey(investigator, key).status_code == 303
    assert investigator.get("/staff").status_code == 200

    # From now on password and code are not enough...
    later = Actor(client)
    clock.advance(30)
    refused = later.submit(
        "/login",
        username=person.username,
        password=person.password,
        totp_code=code_at(person.totp_secret, clock.now()),
    )
    assert refused.status_code == 400
    assert PASSKEY_REQUIRED in refused.text
    # ...the passkey is.
    assert passkey_login(later, person, key.get(sign_in_challenge(later))).status_code == 303
    # Another role is not affected.
    Actor(client).log_in(world.ngo_worker, clock)

    # Lost passkey: a coordinator's one-time recovery link.
    made = coordinator.submit(f"/coordinator/accounts/{person.id}/passkey-recovery")
    assert made.status_code == 200
    found = re.search(r"https://portal\.test(/passkey-recovery/[A-Za-z0-9_-]+)", made.text)
    assert found
    link = found.group(1)
    recovering = Actor(client)
    clock.advance(30)
    response = recovering.submit(
        link,
        username=person.username,
        password=person.password,
        totp_code=code_at(person.totp_secret, clock.now()),
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/passkeys"
    assert query(client, "SELECT COUNT(*) FROM passkeys") == [(0,)]  # the lost one is gone
    assert recovering.get("/staff").headers["location"] == "/staff/passkeys"
    assert Actor(client).get(link).status_code == 404  # once only
    actions = [e[0] for e in events(client, person)]
    assert actions == [
        "passkey_registered",
        "sign_in_failed",
        "passkey_sign_in",
        "passkey_recovery_issued",
        "passkey_recovered",
    ]
    coordinator_events = query(
        client,
        "SELECT action, detail FROM audit_events WHERE actor_account_id = :a"
        " AND action LIKE 'passkey%' ORDER BY id",
        a=world.coordinator.id,
    )
    assert coordinator_events == [
        ("passkey_requirement_set", "investigator"),
        ("passkey_recovery_issued", None),
    ]


def test_a_recovery_link_works_only_for_its_own_account(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    made = coordinator.submit(f"/coordinator/accounts/{world.investigator.id}/passkey-recovery")
    found = re.search(r"(/passkey-recovery/[A-Za-z0-9_-]+)", made.text)
    assert found
    other = world.other_investigator
    clock.advance(30)
    response = Actor(client).submit(
        found.group(1),
        username=other.username,
        password=other.password,
        totp_code=code_at(other.totp_secret, clock.now()),
    )
    assert response.status_code == 400
    assert Actor(client).get(found.group(1)).status_code == 200  # still usable by its owner


def test_only_coordinators_set_requirements_and_make_recovery_links(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    actor = Actor(client)
    actor.log_in(world.investigator, clock)
    token = CSRF.search(actor.get("/staff").text)
    assert token
    for path, data in (
        ("/coordinator/passkeys", {"role": "investigator", "required": "no"}),
        (f"/coordinator/accounts/{world.investigator.id}/passkey-recovery", {}),
    ):
        response = actor.request("POST", path, data={"csrf_token": token.group(1), **data})
        assert response.status_code == 404, path
    assert actor.get("/coordinator/passkeys").status_code == 404


def test_a_replay_is_refused_even_from_a_passkey_without_a_counter(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """Synced passkeys report a counter of 0 every time, so only the single-use
    challenge stops a replayed answer, in the same session or another."""
    key = SoftAuthenticator()
    person = world.investigator
    signed_in_with_key(client, clock, person, key)
    visitor = Actor(client)
    good = key.get(sign_in_challenge(visitor), count=0)
    thief = Actor(client)
    thief.cookies = httpx.Cookies(visitor.cookies)  # a copy of the cookie, taken before
    assert passkey_login(visitor, person, good).status_code == 303
    assert passkey_login(thief, person, good).status_code == 400
    again = Actor(client)
    sign_in_challenge(again)
    assert passkey_login(again, person, good).status_code == 400
    # A fresh challenge still works with the zero counter.
    fresh = Actor(client)
    assert (
        passkey_login(fresh, person, key.get(sign_in_challenge(fresh), count=0)).status_code == 303
    )


def _passkey_only(
    client: TestClient, clock: FakeClock, world: World
) -> tuple[Person, SoftAuthenticator]:
    """The investigators' role requires a passkey, and this one has added theirs."""
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    assert (
        coordinator.submit("/coordinator/passkeys", role="investigator", required="yes").status_code
        == 303
    )
    person, key = world.investigator, SoftAuthenticator()
    signed_in_with_key(client, clock, person, key)
    return person, key


def test_an_account_that_signs_in_with_a_passkey_confirms_with_it_too(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """A stolen cookie with a phished password and code must not remove the passkey (and
    with it the only factor a phishing page cannot relay)."""
    person, key = _passkey_only(client, clock, world)
    thief = Actor(client)
    assert passkey_login(thief, person, key.get(sign_in_challenge(thief))).status_code == 303
    clock.advance(6 * 60)  # the sign-in is no longer fresh
    passkey_id = query(client, "SELECT id FROM passkeys")[0][0]
    remove = f"/staff/passkeys/{passkey_id}/remove"
    code = code_at(person.totp_secret, clock.now())
    refused = thief.submit(
        "/staff/passkeys", remove, current_password=person.password, totp_code=code
    )
    assert refused.status_code == 400
    assert PASSKEY_REQUIRED in refused.text
    assert query(client, "SELECT COUNT(*) FROM passkeys") == [(1,)]
    # The passkey itself confirms it.
    made = options(thief, "/staff/passkeys", "/staff/passkeys/options", purpose="confirm")
    confirmed = thief.submit(
        "/staff/passkeys", remove, current_password=person.password, passkey_assertion=key.get(made)
    )
    assert confirmed.status_code == 303


def test_setting_up_the_app_again_does_not_sign_in_an_account_with_a_passkey(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """After ``portal reset-second-factor`` the password leads to setting up the app again
    (a recovery link asks for its code), but an account that signs in with a passkey is
    not signed in by it."""
    from portal.domain import second_factor

    person, key = _passkey_only(client, clock, world)
    in_app(client, second_factor.reset, services_of(client).db, clock, person.username)
    visitor = Actor(client)
    page = visitor.submit(
        "/login", username=person.username, password=person.password, totp_code="1"
    )
    secret = re.search(r'name="totp_pending" value="([^"]+)"', page.text)
    shown = re.search(r"<code[^>]*>([A-Z2-7]{16,})</code>", page.text)
    assert secret and shown, page.text[-2000:]
    clock.advance(30)
    answer = visitor.submit(
        "/login",
        "/login/second-factor",
        username=person.username,
        password=person.password,
        totp_pending=secret.group(1),
        totp_code=code_at(shown.group(1), clock.now()),
    )
    assert answer.status_code == 400
    assert PASSKEY_REQUIRED in answer.text
    assert visitor.get("/staff").status_code == 303  # not signed in
    assert passkey_login(visitor, person, key.get(sign_in_challenge(visitor))).status_code == 303
