"""Booking: an NGO worker turns a client's needs and a free slot into a consultation.

The slot is taken with one conditional update inside the booking transaction, so when
two workers book the same slot at once exactly one wins; the other gets ``SlotTaken``
and the web layer gives them their form back. The one-time code exists in clear only
in the ``Booking`` returned here, for the slip: it is stored as a keyed lookup hash and
an argon2id hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import random_id
from portal.domain import attention, audit, codes, interpreters
from portal.domain.errors import InputRejected
from portal.domain.needs import Needs, SlotWish
from portal.domain.pseudonyms import new_pseudonym
from portal.domain.roles import INVESTIGATOR
from portal.domain.slots import DURATIONS
from portal.i18n import CLIENT_LOCALES, N_
from portal.storage import accounts as account_store
from portal.storage import consultations as store
from portal.storage import keys as key_store
from portal.storage import slots as slot_store
from portal.storage.accounts import Account
from portal.storage.consultations import BookingRow as BookingRow
from portal.storage.consultations import Consultation as Consultation
from portal.storage.consultations import Meeting as Meeting
from portal.storage.consultations import OneTimeCode
from portal.storage.database import Database, Queryable
from portal.storage.slots import Slot

OPEN_STATUSES = ("booked", "confirmed", "change_requested")


BUSY_THEN = N_(
    "This investigator has another time then. Choose someone else, or move that time first."
)
# How long after a booking the same form sent again leads to it (booking_sent_again).
SENT_AGAIN_SECONDS = 15 * 60


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

    @property
    def key_cost(self) -> tuple[int, int]:
        """(opslimit, memlimit KiB) of a new client key v1: the configured argon2 cost,
        the same as the hasher's, so a sign-in costs what a code check always cost."""
        return self.hasher.time_cost, self.hasher.memory_kib

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
    worker: Account,
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
            organisation_id=worker.organisation_id,
            booked_by=worker.id,
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
            interpreter_status=interpreters.initial_status(needs.interpreter_needed),
        )
        await _new_one_time_code(tx, hashing, consultation_id, code, code_hash, now, code_ttl)
        await audit.record(tx, clock, "booked", audit.Ref(consultation_id, pseudonym), actor=worker)
    return Booking(consultation_id, pseudonym, code, now + code_ttl, client_locale)


async def reissue_one_time_code(
    db: Database,
    clock: Clock,
    hashing: CodeHashing,
    consultation: Consultation,
    code_ttl: int,
    *,
    actor: Account,
) -> Booking:
    """A fresh code for a lost slip; every earlier unused code stops working."""
    code, code_hash = await _hashed_code(hashing)
    now = clock.now()
    async with db.transaction() as tx:
        await _new_one_time_code(tx, hashing, consultation.id, code, code_hash, now, code_ttl)
        await audit.record(tx, clock, "code_reissued", consultation, actor=actor)
    return Booking(
        consultation.id, consultation.pseudonym, code, now + code_ttl, consultation.client_locale
    )


async def cancel_meeting(
    db: Database, clock: Clock, meeting: Meeting, consultation: Consultation, *, actor: Account
) -> bool:
    """Cancel an open meeting and free its slot for someone else."""
    now = clock.now()
    async with db.transaction() as tx:
        if not await store.set_meeting_status(
            tx, meeting.id, "cancelled", now, only_if=OPEN_STATUSES
        ):
            return False
        await slot_store.free_slot(tx, meeting.slot_id)
        await audit.record(tx, clock, "meeting_cancelled", consultation, actor=actor)
    return True


async def rebook(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    slot_id: str,
    *,
    follow_up: bool,
    actor: Account,
    investigator_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Move the consultation to a new slot (cancelling open meetings unless a follow-up).

    ``investigator_id`` restricts the slot to one investigator (an investigator booking
    a follow-up in their own calendar). Audited as ``follow_up_booked`` (with
    ``detail``) or ``meeting_rebooked``, in the same transaction.
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
        if slot.investigator_id != consultation.investigator_id:
            await attention.reseal_needed(tx, clock, consultation, slot.investigator_id)
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
            interpreter_status=interpreters.initial_status(
                bool(consultation.needs["interpreter_needed"])
            ),
        )
        await store.assign_investigator(tx, consultation.id, slot.investigator_id)
        await store.touch_consultation(tx, consultation.id, now)
        action = "follow_up_booked" if follow_up else "meeting_rebooked"
        await audit.record(tx, clock, action, consultation, actor=actor, detail=detail)


async def reassign_meeting(
    db: Database,
    clock: Clock,
    meeting: Meeting,
    consultation: Consultation,
    investigator_id: str,
    *,
    actor: Account,
) -> bool:
    """A coordinator gives a meeting (and the consultation) to another investigator; False
    if it is theirs already (nothing changes, nothing is recorded).

    The meeting's time moves into their calendar (its slot becomes theirs), and is
    refused if they have another time then: one investigator's times never overlap
    (domain/slots.py). The consultation keeps who held the first meeting, for continuity.
    """
    if investigator_id == meeting.investigator_id:
        return False
    async with db.transaction() as tx:
        investigator = await account_store.account_by_id(tx, investigator_id)
        if investigator is None or investigator.role != INVESTIGATOR or not investigator.is_active:
            raise InputRejected("investigator_id", N_("Choose an active investigator."))
        await slot_store.lock_calendar(tx, investigator_id)
        start, end = meeting.starts_at, meeting.starts_at + meeting.duration_minutes * 60
        busy = await slot_store.busy_times(
            tx, investigator_id, start, end, longest=max(DURATIONS) * 60
        )
        if any(b_start < end and start < b_end for b_start, b_end in busy):
            raise InputRejected("investigator_id", BUSY_THEN)
        if investigator_id != consultation.investigator_id:
            await attention.reseal_needed(tx, clock, consultation, investigator_id)
        await store.reassign_meeting(tx, meeting.id, investigator_id, clock.now())
        await slot_store.give_slot(tx, meeting.slot_id, investigator_id)
        await store.assign_investigator(tx, consultation.id, investigator_id)
        await audit.record(tx, clock, "meeting_reassigned", consultation, actor=actor)
    return True


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
    investigator: Account,
    reason: str,
) -> None:
    """Book a follow-up; another investigator's time needs a reason from the fixed list
    (the audit detail: "same-investigator" or the reason code)."""
    slot = await slot_store.slot_by_id(db, slot_id)
    if slot is None or slot.status != "free":
        raise SlotTaken
    if slot.investigator_id == investigator.id:
        detail = "same-investigator"
    elif reason in OTHER_INVESTIGATOR_REASONS:
        detail = reason
    else:
        raise InputRejected(
            "reason", N_("Say why another investigator should hold the follow-up meeting.")
        )
    await rebook(
        db, clock, consultation, slot_id, follow_up=True, actor=investigator, detail=detail
    )


async def meetings_of(db: Queryable, consultation: Consultation) -> Sequence[Meeting]:
    """The meetings of a consultation the caller was allowed to see (visibility.py)."""
    return await store.consultation_meetings(db, consultation.id)


async def code_state(db: Queryable, consultation: Consultation) -> OneTimeCode | None:
    """The latest slip's code: used, expired or still open (never the code itself)."""
    return await store.latest_code_state(db, consultation.id)


# How many of the same investigator's free times a rebooking offers first.
SAME_INVESTIGATOR_TIMES = 10


@dataclass(frozen=True)
class RebookChoices:
    """Continuity first: the current investigator's next free times, then the matching
    times (later ones of the same investigator among them) of investigators with a key
    only (the client's notes and messages are sealed to it; without one they could read
    nothing)."""

    same: list[Slot]
    others: list[Slot]
    more_others: bool  # a later page of other investigators' times exists


async def rebook_choices(
    db: Database, clock: Clock, consultation: Consultation, needs: Needs, *, limit: int, offset: int
) -> RebookChoices:
    """``limit``: a page of other times plus one (web/paging.py ``window``)."""
    now = clock.now()
    own = await slot_store.investigator_slots(
        db, consultation.investigator_id, now, SAME_INVESTIGATOR_TIMES * 2, 0
    )
    same = [s for s in own if s.status == "free"][:SAME_INVESTIGATOR_TIMES]
    shown = {s.id for s in same}
    found = await matching_slots(db, clock, needs.wish, limit=limit, offset=offset)
    keyed = await key_store.holders_of_keys(db, (s.investigator_id for s in found))
    keyed.add(consultation.investigator_id)  # staying is continuity, key or not
    others = [s for s in found[: limit - 1] if s.investigator_id in keyed and s.id not in shown]
    return RebookChoices(same, others, len(found) >= limit)


async def rebook_by_ngo(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    slot_id: str,
    *,
    actor: Account,
    reason: str,
) -> None:
    """The NGO worker books another time. Another investigator needs a reason from the
    fixed list (audited as the event's detail) and a key; the previous investigator then
    gets an item to re-seal the notes for the new one."""
    slot = await slot_store.slot_by_id(db, slot_id)
    if slot is None:
        raise SlotTaken
    detail = None
    if slot.investigator_id != consultation.investigator_id:
        if reason not in OTHER_INVESTIGATOR_REASONS:
            raise InputRejected(
                "reason", N_("Say why another investigator should meet the client.")
            )
        if not await key_store.holders_of_keys(db, [slot.investigator_id]):
            raise InputRejected(
                "slot_id",
                N_("This investigator cannot open sealed notes yet. Choose another time."),
            )
        detail = reason
    await rebook(db, clock, consultation, slot_id, follow_up=False, actor=actor, detail=detail)


async def booking_sent_again(
    db: Database, clock: Clock, worker: Account, slot_id: str, needs: Needs, client_locale: str
) -> Consultation | None:
    """For a slot that turned out taken: the booking this worker made of it moments ago
    with the very same answers, when this is that form sent again (a reloaded slip page
    sends it again), not someone else's booking nor another client's."""
    own = await store.booked_on_slot(db, slot_id, worker.id)
    if (
        own is None
        or clock.now() - own.created_at > SENT_AGAIN_SECONDS
        or own.client_locale != client_locale
        or Needs.from_row(own.needs) != needs
    ):
        return None
    return own


async def matching_slots(
    db: Database, clock: Clock, wish: SlotWish, *, limit: int, offset: int
) -> Sequence[Slot]:
    """Free future times that fit the client's needs, soonest first."""
    return await slot_store.matching_free_slots(
        db,
        after=clock.now(),
        language=wish.language,
        needs_interpreter=wish.interpreter_needed,
        investigator_gender=wish.investigator_gender,
        place_kind=wish.venue_preference,
        limit=limit,
        offset=offset,
    )
