"""Note envelopes v1 in Python: round trips, the fixed vectors, and every refusal."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey

from portal.crypto.envelopes import (
    CannotOpen,
    EnvelopeError,
    MalformedEnvelope,
    WrongContext,
    fingerprint,
    is_usable_public_key,
    open_envelope,
    open_json,
    seal,
    seal_json,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "envelopes.json").read_text("utf-8"))
SK = base64.b64decode(VECTORS["secret_key_b64"])
PK = base64.b64decode(VECTORS["public_key_b64"])
OTHER_SK = base64.b64decode(VECTORS["other_secret_key_b64"])
NOTE: dict[str, Any] = VECTORS["vectors"][0]
NOTE_ENVELOPE = base64.b64decode(NOTE["envelope_b64"])


def flipped(data: bytes, index: int, bit: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= bit
    return bytes(out)


@pytest.mark.parametrize("size", [0, 1, 1000, 200_000])
def test_round_trip_bytes(size: int) -> None:
    plaintext = bytes(i % 251 for i in range(size))
    envelope = seal(PK, plaintext)
    assert envelope[0] == 1
    assert len(envelope) == 1 + 32 + 24 + 16 + size
    assert open_envelope(SK, envelope) == plaintext


def test_round_trip_json_with_context() -> None:
    message = {"v": 1, "consultation": "c-1", "kind": "client_note", "text": "Ää 🙂"}
    envelope = seal_json(PK, message)
    assert open_json(SK, envelope, {"consultation": "c-1", "kind": "client_note"}) == message
    assert open_json(SK, envelope, {}) == message


def test_each_seal_has_a_fresh_ephemeral_key_and_nonce() -> None:
    first, second = seal(PK, b"same"), seal(PK, b"same")
    assert first[1:33] != second[1:33]
    assert first[33:57] != second[33:57]


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_open(vector: dict[str, Any]) -> None:
    envelope = base64.b64decode(vector["envelope_b64"])
    assert open_envelope(SK, envelope) == base64.b64decode(vector["plaintext_b64"])
    if "message" in vector:
        assert open_json(SK, envelope, vector["context"]) == vector["message"]


def test_fingerprint_matches_vectors() -> None:
    assert fingerprint(PK) == VECTORS["fingerprint"]
    other = base64.b64decode(VECTORS["other_public_key_b64"])
    assert fingerprint(other) == VECTORS["other_fingerprint"]
    assert len(VECTORS["fingerprint"]) == 39  # 8 groups of 4 hex digits


def test_every_single_byte_change_is_refused() -> None:
    for index in range(len(NOTE_ENVELOPE)):
        expected = MalformedEnvelope if index == 0 else CannotOpen
        with pytest.raises(expected):
            open_envelope(SK, flipped(NOTE_ENVELOPE, index))


def test_every_single_bit_change_is_refused() -> None:
    """Every bit of the shortest envelope, including the top bit X25519 would ignore."""
    shortest = base64.b64decode(VECTORS["vectors"][1]["envelope_b64"])
    assert len(shortest) == 73
    for index in range(len(shortest)):
        for bit in range(8):
            with pytest.raises(EnvelopeError):
                open_envelope(SK, flipped(shortest, index, 1 << bit))


@pytest.mark.parametrize(
    ("index", "part"),
    [(1, "ephemeral pk"), (32, "ephemeral pk"), (33, "nonce"), (56, "nonce"), (57, "tag"),
     (73, "ciphertext"), (-1, "ciphertext")],
)  # fmt: skip
def test_tampered_part_cannot_be_opened(index: int, part: str) -> None:
    with pytest.raises(CannotOpen, match="wrong key or altered"):
        open_json(SK, flipped(NOTE_ENVELOPE, index), NOTE["context"])


def test_top_bit_of_ephemeral_key_is_refused() -> None:
    with pytest.raises(CannotOpen):
        open_envelope(SK, flipped(NOTE_ENVELOPE, 32, 0x80))


def test_wrong_key_cannot_open() -> None:
    with pytest.raises(CannotOpen, match="wrong key or altered"):
        open_json(OTHER_SK, NOTE_ENVELOPE, NOTE["context"])
    with pytest.raises(CannotOpen):
        open_envelope(bytes(PrivateKey.generate()), seal(PK, b"x"))


@pytest.mark.parametrize(
    "expected",
    [
        {"consultation": "c-other"},
        {"kind": "client_note"},
        {"author": "investigator"},
        {"v": 2},
        {"v": True},  # JSON semantics: true is not 1
        {"v": "1"},
        {"missing": None},
    ],
)
def test_wrong_context_is_refused(expected: dict[str, Any]) -> None:
    with pytest.raises(WrongContext, match="another context"):
        open_json(SK, NOTE_ENVELOPE, {**NOTE["context"], **expected})


def test_context_values_must_be_scalars() -> None:
    with pytest.raises(TypeError):
        open_json(SK, NOTE_ENVELOPE, {"languages": ["fi", "ru", "ar"]})


@pytest.mark.parametrize(
    "envelope",
    [b"", b"\x01", NOTE_ENVELOPE[:72], b"\x02" + NOTE_ENVELOPE[1:], b"\x00" + NOTE_ENVELOPE[1:]],
    ids=["empty", "version only", "one byte short", "version 2", "version 0"],
)
def test_malformed_is_refused(envelope: bytes) -> None:
    with pytest.raises(MalformedEnvelope, match="malformed"):
        open_json(SK, envelope, {})


@pytest.mark.parametrize("plaintext", [b"[1, 2]", b"null", b"not json", b"\xff\xfe", b"NaN"])
def test_content_that_is_not_a_json_object_is_malformed(plaintext: bytes) -> None:
    with pytest.raises(MalformedEnvelope):
        open_json(SK, seal(PK, plaintext), {})


def test_bad_keys_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        seal(PK[:31], b"x")
    with pytest.raises(ValueError, match="not a usable public key"):
        seal(bytes(32), b"x")  # a low-order point: the shared key would be public
    with pytest.raises(ValueError):
        open_envelope(SK[:31], NOTE_ENVELOPE)
    with pytest.raises(ValueError):
        fingerprint(PK + b"\x00")


# The points of low order on Curve25519 (and their spellings at or above p = 2**255 - 19)
# that libsodium lists: a key among them would make every shared key predictable.
LOW_ORDER = {
    "zero": "00" * 32,
    "one": "01" + "00" * 31,
    "order 8, first": "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "order 8, second": "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "p - 1 (order 2)": "ec" + "ff" * 30 + "7f",
    "p (zero again)": "ed" + "ff" * 30 + "7f",
    "p + 1 (one again)": "ee" + "ff" * 30 + "7f",
}


@pytest.mark.parametrize("point", LOW_ORDER.values(), ids=LOW_ORDER.keys())
def test_low_order_public_keys_are_not_usable(point: str) -> None:
    assert not is_usable_public_key(bytes.fromhex(point))


def test_real_public_keys_are_usable_and_odd_lengths_or_the_top_bit_are_not() -> None:
    assert is_usable_public_key(PK)
    assert all(is_usable_public_key(bytes(PrivateKey.generate().public_key)) for _ in range(50))
    assert not is_usable_public_key(PK[:31])
    assert not is_usable_public_key(PK + b"\x00")
    assert not is_usable_public_key(PK[:31] + bytes([PK[31] | 0x80]))  # X25519 ignores it
