"""After ``portal reset-second-factor``: the right password leads to setting up an
authenticator app again, and nothing else does."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from portal.crypto.totp import accepted_step, code_at
from portal.domain import second_factor
from portal.domain.audit import AuditFilter, list_events
from tests.factories import Actor, FakeClock, Person, World, in_app, services_of

PENDING = re.compile(r'name="totp_pending" value="([^"]+)"')
KEY = re.compile(r'<code class="secret">([A-Z2-7]{32})</code>')
SET_UP = "Set up your authenticator app again"
WRONG = "The username, password or code is wrong."


def _reset(client: TestClient, clock: FakeClock, person: Person) -> None:
    in_app(client, second_factor.reset, services_of(client).db, clock, person.username)


def _sign_in(actor: Actor, clock: FakeClock, person: Person, password: str, secret: str) -> str:
    clock.advance(30)
    answer = actor.submit(
        "/login",
        username=person.username,
        password=password,
        totp_code=code_at(secret, clock.now()),
    )
    return answer.text if answer.status_code != 303 else "signed in"


def test_reset_ends_sessions_and_the_password_leads_to_a_new_key(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    before = Actor(client)
    before.log_in(person, clock)
    _reset(client, clock, person)
    # The session it had is over.
    assert before.get("/staff").status_code == 303

    visitor = Actor(client)
    # The old code no longer signs in; a wrong password shows nothing new.
    assert WRONG in _sign_in(visitor, clock, person, "not-the-password", person.totp_secret)
    page = _sign_in(visitor, clock, person, person.password, person.totp_secret)
    assert SET_UP in page and "signed in" not in page
    pending = PENDING.search(page)
    key = KEY.search(page)
    assert pending and key and key.group(1) != person.totp_secret

    # Password again and a code from the new key: signed in.
    clock.advance(30)
    done = visitor.request(
        "POST",
        "/login/second-factor",
        data={
            "csrf_token": visitor.csrf_from("/login"),
            "username": person.username,
            "password": person.password,
            "totp_pending": pending.group(1),
            "totp_code": code_at(key.group(1), clock.now()),
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/staff"
    assert visitor.get("/staff").status_code == 200

    # From now on the new key signs in and the old one does not.
    later = Actor(client)
    assert WRONG in _sign_in(later, clock, person, person.password, person.totp_secret)
    assert _sign_in(later, clock, person, person.password, key.group(1)) == "signed in"

    db = services_of(client).db
    events = in_app(client, list_events, db, AuditFilter(), limit=500, offset=0)
    actions = [event.action for event in events]
    assert "second_factor_reset" in actions and "second_factor_set_up" in actions


def test_the_new_key_needs_the_password_and_its_own_code(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.ngo_worker
    _reset(client, clock, person)
    visitor = Actor(client)
    page = _sign_in(visitor, clock, person, person.password, person.totp_secret)
    pending, key = PENDING.search(page), KEY.search(page)
    assert pending and key

    def submit(**changes: str) -> int:
        clock.advance(30)
        form = {
            "csrf_token": visitor.csrf_from("/login"),
            "username": person.username,
            "password": person.password,
            "totp_pending": pending.group(1),
            "totp_code": code_at(key.group(1), clock.now()),
            **changes,
        }
        return visitor.request("POST", "/login/second-factor", data=form).status_code

    assert submit(password="not-the-password") == 400
    assert submit(totp_code="000000") == 400
    assert submit(totp_pending=pending.group(1)[:-2] + "xx") == 400  # altered key
    # Another account's username with this key (signed for this account): refused, even
    # when that account is waiting to set up an app too.
    _reset(client, clock, world.coordinator)
    assert submit(username=world.coordinator.username, password=world.coordinator.password) == 400
    assert submit() == 303


def test_an_empty_key_accepts_no_code() -> None:
    now = 1_800_000_000
    assert all(accepted_step("", f"{n:06d}", now, 0) is None for n in range(0, 1_000_000, 997))
