"""One-time codes and client codes.

Threats: guessing, a stolen database, and a code leaking through a URL, cookie or log.

- Both are digits from ``secrets``, in small groups: easy to read aloud, type on a
  cheap phone, and read with little Latin-script literacy. A one-time code has 18
  digits in groups of three (about 60 bits; single use, expires); a client code has 20
  digits in groups of four (about 66 bits; it lives as long as the consultation). The
  lengths come from the guessing arithmetic in docs/security.md: at the global cap on
  code attempts, a year-long flood opens any live code with a chance below 1e-6.
  One-time codes of 12 digits, printed before the codes grew, keep working until they
  expire (``LEGACY_ONE_TIME_DIGITS``).
- Neither is stored in clear. ``lookup_key`` (HMAC-SHA256 under a server pepper) finds
  the row in O(1); an argon2id hash with its own salt then verifies it, so a stolen
  database without the pepper gives nothing to test guesses against quickly.
- They only ever travel in a POST body; the web layer never puts them in a URL or cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

ONE_TIME_DIGITS = 18
LEGACY_ONE_TIME_DIGITS = 12
ONE_TIME_LENGTHS = frozenset({ONE_TIME_DIGITS, LEGACY_ONE_TIME_DIGITS})
CLIENT_DIGITS = 20


def new_code(digits: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(digits))


def display(code: str) -> str:
    """One-time codes in threes (``123 456 789 012 345 678``), others in fours
    (``1234 5678 9012 3456 7890``)."""
    size = 3 if len(code) == ONE_TIME_DIGITS else 4
    return " ".join(code[i : i + size] for i in range(0, len(code), size))


def normalise(typed: str) -> str:
    """Keep only the decimal digits, whatever spaces, dashes or digit scripts were typed.

    A decimal digit of any script (Unicode category Nd: Arabic-Indic, Thai, Lao ...)
    counts as its ASCII digit. Other characters that ``str.isdigit()`` accepts, such as
    ``²`` or ``①`` (category No), are no digits of a code and are dropped: ``int()``
    refused them, which was a 500 on the public code page.
    """
    digits = []
    for char in typed[:100]:
        value = unicodedata.decimal(char, None)
        if value is not None:
            digits.append(str(value))
    return "".join(digits)


def lookup_key(pepper: bytes, kind: str, code: str) -> bytes:
    return hmac.new(pepper, f"{kind}:{code}".encode(), hashlib.sha256).digest()
