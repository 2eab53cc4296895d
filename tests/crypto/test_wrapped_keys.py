"""Wrapped private keys v1 in Python: round trips, the fixed vectors, and every refusal."""

from __future__ import annotations

import base64
import json
import struct
import unicodedata
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id
import pytest
from nacl.public import PrivateKey

from portal.crypto.wrapped_keys import (
    KeyMismatch,
    MalformedWrappedKey,
    WrongPassphrase,
    normalise_recovery_key,
    unwrap,
    wrap,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "wrapped_keys.json").read_text("utf-8"))
SK = base64.b64decode(VECTORS["secret_key_b64"])
PK = base64.b64decode(VECTORS["public_key_b64"])
OTHER_PK = base64.b64decode(VECTORS["other_public_key_b64"])
BY_NAME: dict[str, dict[str, Any]] = {v["name"]: v for v in VECTORS["vectors"]}
SMALL = BY_NAME["ascii passphrase"]
SMALL_WRAPPED = base64.b64decode(SMALL["wrapped_b64"])
FAST = {"opslimit": 2, "memlimit_kib": 19456}  # the floor: the cheapest allowed


def flipped(data: bytes, index: int, bit: int = 0x01) -> bytes:
    out = bytearray(data)
    out[index] ^= bit
    return bytes(out)


def with_params(wrapped: bytes, opslimit: int, memlimit_kib: int) -> bytes:
    return wrapped[:1] + struct.pack(">II", opslimit, memlimit_kib) + wrapped[9:]


@pytest.fixture
def no_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("argon2 must not run for this input")

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", refuse)


def test_round_trip_and_layout() -> None:
    wrapped = wrap(SK, "a passphrase", **FAST)
    assert len(wrapped) == 97
    assert wrapped[0] == 1
    assert struct.unpack(">II", wrapped[1:9]) == (2, 19456)
    assert unwrap(wrapped, "a passphrase", PK) == SK
    assert unwrap(wrapped, "a passphrase") == SK  # the check is optional in Python


def test_salt_and_nonce_are_fresh_each_time() -> None:
    first, second = wrap(SK, "same", **FAST), wrap(SK, "same", **FAST)
    assert first[9:25] != second[9:25]  # salt
    assert first[25:49] != second[25:49]  # nonce


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_vectors_unwrap(vector: dict[str, Any]) -> None:
    wrapped = base64.b64decode(vector["wrapped_b64"])
    assert struct.unpack(">II", wrapped[1:9]) == (vector["opslimit"], vector["memlimit_kib"])
    assert unwrap(wrapped, vector["passphrase"], PK) == SK


def test_default_parameters_are_3_passes_and_64_mib() -> None:
    assert struct.unpack(
        ">II", base64.b64decode(BY_NAME["default parameters"]["wrapped_b64"])[1:9]
    ) == (3, 65536)


def test_passphrase_is_nfc_normalised() -> None:
    vector = BY_NAME["unicode passphrase (NFC)"]
    nfd = vector["passphrase_nfd"]
    assert nfd != vector["passphrase"] and unicodedata.is_normalized("NFD", nfd)
    assert unwrap(base64.b64decode(vector["wrapped_b64"]), nfd, PK) == SK


def test_recovery_key_as_typed_unwraps() -> None:
    vector = BY_NAME["recovery key"]
    wrapped = base64.b64decode(vector["wrapped_b64"])
    for typed in (vector["recovery_key"], vector["recovery_key_as_typed"]):
        assert unwrap(wrapped, normalise_recovery_key(typed), PK) == SK
    with pytest.raises(WrongPassphrase):
        unwrap(wrapped, vector["recovery_key"], PK)  # dashes are not part of the passphrase


@pytest.mark.parametrize(("typed", "normalised"), VECTORS["recovery_key_normalisation"])
def test_recovery_key_normalisation(typed: str, normalised: str) -> None:
    assert normalise_recovery_key(typed) == normalised


def test_wrong_passphrase() -> None:
    for passphrase in ("correct horse battery stapl", "Correct horse battery staple", ""):
        with pytest.raises(WrongPassphrase, match="wrong passphrase"):
            unwrap(SMALL_WRAPPED, passphrase, PK)


def test_key_mismatch() -> None:
    with pytest.raises(KeyMismatch, match="does not belong to the registered public key"):
        unwrap(SMALL_WRAPPED, SMALL["passphrase"], OTHER_PK)
    stranger = bytes(PrivateKey.generate())
    with pytest.raises(KeyMismatch):
        unwrap(wrap(stranger, "p", **FAST), "p", PK)


@pytest.mark.parametrize(
    "index",
    [4, 8, 9, 24, 25, 48, 49, 64, 96],
    ids=["opslimit", "memlimit", "salt first", "salt last", "nonce first", "nonce last",
         "tag first", "tag last", "secret key last"],
)  # fmt: skip
def test_tampered_byte_is_refused(index: int) -> None:
    with pytest.raises(WrongPassphrase):
        unwrap(flipped(SMALL_WRAPPED, index), SMALL["passphrase"], PK)


@pytest.mark.parametrize(
    ("opslimit", "memlimit_kib"),
    [(0, 19456), (21, 19456), (2**32 - 1, 19456), (2, 19455), (2, 0), (2, 2**20 + 1),
     (2, 2**32 - 1), (2**32 - 1, 2**32 - 1),
     # Below the floor (argon2id 19 MiB, 2 passes): cheap to guess from a stolen database.
     (1, 19456), (1, 65536), (2, 8192), (3, 8192), (1, 8)],
)  # fmt: skip
def test_absurd_or_weak_parameters_refused_without_argon2(
    no_argon2: None, opslimit: int, memlimit_kib: int
) -> None:
    with pytest.raises(MalformedWrappedKey, match="out of range"):
        unwrap(with_params(SMALL_WRAPPED, opslimit, memlimit_kib), SMALL["passphrase"], PK)
    with pytest.raises(ValueError, match="out of range"):
        wrap(SK, "p", opslimit=opslimit, memlimit_kib=memlimit_kib)


@pytest.mark.parametrize(
    "wrapped",
    [b"", b"\x01", SMALL_WRAPPED[:96], SMALL_WRAPPED + b"\x00", b"\x02" + SMALL_WRAPPED[1:],
     b"\x00" + SMALL_WRAPPED[1:], flipped(SMALL_WRAPPED, 1, 0x80), flipped(SMALL_WRAPPED, 5)],
    ids=["empty", "version only", "short", "long", "version 2", "version 0", "huge opslimit",
         "huge memlimit"],
)  # fmt: skip
def test_malformed_refused_without_argon2(no_argon2: None, wrapped: bytes) -> None:
    with pytest.raises(MalformedWrappedKey, match="malformed"):
        unwrap(wrapped, SMALL["passphrase"], PK)


def test_wrap_refuses_bad_input_without_argon2(no_argon2: None) -> None:
    with pytest.raises(ValueError):
        wrap(SK[:31], "p")
    with pytest.raises(ValueError):
        wrap(SK, "")
