"""Prepared notes: fears, threats and wishes for the first interview, sealed to the
assigned investigator.

Threats: a stolen database, a curious insider, a compromised NGO account. A note is
sealed (envelope v1) either in the author's browser, so that only ciphertext is posted,
or, without JavaScript, by the server inside the request that received it: then the
plaintext lives only in this request's memory and is never written to disk, a log or
the database. Nobody but the investigator can open a note, its author included. The
context (consultation, kind, author role, time) is sealed inside, so a note cannot be
moved to another consultation unnoticed: the investigator's browser checks it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from portal.clock import Clock
from portal.crypto.envelopes import seal_json
from portal.crypto.tokens import random_id
from portal.domain.errors import InputRejected
from portal.domain.keys import NoKeyYet
from portal.i18n import N_
from portal.storage import keys as key_store
from portal.storage import notes as store
from portal.storage.consultations import Consultation
from portal.storage.database import Database

KIND = "prepared_note"
# The guided form: each section's heading is the prompt.
SECTIONS: dict[str, str] = {
    "fears": N_("What worries you or makes you afraid?"),
    "threats": N_("Has anyone threatened you or people close to you?"),
    "wishes": N_("What do you wish for the first interview?"),
    "other": N_("Anything else you want the investigator to know"),
}


@dataclass(frozen=True)
class NoteKind:
    sections: dict[str, str]
    authors: frozenset[str]
    case_only: bool = False  # identity may be recorded only after a decision to report


KINDS: dict[str, NoteKind] = {
    KIND: NoteKind(SECTIONS, frozenset({"ngo_worker", "client"})),
    "outcome": NoteKind(
        {"summary": N_("What was discussed, and what happens next")},
        frozenset({"investigator"}),
    ),
    "identity": NoteKind(
        {
            "name": N_("Full name"),
            "birth_date": N_("Date of birth"),
            "nationality": N_("Nationality"),
            "contact": N_("Safe contact details"),
            "other": N_("Other identity details"),
        },
        frozenset({"investigator"}),
        case_only=True,
    ),
}


class NotAllowed(Exception):
    """This author may not write this kind of note here (an identity before reporting)."""


MAX_SECTION_CHARS = 10_000
MIN_ENVELOPE = 1 + 32 + 24 + 16 + 2
MAX_ENVELOPE = 64 * 1024
KEY_CHANGED = N_("The investigator's key changed while you were writing. Write the note again.")


@dataclass(frozen=True)
class NoteInput:
    """Either an envelope sealed in the browser (base64) or the sections in clear."""

    envelope: str
    key_id: str
    sections: dict[str, str]


def _browser_envelope(value: str) -> bytes:
    try:
        envelope = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputRejected("envelope", N_("The note could not be read. Try again.")) from exc
    if not MIN_ENVELOPE <= len(envelope) <= MAX_ENVELOPE or envelope[0] != 1:
        raise InputRejected("envelope", N_("The note could not be read. Try again."))
    return envelope


def _clear_sections(kind: str, sections: dict[str, str]) -> dict[str, str]:
    texts = {name: sections.get(name, "").strip() for name in KINDS[kind].sections}
    for name, text in texts.items():
        if len(text) > MAX_SECTION_CHARS:
            raise InputRejected(name, N_("This part is too long. Shorten it a little."))
    if not any(texts.values()):
        raise InputRejected(next(reversed(texts)), N_("Write something in at least one box."))
    return texts


async def add_note(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    author_role: str,
    author_account_id: str | None,
    given: NoteInput,
    kind: str = KIND,
) -> str:
    """Store a sealed note; returns where it was sealed ("browser" or "server")."""
    rules = KINDS[kind]
    if author_role not in rules.authors or (rules.case_only and not consultation.is_case):
        raise NotAllowed
    key = await key_store.current_key(db, consultation.investigator_id)
    if key is None:
        raise NoKeyYet
    now = clock.now()
    if given.envelope:
        if given.key_id != key.id:
            raise InputRejected("envelope", KEY_CHANGED)
        envelope, sealed_in = _browser_envelope(given.envelope), "browser"
    else:
        message: dict[str, Any] = {
            "v": 1,
            "consultation": consultation.id,
            "kind": kind,
            "author": author_role,
            "time": now,
            **_clear_sections(kind, given.sections),
        }
        envelope, sealed_in = seal_json(key.public_key, message), "server"
    await store.insert_note(
        db,
        note_id=random_id(),
        consultation_id=consultation.id,
        kind=kind,
        author_role=author_role,
        author_account_id=author_account_id,
        key_id=key.id,
        envelope=envelope,
        sealed_in=sealed_in,
        now=now,
    )
    return sealed_in


async def reseal_notes(
    db: Database, account_id: str, resealed: dict[str, str], new_key_id: str
) -> int:
    """Swap in envelopes the previous investigator re-sealed in their browser.

    Only notes sealed to one of ``account_id``'s keys, in consultations now assigned to
    the owner of ``new_key_id``, are replaced. Returns how many were.
    """
    new_key = await key_store.key_by_id(db, new_key_id)
    if new_key is None or new_key.retired_at is not None:
        raise InputRejected("envelope", KEY_CHANGED)
    pending = {
        note.id: note
        for note, assigned_to in await store.notes_to_reseal(db, account_id)
        if assigned_to == new_key.account_id
    }
    replaced = 0
    async with db.transaction() as tx:
        for note_id, value in resealed.items():
            note = pending.get(note_id)
            if note is None:
                continue
            envelope = _browser_envelope(value)
            if await store.replace_envelope(tx, note.id, note.key_id, new_key.id, envelope):
                replaced += 1
    return replaced
