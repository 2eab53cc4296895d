"""Referrals to the assistance system or municipal services (docs/crypto.md, "Referrals").

Threats: the police reading what the client chose to tell an adviser (the identity rule:
no police-readable identity before the decision to report); a referral sent without the
client's consent; a sender leaving an adviser out, or slipping in a key of their own; an
envelope moved to another referral; a status changed by someone outside the receiving
organisation, or out of order.

- A referral is sent only after the client's consent is recorded against the versioned
  consent text (the consultation's latest referral consent says "explained" and
  "consents"), only to an organisation of kind assistance or municipal with at least one
  active adviser who has a current key, and at most one per organisation and
  consultation while it is not declined or closed.
- The referral note is sealed in the sender's browser to exactly the current keys of the
  receiving organisation's active advisers: one envelope v1 per key, nothing else. A set
  that differs (an adviser joined, left or replaced their key; or a police key slipped
  in) is refused with the set now, and the browser seals again. The sender keeps no
  envelope: police and NGO workers can never open the note, only see the plain status.
- The status is plain and follows one table (``TRANSITIONS``); only advisers of the
  receiving organisation change it. Every send and change is audited in its
  transaction and puts content-free attention items in the right queues: the
  receiving advisers for a new referral, the sender and the consultation's investigator
  for a change of status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.clock import Clock
from portal.crypto.envelopes import EnvelopeError, open_json, padded_envelope
from portal.crypto.tokens import random_id
from portal.domain import attention, audit
from portal.domain.errors import InputRejected
from portal.domain.roles import ADVISER, ADVISER_KINDS, INVESTIGATOR, NGO_WORKER
from portal.i18n import N_
from portal.storage import attention as attention_store
from portal.storage import consultations as consultation_store
from portal.storage import referrals as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation
from portal.storage.database import Database, Queryable
from portal.storage.referrals import AdviserKey as AdviserKey
from portal.storage.referrals import Referral as Referral
from portal.storage.referrals import Target as Target

VERSION = 1
KIND = "referral_note"
MAX_TEXT = 8000  # characters
MAX_PLAINTEXT = 64 * 1024
REFERRAL_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
SENDERS = frozenset({INVESTIGATOR, NGO_WORKER})

STATUSES = {
    "sent": N_("Sent"),
    "received": N_("Received"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "closed": N_("Closed"),
}
# The one table of allowed changes: sent -> received -> accepted or declined -> closed.
TRANSITIONS: dict[str, frozenset[str]] = {
    "sent": frozenset({"received"}),
    "received": frozenset({"accepted", "declined"}),
    "accepted": frozenset({"closed"}),
    "declined": frozenset({"closed"}),
    "closed": frozenset(),
}
# While a referral is in one of these, no second one goes to the same organisation.
OPEN = frozenset({"sent", "received", "accepted"})
# The words on each status button.
ACTIONS = {
    "received": N_("Mark as received"),
    "accepted": N_("Accept"),
    "declined": N_("Decline"),
    "closed": N_("Close"),
}

NO_CONSENT = N_(
    "The client's consent to referral is not recorded. The investigator records it first,"
    " after explaining the assistance system."
)
CHOOSE_ORGANISATION = N_("Choose the organisation to refer the client to.")
NO_ADVISERS = N_(
    "Nobody at this organisation has a key yet, so the referral note cannot be locked to"
    " them. Choose another organisation or ask them to create their keys."
)
ALREADY_OPEN = N_("A referral to this organisation is already open for this client.")
EMPTY = N_("Write the referral note first.")
TOO_LONG = N_("The referral note is too long: at most 8000 characters.")
UNREADABLE = N_("The referral could not be read. Try again.")
KEYS_CHANGED = N_(
    "The advisers' keys changed while you were writing. Your note is still here:"
    " send it again to lock it to their keys now."
)
USED_ID = N_("This referral was sent already. Reload the page.")
NOT_ALLOWED = N_("This change of status is not possible now. Reload the page.")
NOT_SHARED = N_("The referral could not be shared. Reload the page and try again.")


class NotSender(Exception):
    """Only the assigned investigator and the booking organisation's NGO workers send."""


class KeysChanged(InputRejected):
    """The envelopes do not name exactly the receiving advisers' current keys;
    ``keys`` is the set now."""

    def __init__(self, keys: Sequence[AdviserKey]) -> None:
        super().__init__("referral", KEYS_CHANGED)
        self.keys = list(keys)


def new_referral_id() -> str:
    return random_id()


def allowed(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def context(referral_id: str, author_role: str, recipient_key_id: str) -> dict[str, Any]:
    """What opening checks: the fields the sealer put in besides the time and the text."""
    return {
        "v": VERSION,
        "kind": KIND,
        "referral": referral_id,
        "author": author_role,
        "recipient": recipient_key_id,
    }


def open_note(
    secret_key: bytes, envelope: bytes, *, referral_id: str, author_role: str, key_id: str
) -> str:
    """The note's text (for tests and ``portal decrypt``-like tools); ``EnvelopeError``
    if it is not this referral's note for this key."""
    opened = open_json(secret_key, envelope, context(referral_id, author_role, key_id))
    text = opened.get("text")
    if not isinstance(text, str):
        raise EnvelopeError("the referral note has no text")
    return text


def _envelope(value: str) -> bytes:
    envelope = padded_envelope(value, MAX_PLAINTEXT)
    if envelope is None:
        raise InputRejected("referral", UNREADABLE)
    return envelope


def may_send(actor: Account, consultation: Consultation) -> bool:
    if actor.role == INVESTIGATOR:
        return consultation.investigator_id == actor.id
    if actor.role == NGO_WORKER:
        return consultation.organisation_id == actor.organisation_id
    return False


async def targets(db: Queryable) -> list[Target]:
    """The organisations a referral may go to, each with its advisers' current keys."""
    return await store.targets(db, sorted(ADVISER_KINDS))


async def has_consent(db: Queryable, consultation: Consultation) -> bool:
    """The consultation's latest recorded consent: explained, and the client consents."""
    latest = await store.latest_consent(db, consultation.id)
    return latest is not None and latest[1] and latest[2]


async def send(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    sender: Account,
    organisation_id: str,
    referral_id: str,
    envelopes: dict[str, str],
) -> str:
    """Store a referral sealed in the sender's browser (``envelopes``: recipient key id ->
    envelope, base64). Raises ``NotSender``, ``KeysChanged`` or ``InputRejected``;
    audited as ``referral_sent``, and each active adviser of the organisation gets an
    attention item, in the same transaction. Returns the referral's id."""
    if not may_send(sender, consultation):
        raise NotSender
    if not REFERRAL_ID.match(referral_id):
        raise InputRejected("referral", UNREADABLE)
    now = clock.now()
    async with db.transaction() as tx:
        # First a write on the consultation's row: two senders of the same consultation
        # queue here (PostgreSQL row lock; SQLite's write lock), so the one-open-referral
        # check below sees the other's referral.
        await consultation_store.touch_consultation(tx, consultation.id, now)
        latest = await store.latest_consent(tx, consultation.id)
        if latest is None or not (latest[1] and latest[2]):
            raise InputRejected("consent", NO_CONSENT)
        target = next((t for t in await targets(tx) if t.id == organisation_id), None)
        if target is None:
            raise InputRejected("organisation_id", CHOOSE_ORGANISATION)
        if not target.keys:
            raise InputRejected("organisation_id", NO_ADVISERS)
        if await store.open_referral_exists(tx, consultation.id, target.id, sorted(OPEN)):
            raise InputRejected("organisation_id", ALREADY_OPEN)
        if set(envelopes) != {key.key_id for key in target.keys}:
            raise KeysChanged(target.keys)
        decoded = {key_id: _envelope(value) for key_id, value in envelopes.items()}
        if not await store.insert_referral(
            tx,
            referral_id=referral_id,
            consultation_id=consultation.id,
            organisation_id=target.id,
            consent_id=latest[0],
            sent_by=sender.id,
            now=now,
        ):
            raise InputRejected("referral", USED_ID)
        for key_id, envelope in decoded.items():
            await store.insert_envelope(tx, referral_id, key_id, envelope, now)
        await audit.record(
            tx,
            clock,
            "referral_sent",
            consultation,
            actor=sender,
            detail=target.kind,
            subject_id=referral_id,
        )
        await attention.advisers_asked(
            tx, consultation.id, target.id, "referral_new", referral_id, now
        )
    return referral_id


async def change_status(
    db: Database, clock: Clock, referral: Referral, status: str, *, adviser: Account
) -> None:
    """An adviser of the receiving organisation moves the referral on (``TRANSITIONS``);
    audited as ``referral_status``; the sender and the consultation's investigator each
    get an attention item, in the same transaction."""
    if adviser.role != ADVISER or adviser.organisation_id != referral.organisation_id:
        raise InputRejected("status", NOT_ALLOWED)
    if status not in STATUSES or not allowed(referral.status, status):
        raise InputRejected("status", NOT_ALLOWED)
    now = clock.now()
    async with db.transaction() as tx:
        if not await store.set_status(
            tx, referral.id, status, adviser.id, now, only_from=referral.status
        ):
            raise InputRejected("status", NOT_ALLOWED)
        consultation = await consultation_store.consultation_by_id(tx, referral.consultation_id)
        if consultation is None:  # purged meanwhile: the referral went with it
            raise InputRejected("status", NOT_ALLOWED)
        await audit.record(
            tx,
            clock,
            "referral_status",
            consultation,
            actor=adviser,
            detail=status,
            subject_id=referral.id,
        )
        told = [referral.sent_by]
        if consultation.investigator_id not in told:
            told.append(consultation.investigator_id)
        for account_id in told:
            if not await attention_store.account_is_active(tx, account_id):
                continue
            await attention_store.insert_item(
                tx,
                item_id=random_id(),
                account_id=account_id,
                consultation_id=consultation.id,
                kind=f"referral_{status}",
                detail=None,
                subject_id=referral.id,
                urgent=False,
                now=now,
            )


# --- the adviser's view ---------------------------------------------------------------


@dataclass(frozen=True)
class AdviserView:
    """One referral as an adviser of the receiving organisation sees it."""

    referral: Referral
    key_id: str | None  # the reader's current key (None: they have none)
    envelope: bytes | None  # the note sealed to it (None: sealed before they had it)
    share_with: list[AdviserKey]  # colleagues' current keys without an envelope

    @property
    def next_statuses(self) -> list[str]:
        return [s for s in STATUSES if allowed(self.referral.status, s)]


async def adviser_view(db: Queryable, referral: Referral, key_id: str | None) -> AdviserView:
    envelope = await store.envelope_for(db, referral.id, key_id) if key_id else None
    has = await store.envelope_keys(db, referral.id)
    missing = [
        k for k in await store.adviser_keys(db, referral.organisation_id) if k.key_id not in has
    ]
    return AdviserView(referral, key_id, envelope, missing if envelope else [])


async def share(
    db: Database,
    clock: Clock,
    referral: Referral,
    *,
    adviser: Account,
    envelopes: dict[str, str],
) -> int:
    """Store the note re-sealed in an adviser's browser for colleagues who have no
    envelope (a new adviser, a replaced key): only by an adviser whose own current key
    has an envelope of it (who could read it), only to current keys of the
    organisation's active advisers that lack one; anything else refuses the whole
    request. Audited as ``referral_shared``."""
    if adviser.role != ADVISER or adviser.organisation_id != referral.organisation_id:
        raise InputRejected("share", NOT_SHARED)
    if not envelopes:
        raise InputRejected("share", NOT_SHARED)
    now = clock.now()
    async with db.transaction() as tx:
        keys = await store.adviser_keys(tx, referral.organisation_id)
        current = {k.key_id for k in keys}
        has = await store.envelope_keys(tx, referral.id)
        if not any(k.account_id == adviser.id and k.key_id in has for k in keys):
            raise InputRejected("share", NOT_SHARED)  # the sharer cannot read it
        if any(key_id not in current or key_id in has for key_id in envelopes):
            raise InputRejected("share", NOT_SHARED)
        decoded = {key_id: _envelope(value) for key_id, value in envelopes.items()}
        for key_id, envelope in decoded.items():
            await store.insert_envelope(tx, referral.id, key_id, envelope, now)
        consultation = await consultation_store.consultation_by_id(tx, referral.consultation_id)
        await audit.record(
            tx,
            clock,
            "referral_shared",
            consultation,
            actor=adviser,
            detail=f"count-{len(decoded)}",
            subject_id=referral.id,
        )
    return len(decoded)
