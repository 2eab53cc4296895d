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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.clock import Clock
from portal.crypto.envelopes import seal_json
from portal.crypto.tokens import random_id
from portal.domain import audit
from portal.domain.errors import InputRejected
from portal.domain.keys import NoKeyYet
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.storage import keys as key_store
from portal.storage import notes as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation
from portal.storage.database import Database, Queryable
from portal.storage.keys import StaffKey
from portal.storage.notes import Note as Note

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
    # The client's wishes for the first interview (domain/first_interview.py).
    "interview_wishes": NoteKind(
        {
            "interview_wishes": N_(
                "What would help you in the interview? For example a break, "
                "a support person, a woman interviewer."
            )
        },
        frozenset({"client"}),
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


@dataclass(frozen=True)
class SealedNote:
    """A note ready to store: checked and sealed, nothing written yet."""

    consultation_id: str
    kind: str
    author_role: str
    key_id: str
    envelope: bytes
    sealed_in: str  # "browser" or "server"
    at: int


async def seal_note(
    db: Queryable,
    clock: Clock,
    consultation: Consultation,
    *,
    author_role: str,
    given: NoteInput,
    kind: str = KIND,
) -> SealedNote:
    """Check the note and seal it to the assigned investigator's current key (in the
    browser already, or here); ``NotAllowed``, ``NoKeyYet`` or ``InputRejected`` if not."""
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
    return SealedNote(consultation.id, kind, author_role, key.id, envelope, sealed_in, now)


async def insert_sealed(tx: Queryable, sealed: SealedNote, author: Account | None) -> None:
    """Store a sealed note; call inside the transaction that audits it."""
    await store.insert_note(
        tx,
        note_id=random_id(),
        consultation_id=sealed.consultation_id,
        kind=sealed.kind,
        author_role=sealed.author_role,
        author_account_id=author.id if author else None,
        key_id=sealed.key_id,
        envelope=sealed.envelope,
        sealed_in=sealed.sealed_in,
        now=sealed.at,
    )


# The audit action of each kind of note written on its own (an outcome note is written
# and audited with the consultation's outcome: outcomes.record_consultation_outcome).
NOTE_ACTIONS = {
    KIND: "note_added",
    "identity": "identity_sealed",
    "interview_wishes": "interview_wishes_added",
}


async def add_note(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    author_role: str,
    author: Account | None,
    given: NoteInput,
    kind: str = KIND,
) -> str:
    """Store a sealed note with its audit event; returns where it was sealed ("browser"
    or "server"). ``author`` is None for a client (then ``author_role`` is "client")."""
    if kind not in NOTE_ACTIONS:
        raise NotAllowed
    sealed = await seal_note(
        db, clock, consultation, author_role=author_role, given=given, kind=kind
    )
    async with db.transaction() as tx:
        await insert_sealed(tx, sealed, author)
        await audit.record(
            tx,
            clock,
            NOTE_ACTIONS[kind],
            consultation,
            actor=author,
            actor_role=author_role,
            detail=f"sealed-in-{sealed.sealed_in}" if kind == KIND else None,
        )
    return sealed.sealed_in


async def notes_to_reseal(db: Queryable, investigator: Account) -> Sequence[tuple[Note, str]]:
    """Notes sealed to the investigator's keys in consultations now assigned to someone
    else, with who that is. None for another role (an NGO worker's key holds messages,
    never notes)."""
    if investigator.role != INVESTIGATOR:
        return ()
    return await store.notes_to_reseal(db, investigator.id)


async def reseal_notes(
    db: Database, clock: Clock, investigator: Account, resealed: dict[str, str], new_key_id: str
) -> int:
    """Swap in envelopes the previous investigator re-sealed in their browser.

    Only notes sealed to one of ``investigator``'s keys, in consultations now assigned to
    the owner of ``new_key_id``, are replaced. Returns how many were; audited as
    ``notes_resealed`` in the same transaction.
    """
    new_key = await key_store.key_by_id(db, new_key_id)
    if new_key is None or new_key.retired_at is not None:
        raise InputRejected("envelope", KEY_CHANGED)
    pending = {
        note.id: note
        for note, assigned_to in await store.notes_to_reseal(db, investigator.id)
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
        await audit.record(
            tx, clock, "notes_resealed", None, actor=investigator, detail=f"count-{replaced}"
        )
    return replaced


@dataclass(frozen=True)
class NotesExport:
    key: StaffKey
    notes: list[Note]  # only those sealed to ``key``


async def sealed_to_current_key(
    db: Queryable, investigator: Account, consultation: Consultation
) -> NotesExport | None:
    """The investigator's current key and the consultation's notes sealed to it (None if
    the investigator has no key)."""
    key = await key_store.current_key(db, investigator.id)
    if key is None:
        return None
    sealed = [n for n in await store.consultation_notes(db, consultation.id) if n.key_id == key.id]
    return NotesExport(key, sealed)


async def export_notes(
    db: Database, clock: Clock, investigator: Account, consultation: Consultation
) -> NotesExport | None:
    """What a notes download carries; audited as ``notes_exported``."""
    found = await sealed_to_current_key(db, investigator, consultation)
    if found is not None:
        await audit.record(db, clock, "notes_exported", consultation, actor=investigator)
    return found
