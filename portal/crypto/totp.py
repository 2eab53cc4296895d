"""TOTP (RFC 6238) second factor with replay refusal.

Threat: a shoulder-surfed or phished code used again. Each account remembers the last
time step it accepted; a code for that step or an earlier one is refused even while it
is still inside its 30-second window.
"""

from __future__ import annotations

import hmac

import pyotp

STEP_SECONDS = 30
ISSUER = "Intake portal"


def new_secret() -> str:
    return pyotp.random_base32()


def accepted_step(secret: str, code: str, now: int, last_step: int) -> int | None:
    """The time step ``code`` belongs to (now +- one step), if it is new; else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = now // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        expected = totp.at(step * STEP_SECONDS)
        if hmac.compare_digest(expected, code) and step > last_step:
            return step
    return None


def code_at(secret: str, now: int) -> str:
    return str(pyotp.TOTP(secret, interval=STEP_SECONDS).at(now))


def provisioning_uri(secret: str, username: str) -> str:
    return str(
        pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
            name=username, issuer_name=ISSUER
        )
    )
