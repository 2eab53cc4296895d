"""Work never lost: what someone typed, given back after their session ended.

Threat and promise: a session that ends while someone types (idle timeout, sign-out in
another tab) makes the next POST fail its CSRF check. Throwing the text away loses a
client's note or a worker's booking; keeping it on the server would store in clear what
must never be stored. So the typed fields travel only in the pages and POST bodies of
the person who typed them: the refusal page (guard.py) prints them back, the sign-in and
code forms carry them as hidden fields, and the page after signing in again offers them
in a form to the original address, to check and send again. Nothing is written to a
table, a cookie, a log or a URL; every page is ``no-store``; Jinja escapes every value.

Never carried (dropped, not echoed): passwords, passphrases, the client's code,
authenticator codes and pending secrets, wrapped private keys, CSRF tokens. A sealed
note envelope (ciphertext, JavaScript on) is carried: it is sent again as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import FormData

from portal.security import csrf

# The hidden field every form carries (responses.py): the page's language, so a refusal
# after the session (and the language it held) has ended can still speak it.
PAGE_LANG = "page_lang"
# The account a staff page was shown to (responses.py): what was typed on it is offered
# back to that account only, never to a colleague who signs in on the same browser.
PAGE_BY = "page_by"
# How carried fields are named in the sign-in and code forms, and where they go back.
PREFIX = "kept:"
TARGET = "kept_to"
NEVER_KEPT = frozenset(
    {
        csrf.FIELD,
        PAGE_LANG,
        TARGET,
        "code",
        "totp_code",
        "totp_pending",
        "wrapped_key",
        "recovery_wrapped_key",
        "public_key",
    }
)
_SECRET_WORDS = ("password", "passphrase", "secret", "token", "totp")
# Fields that carry choices made by the page, not words a person typed: carried, but
# not shown in the copy to read.
_TECHNICAL = frozenset(
    {
        PAGE_BY,
        "envelope",
        "next",
        "t",
        "slots_page",
        "slots_shown",
        "viewport",
        "resealed",
        "confirm",
    }
)
# A value the page offered rather than one typed: an option's value (``via_ngo``, ``fi``)
# or a date. Carried, but not shown: a code word in the copy would only puzzle.
_CHOICE = re.compile(r"[a-z0-9_.:-]{1,32}")
# Where a kept form may go back to: a path of this site, never another host.
_LOCAL_PATH = re.compile(r"/(?!/)[A-Za-z0-9/_.-]{0,200}")


def _may_keep(name: str) -> bool:
    lowered = name.lower()
    return (
        name not in NEVER_KEPT
        and not name.startswith(PREFIX)
        and not any(word in lowered for word in _SECRET_WORDS)
    )


@dataclass(frozen=True)
class Kept:
    """Typed fields on their way back to ``to`` (a local path)."""

    to: str
    fields: tuple[tuple[str, str], ...]

    @property
    def shown(self) -> tuple[str, ...]:
        """The words to read and copy: what a person typed, not ids, envelopes or the
        values of options (a lower-case single word typed into a box is carried, but not
        shown: it cannot be told from an option's value)."""
        return tuple(
            value
            for name, value in self.fields
            if value.strip()
            and not _CHOICE.fullmatch(value)
            and name not in _TECHNICAL
            and not name.endswith("_id")
            and not name.endswith("_key")
        )

    def typed_by(self, account_id: str | None) -> bool:
        """Typed on a page shown to ``account_id`` (None: a client; a page without the
        field: a client's, or one rendered before the field existed)."""
        by = dict(self.fields).get(PAGE_BY)
        return by is None or by == account_id

    @property
    def sealed(self) -> bool:
        """A note sealed in the browser is among them (it cannot be shown, only sent)."""
        return any(name == "envelope" and value for name, value in self.fields)


def refused(path: str, form: FormData) -> Kept | None:
    """What to keep from a refused POST to ``path``; None when nothing was typed."""
    if not _LOCAL_PATH.fullmatch(path):
        return None
    fields = tuple(
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and _may_keep(name)
    )
    return Kept(path, fields) if any(value for _name, value in fields) else None


def carried(form: FormData) -> Kept | None:
    """The fields a sign-in or code form carried through (``kept:name``), if any."""
    target = form.get(TARGET)
    if not isinstance(target, str) or not _LOCAL_PATH.fullmatch(target):
        return None
    fields = tuple(
        (name.removeprefix(PREFIX), value)
        for name, value in form.multi_items()
        if name.startswith(PREFIX) and isinstance(value, str)
        and _may_keep(name.removeprefix(PREFIX))
    )  # fmt: skip
    return Kept(target, fields) if fields else None
