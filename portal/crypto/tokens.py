"""Keys derived from the one server secret, one per purpose, and signed tokens.

A key used for two purposes lets a value minted for one be replayed as the other
(an enrolment token as a CSRF token, say). Every purpose therefore gets its own derived
key (HMAC-SHA256 of the purpose name) and its own itsdangerous salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class InvalidToken(Exception):
    """A signed token was forged, altered, expired or meant for another purpose."""


class Keys:
    """Keys derived from the current secret, and from previous secrets during a rotation.

    New values are always made with the current secret; the previous ones are only
    accepted (docs/operations.md, "Rotating the secret key").
    """

    def __init__(self, secret_key: str, previous: tuple[str, ...] = ()) -> None:
        self._secret = secret_key.encode()
        self._previous = tuple(p.encode() for p in previous if p)
        # Derived once per purpose: a page checks and prints a CSRF token on every request.
        self._derived: dict[str, tuple[bytes, tuple[bytes, ...]]] = {}

    def _keys(self, purpose: str) -> tuple[bytes, tuple[bytes, ...]]:
        found = self._derived.get(purpose)
        if found is None:
            found = self._derived[purpose] = (
                hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest(),
                tuple(
                    hmac.new(s, purpose.encode(), hashlib.sha256).digest() for s in self._previous
                ),
            )
        return found

    def derive(self, purpose: str) -> bytes:
        return self._keys(purpose)[0]

    def derive_previous(self, purpose: str) -> tuple[bytes, ...]:
        return self._keys(purpose)[1]

    def mac(self, purpose: str, value: bytes | str) -> str:
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(self.derive(purpose), data, hashlib.sha256).hexdigest()

    def accepted_macs(self, purpose: str, value: bytes | str) -> list[str]:
        """The MAC under the current key and under each previous one."""
        data = value.encode() if isinstance(value, str) else value
        keys = (self.derive(purpose), *self.derive_previous(purpose))
        return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in keys]

    def serializer(self, purpose: str) -> URLSafeTimedSerializer:
        # itsdangerous signs with the last key and accepts any of them.
        keys = [
            key.hex() for key in (*reversed(self.derive_previous(purpose)), self.derive(purpose))
        ]
        return URLSafeTimedSerializer(keys, salt=purpose)

    def sign(self, purpose: str, payload: Any) -> str:
        return self.serializer(purpose).dumps(payload)

    def unsign(self, purpose: str, token: str, max_age: int) -> Any:
        try:
            return self.serializer(purpose).loads(token, max_age=max_age)
        except (SignatureExpired, BadSignature) as exc:
            raise InvalidToken from exc


def random_id() -> str:
    """An opaque object id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def sha256(value: str | bytes) -> bytes:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).digest()
