"""Sensitive actions: a key or password change needs password and a new code within the
last 5 minutes in this session, is audited, and the owner hears of it in their other
sessions until they dismiss the notice there.

The threat is a stolen session cookie: with it alone, nobody may put their own key in
place of an investigator's (every later note would be sealed to them) or change the
password.
"""

from __future__ import annotations

import base64
import re
import struct
from typing import Any

from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from portal.crypto.wrapped_keys import wrap
from tests.factories import Actor, FakeClock, Person, World, in_app, services_of
from tests.web.sealed import PASSPHRASE, RECOVERY

NEEDED = "Confirm it is you: enter your password and a new code from your authenticator app."
WRONG = "The password or code is wrong, or the code was used already."
REPLACED = "Your key was replaced on"
TELL = "If this was not you, tell your coordinator at once."


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_key_fields() -> dict[str, str]:
    """What the key page's script sends: a key pair wrapped at the floor (2 passes,
    19 MiB), the cheapest the portal accepts."""
    private = PrivateKey.generate()
    sk = bytes(private)
    return {
        "public_key": b64(bytes(private.public_key)),
        "wrapped_key": b64(wrap(sk, PASSPHRASE, 2, 19456)),
        "recovery_wrapped_key": b64(wrap(sk, RECOVERY.replace("-", ""), 2, 19456)),
    }


def query(client: TestClient, sql: str, **params: Any) -> list[Any]:
    rows = in_app(client, services_of(client).db.fetch_all, sql, **params)
    return [tuple(row) for row in rows]


def current_public_key(client: TestClient, person: Person) -> str | None:
    found = query(
        client,
        "SELECT public_key FROM investigator_keys WHERE account_id = :a AND retired_at IS NULL",
        a=person.id,
    )
    return b64(bytes(found[0][0])) if found else None


def actions(client: TestClient, person: Person) -> list[str]:
    """What the person did, sign-ins left out (tests/web/test_security_audit.py has them)."""
    return [
        row[0]
        for row in query(
            client,
            "SELECT action FROM audit_events WHERE actor_account_id = :a"
            " AND action <> 'signed_in' ORDER BY id",
            a=person.id,
        )
    ]


def signed_in(client: TestClient, clock: FakeClock, person: Person) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)
    return actor


def with_first_key(client: TestClient, clock: FakeClock, person: Person) -> Actor:
    """Signed in, and a first key made at once (a fresh sign-in needs no confirmation)."""
    actor = signed_in(client, clock, person)
    response = actor.submit("/staff/key", **new_key_fields())
    assert response.status_code == 303, response.text
    return actor


def fresh_code(clock: FakeClock, person: Person) -> str:
    clock.advance(30)  # each code works once: a new 30-second step
    return code_at(person.totp_secret, clock.now())


def test_a_fresh_sign_in_creates_a_key_without_asking_again(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    with_first_key(client, clock, world.investigator)
    assert current_public_key(client, world.investigator) is not None
    assert actions(client, world.investigator) == ["key_created"]


def test_a_stale_session_cannot_replace_the_key_without_password_and_code(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    owner = with_first_key(client, clock, person)
    before = current_public_key(client, person)
    clock.advance(6 * 60)  # the sign-in is now 6 minutes old
    attempts = {
        "nothing": {},
        "no code": {"current_password": person.password},
        "no password": {"totp_code": code_at(person.totp_secret, clock.now())},
        "wrong code": {"current_password": person.password, "totp_code": "000000"},
        "wrong password": {
            "current_password": "not-the-password-1",
            "totp_code": code_at(person.totp_secret, clock.now()),
        },
    }
    for name, confirmation in attempts.items():
        response = owner.submit("/staff/key", **new_key_fields(), **confirmation)
        assert response.status_code == 400, name
        assert (NEEDED if name.startswith("no") else WRONG) in response.text, name
        assert current_public_key(client, person) == before, name
    assert actions(client, person) == ["key_created", "reauth_failed", "reauth_failed"]

    replaced = new_key_fields()
    response = owner.submit(
        "/staff/key",
        **replaced,
        current_password=person.password,
        totp_code=fresh_code(clock, person),
    )
    assert response.status_code == 303
    assert current_public_key(client, person) == replaced["public_key"]
    assert actions(client, person)[-1] == "key_replaced"


def test_a_confirmation_keeps_the_session_fresh_for_5_minutes_only(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    owner = with_first_key(client, clock, person)
    clock.advance(6 * 60)
    confirmed = owner.submit(
        "/staff/key",
        **new_key_fields(),
        current_password=person.password,
        totp_code=fresh_code(clock, person),
    )
    assert confirmed.status_code == 303
    clock.advance(4 * 60 + 59)
    assert owner.submit("/staff/key", **new_key_fields()).status_code == 303
    clock.advance(5 * 60)
    assert owner.submit("/staff/key", **new_key_fields()).status_code == 400


def test_a_code_used_in_one_session_is_refused_in_another(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    owner = with_first_key(client, clock, person)
    thief = signed_in(client, clock, person)  # the same account, another browser
    clock.advance(6 * 60)
    code = code_at(person.totp_secret, clock.now())
    first = owner.submit(
        "/staff/key", **new_key_fields(), current_password=person.password, totp_code=code
    )
    assert first.status_code == 303
    key = current_public_key(client, person)
    again = thief.submit(
        "/staff/key", **new_key_fields(), current_password=person.password, totp_code=code
    )
    assert again.status_code == 400 and WRONG in again.text
    assert current_public_key(client, person) == key


def test_the_key_made_in_the_browser_survives_a_refusal(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    owner = with_first_key(client, clock, person)
    clock.advance(6 * 60)
    made = new_key_fields()
    refused = owner.submit("/staff/key", **made)
    assert refused.status_code == 400
    # The refused page holds the same key, ready to save with password and code.
    page = refused.text
    for name, value in made.items():
        assert f'name="{name}" value="{value}"' in page, name
    assert "Your new key is not saved yet" in page
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token
    saved = owner.request(
        "POST",
        "/staff/key",
        data={
            "csrf_token": token.group(1),
            "purpose": "create",
            **made,
            "current_password": person.password,
            "totp_code": fresh_code(clock, person),
        },
    )
    assert saved.status_code == 303
    assert current_public_key(client, person) == made["public_key"]


def test_the_owner_sees_a_replacement_in_their_other_session_until_dismissed(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    clock.value = 1_800_000_000  # 2027-01-15 08:00 UTC, 10:00 in Helsinki
    owner = with_first_key(client, clock, person)
    thief = signed_in(client, clock, person)
    owner.submit("/staff", "/staff/notices", next="/staff")  # the first key's notice, read
    assert TELL not in owner.get("/staff").text
    clock.value = 1_800_000_120  # 10:02 in Helsinki
    assert thief.submit("/staff/key", **new_key_fields()).status_code == 303

    expected = "Your key was replaced on 1/15/27, 10:02\u202fAM. " + TELL
    for page in ("/staff", "/investigator", "/staff/password"):
        assert expected in owner.get(page).text, page
    # The session that made the change was told on the spot, and cannot hide the notice.
    assert REPLACED not in thief.get("/staff").text
    assert thief.submit("/staff/key", "/staff/notices", next="/staff").status_code == 303
    assert expected in owner.get("/staff").text
    # A new sign-in shows it as well, until the owner dismisses it.
    assert expected in signed_in(client, clock, person).get("/staff").text
    dismissed = owner.submit("/staff", "/staff/notices", next="/investigator")
    assert dismissed.status_code == 303
    assert dismissed.headers["location"] == "/investigator"
    assert REPLACED not in owner.get("/staff").text
    assert REPLACED not in signed_in(client, clock, person).get("/staff").text


def test_a_new_passphrase_needs_confirmation_is_audited_and_noticed(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    owner = with_first_key(client, clock, person)
    other = signed_in(client, clock, person)
    stored = query(client, "SELECT wrapped_key FROM investigator_keys")
    private = PrivateKey.generate()  # the key's own secret does not matter to the server
    rewrapped = b64(wrap(bytes(private), "a new passphrase 123", 2, 19456))
    clock.advance(6 * 60)
    refused = owner.submit(
        "/staff/key", "/staff/key/passphrase", purpose="change", wrapped_key=rewrapped
    )
    assert refused.status_code == 400 and NEEDED in refused.text
    assert f'name="wrapped_key" value="{rewrapped}"' in refused.text  # kept, not lost
    assert query(client, "SELECT wrapped_key FROM investigator_keys") == stored
    done = owner.submit(
        "/staff/key",
        "/staff/key/passphrase",
        purpose="change",
        wrapped_key=rewrapped,
        current_password=person.password,
        totp_code=fresh_code(clock, person),
    )
    assert done.status_code == 303
    assert b64(bytes(query(client, "SELECT wrapped_key FROM investigator_keys")[0][0])) == rewrapped
    assert actions(client, person) == ["key_created", "key_rewrapped"]
    assert "The decryption passphrase of your key was changed on" in other.get("/staff").text


def test_a_password_change_needs_the_code_too(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.coordinator
    actor = signed_in(client, clock, person)  # a fresh sign-in: the code is asked anyway
    new = "canary-New-Pass-77q2"
    change = {"new_password": new, "confirm_password": new}
    nothing = actor.submit("/staff/password", **change)
    assert nothing.status_code == 400 and NEEDED in nothing.text
    without = actor.submit("/staff/password", current_password=person.password, **change)
    assert without.status_code == 400 and NEEDED in without.text
    wrong = actor.submit(
        "/staff/password", current_password=person.password, totp_code="123456", **change
    )
    assert wrong.status_code == 400 and WRONG in wrong.text
    # The old password still works.
    signed_in(client, clock, person)
    done = actor.submit(
        "/staff/password",
        current_password=person.password,
        totp_code=fresh_code(clock, person),
        **change,
    )
    assert done.status_code == 303
    assert actions(client, person) == ["reauth_failed", "password_changed"]
    # The next sign-in (with the new password) is told.
    later = Actor(client)
    later.submit(
        "/login", username=person.username, password=new, totp_code=fresh_code(clock, person)
    )
    assert "Your password was changed on" in later.get("/staff").text
    assert "Your password was changed on" not in actor.get("/staff").text  # it made it


def test_confirmation_attempts_are_limited_per_account(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person, colleague = world.investigator, world.other_investigator
    owner = with_first_key(client, clock, person)
    other = with_first_key(client, clock, colleague)
    clock.advance(6 * 60)
    wrong = {"current_password": "not-the-password-1", "totp_code": "000000"}
    statuses = [
        owner.submit("/staff/key", **new_key_fields(), **wrong).status_code for _ in range(5)
    ]
    assert statuses == [400] * 5
    before = current_public_key(client, person)
    sixth = owner.submit(
        "/staff/key",
        **new_key_fields(),
        current_password=person.password,
        totp_code=fresh_code(clock, person),
    )
    assert sixth.status_code == 429 and "Too many attempts" in sixth.text
    assert current_public_key(client, person) == before
    # The password form counts against the same account.
    new = "canary-New-Pass-31k8"
    limited = owner.submit(
        "/staff/password",
        current_password=person.password,
        totp_code=fresh_code(clock, person),
        new_password=new,
        confirm_password=new,
    )
    assert limited.status_code == 429
    # Another account is not affected (the counts expire in real time, not on the
    # test clock, so the minute is not waited out here).
    confirmed = other.submit(
        "/staff/key",
        **new_key_fields(),
        current_password=colleague.password,
        totp_code=code_at(colleague.totp_secret, clock.now()),
    )
    assert confirmed.status_code == 303


def test_wrapped_keys_below_the_argon2_floor_are_refused(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    actor = signed_in(client, clock, world.investigator)
    fields = new_key_fields()
    floor = base64.b64decode(fields["wrapped_key"])
    for opslimit, memlimit_kib in [(1, 19456), (2, 19455), (2, 8192), (1, 8), (3, 8)]:
        weak = b64(floor[:1] + struct.pack(">II", opslimit, memlimit_kib) + floor[9:])
        for field in ("wrapped_key", "recovery_wrapped_key"):
            response = actor.submit("/staff/key", **{**fields, field: weak})
            assert response.status_code == 400, (field, opslimit, memlimit_kib)
            assert "The key could not be saved." in response.text
    assert current_public_key(client, world.investigator) is None
    assert actor.submit("/staff/key", **fields).status_code == 303  # at the floor


def test_low_order_public_keys_are_refused(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    actor = signed_in(client, clock, world.investigator)
    low_order = [
        "00" * 32,  # all zero: every note sealed on the server to it would fail
        "01" + "00" * 31,
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ec" + "ff" * 30 + "7f",
    ]
    for point in low_order:
        response = actor.submit(
            "/staff/key", **{**new_key_fields(), "public_key": b64(bytes.fromhex(point))}
        )
        assert response.status_code == 400, point
    assert current_public_key(client, world.investigator) is None


def test_repeated_changes_cannot_crowd_out_the_notice(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """A stolen, fresh session repeating changes leaves one notice per kind of change, so
    the stored notices stay small and the owner still sees each kind."""
    person = world.investigator
    owner = with_first_key(client, clock, person)
    thief = signed_in(client, clock, person)
    for _ in range(3):
        assert thief.submit("/staff/key", **new_key_fields()).status_code == 303
    for _ in range(12):
        rewrapped = b64(wrap(bytes(PrivateKey.generate()), "a passphrase 12345", 2, 19456))
        response = thief.submit("/staff/key", "/staff/key/passphrase", wrapped_key=rewrapped)
        assert response.status_code == 303
    page = owner.get("/staff").text
    assert page.count(REPLACED) == 1
    assert page.count("The decryption passphrase of your key was changed on") == 1
    assert actions(client, person).count("key_rewrapped") == 12  # each one audited
    [(stored,)] = query(
        client, "SELECT security_notices FROM accounts WHERE id = :id", id=person.id
    )
    # The owner's first key, and one entry per kind from the thief's session.
    assert [entry.split("@")[0] for entry in stored.split(";")] == [
        "key_created",
        "key_replaced",
        "key_rewrapped",
    ]
