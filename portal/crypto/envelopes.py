"""Note envelopes v1: notes sealed to an investigator's public key (docs/crypto.md).

Format (a contract shared with ``static/js/sealing.js``; see docs/crypto.md)::

    0x01 || ephemeral_pk[32] || nonce[24] || crypto_box(plaintext, nonce, investigator_pk,
                                                         ephemeral_sk)

Threats addressed: the server, database, backups or logs being read (the server only
stores envelopes; the no-JS fallback seals here, in the request, and never keeps the
plaintext); an envelope altered or truncated (authenticated encryption refuses it, a short
or unknown-version input is refused as malformed); an envelope moved to another
consultation or reused as another kind of note (the context is inside the plaintext and
checked by :func:`open_json`, because anyone holding the public key can seal, so the
sender is not authenticated); a low-order public key (libsodium refuses it); the one bit
X25519 ignores (the top bit of the ephemeral key), refused so no envelope is malleable.

Not addressed here: a substituted investigator public key (compare :func:`fingerprint` out
of band), a compromised device, who sealed an envelope.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.utils
from nacl.public import Box, PrivateKey, PublicKey

VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 24
HEADER_BYTES = 1 + KEY_BYTES + NONCE_BYTES
TAG_BYTES = 16
OVERHEAD = HEADER_BYTES + TAG_BYTES  # what sealing adds to a plaintext
MIN_ENVELOPE_BYTES = OVERHEAD  # an empty plaintext
# Plaintexts sealed in a browser (messages, referral notes, safety plan details) are
# padded to a multiple of this, so an envelope's size does not tell the text's length.
PAD_TO = 256

__all__ = [
    "CannotOpen",
    "EnvelopeError",
    "MalformedEnvelope",
    "WrongContext",
    "fingerprint",
    "is_usable_public_key",
    "open_envelope",
    "open_json",
    "padded_envelope",
    "padded_json",
    "seal",
    "seal_json",
]


class EnvelopeError(Exception):
    """An envelope was refused."""


class MalformedEnvelope(EnvelopeError):
    """Too short, an unknown version, or content that is not a JSON object."""


class CannotOpen(EnvelopeError):
    """Decryption failed: the wrong secret key, or the envelope was altered."""


class WrongContext(EnvelopeError):
    """The envelope opened but belongs to another consultation, kind or author."""


def is_usable_public_key(public_key: bytes) -> bool:
    """Whether notes can be sealed to ``public_key``: 32 bytes, the top bit clear, and not
    a point of low order.

    Threat: a registered key of low order (all zeros among them) would make the shared
    key of every envelope predictable, and libsodium refuses to seal to it, so each note
    sealed on the server would fail. X25519 clamps every scalar to a multiple of 8, so a
    point of order 1, 2, 4 or 8 multiplied by any scalar gives all zeros (libsodium then
    refuses the result); any other point gives all zeros only with negligible chance. The
    top bit is ignored by X25519: a key with it set is another spelling of a different
    key, and no real key has it (the same rule as for ephemeral keys in envelopes).
    """
    if len(public_key) != KEY_BYTES or public_key[-1] & 0x80:
        return False
    probe = nacl.utils.random(KEY_BYTES)
    try:
        shared = nacl.bindings.crypto_scalarmult(probe, bytes(public_key))
    except nacl.exceptions.CryptoError:  # libsodium refuses an all-zero result
        return False
    return shared != bytes(KEY_BYTES)  # in case a library returns it instead


def _seal_with(public_key: bytes, plaintext: bytes, ephemeral: PrivateKey, nonce: bytes) -> bytes:
    """Seal with a given ephemeral key and nonce: only for fixed test vectors."""
    if len(public_key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("public key must be 32 bytes and nonce 24 bytes")
    try:
        box = Box(ephemeral, PublicKey(public_key))
    except nacl.exceptions.CryptoError as error:
        raise ValueError("not a usable public key") from error
    ciphertext = box.encrypt(plaintext, nonce).ciphertext
    return bytes([VERSION]) + bytes(ephemeral.public_key) + nonce + ciphertext


def seal(public_key: bytes, plaintext: bytes) -> bytes:
    """Seal ``plaintext`` to ``public_key`` with a fresh ephemeral key pair and nonce."""
    return _seal_with(public_key, plaintext, PrivateKey.generate(), nacl.utils.random(NONCE_BYTES))


def open_envelope(secret_key: bytes, envelope: bytes) -> bytes:
    """Open an envelope v1 with the investigator's secret key; return the plaintext bytes."""
    if len(secret_key) != KEY_BYTES:
        raise ValueError("secret key must be 32 bytes")
    env = bytes(envelope)
    if len(env) < MIN_ENVELOPE_BYTES or env[0] != VERSION:
        raise MalformedEnvelope("envelope is malformed (too short or unknown version)")
    if env[32] & 0x80:
        # X25519 ignores the top bit, so a flipped one would still open: refuse it. A real
        # ephemeral public key (< 2**255 - 19) never has it set.
        raise CannotOpen("envelope cannot be opened: wrong key or altered")
    try:
        # crypto_box_open itself, not Box(PrivateKey(...)): PrivateKey derives its public
        # key, a second X25519 multiplication per envelope that opening does not need
        # (57 instead of 93 µs here; the client's meeting page opens in the request).
        return nacl.bindings.crypto_box_open(env[57:], env[33:57], env[1:33], secret_key)
    except nacl.exceptions.CryptoError as error:
        raise CannotOpen("envelope cannot be opened: wrong key or altered") from error


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every envelope: json.loads with an argument builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def _encode(message: Mapping[str, Any]) -> bytes:
    text = json.dumps(dict(message), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def padded_json(message: Mapping[str, Any]) -> bytes:
    """A plaintext as the browser seals it: compact UTF-8 JSON, then spaces up to a
    multiple of ``PAD_TO`` bytes."""
    data = _encode(message)
    return data + b" " * (-len(data) % PAD_TO)


def seal_json(public_key: bytes, message: dict[str, Any]) -> bytes:
    """Seal ``message`` as UTF-8 JSON. Put the context fields in it (docs/crypto.md)."""
    if not isinstance(message, dict):
        raise TypeError("message must be a dict")
    return seal(public_key, _encode(message))


def _same(actual: Any, expected: Any) -> bool:
    # JSON semantics, as in JavaScript's ===: True is not 1, but 1 is 1.0.
    return isinstance(actual, bool) == isinstance(expected, bool) and actual == expected


def open_json(secret_key: bytes, envelope: bytes, expected: Mapping[str, Any]) -> dict[str, Any]:
    """Open a JSON envelope and check every ``expected`` key/value is in it, unchanged."""
    for key, value in expected.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise TypeError(f"expected {key} must be a string, number, boolean or None")
    plaintext = open_envelope(secret_key, envelope)
    try:
        message = _DECODER.decode(plaintext.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        raise MalformedEnvelope("envelope is malformed (its content is not JSON)") from error
    if not isinstance(message, dict):
        raise MalformedEnvelope("envelope is malformed (its content is not a JSON object)")
    for key, value in expected.items():
        if key not in message or not _same(message[key], value):
            raise WrongContext(f"envelope belongs to another context ({key} differs)")
    return message


def padded_envelope(value: str, max_plaintext: int) -> bytes | None:
    """``value`` decoded if it is a well-formed padded envelope: standard base64, version
    1, a plaintext of whole ``PAD_TO`` blocks, at least one and at most ``max_plaintext``
    bytes; else None. Checked before anything is stored: the server cannot open it."""
    try:
        envelope = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if (
        not OVERHEAD + PAD_TO <= len(envelope) <= OVERHEAD + max_plaintext
        or envelope[0] != VERSION
        or (len(envelope) - OVERHEAD) % PAD_TO
    ):
        return None
    return envelope


def fingerprint(public_key: bytes) -> str:
    """First 16 bytes of SHA-512(public key), lowercase hex in groups of 4, as in JS."""
    if len(public_key) != KEY_BYTES:
        raise ValueError("public key must be 32 bytes")
    digest = hashlib.sha512(public_key).hexdigest()[:32]
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))
