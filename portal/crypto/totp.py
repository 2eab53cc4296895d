"""TOTP (RFC 6238) second factor with replay refusal.

Threat: a shoulder-surfed or phished code used again. Each account remembers the last
time step it accepted; a code for that step or an earlier one is refused even while it
is still inside its 30-second window.
"""

from __future__ import annotations

import hmac
import re

import pyotp

STEP_SECONDS = 30
SECRET = re.compile(r"[A-Z2-7]{32}")
ISSUER = "Intake portal"


def new_secret() -> str:
    return pyotp.random_base32()


def is_secret(text: str) -> bool:
    """Whether ``text`` is a secret as ``new_secret`` makes them (32 base32 letters)."""
    return SECRET.fullmatch(text) is not None


def accepted_step(secret: str, code: str, now: int, last_step: int) -> int | None:
    """The time step ``code`` belongs to (now +- one step), if it is new; else None."""
    if not secret:  # no key (reset by the operator): pyotp would take an empty HMAC key
        return None
    code = code.strip().replace(" ", "")
    # ASCII only: "²" and Arabic-Indic digits pass str.isdigit(), and compare_digest
    # raises TypeError on a non-ASCII string (a 500 on the sign-in page).
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    current = now // STEP_SECONDS
    steps = (current - 1, current, current + 1)
    try:
        totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
        codes = [totp.at(step * STEP_SECONDS) for step in steps]
    except ValueError:  # binascii.Error too: a secret from a form that is no base32
        return None
    for step, expected in zip(steps, codes, strict=True):
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
