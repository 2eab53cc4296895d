"""A copy of the whole database, without anyone's cookie, passphrase or client code,
opens no message: every stored value is tried as a key for every envelope (and for the
client's sealed session key)."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator

import nacl.exceptions
from nacl.secret import SecretBox
from starlette.testclient import TestClient

from portal.crypto.envelopes import EnvelopeError, open_envelope
from portal.storage.tables import metadata
from tests.factories import in_app, services_of
from tests.web.conversation import (
    FROM_CLIENT,
    FROM_CLIENT_NO_JS,
    FROM_NGO,
    FROM_POLICE,
    Talk,
    form_of,
)

KEY = 32


def stored_values(client: TestClient) -> list[bytes]:
    """Every value of every row of every table, as bytes (text as UTF-8, and decoded
    from base64 or hex when it is that)."""
    svc = services_of(client)
    found: list[bytes] = []
    for table in metadata.sorted_tables:
        rows = in_app(client, svc.db.fetch_all, f"SELECT * FROM {table.name}")  # noqa: S608
        for row in rows:
            for value in tuple(row):
                if isinstance(value, bytes | memoryview):
                    found.append(bytes(value))
                elif value is not None:
                    text = str(value)
                    found.append(text.encode())
                    for decode in (
                        lambda t: base64.b64decode(t + "=" * (-len(t) % 4)),
                        lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)),
                        bytes.fromhex,
                    ):
                        with contextlib.suppress(binascii.Error, ValueError):
                            found.append(decode(text))
    return found


def candidate_keys(values: list[bytes]) -> Iterator[bytes]:
    """Each 32-byte value, and each 32-byte window of a short blob (a key inside a
    wrapped key, a sealed session key, an id), and the 32-byte pieces of long ones."""
    seen: set[bytes] = set()
    for value in values:
        if len(value) < KEY:
            continue
        starts = range(len(value) - KEY + 1) if len(value) <= 160 else range(0, len(value), KEY)
        for start in starts:
            piece = value[start : start + KEY]
            if len(piece) == KEY and piece not in seen:
                seen.add(piece)
                yield piece


def test_a_stolen_database_opens_no_message(client: TestClient, talk: Talk) -> None:
    for role, text in (
        ("investigator", FROM_POLICE),
        ("ngo_worker", FROM_NGO),
        ("client", FROM_CLIENT),
    ):
        assert talk.write(role, text)[1].status_code == 200
    message_id, _ = form_of(talk.case.client.get("/meeting").text)
    talk.case.client.submit(
        "/meeting", "/meeting/messages", message_id=message_id, text=FROM_CLIENT_NO_JS
    )
    svc = services_of(client)
    envelopes = [
        bytes(e)
        for e in in_app(client, svc.db.fetch_all, "SELECT envelope FROM message_envelopes")
        for e in e
    ]
    assert len(envelopes) == 4 * 3
    sealed_sessions = [
        bytes(r["sealed_client_key"])
        for r in in_app(
            client,
            svc.db.fetch_all,
            "SELECT sealed_client_key FROM sessions WHERE sealed_client_key IS NOT NULL",
        )
    ]
    keys = list(candidate_keys(stored_values(client)))
    assert len(keys) > 100  # the public keys, wrapped keys, ids, hashes, envelopes...
    opened = 0
    for key in keys:
        for envelope in envelopes:
            try:
                open_envelope(key, envelope)
                opened += 1
            except EnvelopeError:
                pass
        for sealed in sealed_sessions:
            try:
                SecretBox(key).decrypt(sealed)
                opened += 1
            except nacl.exceptions.CryptoError:
                pass
    assert opened == 0
    # ...while each participant's own secret key does open its own envelopes.
    for _key_id, secret in talk.keys.values():
        assert sum(_opens(secret, e) for e in envelopes) == 4


def _opens(secret: bytes, envelope: bytes) -> bool:
    try:
        open_envelope(secret, envelope)
    except EnvelopeError:
        return False
    return True
