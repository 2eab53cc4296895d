"""The client's side: redeem a one-time code, come back with a client code, and answer
the meeting (confirm, cancel, ask for another time).

Threat: a trafficker guessing codes or reading a found slip later. The one-time code is
burned in the same transaction that creates the client code, so a slip found afterwards
opens nothing. The client code is shown once and never stored: only its pepper-keyed
lookup and its client key v1 (docs/crypto.md), whose one argon2id derivation also gives
the client's key pair (the secret key goes to the session, sealed there). Wrong codes are
answered identically whatever the reason (unknown, used, expired, revoked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from portal.clock import Clock
from portal.crypto import client_keys
from portal.crypto.tokens import random_id
from portal.domain import attention, audit, codes
from portal.domain.adviser_requests import ClientView as AdviserView
from portal.domain.adviser_requests import client_view_of as adviser_client_view
from portal.domain.bookings import OPEN_STATUSES, CodeHashing
from portal.domain.conversation import ClientConversation, client_conversation_of
from portal.i18n import N_
from portal.storage import consultations as store
from portal.storage import sessions as session_store
from portal.storage import slots as slot_store
from portal.storage.client_page import client_page_rows
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database, Queryable
from portal.storage.keys import StaffKey

CHANGE_REASONS = {
    "time": N_("The time does not suit me"),
    "place": N_("The place does not suit me"),
    "unsafe": N_("It is not safe for me to come now"),
    "other": N_("Another reason"),
}


# A client's own cancellation (meetings.change_reason): they may take it back for a while.
CANCELLED_BY_CLIENT = "client"
UNDO_SECONDS = 10 * 60


class CodeRejected(Exception):
    """The code is unknown, used, expired or withdrawn (the client is not told which)."""


class MeetingNotFound(Exception):
    """No such meeting in the client's own consultation (another client's is not found
    either: answering it must neither work nor confirm that it exists)."""


@dataclass(frozen=True)
class Redeemed:
    consultation_id: str
    client_code: str  # in clear only here, to show once
    client_secret_key: bytes = field(repr=False)  # for the session, sealed there


@dataclass(frozen=True)
class Opened:
    """A client code opened its consultation: what the session needs, nothing more."""

    consultation_id: str
    client_secret_key: bytes = field(repr=False)


def _columns(derived: client_keys.Derived) -> store.ClientKeyColumns:
    """A new client key's columns, under a new id (a new code: a new key)."""
    key = derived.stored
    return store.ClientKeyColumns(
        key_id=random_id(),
        public_key=key.public_key,
        salt=key.salt,
        opslimit=key.opslimit,
        memlimit_kib=key.memlimit_kib,
        verifier=key.verifier,
    )


async def redeem_one_time_code(
    db: Database, clock: Clock, hashing: CodeHashing, typed: str
) -> Redeemed:
    code = codes.normalise(typed)
    if len(code) not in codes.ONE_TIME_LENGTHS:
        raise CodeRejected
    row = None
    for lookup in hashing.lookups("one-time", code):
        row = await store.one_time_code_by_lookup(db, lookup)
        if row is not None:
            break
    stored_hash = row.code_hash if row is not None else None
    # The same argon2 work whether or not the code exists.
    if not await hashing.pool.run(lambda: hashing.hasher.verify_or_dummy(stored_hash, code)):
        raise CodeRejected
    if row is None or not row.is_usable(clock.now()):
        raise CodeRejected
    client_code = codes.new_code(codes.CLIENT_DIGITS)
    ops, mem = hashing.key_cost
    # One derivation gives the client code's verifier and the client's key pair.
    derived = await hashing.pool.run(lambda: client_keys.new_key(client_code, ops, mem))
    now = clock.now()
    async with db.transaction() as tx:
        if not await store.burn_one_time_code(tx, row.id, now):
            raise CodeRejected
        # A new slip replaces the client code, and with it every page opened with the
        # old one: whoever holds an earlier code or its session is out from now on.
        await session_store.delete_consultation_sessions(tx, row.consultation_id)
        await store.set_client_key(
            tx,
            row.consultation_id,
            codes.lookup_key(hashing.pepper, "client", client_code),
            _columns(derived),
        )
        await store.touch_consultation(tx, row.consultation_id, now)
        await _record(tx, clock, "code_redeemed", row.consultation_id)
    return Redeemed(row.consultation_id, client_code, derived.secret_key)


async def _record(
    tx: Queryable, clock: Clock, action: str, consultation_id: str, detail: str | None = None
) -> None:
    consultation = await store.consultation_by_id(tx, consultation_id)
    await audit.record(tx, clock, action, consultation, actor_role=audit.CLIENT_ROLE, detail=detail)


def _stored_key(key: store.ClientKeyColumns) -> client_keys.ClientKey:
    return client_keys.ClientKey(
        key.salt, key.opslimit, key.memlimit_kib, key.verifier, key.public_key
    )


async def open_with_client_code(db: Database, hashing: CodeHashing, typed: str) -> Opened:
    """The consultation and the client's secret key for a client code.

    Client key v1: one derivation, its verifier compared in constant time. A legacy
    consultation (an argon2 hash, from before client key v1): the hash is verified as
    before, then a second derivation, this once, makes the client's key and replaces the
    hash. An unknown code costs the same argon2 work, on a dummy salt.
    """
    code = codes.normalise(typed)
    if len(code) != codes.CLIENT_DIGITS:
        raise CodeRejected
    lookups = hashing.lookups("client", code)
    found = None
    for lookup in lookups:
        found = await store.client_code_by_lookup(db, lookup)
        if found is not None:
            break
    if found is None or found.key is not None:
        return await _open_v1(db, hashing, code, found, lookup != lookups[0])
    legacy_hash = found.legacy_hash
    if not await hashing.pool.run(lambda: hashing.hasher.verify_or_dummy(legacy_hash, code)):
        raise CodeRejected
    if legacy_hash is None:  # verify_or_dummy is False without a hash: not reached
        raise CodeRejected
    # Clients who redeemed before client key v1 move to it at their next sign-in.
    ops, mem = hashing.key_cost
    derived = await hashing.pool.run(lambda: client_keys.new_key(code, ops, mem))
    async with db.transaction() as tx:
        upgraded = await store.upgrade_legacy_client_code(
            tx, found.consultation_id, legacy_hash, lookups[0], _columns(derived)
        )
    if not upgraded:
        # A concurrent sign-in upgraded it first (or a new code replaced it): check the
        # code against what is stored now.
        again = await store.client_code_by_lookup(db, lookups[0])
        if again is None or again.key is None:
            raise CodeRejected
        return await _open_v1(db, hashing, code, again, rekey=False)
    return Opened(found.consultation_id, derived.secret_key)


async def _open_v1(
    db: Database,
    hashing: CodeHashing,
    code: str,
    found: store.ClientCodeRow | None,
    rekey: bool,
) -> Opened:
    if found is None or found.key is None:
        ops, mem = hashing.key_cost
        await hashing.pool.run(lambda: client_keys.derive_dummy(code, ops, mem))
        raise CodeRejected
    stored = _stored_key(found.key)
    try:
        derived = await hashing.pool.run(lambda: client_keys.verify(code, stored))
    except client_keys.MalformedClientKey:
        raise CodeRejected from None
    if derived is None:
        raise CodeRejected
    if rekey:
        # Found under a previous secret's pepper: move it to the current one, so the
        # old secret can be dropped without locking this client out.
        await store.rekey_client_code(db, found.consultation_id, hashing.lookups("client", code)[0])
    return Opened(found.consultation_id, derived.secret_key)


async def answer_meeting(
    db: Database,
    clock: Clock,
    consultation_id: str,
    meeting_id: str,
    answer: str,
    reason: str | None = None,
) -> bool:
    """The client confirms, cancels or asks for another time; False if not possible now.

    Raises ``MeetingNotFound`` for an unknown meeting or one of another consultation.
    """
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None or meeting.consultation_id != consultation_id:
        raise MeetingNotFound
    if not meeting.is_open:
        return False
    now = clock.now()
    async with db.transaction() as tx:
        if answer == "confirm":
            changed = await store.set_meeting_status(
                tx, meeting_id, "confirmed", now, only_if=("booked", "change_requested")
            )
        elif answer == "cancel":
            changed = await store.set_meeting_status(
                tx,
                meeting_id,
                "cancelled",
                now,
                only_if=OPEN_STATUSES,
                change_reason=CANCELLED_BY_CLIENT,
            )
            if changed:
                await slot_store.free_slot(tx, meeting.slot_id)
        elif answer == "change" and reason in CHANGE_REASONS:
            changed = await store.set_meeting_status(
                tx, meeting_id, "change_requested", now, only_if=OPEN_STATUSES, change_reason=reason
            )
        else:
            return False
        if changed:
            await store.touch_consultation(tx, consultation_id, now)
            consultation = await store.consultation_by_id(tx, consultation_id)
            await audit.record(
                tx,
                clock,
                "client_answered",
                consultation,
                actor_role=audit.CLIENT_ROLE,
                detail=answer,
            )
            if consultation is not None:
                # The investigator and the booker hear of it in the same transaction.
                await attention.client_answered(
                    tx, clock, consultation, meeting, answer, reason if answer == "change" else None
                )
    return changed


async def client_meeting(db: Queryable, consultation_id: str, meeting_id: str) -> Meeting:
    """One meeting of the client's own consultation; ``MeetingNotFound`` otherwise."""
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None or meeting.consultation_id != consultation_id:
        raise MeetingNotFound
    return meeting


def can_undo(meeting: Meeting, now: int) -> bool:
    """Whether the client may take back the cancellation of ``meeting``: they cancelled
    it themselves less than ``UNDO_SECONDS`` ago, and it has not started."""
    return (
        meeting.status == "cancelled"
        and meeting.change_reason == CANCELLED_BY_CLIENT
        and now - meeting.updated_at <= UNDO_SECONDS
        and meeting.starts_at > now
    )


async def undo_cancel(db: Database, clock: Clock, consultation_id: str, meeting_id: str) -> bool:
    """Take back a cancellation (``can_undo``) if the time is still free; False if not.
    The meeting is booked again (not confirmed); the investigator and the booker are
    told, as for the cancellation."""
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None or meeting.consultation_id != consultation_id:
        raise MeetingNotFound
    now = clock.now()
    if not can_undo(meeting, now):
        return False
    try:
        async with db.transaction() as tx:
            if not await slot_store.take_slot(tx, meeting.slot_id):
                return False  # someone else booked the time meanwhile
            if not await store.set_meeting_status(
                tx, meeting_id, "booked", now, only_if=("cancelled",)
            ):
                raise _ChangedMeanwhile  # rolls the taken slot back too
            await store.touch_consultation(tx, consultation_id, now)
            consultation = await store.consultation_by_id(tx, consultation_id)
            await audit.record(
                tx,
                clock,
                "client_answered",
                consultation,
                actor_role=audit.CLIENT_ROLE,
                detail="undo",
            )
            if consultation is not None:
                await attention.client_answered(tx, clock, consultation, meeting, "undo", None)
    except _ChangedMeanwhile:
        return False
    return True


class _ChangedMeanwhile(Exception):
    """The cancellation was taken back meanwhile (another tab)."""


# The client's session names their consultation (it was opened with their code); these
# read only that one.


async def client_consultation(db: Queryable, consultation_id: str) -> Consultation | None:
    """None if it was purged while the client was looking."""
    return await store.consultation_by_id(db, consultation_id)


@dataclass(frozen=True)
class MeetingPage:
    """What the client's meeting page shows."""

    consultation: Consultation
    key: StaffKey | None  # the client's note is sealed to it
    meetings: Sequence[Meeting]
    conversation: ClientConversation  # the latest messages, opened
    advisers: AdviserView


async def meeting_page(
    db: Database, consultation_id: str, secret_key: bytes | None, now: int, latest: int
) -> MeetingPage | None:
    """The client's meeting page in one statement (storage/client_page.py), with the latest
    ``latest`` messages opened with the key from their session; None if purged."""
    rows = await client_page_rows(db, consultation_id, latest)
    if rows is None:
        return None
    return MeetingPage(
        rows.consultation,
        rows.key,
        rows.meetings,
        client_conversation_of(
            consultation_id, rows.recipients, rows.latest, rows.message_count, secret_key
        ),
        adviser_client_view(rows.adviser_parts, now),
    )
