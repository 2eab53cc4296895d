"""Staff passwords: argon2id, a length policy and a list of common passwords.

Threats: a stolen database (memory-hard hashes), guessing (length and common-password
list; throttling lives in ``security/ratelimit.py``), and account enumeration by timing
(``verify_or_dummy`` spends the same work whether or not the account exists).
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from portal.i18n import N_

MIN_LENGTH = 12
MAX_LENGTH = 128
# The list is Django's common-passwords.txt.gz (BSD licence, 20,000 passwords).
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


class PasswordPolicyError(ValueError):
    """The chosen password is too short, too long or too common. ``args[0]`` is a msgid."""


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def normalise(password: str) -> str:
    """NFC, so the same password typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFC", password)


def check_policy(password: str) -> None:
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(N_("The password must be at least 12 characters long."))
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(N_("The password must be at most 128 characters long."))
    lowered = password.lower()
    stripped = lowered.rstrip("0123456789!?.#*@-_ ")
    common = _common_passwords()
    if lowered in common or stripped in common or len(set(lowered)) < 4:
        raise PasswordPolicyError(N_("This password is too common. Choose another one."))


class PasswordHasher:
    """argon2id with the configured cost; every call is CPU- and memory-heavy, so callers
    run these on the dedicated hashing limiter (``crypto/hashing.py``), never the loop."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy = self._argon2.hash("dummy password for unknown accounts")

    def hash(self, secret: str) -> str:
        return self._argon2.hash(normalise(secret))

    def verify(self, stored_hash: str, secret: str) -> bool:
        try:
            return self._argon2.verify(stored_hash, normalise(secret))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_or_dummy(self, stored_hash: str | None, secret: str) -> bool:
        """Verify against the stored hash, or against a dummy one with the same cost."""
        if stored_hash is None:
            self.verify(self._dummy, secret)
            return False
        return self.verify(stored_hash, secret)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._argon2.check_needs_rehash(stored_hash)
