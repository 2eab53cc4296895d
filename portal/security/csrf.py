"""Cross-site request forgery defence.

Threat: another site making a logged-in browser submit a form here. Every request that
is not GET/HEAD/OPTIONS must carry a token bound to the session id: an HMAC of the
cookie value under a CSRF-only key, sent as the hidden field ``csrf_token`` in plain
forms or the ``X-CSRF-Token`` header from htmx. The token changes when the session id
does (login), so a token from another session never fits. Browsers that label the
request ``Sec-Fetch-Site: cross-site`` are refused before the token is even read.
SameSite=Strict on the cookie is a second, independent layer.
"""

from __future__ import annotations

import hmac

from portal.crypto.tokens import Keys

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(keys: Keys, sid: str) -> str:
    return keys.mac("csrf", sid)


def is_cross_site(sec_fetch_site: str | None) -> bool:
    return sec_fetch_site == "cross-site"


def token_matches(keys: Keys, sid: str, presented: str | None) -> bool:
    """The current token, or one made under a previous secret during a key rotation."""
    if not presented:
        return False
    return any(hmac.compare_digest(token, presented) for token in keys.accepted_macs("csrf", sid))
