"""Talking with an adviser before the decision: requests and the advisers' part.

An investigator or NGO worker asks the advisers of one organisation (assistance system or
municipal services) to talk with the client. The request carries nothing but the
consultation, the organisation and who asked: the advisers are shown the consultation's
language, its structured needs, its pseudonym (a generated label) and its upcoming
meetings' times and places - never notes, outcome, reflection, case reference or identity
(domain/visibility.py decides who sees a request). An adviser answers by joining one of
the upcoming meetings or by offering a time of their own; from then on (until they
cancel) they are a participant of the conversation. Every change writes its audit event
and its attention items in the same transaction.

Who gets an attention item:

- a new request: every active adviser of the organisation asked (``adviser_request``);
- an answer: the person who asked (``adviser_answered``);
- an adviser cancelling their part: the person who asked (``adviser_cancelled``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain import attention, audit
from portal.domain.errors import InputRejected, Problems
from portal.domain.roles import ADVISER, ADVISER_KINDS
from portal.i18n import N_
from portal.storage import adviser_requests as store
from portal.storage import attention as attention_store
from portal.storage import consultations as consultation_store
from portal.storage import places as place_store
from portal.storage.accounts import Account
from portal.storage.adviser_requests import AdviserMeeting as AdviserMeeting
from portal.storage.adviser_requests import AdviserOrganisation as AdviserOrganisation
from portal.storage.adviser_requests import AdviserRequest as AdviserRequest
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database, Queryable

# The lengths an adviser may offer for a time of their own, in minutes.
DURATIONS = (30, 45, 60, 90, 120)
# How many open requests and meetings a start page lists.
SHOWN = 50

CHOOSE_ORGANISATION = N_("Choose an organisation whose advisers can take part.")
ASKED_ALREADY = N_("This organisation has been asked already and has not answered yet.")
IS_CASE = N_("Advisers are asked before the decision to report.")
NOT_OPEN = N_("This request is no longer open: someone answered it, or it was withdrawn.")
CHOOSE_MEETING = N_("Choose one of the upcoming meetings.")
JOINED_ALREADY = N_("You take part in this meeting already.")
WHEN = N_("Enter the date and time, for example 2026-12-01 10:00.")
FUTURE = N_("Choose a time in the future.")
CHOOSE_PLACE = N_("Choose a meeting place.")
CHOOSE = N_("Choose one of the options.")


class NotOpen(Exception):
    """The request was answered or withdrawn meanwhile."""


async def organisations_to_ask(db: Queryable) -> Sequence[AdviserOrganisation]:
    """Assistance and municipal organisations with at least one active adviser."""
    return await store.organisations_with_advisers(db, sorted(ADVISER_KINDS))


async def ask(
    db: Database, clock: Clock, consultation: Consultation, organisation_id: str, *, actor: Account
) -> AdviserRequest:
    """``actor`` (the assigned investigator or an NGO worker of the booking organisation,
    checked by the caller through visibility.py) asks ``organisation_id``'s advisers."""
    if consultation.is_case:
        raise InputRejected("adviser_organisation_id", IS_CASE)
    request_id, now = random_id(), clock.now()
    async with db.transaction() as tx:
        chosen = {
            o.id: o for o in await store.organisations_with_advisers(tx, sorted(ADVISER_KINDS))
        }
        organisation = chosen.get(organisation_id)
        if organisation is None:
            raise InputRejected("adviser_organisation_id", CHOOSE_ORGANISATION)
        if await store.open_request_exists(tx, consultation.id, organisation.id):
            raise InputRejected("adviser_organisation_id", ASKED_ALREADY)
        await store.insert_request(
            tx,
            request_id=request_id,
            consultation_id=consultation.id,
            organisation_id=organisation.id,
            requested_by=actor.id,
            now=now,
        )
        await audit.record(
            tx,
            clock,
            "adviser_requested",
            consultation,
            actor=actor,
            detail=organisation.kind,
            subject_id=request_id,
        )
        await attention.advisers_asked(
            tx, consultation.id, organisation.id, "adviser_request", request_id, now
        )
        created = await store.request_by_id(tx, request_id)
    if created is None:  # written just above, in this transaction
        raise NotOpen
    return created


async def withdraw(db: Database, clock: Clock, request: AdviserRequest, *, actor: Account) -> None:
    """The asker (or a colleague on the consultation) takes back an open request."""
    async with db.transaction() as tx:
        if not await store.set_status(tx, request.id, "withdrawn", None, clock.now()):
            raise NotOpen
        await audit.record(
            tx,
            clock,
            "adviser_request_withdrawn",
            _ref(request),
            actor=actor,
            subject_id=request.id,
        )


def _ref(request: AdviserRequest) -> audit.Ref:
    return audit.Ref(request.consultation_id, request.pseudonym)


async def upcoming_meetings(db: Queryable, consultation_id: str, now: int) -> list[Meeting]:
    """The consultation's meetings still to come and still on: what an adviser may join."""
    return [
        m
        for m in await consultation_store.consultation_meetings(db, consultation_id)
        if m.is_open and m.starts_at > now
    ]


async def _answered(
    tx: Queryable,
    clock: Clock,
    request: AdviserRequest,
    adviser: Account,
    action: str,
    subject_id: str,
) -> None:
    now = clock.now()
    if not await store.set_status(tx, request.id, "answered", adviser.id, now):
        raise NotOpen
    await audit.record(
        tx, clock, action, _ref(request), actor=adviser, detail=request.organisation_kind,
        subject_id=request.id,
    )  # fmt: skip
    await attention_store.insert_item(
        tx,
        item_id=random_id(),
        account_id=request.requested_by,
        consultation_id=request.consultation_id,
        kind="adviser_answered",
        detail=None,
        subject_id=subject_id,
        urgent=False,
        now=now,
    )


async def join_meeting(
    db: Database, clock: Clock, request: AdviserRequest, meeting_id: str, *, adviser: Account
) -> None:
    """The adviser will be at one of the consultation's upcoming meetings."""
    if adviser.role != ADVISER:
        raise NotOpen
    now = clock.now()
    async with db.transaction() as tx:
        meetings = {m.id: m for m in await upcoming_meetings(tx, request.consultation_id, now)}
        meeting = meetings.get(meeting_id)
        if meeting is None:
            raise InputRejected("meeting_id", CHOOSE_MEETING)
        if await store.joins_meeting(tx, adviser.id, meeting.id):
            raise InputRejected("meeting_id", JOINED_ALREADY)
        await store.insert_meeting(
            tx,
            adviser_meeting_id=random_id(),
            consultation_id=request.consultation_id,
            request_id=request.id,
            adviser_id=adviser.id,
            meeting_id=meeting.id,
            place_id=None,
            starts_at=None,
            duration_minutes=None,
            now=now,
        )
        # The requester's item names the meeting: the queue shows its time.
        await _answered(tx, clock, request, adviser, "adviser_joined_meeting", meeting.id)


@dataclass(frozen=True)
class OwnTime:
    place_id: str
    starts_at: int | None  # None when the typed date and time could not be read
    duration_minutes: int


async def offer_time(
    db: Database, clock: Clock, request: AdviserRequest, given: OwnTime, *, adviser: Account
) -> None:
    """The adviser offers a time and place of their own to meet the client."""
    if adviser.role != ADVISER:
        raise NotOpen
    now = clock.now()
    problems = Problems()
    if given.starts_at is None:
        problems.add("starts_at", WHEN)
    elif given.starts_at <= now:
        problems.add("starts_at", FUTURE)
    if given.duration_minutes not in DURATIONS:
        problems.add("duration_minutes", CHOOSE)
    place = await place_store.place_by_id(db, given.place_id)
    if place is None or place.archived_at is not None:
        problems.add("place_id", CHOOSE_PLACE)
    problems.check()
    adviser_meeting_id = random_id()
    async with db.transaction() as tx:
        await store.insert_meeting(
            tx,
            adviser_meeting_id=adviser_meeting_id,
            consultation_id=request.consultation_id,
            request_id=request.id,
            adviser_id=adviser.id,
            meeting_id=None,
            place_id=given.place_id,
            starts_at=given.starts_at,
            duration_minutes=given.duration_minutes,
            now=now,
        )
        await _answered(tx, clock, request, adviser, "adviser_offered_time", adviser_meeting_id)


async def cancel_part(
    db: Database, clock: Clock, part: AdviserMeeting, *, adviser: Account
) -> bool:
    """The adviser will not be there after all: no longer a participant (unless they take
    part otherwise). The asker hears of it. False if it was cancelled already."""
    now = clock.now()
    async with db.transaction() as tx:
        if not await store.cancel_meeting(tx, part.id, now):
            return False
        await audit.record(
            tx, clock, "adviser_cancelled", audit.Ref(part.consultation_id, part.pseudonym),
            actor=adviser, subject_id=part.id,
        )  # fmt: skip
        request = await store.request_by_id(tx, part.request_id) if part.request_id else None
        if request is not None:
            await attention_store.insert_item(
                tx,
                item_id=random_id(),
                account_id=request.requested_by,
                consultation_id=part.consultation_id,
                kind="adviser_cancelled",
                detail=None,
                subject_id=part.meeting_id or part.id,
                urgent=False,
                now=now,
            )
    return True


# --- what pages show --------------------------------------------------------------------


async def requests_of(db: Queryable, consultation: Consultation) -> Sequence[AdviserRequest]:
    """The requests of a consultation the caller may see (visibility.py decided)."""
    return await store.consultation_requests(db, consultation.id)


async def parts_of(db: Queryable, consultation_id: str) -> Sequence[AdviserMeeting]:
    """Every adviser's part in a consultation the caller may see."""
    return await store.consultation_meetings(db, consultation_id)


@dataclass(frozen=True)
class ClientView:
    """What the client's meeting page says about advisers."""

    joins: dict[str, list[str]]  # meeting id -> the kinds of the advisers who join it
    own: list[AdviserMeeting]  # advisers' own upcoming meetings with the client

    def joining(self, meeting_id: str) -> list[str]:
        return self.joins.get(meeting_id, [])


def client_view_of(parts: Iterable[AdviserMeeting], now: int) -> ClientView:
    """``parts``: every adviser's part in the consultation, soonest first."""
    joins: dict[str, list[str]] = {}
    own = []
    for part in parts:
        if not part.is_planned or part.organisation_kind not in ADVISER_KINDS:
            continue
        if part.meeting_id is not None:
            kinds = joins.setdefault(part.meeting_id, [])
            if part.organisation_kind not in kinds:
                kinds.append(part.organisation_kind)
        elif part.starts_at + part.duration_minutes * 60 > now:
            own.append(part)
    return ClientView(joins, own)
