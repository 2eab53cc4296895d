"""Staff passwords: argon2id hashes (the policy for choosing one: domain/password_policy.py).

Threats: a stolen database (memory-hard hashes), and account enumeration by timing
(``verify_or_dummy`` spends the same work whether or not the account exists).
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def normalise(password: str) -> str:
    """NFC, so the same password typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFC", password)


class PasswordHasher:
    """argon2id with the configured cost; every call is CPU- and memory-heavy, so callers
    run these on the dedicated hashing limiter (``crypto/hashing.py``), never the loop."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.time_cost = time_cost
        self.memory_kib = memory_kib
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
