"""Wrapped private keys v1: an investigator's secret key under a passphrase (docs/crypto.md).

Format (a contract shared with ``static/js/sealing.js``; see docs/crypto.md)::

    0x01 || opslimit u32be || memlimit_KiB u32be || salt[16] || nonce[24]
         || secretbox(secret_key[32], nonce, argon2id(NFC(passphrase), salt))

Wrapping normally happens in the investigator's browser; this module lets tests and the
offline CLI read and write the same bytes.

Threats addressed: a stolen database or backup (each passphrase guess costs argon2id,
64 MiB and 3 passes by default); a wrapped key swapped for another (``unwrap`` checks the
public key against the registered one); a hostile wrapped key whose parameters would
exhaust memory or time, or so low that guessing would be cheap (refused before argon2
runs, in both directions); the same passphrase typed in another Unicode form (NFC
normalisation). A changed header byte (parameters, salt) changes the
derived key, so it is refused like a wrong passphrase.

Not addressed here: a weak passphrase, a keylogger, the server serving altered JavaScript.
"""

from __future__ import annotations

import hmac
import re
import struct
import unicodedata

import nacl.exceptions
import nacl.pwhash.argon2id
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey

VERSION = 1
SALT_BYTES = 16
NONCE_BYTES = 24
KEY_BYTES = 32
_HEADER = struct.Struct(">BII16s24s")  # version, opslimit, memlimit KiB, salt, nonce
WRAPPED_BYTES = _HEADER.size + KEY_BYTES + 16  # 97: the secret key and the secretbox tag

DEFAULT_OPSLIMIT = 3
DEFAULT_MEMLIMIT_KIB = 65536
# Outside these a wrapped key is refused before argon2 runs (the same limits as in JS).
# The floor is OWASP's argon2id minimum (19 MiB, 2 passes): below it a stolen database
# makes guessing passphrases cheap. The ceiling stops a hostile blob exhausting memory.
MIN_OPSLIMIT, MAX_OPSLIMIT = 2, 20
MIN_MEMLIMIT_KIB, MAX_MEMLIMIT_KIB = 19456, 1024 * 1024

__all__ = [
    "KeyMismatch",
    "MalformedWrappedKey",
    "WrappedKeyError",
    "WrongPassphrase",
    "normalise_recovery_key",
    "unwrap",
    "wrap",
]


class WrappedKeyError(Exception):
    """A wrapped key was refused."""


class MalformedWrappedKey(WrappedKeyError):
    """Wrong length or version, or argon2 parameters outside the sane limits."""


class WrongPassphrase(WrappedKeyError):
    """The passphrase does not open it (or the wrapped key was altered)."""


class KeyMismatch(WrappedKeyError):
    """It opened, but the secret key does not belong to the registered public key."""


def _params_ok(opslimit: int, memlimit_kib: int) -> bool:
    return (
        MIN_OPSLIMIT <= opslimit <= MAX_OPSLIMIT
        and MIN_MEMLIMIT_KIB <= memlimit_kib <= MAX_MEMLIMIT_KIB
    )


def _derive(passphrase: str, salt: bytes, opslimit: int, memlimit_kib: int) -> bytes:
    password = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return nacl.pwhash.argon2id.kdf(
        32, password, salt, opslimit=opslimit, memlimit=memlimit_kib * 1024
    )


def _wrap_with(
    secret_key: bytes,
    passphrase: str,
    opslimit: int,
    memlimit_kib: int,
    salt: bytes,
    nonce: bytes,
) -> bytes:
    """Wrap with a given salt and nonce: only for fixed test vectors."""
    if len(secret_key) != KEY_BYTES:
        raise ValueError("secret key must be 32 bytes")
    if not passphrase:
        raise ValueError("passphrase must not be empty")
    if not _params_ok(opslimit, memlimit_kib):
        raise ValueError(f"argon2 parameters out of range ({opslimit}, {memlimit_kib} KiB)")
    if len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("salt must be 16 bytes and nonce 24 bytes")
    key = _derive(passphrase, salt, opslimit, memlimit_kib)
    boxed = nacl.secret.SecretBox(key).encrypt(secret_key, nonce).ciphertext
    return _HEADER.pack(VERSION, opslimit, memlimit_kib, salt, nonce) + boxed


def wrap(
    secret_key: bytes,
    passphrase: str,
    opslimit: int = DEFAULT_OPSLIMIT,
    memlimit_kib: int = DEFAULT_MEMLIMIT_KIB,
) -> bytes:
    """Wrap ``secret_key`` under ``passphrase`` with a fresh salt and nonce."""
    return _wrap_with(
        secret_key,
        passphrase,
        opslimit,
        memlimit_kib,
        nacl.utils.random(SALT_BYTES),
        nacl.utils.random(NONCE_BYTES),
    )


def unwrap(wrapped: bytes, passphrase: str, expected_public_key: bytes | None = None) -> bytes:
    """Unwrap a secret key; if ``expected_public_key`` is given, check the key is its own."""
    data = bytes(wrapped)
    if len(data) != WRAPPED_BYTES or data[0] != VERSION:
        raise MalformedWrappedKey("wrapped key is malformed (wrong length or version)")
    _version, opslimit, memlimit_kib, salt, nonce = _HEADER.unpack_from(data)
    if not _params_ok(opslimit, memlimit_kib):
        raise MalformedWrappedKey(
            f"wrapped key is malformed: argon2 parameters out of range "
            f"(opslimit {opslimit}, memlimit {memlimit_kib} KiB)"
        )
    key = _derive(passphrase, salt, opslimit, memlimit_kib)
    try:
        secret_key = nacl.secret.SecretBox(key).decrypt(data[_HEADER.size :], nonce)
    except nacl.exceptions.CryptoError as error:
        raise WrongPassphrase("wrong passphrase") from error
    if expected_public_key is not None:
        public_key = bytes(PrivateKey(secret_key).public_key)
        if not hmac.compare_digest(public_key, bytes(expected_public_key)):
            raise KeyMismatch("this key does not belong to the registered public key")
    return secret_key


_SEPARATORS = re.compile("[ \t\r\n\u00a0-]+")


def normalise_recovery_key(s: str) -> str:
    """What the user typed, as the passphrase the recovery wrapped key was made with:
    uppercase, without spaces and dashes (the same as ``normaliseRecoveryKey`` in JS)."""
    return _SEPARATORS.sub("", s.upper())
