"""Which passwords staff may choose: 12 to 128 characters, not a common one.

Threat: guessing (throttling lives in security/ratelimit.py; hashing in
crypto/passwords.py). The messages are the ones the person reads.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from portal.crypto.passwords import normalise
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
