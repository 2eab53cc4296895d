"""One-time codes and client codes.

Threats: guessing, a stolen database, and a code leaking through a URL, cookie or log.

- Both are digits from ``secrets``, in groups of four: easy to read aloud, type on a
  cheap phone, and read with little Latin-script literacy. A one-time code has 12 digits
  (about 40 bits; single use, expires, guessing is rate limited); a client code has 20
  digits (about 66 bits; it lives as long as the consultation).
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

ONE_TIME_DIGITS = 12
CLIENT_DIGITS = 20


def new_code(digits: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(digits))


def display(code: str) -> str:
    """``123456789012`` -> ``1234 5678 9012``."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


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
