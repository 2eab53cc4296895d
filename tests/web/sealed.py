"""Shared pieces for tests that need an investigator's key and a booked case."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.wrapped_keys import wrap
from tests.factories import (
    CANARIES,
    Actor,
    FakeClock,
    Person,
    in_app,
    services_of,
)

PASSPHRASE = "canary-decryption-passphrase-5521"
RECOVERY = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567"
FEARS = "canary-note-fears-that-he-will-find-me-8812"
WISHES = "canary-note-wishes-a-woman-interpreter-4410"


@dataclass
class Keyholder:
    actor: Actor
    secret_key: bytes
    key_id: str


def create_key(client: TestClient, clock: FakeClock, person: Person) -> Keyholder:
    """What the browser does on the key page, done in Python with the same formats."""
    actor = Actor(client)
    actor.log_in(person, clock)
    private = PrivateKey.generate()
    sk = bytes(private)
    response = actor.submit(
        "/staff/key",
        public_key=base64.b64encode(bytes(private.public_key)).decode(),
        wrapped_key=base64.b64encode(wrap(sk, PASSPHRASE, 2, 19456)).decode(),
        recovery_wrapped_key=base64.b64encode(
            wrap(sk, RECOVERY.replace("-", ""), 2, 19456)
        ).decode(),
    )
    assert response.status_code == 303, response.text
    page = actor.get("/staff/key").text
    assert 'class="fingerprint"' in page
    key_id = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM investigator_keys WHERE account_id = :a AND retired_at IS NULL",
        a=person.id,
    )
    CANARIES.update({PASSPHRASE, RECOVERY})
    return Keyholder(actor, sk, key_id)


@dataclass
class Case:
    consultation: str
    ngo: Actor
    client: Actor
    investigator: Keyholder
