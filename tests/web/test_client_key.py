"""Client key v1 end to end: redeeming a slip makes the client's key, signing in opens it,
the session row holds it only sealed under the cookie, and legacy clients move to v1.

Threats: a stolen database (or backup) opening a signed-in client's secret key; a wrong
code told apart by its answer or its timing; a legacy client locked out by the change.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import nacl.exceptions
import nacl.hash
import nacl.pwhash.argon2id
import nacl.secret
import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto import client_keys
from portal.crypto.tokens import sha256
from portal.domain import codes
from portal.storage.tables import metadata
from tests.factories import (
    Actor,
    FakeClock,
    World,
    book,
    give_legacy_client_code,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)

CSRF_FIELD = re.compile(r'name="csrf_token" value="[0-9a-f]+"')


@pytest.fixture
def ngo(client: TestClient, clock: FakeClock, world: World) -> Actor:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    return worker


@pytest.fixture
def slot(client: TestClient, world: World) -> str:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    return in_app(client, make_slot, svc, world.investigator, place)


def session_row(client: TestClient, sid: str) -> Any:
    svc = services_of(client)
    return in_app(
        client,
        svc.db.fetch_one,
        "SELECT consultation_id, sealed_client_key FROM sessions WHERE id_hash = :h",
        h=sha256(sid),
    )


def key_columns(client: TestClient, consultation_id: str) -> dict[str, Any]:
    svc = services_of(client)
    row = in_app(
        client,
        svc.db.fetch_one,
        "SELECT client_code_lookup, client_code_hash, client_key_id, client_public_key,"
        " client_key_salt, client_key_opslimit, client_key_memlimit_kib, client_verifier"
        " FROM consultations WHERE id = :id",
        id=consultation_id,
    )
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in dict(row).items()}


def sealed_keys(client: TestClient) -> list[bytes]:
    svc = services_of(client)
    rows = in_app(
        client,
        svc.db.fetch_all,
        "SELECT sealed_client_key FROM sessions WHERE sealed_client_key IS NOT NULL",
    )
    return [bytes(row[0]) for row in rows]


def secret_key_of(client: TestClient, person: Actor) -> bytes:
    """What the session gives the portal: the key opened with the cookie value."""
    svc = services_of(client)
    current = in_app(client, svc.sessions.load, person.session_id())
    assert current.consultation_id is not None
    key = current.client_secret_key
    assert key is not None
    return bytes(key)


def signed_in(client: TestClient, code: str) -> tuple[Actor, httpx.Response]:
    person = Actor(client)
    response = person.submit("/code", code=code)
    return person, response


def test_redeeming_makes_the_key_and_the_session_holds_it_only_sealed(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    person, client_code = redeem(client, slip_code(book(ngo, slot)))
    row = session_row(client, person.session_id())
    sealed = bytes(row["sealed_client_key"])
    assert len(sealed) == 72
    columns = key_columns(client, row["consultation_id"])
    assert columns["client_code_hash"] is None  # v1 only
    assert (columns["client_key_opslimit"], columns["client_key_memlimit_kib"]) == (1, 1024)
    assert len(columns["client_key_salt"]) == 16 and len(columns["client_verifier"]) == 32
    # The key the session opens is the client's: its public key is the stored one, and
    # the code derives it (one argon2id derivation, docs/crypto.md).
    secret = secret_key_of(client, person)
    assert bytes(PrivateKey(secret).public_key) == columns["client_public_key"]
    derived = client_keys.derive(codes.normalise(client_code), columns["client_key_salt"], 1, 1024)
    assert derived.secret_key == secret
    assert derived.stored.verifier == columns["client_verifier"]
    assert secret not in sealed
    assert client_keys.open_from_session(person.session_id(), sealed) == secret
    assert client_keys.open_from_session("B" * 22, sealed) is None  # another cookie

    # Signing in again with the client code: a new session, the same key, sealed anew.
    person.submit("/meeting", "/leave")
    back, response = signed_in(client, client_code)
    assert response.status_code == 303 and response.headers["location"] == "/meeting"
    assert secret_key_of(client, back) == secret
    again = bytes(session_row(client, back.session_id())["sealed_client_key"])
    assert again != sealed and len(again) == 72
    assert key_columns(client, row["consultation_id"]) == columns  # nothing rewritten


def _every_stored_value(client: TestClient) -> list[bytes]:
    svc = services_of(client)
    values: list[bytes] = []
    for table in metadata.sorted_tables:
        rows = in_app(client, svc.db.fetch_all, f"SELECT * FROM {table.name}")  # noqa: S608 - our names
        for row in rows:
            for value in tuple(row):
                if isinstance(value, bytes | memoryview):
                    values.append(bytes(value))
                elif value is not None:
                    values.append(str(value).encode("utf-8"))
    return values


def _opens(key: bytes, sealed: bytes) -> bool:
    try:
        nacl.secret.SecretBox(key).decrypt(sealed)
    except nacl.exceptions.CryptoError:
        return False
    return True


def test_a_copy_of_the_database_cannot_open_a_signed_in_clients_key(
    client: TestClient, ngo: Actor, slot: str, database_url: str
) -> None:
    person, client_code = redeem(client, slip_code(book(ngo, slot)))
    secret = secret_key_of(client, person)
    row = session_row(client, person.session_id())
    columns = key_columns(client, row["consultation_id"])
    k = nacl.pwhash.argon2id.kdf(
        32, codes.normalise(client_code).encode(), columns["client_key_salt"], 1, 1024 * 1024
    )
    values = _every_stored_value(client)
    assert values and any(len(v) == 72 for v in values)
    sealed = sealed_keys(client)
    assert len(sealed) == 1
    # Neither the secret key nor K is stored, nor the cookie's own value.
    for value in values:
        assert secret not in value and k not in value
        assert person.session_id().encode() not in value
    # Every stored value tried as the cookie value, as the session key, and as what
    # the session key is derived from: none opens the sealed key.
    tried = 0
    for value in values:
        candidates = [nacl.hash.blake2b(value, digest_size=32, person=b"portal-session",
                                        encoder=nacl.encoding.RawEncoder)]  # fmt: skip
        if len(value) == 32:
            candidates.append(value)
        for candidate in candidates:
            tried += 1
            assert not _opens(candidate, sealed[0])
        text = value.decode("utf-8", "replace")
        assert client_keys.open_from_session(text, sealed[0]) is None
    assert tried > len(values)
    # The file itself (SQLite): the raw bytes, write-ahead log included, hold neither.
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                raw = file.read_bytes()
                assert secret not in raw and k not in raw
                assert person.session_id().encode() not in raw
    # The cookie does open it: the test would notice a seal that opens with nothing.
    assert client_keys.open_from_session(person.session_id(), sealed[0]) == secret


def _book_and_redeem(client: TestClient, ngo: Actor, slot: str) -> tuple[str, str]:
    person, client_code = redeem(client, slip_code(book(ngo, slot)))
    consultation_id = session_row(client, person.session_id())["consultation_id"]
    person.submit("/meeting", "/leave")
    return consultation_id, client_code


def test_a_legacy_client_moves_to_v1_at_the_next_sign_in(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    svc = services_of(client)
    consultation_id, _v1_code = _book_and_redeem(client, ngo, slot)
    legacy = in_app(client, give_legacy_client_code, svc, consultation_id)
    before = key_columns(client, consultation_id)
    assert before["client_code_hash"].startswith("$argon2id$")
    assert before["client_verifier"] is None and before["client_public_key"] is None

    person, response = signed_in(client, codes.display(legacy))
    assert response.status_code == 303 and response.headers["location"] == "/meeting"
    after = key_columns(client, consultation_id)
    assert after["client_code_hash"] is None  # the legacy hash is gone
    assert after["client_code_lookup"] == before["client_code_lookup"]
    assert after["client_key_id"] and len(after["client_public_key"]) == 32
    assert (after["client_key_opslimit"], after["client_key_memlimit_kib"]) == (1, 1024)
    secret = secret_key_of(client, person)
    assert bytes(PrivateKey(secret).public_key) == after["client_public_key"]
    assert client_keys.derive(legacy, after["client_key_salt"], 1, 1024).secret_key == secret

    # The same code signs in again (now through v1), and gives the same key.
    person.submit("/meeting", "/leave")
    again, response = signed_in(client, legacy)
    assert response.status_code == 303
    assert secret_key_of(client, again) == secret
    assert key_columns(client, consultation_id) == after

    # A wrong code still fails, with the same answer as any wrong code.
    mistyped = legacy[:-1] + str((int(legacy[-1]) + 1) % 10)
    _person, wrong = signed_in(client, mistyped)
    assert wrong.status_code == 400
    assert "This code does not work" in wrong.text


def _page_without_token_or_code(response: httpx.Response, typed: str) -> str:
    return CSRF_FIELD.sub("", response.text).replace(typed, "CODE")


class _ArgonCounter:
    """Counts argon2 work (client key derivations and legacy hash checks) and where it
    ran: on the hashing pool's worker threads, never the event loop's thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
        self.derivations: list[str] = []
        self.legacy_checks: list[str] = []
        real_kdf = nacl.pwhash.argon2id.kdf
        hasher = services_of(client).codes.hasher
        real_verify = hasher.verify

        def kdf(*args: Any, **kwargs: Any) -> bytes:
            self.derivations.append(threading.current_thread().name)
            return real_kdf(*args, **kwargs)

        def verify(*args: Any) -> bool:
            self.legacy_checks.append(threading.current_thread().name)
            return real_verify(*args)

        monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", kdf)
        monkeypatch.setattr(hasher, "verify", verify)
        self.loop_thread = in_app(client, _thread_name)

    def reset(self) -> None:
        self.derivations.clear()
        self.legacy_checks.clear()

    def off_loop(self) -> bool:
        return self.loop_thread not in self.derivations + self.legacy_checks


async def _thread_name() -> str:
    return threading.current_thread().name


def test_unknown_old_and_mistyped_codes_are_answered_alike_after_argon2(
    client: TestClient, ngo: Actor, slot: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    consultation_id, old_code = _book_and_redeem(client, ngo, slot)
    # The NGO makes a new slip; the client redeems it: a new code and a new key.
    first = key_columns(client, consultation_id)
    path = f"/ngo/consultations/{consultation_id}"
    person, new_code = redeem(client, slip_code(ngo.submit(path, f"{path}/code")))
    second = key_columns(client, consultation_id)
    assert second["client_key_id"] != first["client_key_id"]
    assert second["client_public_key"] != first["client_public_key"]
    assert second["client_key_salt"] != first["client_key_salt"]
    person.submit("/meeting", "/leave")

    counter = _ArgonCounter(monkeypatch, client)
    mistyped = new_code.replace(" ", "")[:-1] + str((int(new_code[-1]) + 1) % 10)
    unknown = "0" * 19 + "1" if new_code.replace(" ", "") != "0" * 19 + "1" else "2" * 20
    pages = []
    for typed in (unknown, old_code, mistyped):
        counter.reset()
        _person, response = signed_in(client, typed)
        assert response.status_code == 400, typed
        # Exactly one argon2 derivation for each, off the event loop.
        assert len(counter.derivations) == 1 and counter.legacy_checks == []
        assert counter.off_loop()
        pages.append(_page_without_token_or_code(response, typed))
    assert "This code does not work" in pages[0]
    assert pages[0] == pages[1] == pages[2]
    # The right code: one derivation too, off the event loop.
    counter.reset()
    person, response = signed_in(client, new_code)
    assert response.status_code == 303
    assert len(counter.derivations) == 1 and counter.legacy_checks == []
    assert counter.off_loop()
    person.submit("/meeting", "/leave")

    # A legacy consultation: a mistyped code finds no row (the lookup is keyed by the
    # code), so it costs the dummy derivation; a code whose row holds another hash costs
    # one argon2 hash check. Both get the same answer.
    svc = services_of(client)
    legacy = in_app(client, give_legacy_client_code, svc, consultation_id)
    legacy_mistyped = legacy[:-1] + str((int(legacy[-1]) + 1) % 10)
    counter.reset()
    _person, response = signed_in(client, legacy_mistyped)
    assert response.status_code == 400
    assert len(counter.derivations) == 1 and counter.legacy_checks == []
    assert _page_without_token_or_code(response, legacy_mistyped) == pages[0]
    in_app(
        client,
        svc.db.execute,
        "UPDATE consultations SET client_code_hash = :h WHERE id = :id",
        h=svc.hasher.hash("98765432109876543210"),
        id=consultation_id,
    )
    counter.reset()
    _person, response = signed_in(client, legacy)
    assert response.status_code == 400
    assert len(counter.legacy_checks) == 1 and counter.derivations == []
    assert counter.off_loop()
    assert _page_without_token_or_code(response, legacy) == pages[0]
    assert key_columns(client, consultation_id)["client_verifier"] is None  # not upgraded


def test_the_sealed_key_goes_with_the_session(
    client: TestClient, clock: FakeClock, ngo: Actor, slot: str, world: World
) -> None:
    consultation_id, client_code = _book_and_redeem(client, ngo, slot)
    assert sealed_keys(client) == []  # leaving ended the row and its sealed key

    ends: list[Callable[[Actor], object]] = [
        lambda person: person.submit("/meeting", "/leave"),
        lambda person: person.submit("/meeting", "/bye"),
        lambda person: (
            clock.advance(services_of(client).settings.client_idle_timeout),
            person.get("/meeting"),
        ),
    ]
    for end in ends:
        person, response = signed_in(client, client_code)
        assert response.status_code == 303
        assert len(sealed_keys(client)) == 1
        end(person)
        assert sealed_keys(client) == []
        assert session_row(client, person.session_id()) is None
    # Staff sessions carry no client key.
    svc = services_of(client)
    staff = in_app(client, svc.sessions.load, ngo.session_id())
    assert staff.account is not None and staff.client_secret_key is None
    assert consultation_id


def test_a_client_session_from_before_v1_or_with_a_foreign_seal_has_no_key(
    client: TestClient, ngo: Actor, slot: str
) -> None:
    svc = services_of(client)
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    sid = person.session_id()
    assert secret_key_of(client, person)
    other = client_keys.seal_for_session("B" * 22, b"\x07" * 32)
    in_app(
        client,
        svc.db.execute,
        "UPDATE sessions SET sealed_client_key = :s WHERE id_hash = :h",
        s=other,
        h=sha256(sid),
    )
    current = in_app(client, svc.sessions.load, sid)
    assert current.consultation_id is not None and current.client_secret_key is None
    in_app(
        client,
        svc.db.execute,
        "UPDATE sessions SET sealed_client_key = NULL WHERE id_hash = :h",
        h=sha256(sid),
    )
    current = in_app(client, svc.sessions.load, sid)
    assert current.consultation_id is not None and current.client_secret_key is None
    assert person.get("/meeting").status_code == 200  # a legacy session still works
