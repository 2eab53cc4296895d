"""The one key page of every key holder (/staff/key): an NGO worker creates, changes,
recovers and replaces their key exactly as an investigator does, with the same
re-authentication, audit events and notices; a coordinator has no key and cannot get
one; a worker without a key is told on their pages what they cannot read.

Keys are made in Python in the browser's formats (portal/crypto/wrapped_keys.py), as in
tests/web/sealed.py.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from portal.crypto.wrapped_keys import normalise_recovery_key, unwrap, wrap
from tests.factories import (
    CANARIES,
    Actor,
    FakeClock,
    Person,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    services_of,
)
from tests.security.test_sensitive_actions import NEEDED, new_key_fields
from tests.web.sealed import PASSPHRASE, RECOVERY, create_key

NO_KEY = (
    "You have no key yet. Without it you cannot read or write the conversation with the"
    " client and the police: messages are sealed to the keys of the people in it."
)
NEW_PASSPHRASE = "canary-new-decryption-passphrase-7730"
KEY_LINK = '<a href="/staff/key">Your key for sealed messages and notes</a>'


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def query(client: TestClient, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    rows = in_app(client, services_of(client).db.fetch_all, sql, **params)
    return [tuple(row) for row in rows]


def keys_of(client: TestClient, person: Person) -> list[tuple[str, bytes, bytes, bool]]:
    """(id, public key, wrapped key, retired) of each of the person's keys, oldest first."""
    return [
        (row[0], bytes(row[1]), bytes(row[2]), row[3] is not None)
        for row in query(
            client,
            "SELECT id, public_key, wrapped_key, retired_at FROM investigator_keys"
            " WHERE account_id = :a ORDER BY created_at, retired_at",
            a=person.id,
        )
    ]


def actions(client: TestClient, person: Person) -> list[str]:
    return [
        row[0]
        for row in query(
            client,
            "SELECT action FROM audit_events WHERE actor_account_id = :a"
            " AND action <> 'signed_in' ORDER BY id",
            a=person.id,
        )
    ]


def confirmation(clock: FakeClock, person: Person) -> dict[str, str]:
    clock.advance(30)  # each code works once: a new 30-second step
    return {
        "current_password": person.password,
        "totp_code": code_at(person.totp_secret, clock.now()),
    }


def test_an_ngo_worker_creates_a_key_on_the_staff_key_page(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker = world.ngo_worker
    holder = create_key(client, clock, worker)
    page = holder.actor.get("/staff/key?done=created")
    assert page.status_code == 200
    assert "<h1>Your key for sealed messages and notes</h1>" in page.text
    assert "Your key is ready. Messages and notes can now be sealed to you." in page.text
    assert '<script type="module" src="/static/js/keys.js"></script>' in page.text
    assert "Seal notes again" not in page.text  # an investigator's re-sealing only
    [(key_id, public_key, wrapped, retired)] = keys_of(client, worker)
    assert key_id == holder.key_id and not retired
    assert public_key == bytes(PrivateKey(holder.secret_key).public_key)
    assert unwrap(wrapped, PASSPHRASE, public_key) == holder.secret_key
    assert actions(client, worker) == ["key_created"]
    assert KEY_LINK in holder.actor.get("/staff").text


def test_an_ngo_worker_changes_the_passphrase_only_after_confirming_it_is_them(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker = world.ngo_worker
    holder = create_key(client, clock, worker)
    other_session = Actor(client)
    other_session.log_in(worker, clock)
    [(_id, public_key, before, _r)] = keys_of(client, worker)
    CANARIES.add(NEW_PASSPHRASE)
    rewrapped = b64(wrap(holder.secret_key, NEW_PASSPHRASE, 2, 19456))
    clock.advance(6 * 60)  # the sign-in is no longer fresh
    refused = holder.actor.submit(
        "/staff/key", "/staff/key/passphrase", purpose="change", wrapped_key=rewrapped
    )
    assert refused.status_code == 400 and NEEDED in refused.text
    assert f'name="wrapped_key" value="{rewrapped}"' in refused.text  # kept for the retry
    assert 'action="/staff/key/passphrase"' in refused.text
    assert keys_of(client, worker)[0][2] == before
    done = holder.actor.submit(
        "/staff/key",
        "/staff/key/passphrase",
        purpose="change",
        wrapped_key=rewrapped,
        **confirmation(clock, worker),
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/staff/key?done=passphrase"
    [(_id, _pk, after, _r)] = keys_of(client, worker)
    assert unwrap(after, NEW_PASSPHRASE, public_key) == holder.secret_key
    assert actions(client, worker) == ["key_created", "key_rewrapped"]
    assert (
        "The decryption passphrase of your key was changed on" in other_session.get("/staff").text
    )


def test_an_ngo_worker_recovers_the_key_with_the_recovery_key(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker = world.ngo_worker
    holder = create_key(client, clock, worker)
    page = holder.actor.get("/staff/key").text
    # What the recovery form's script reads: the key wrapped under the recovery key.
    found = re.search(r'data-recover\s+data-wrapped-key="([^"]+)" data-public-key="([^"]+)"', page)
    assert found
    public_key = base64.b64decode(found.group(2))
    secret = unwrap(base64.b64decode(found.group(1)), normalise_recovery_key(RECOVERY), public_key)
    assert secret == holder.secret_key
    CANARIES.add(NEW_PASSPHRASE)
    done = holder.actor.submit(
        "/staff/key",
        "/staff/key/passphrase",
        purpose="recover",
        wrapped_key=b64(wrap(secret, NEW_PASSPHRASE, 2, 19456)),
    )
    assert done.status_code == 303  # the sign-in is fresh: no confirmation asked
    [(key_id, _pk, after, retired)] = keys_of(client, worker)
    assert key_id == holder.key_id and not retired  # the same key, under a new passphrase
    assert unwrap(after, NEW_PASSPHRASE, public_key) == holder.secret_key
    assert actions(client, worker) == ["key_created", "key_rewrapped"]


def test_an_ngo_worker_replaces_a_lost_key_only_after_confirming_it_is_them(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker = world.ngo_worker
    holder = create_key(client, clock, worker)
    clock.advance(6 * 60)
    replacement = new_key_fields()
    refused = holder.actor.submit("/staff/key", **replacement)
    assert refused.status_code == 400 and NEEDED in refused.text
    assert "Your new key is not saved yet" in refused.text
    assert [k[0] for k in keys_of(client, worker)] == [holder.key_id]
    done = holder.actor.submit("/staff/key", **replacement, **confirmation(clock, worker))
    assert done.status_code == 303
    assert done.headers["location"] == "/staff/key?done=created"
    (old_id, _pk, _w, old_retired), (_new_id, new_pk, _w2, new_retired) = keys_of(client, worker)
    assert old_id == holder.key_id and old_retired and not new_retired
    assert b64(new_pk) == replacement["public_key"]
    assert actions(client, worker) == ["key_created", "key_replaced"]


def test_a_coordinator_has_no_key_page_and_cannot_post_a_key(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    assert coordinator.get("/staff/key").status_code == 404
    assert coordinator.get("/investigator/key").status_code == 404
    assert KEY_LINK not in coordinator.get("/staff").text
    for path in ("/staff/key", "/staff/key/passphrase"):
        refused = coordinator.submit("/staff", path, **new_key_fields())
        assert refused.status_code == 404, path
    assert keys_of(client, world.coordinator) == []
    assert actions(client, world.coordinator) == []


def test_the_old_investigator_address_redirects_to_the_staff_key_page(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    moved = investigator.get("/investigator/key")
    assert moved.status_code == 303 and moved.headers["location"] == "/staff/key"
    assert KEY_LINK in investigator.get("/staff").text
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    assert worker.get("/investigator/key").status_code == 404  # an investigator's address


def test_the_ngo_pages_say_what_a_worker_without_a_key_cannot_read(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    book(worker, slot)
    found = re.search(r'href="(/ngo/consultations/[^"]+)"', worker.get("/ngo").text)
    assert found
    pages = ("/ngo", found.group(1))
    for page in pages:
        text = worker.get(page).text
        assert NO_KEY in text, page
        assert f'{NO_KEY} <a href="/staff/key">Create your key</a>' in text, page
    # The investigator's key changes nothing: the notice is about the worker's own key.
    create_key(client, clock, world.investigator)
    assert NO_KEY in worker.get("/ngo").text
    create_key(client, clock, world.ngo_worker)
    for page in pages:
        assert NO_KEY not in worker.get(page).text, page


def test_the_start_pages_tell_a_key_holder_without_a_key(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """An investigator without a key cannot receive a client's notes or messages: the
    first pages they see after signing in say so, until the key is made."""
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    told = 'You have no key yet, so nobody can send you notes. <a href="/staff/key">'
    for page in ("/staff", "/investigator"):
        assert told in investigator.get(page).text, page
    assert "You have no key yet" not in coordinator.get("/staff").text  # never holds one
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    assert f'{NO_KEY} <a href="/staff/key">Create your key</a>' in worker.get("/staff").text
    create_key(client, clock, world.investigator)
    for page in ("/staff", "/investigator"):
        assert "You have no key yet" not in investigator.get(page).text, page
