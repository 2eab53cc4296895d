"""Booking: an NGO worker turns a client's needs and a free slot into a consultation.

The slot is taken with one conditional update inside the booking transaction, so when
two workers book the same slot at once exactly one wins; the other gets ``SlotTaken``
and the web layer gives them their form back. The one-time code exists in clear only
in the ``Booking`` returned here, for the slip: it is stored as a keyed lookup hash and
an argon2id hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import random_id
from portal.domain import codes
from portal.domain.errors import InputRejected
from portal.domain.needs import Needs
from portal.domain.pseudonyms import new_pseudonym
from portal.domain.roles import INVESTIGATOR
from portal.i18n import CLIENT_LOCALES, N_
from portal.storage import accounts as account_store
from portal.storage import consultations as store
from portal.storage import slots as slot_store
from portal.storage.consultations import Consultation
from portal.storage.database import Database, Queryable

OPEN_STATUSES = ("booked", "confirmed", "change_requested")


class SlotTaken(Exception):
    """Someone else booked the slot first, or it was withdrawn or has passed."""


@dataclass(frozen=True)
class CodeHashing:
    """What making and checking codes needs: the hasher, its pool and the pepper (plus
    the peppers of previous secrets, still accepted during a key rotation)."""

    hasher: PasswordHasher
    pool: HashingPool
    pepper: bytes
    previous_peppers: tuple[bytes, ...] = ()

    def lookups(self, kind: str, code: str) -> list[bytes]:
        """Lookup keys to try, the current one first."""
        return [codes.lookup_key(p, kind, code) for p in (self.pepper, *self.previous_peppers)]


@dataclass(frozen=True)
class Booking:
    consultation_id: str
    pseudonym: str
    one_time_code: str  # in clear only here, for the slip
    code_expires_at: int
    client_locale: str


async def _new_one_time_code(
    tx: Queryable,
    hashing: CodeHashing,
    consultation_id: str,
    code: str,
    code_hash: str,
    now: int,
    ttl: int,
) -> None:
    await store.revoke_one_time_codes(tx, consultation_id, now)
    await store.insert_one_time_code(
        tx,
        code_id=random_id(),
        consultation_id=consultation_id,
        lookup=codes.lookup_key(hashing.pepper, "one-time", code),
        code_hash=code_hash,
        now=now,
        expires_at=now + ttl,
    )


async def _hashed_code(hashing: CodeHashing) -> tuple[str, str]:
    code = codes.new_code(codes.ONE_TIME_DIGITS)
    return code, await hashing.pool.run(lambda: hashing.hasher.hash(code))


async def book_meeting(
    db: Database,
    clock: Clock,
    hashing: CodeHashing,
    *,
    organisation_id: str,
    worker_id: str,
    slot_id: str,
    needs: Needs,
    client_locale: str,
    code_ttl: int,
) -> Booking:
    if client_locale not in CLIENT_LOCALES:
        raise InputRejected("client_locale", N_("Choose the client's language."))
    code, code_hash = await _hashed_code(hashing)  # the slow part, outside the transaction
    now = clock.now()
    consultation_id, pseudonym = random_id(), new_pseudonym()
    async with db.transaction() as tx:
        slot = await slot_store.slot_by_id(tx, slot_id)
        if slot is None or slot.starts_at <= now or not await slot_store.take_slot(tx, slot_id):
            raise SlotTaken
        await store.insert_consultation(
            tx,
            consultation_id=consultation_id,
            pseudonym=pseudonym,
            organisation_id=organisation_id,
            booked_by=worker_id,
            investigator_id=slot.investigator_id,
            client_locale=client_locale,
            needs=needs.as_row(),
            now=now,
        )
        await store.insert_meeting(
            tx,
            meeting_id=random_id(),
            consultation_id=consultation_id,
            slot_id=slot.id,
            investigator_id=slot.investigator_id,
            place_id=slot.place_id,
            starts_at=slot.starts_at,
            duration_minutes=slot.duration_minutes,
            is_follow_up=False,
            now=now,
        )
        await _new_one_time_code(tx, hashing, consultation_id, code, code_hash, now, code_ttl)
    return Booking(consultation_id, pseudonym, code, now + code_ttl, client_locale)


async def reissue_one_time_code(
    db: Database, clock: Clock, hashing: CodeHashing, consultation: Consultation, code_ttl: int
) -> Booking:
    """A fresh code for a lost slip; every earlier unused code stops working."""
    code, code_hash = await _hashed_code(hashing)
    now = clock.now()
    async with db.transaction() as tx:
        await _new_one_time_code(tx, hashing, consultation.id, code, code_hash, now, code_ttl)
    return Booking(
        consultation.id, consultation.pseudonym, code, now + code_ttl, consultation.client_locale
    )


async def cancel_meeting(db: Database, clock: Clock, meeting_id: str, slot_id: str) -> bool:
    """Cancel an open meeting and free its slot for someone else."""
    now = clock.now()
    async with db.transaction() as tx:
        if not await store.set_meeting_status(
            tx, meeting_id, "cancelled", now, only_if=OPEN_STATUSES
        ):
            return False
        await slot_store.free_slot(tx, slot_id)
    return True


async def rebook(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    slot_id: str,
    *,
    follow_up: bool,
    investigator_id: str | None = None,
) -> None:
    """Move the consultation to a new slot (cancelling open meetings unless a follow-up).

    ``investigator_id`` restricts the slot to one investigator (an investigator booking
    a follow-up in their own calendar).
    """
    now = clock.now()
    async with db.transaction() as tx:
        slot = await slot_store.slot_by_id(tx, slot_id)
        if (
            slot is None
            or slot.starts_at <= now
            or (investigator_id is not None and slot.investigator_id != investigator_id)
            or not await slot_store.take_slot(tx, slot_id)
        ):
            raise SlotTaken
        if not follow_up:
            for meeting in await store.consultation_meetings(tx, consultation.id):
                if meeting.is_open and await store.set_meeting_status(
                    tx, meeting.id, "cancelled", now, only_if=OPEN_STATUSES
                ):
                    await slot_store.free_slot(tx, meeting.slot_id)
        await store.insert_meeting(
            tx,
            meeting_id=random_id(),
            consultation_id=consultation.id,
            slot_id=slot.id,
            investigator_id=slot.investigator_id,
            place_id=slot.place_id,
            starts_at=slot.starts_at,
            duration_minutes=slot.duration_minutes,
            is_follow_up=follow_up,
            now=now,
        )
        await store.assign_investigator(tx, consultation.id, slot.investigator_id)
        await store.touch_consultation(tx, consultation.id, now)


async def reassign_meeting(
    db: Database, clock: Clock, meeting_id: str, consultation_id: str, investigator_id: str
) -> None:
    """A coordinator gives a meeting (and the consultation) to another investigator.

    The consultation keeps who held the first meeting, for continuity.
    """
    async with db.transaction() as tx:
        investigator = await account_store.account_by_id(tx, investigator_id)
        if investigator is None or investigator.role != INVESTIGATOR or not investigator.is_active:
            raise InputRejected("investigator_id", N_("Choose an active investigator."))
        await store.reassign_meeting(tx, meeting_id, investigator_id, clock.now())
        await store.assign_investigator(tx, consultation_id, investigator_id)


# Continuity: a follow-up is held by the same investigator unless there is a reason.
OTHER_INVESTIGATOR_REASONS = {
    "client_asked": N_("The client asked for someone else"),
    "language": N_("Language or interpreter"),
    "availability": N_("I cannot meet the client soon enough"),
    "gender": N_("The client wishes for an investigator of another gender"),
    "conflict": N_("A conflict of interest"),
}


async def book_follow_up(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    slot_id: str,
    *,
    investigator_id: str,
    reason: str,
) -> str:
    """Book a follow-up; another investigator's time needs a reason from the fixed list.

    Returns the audit detail: "same-investigator" or the reason code.
    """
    slot = await slot_store.slot_by_id(db, slot_id)
    if slot is None or slot.status != "free":
        raise SlotTaken
    if slot.investigator_id == investigator_id:
        detail = "same-investigator"
    elif reason in OTHER_INVESTIGATOR_REASONS:
        detail = reason
    else:
        raise InputRejected(
            "reason", N_("Say why another investigator should hold the follow-up meeting.")
        )
    await rebook(db, clock, consultation, slot_id, follow_up=True)
    return detail
