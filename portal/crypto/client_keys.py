"""Client key v1: one argon2id derivation of the client code gives the sign-in verifier
and the client's X25519 key pair (docs/crypto.md, "Client key v1").

Threats addressed:

- A stolen database or backup. It holds the salt, the cost, the verifier and the public
  key, never the argon2 output ``K`` nor the secret key: each guess of a code costs one
  argon2id derivation (and the pepper-keyed lookup, outside this module, must be guessed
  too). The verifier and the secret key come from ``K`` through BLAKE2b with different
  personalisations, so the verifier tells nothing about the secret key.
- Timing. The verifier is compared in constant time, and an unknown code is answered
  after the same argon2 work on a dummy salt (``derive_dummy``), so a wrong code is not
  told apart from an unknown one by how long the answer takes.
- A signed-in client's secret key at rest. A session row holds it only sealed
  (``seal_for_session``): secretbox under BLAKE2b of the cookie value, which the
  database never stores (it keeps only its sha256). The database alone cannot open it,
  and the sealed key goes with the row when the session ends.
- A hostile or corrupt row asking for absurd argon2 work: the cost is checked before
  argon2 runs (``MalformedClientKey``).

Not addressed here: a code read over the client's shoulder, a compromised server while
the client is signed in (it holds the cookie and the row), where the key is used.

Every derivation is CPU- and memory-heavy: callers run it on the hashing pool
(``crypto/hashing.py``), never on the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.pwhash.argon2id
import nacl.secret
from nacl.public import PrivateKey

SALT_BYTES = 16
KEY_BYTES = 32
NONCE_BYTES = nacl.secret.SecretBox.NONCE_SIZE  # 24
SEALED_BYTES = NONCE_BYTES + nacl.secret.SecretBox.MACBYTES + KEY_BYTES  # 72

# BLAKE2b personalisations (at most 16 bytes; libsodium pads them with zeros).
PERSON_VERIFY = b"portal-verify"
PERSON_X25519 = b"portal-x25519"
PERSON_SESSION = b"portal-session"

# Outside these a stored key is refused before argon2 runs: the floor is libsodium's
# own, the ceiling keeps a corrupt row from asking for a billion passes or 4 TiB.
MIN_OPSLIMIT, MAX_OPSLIMIT = 1, 20
MIN_MEMLIMIT_KIB, MAX_MEMLIMIT_KIB = 8, 1024 * 1024

# The dummy derivation's salt: any value works, its output is thrown away.
_DUMMY_SALT = secrets.token_bytes(SALT_BYTES)


class MalformedClientKey(ValueError):
    """A salt of the wrong length or an argon2 cost outside the limits."""


@dataclass(frozen=True)
class ClientKey:
    """What is stored for a client code (no secret: the verifier is a one-way image)."""

    salt: bytes
    opslimit: int
    memlimit_kib: int
    verifier: bytes
    public_key: bytes


@dataclass(frozen=True)
class Derived:
    """One derivation's output. The secret key is kept out of ``repr`` (and so out of
    tracebacks and logs)."""

    stored: ClientKey
    secret_key: bytes = field(repr=False)


def _blake2b(data: bytes, person: bytes) -> bytes:
    """BLAKE2b-256 with a personalisation (zero-padded to 16 bytes, as libsodium's
    ``crypto_generichash_blake2b_salt_personal``): the standard library's, which runs on
    every client request (the session key) ten times faster than PyNaCl's wrapper."""
    return hashlib.blake2b(data, digest_size=32, person=person).digest()


def _check(salt: bytes, opslimit: int, memlimit_kib: int) -> None:
    if len(salt) != SALT_BYTES:
        raise MalformedClientKey("the salt must be 16 bytes")
    if not (MIN_OPSLIMIT <= opslimit <= MAX_OPSLIMIT) or not (
        MIN_MEMLIMIT_KIB <= memlimit_kib <= MAX_MEMLIMIT_KIB
    ):
        raise MalformedClientKey(f"argon2 cost out of range ({opslimit}, {memlimit_kib} KiB)")


def derive(code: str, salt: bytes, opslimit: int, memlimit_kib: int) -> Derived:
    """``K = argon2id(UTF-8(NFC(code)), salt, t, m, p=1, 32 bytes)``; the verifier and the
    X25519 secret key are BLAKE2b-256 of ``K`` under two personalisations.

    ``code``: the normalised client code (``domain/codes.normalise``: ASCII digits).
    """
    if not code.isascii() or not code.isdigit():
        raise ValueError("a client code is normalised to ASCII digits before derivation")
    _check(salt, opslimit, memlimit_kib)
    k = nacl.pwhash.argon2id.kdf(
        KEY_BYTES,
        unicodedata.normalize("NFC", code).encode("utf-8"),
        salt,
        opslimit=opslimit,
        memlimit=memlimit_kib * 1024,
    )
    secret_key = _blake2b(k, PERSON_X25519)
    public_key = bytes(PrivateKey(secret_key).public_key)
    verifier = _blake2b(k, PERSON_VERIFY)
    return Derived(ClientKey(salt, opslimit, memlimit_kib, verifier, public_key), secret_key)


def new_key(code: str, opslimit: int, memlimit_kib: int) -> Derived:
    """A fresh salt and the derivation under it (a new client code)."""
    return derive(code, secrets.token_bytes(SALT_BYTES), opslimit, memlimit_kib)


def verify(code: str, stored: ClientKey) -> Derived | None:
    """The derivation if ``code`` matches ``stored`` (compared in constant time)."""
    derived = derive(code, stored.salt, stored.opslimit, stored.memlimit_kib)
    if hmac.compare_digest(derived.stored.verifier, stored.verifier):
        return derived
    return None


def derive_dummy(code: str, opslimit: int, memlimit_kib: int) -> None:
    """The same argon2 work as ``verify`` for a code with no stored key."""
    derive(code, _DUMMY_SALT, opslimit, memlimit_kib)


# --- the secret key in a session row -------------------------------------------------------


def _session_box(cookie_value: str) -> nacl.secret.SecretBox:
    return nacl.secret.SecretBox(_blake2b(cookie_value.encode("utf-8"), PERSON_SESSION))


def _seal_for_session_with(cookie_value: str, secret_key: bytes, nonce: bytes) -> bytes:
    if len(secret_key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("a 32-byte secret key and a 24-byte nonce")
    return bytes(_session_box(cookie_value).encrypt(secret_key, nonce))


def seal_for_session(cookie_value: str, secret_key: bytes) -> bytes:
    """``nonce[24] || secretbox(secret_key, nonce, BLAKE2b-256(cookie, "portal-session"))``,
    72 bytes. ``cookie_value``: the session id as the cookie carries it."""
    return _seal_for_session_with(cookie_value, secret_key, secrets.token_bytes(NONCE_BYTES))


def open_from_session(cookie_value: str, sealed: bytes) -> bytes | None:
    """The secret key, or None if ``sealed`` does not open with this cookie value."""
    if len(sealed) != SEALED_BYTES:
        return None
    try:
        return bytes(_session_box(cookie_value).decrypt(sealed))
    except nacl.exceptions.CryptoError:
        return None
