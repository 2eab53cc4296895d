"""Client key v1 in Python: the fixed vectors, the session seal, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id
import pytest
from nacl.public import PrivateKey

from portal.crypto import client_keys
from portal.crypto.client_keys import (
    ClientKey,
    MalformedClientKey,
    derive,
    open_from_session,
    seal_for_session,
    verify,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "client_key_v1.json").read_text("utf-8"))
BY_NAME: dict[str, dict[str, Any]] = {v["name"]: v for v in VECTORS["vectors"]}
CHEAP = BY_NAME["the tests' cost"]
SEAL = VECTORS["session_seal"]


def b(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def stored(vector: dict[str, Any]) -> ClientKey:
    return ClientKey(
        b(vector["salt_b64"]),
        vector["opslimit"],
        vector["memlimit_kib"],
        b(vector["verifier_b64"]),
        b(vector["client_pk_b64"]),
    )


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_fixed_vectors_derive_byte_for_byte(name: str) -> None:
    v = BY_NAME[name]
    derived = derive(v["code"], b(v["salt_b64"]), v["opslimit"], v["memlimit_kib"])
    assert derived.stored.verifier == b(v["verifier_b64"])
    assert derived.secret_key == b(v["client_sk_b64"])
    assert derived.stored.public_key == b(v["client_pk_b64"])
    assert derived.stored.salt == b(v["salt_b64"])
    assert (derived.stored.opslimit, derived.stored.memlimit_kib) == (
        v["opslimit"],
        v["memlimit_kib"],
    )


def test_the_vectors_follow_the_written_formula_with_other_implementations() -> None:
    """K from libsodium's argon2id, then the standard library's BLAKE2b (which pads the
    personalisation with zeros like libsodium), then X25519: the formula in docs/crypto.md,
    computed without portal code."""
    for v in VECTORS["vectors"]:
        k = nacl.pwhash.argon2id.kdf(
            32,
            v["code"].encode(),
            b(v["salt_b64"]),
            opslimit=v["opslimit"],
            memlimit=v["memlimit_kib"] * 1024,
        )
        assert k == b(v["k_b64"])
        verifier = hashlib.blake2b(k, digest_size=32, person=b"portal-verify").digest()
        secret = hashlib.blake2b(k, digest_size=32, person=b"portal-x25519").digest()
        assert verifier == b(v["verifier_b64"])
        assert secret == b(v["client_sk_b64"])
        assert bytes(PrivateKey(secret).public_key) == b(v["client_pk_b64"])
        assert verifier != secret


def test_one_vector_is_pinned_here_too() -> None:
    """A regenerated vector file cannot hide a changed derivation."""
    assert CHEAP["verifier_b64"] == "9VNEtyJOdGH97l5G7WXCYNB18UrLSaTszmUqqyJg68I="
    assert CHEAP["client_pk_b64"] == "5Ul+KjyiaDX655AZs6XOvq/OnDdXwNVNy0KaxrC4qW4="
    assert SEAL["sealed_b64"].endswith("nxnzkXdMpRWSXMkyYfWlQvQFevyIhyZh")


def test_the_session_seal_vector() -> None:
    sealed = client_keys._seal_for_session_with(
        SEAL["cookie"], b(SEAL["client_sk_b64"]), b(SEAL["nonce_b64"])
    )
    assert sealed == b(SEAL["sealed_b64"])
    assert len(sealed) == 72
    assert sealed[:24] == b(SEAL["nonce_b64"])
    key = hashlib.blake2b(SEAL["cookie"].encode(), digest_size=32, person=b"portal-session")
    assert key.digest() == b(SEAL["session_key_b64"])
    assert open_from_session(SEAL["cookie"], sealed) == b(SEAL["client_sk_b64"])


def test_a_sealed_key_opens_only_with_its_own_cookie_and_unaltered() -> None:
    secret = b(SEAL["client_sk_b64"])
    sealed = seal_for_session("AAAAAAAAAAAAAAAAAAAAAA", secret)
    assert len(sealed) == 72
    assert secret not in sealed
    assert open_from_session("AAAAAAAAAAAAAAAAAAAAAA", sealed) == secret
    assert open_from_session("AAAAAAAAAAAAAAAAAAAAAB", sealed) is None
    for index in (0, 23, 24, 40, 71):
        altered = bytearray(sealed)
        altered[index] ^= 1
        assert open_from_session("AAAAAAAAAAAAAAAAAAAAAA", bytes(altered)) is None
    assert open_from_session("AAAAAAAAAAAAAAAAAAAAAA", sealed[:71]) is None
    assert open_from_session("AAAAAAAAAAAAAAAAAAAAAA", b"") is None
    # A fresh nonce every time: the same key sealed twice looks unrelated.
    assert seal_for_session("AAAAAAAAAAAAAAAAAAAAAA", secret) != sealed


def test_the_right_code_verifies_and_any_other_does_not() -> None:
    key = stored(CHEAP)
    found = verify(CHEAP["code"], key)
    assert found is not None
    assert found.secret_key == b(CHEAP["client_sk_b64"])
    for wrong in ("00000000000000000001", "10000000000000000000", "0000000000000000000"):
        assert verify(wrong, key) is None
    other_salt = ClientKey(b"\x01" * 16, 1, 1024, key.verifier, key.public_key)
    assert verify(CHEAP["code"], other_salt) is None


def test_new_keys_get_a_fresh_salt_and_so_a_new_key_pair() -> None:
    one = client_keys.new_key("11112222333344445555", 1, 1024)
    two = client_keys.new_key("11112222333344445555", 1, 1024)
    assert one.stored.salt != two.stored.salt
    assert one.secret_key != two.secret_key
    assert one.stored.public_key != two.stored.public_key
    assert verify("11112222333344445555", one.stored) is not None


def test_the_secret_key_stays_out_of_repr() -> None:
    derived = derive(CHEAP["code"], b(CHEAP["salt_b64"]), 1, 1024)
    text = repr(derived)
    assert "secret_key" not in text
    assert derived.secret_key.hex() not in text
    assert repr(derived.secret_key) not in text


@pytest.mark.parametrize("code", ["", "1234 5678", "١٢٣٤", "12345678901234567890\n"])
def test_only_normalised_digits_are_derived(code: str) -> None:
    with pytest.raises(ValueError, match="normalised"):
        derive(code, b"\x00" * 16, 1, 1024)


@pytest.mark.parametrize(
    ("salt", "ops", "mem"),
    [(b"\x00" * 15, 1, 1024), (b"\x00" * 17, 1, 1024), (b"\x00" * 16, 0, 1024),
     (b"\x00" * 16, 21, 1024), (b"\x00" * 16, 1, 7), (b"\x00" * 16, 1, 4 * 1024**3)],
)  # fmt: skip
def test_a_hostile_cost_or_salt_is_refused_before_argon2(
    salt: bytes, ops: int, mem: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_argon2(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("argon2 ran")

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", no_argon2)
    with pytest.raises(MalformedClientKey):
        derive("12345678901234567890", salt, ops, mem)


def test_the_dummy_derivation_does_the_same_argon2_work(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    real = nacl.pwhash.argon2id.kdf

    def counting(size: int, password: bytes, salt: bytes, *, opslimit: int, memlimit: int) -> bytes:
        calls.append((opslimit, memlimit))
        return real(size, password, salt, opslimit=opslimit, memlimit=memlimit)

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", counting)
    client_keys.derive_dummy("12345678901234567890", 2, 19456)
    assert calls == [(2, 19456 * 1024)]
