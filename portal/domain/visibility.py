"""The one place that decides who may see which consultation, meeting, slot and note.

Threat: insecure direct object references (a curious insider or a compromised NGO
account trying ids). Every lookup by id from the web goes through a typed question
here that names the role asking (``own_slot(db, investigator, slot_id)``), and every
list derives its filter from the actor, so no handler repeats or can forget an access
condition. Anything the caller may not see is ``None`` (or an empty list) and the page
answers 404, exactly as for an id that does not exist. An actor of another role than
the question names gets nothing either: by an explicit role check where the rest of the
condition would let them through, and otherwise because no consultation, meeting or
slot of theirs can match (a coordinator's organisation books nothing, their id holds no
slot). tests/domain/test_visibility.py pins every answer, role by role.

- NGO workers: consultations booked by their own organisation, their meetings, notes
  and conversation.
- Investigators: consultations assigned to them with their notes and conversation,
  meetings they hold, their own slots (and every free slot, to book a follow-up).
- Coordinators: all consultations, meetings and slots of the unit (metadata only; no
  sealed note or message ever reaches them), and the accounts, places and enrolment links.
- Advisers (assistance system, municipal services): the requests sent to their own
  organisation (the consultation's pseudonym, language, structured needs and upcoming
  meetings' times and places, nothing else), the consultations they take part in (a part
  in a meeting, not cancelled) with that conversation, and their own parts. Never notes,
  outcome, reflection, case reference or identity.
- Everyone on the staff: their own attention items, and nobody else's.
- Referrals: advisers see those sent to their own organisation (with the note sealed to
  them); the assigned investigator, the booking NGO and coordinators see a
  consultation's referrals as plain status, never the note.
- Safety plans: edited (and their sealed details read) by the assigned investigator
  and the booking organisation's NGO workers; coordinators see the plain status only.
- A meeting's interpreter: set by the investigator who holds the meeting or a
  coordinator.
"""

from __future__ import annotations

from collections.abc import Sequence

from portal.domain.roles import ADVISER, COORDINATOR, INVESTIGATOR, NGO_WORKER
from portal.storage import accounts as account_store
from portal.storage import adviser_requests as adviser_store
from portal.storage import attention as attention_store
from portal.storage import consultations as store
from portal.storage import invitations as invitation_store
from portal.storage import messages as message_store
from portal.storage import notes as note_store
from portal.storage import places as place_store
from portal.storage import referrals as referral_store
from portal.storage import safety_plans as safety_plan_store
from portal.storage import slots as slot_store
from portal.storage.accounts import Account
from portal.storage.adviser_requests import AdviserMeeting, AdviserRequest
from portal.storage.attention import AttentionItem
from portal.storage.consultations import BookingRow, Consultation, Meeting, ReflectionEnd
from portal.storage.consultations import BookingSearch as BookingSearch
from portal.storage.database import Queryable
from portal.storage.invitations import Invitation
from portal.storage.messages import Readable
from portal.storage.notes import Note
from portal.storage.places import Place
from portal.storage.referrals import Referral
from portal.storage.safety_plans import SafetyPlan
from portal.storage.slots import Slot

# How many free times an investigator is offered for a follow-up meeting.
FOLLOW_UP_CHOICES = 200


def _booked_by_own_organisation(actor: Account, consultation: Consultation) -> bool:
    return consultation.organisation_id == actor.organisation_id


def _assigned_to(actor: Account, consultation: Consultation) -> bool:
    return consultation.investigator_id == actor.id


def _in_team(actor: Account, consultation: Consultation) -> bool:
    """The consultation's team: the assigned investigator and the booking organisation's
    NGO workers. They ask for advisers, send referrals and edit the safety plan."""
    if actor.role == INVESTIGATOR:
        return _assigned_to(actor, consultation)
    if actor.role == NGO_WORKER:
        return _booked_by_own_organisation(actor, consultation)
    return False


async def team_consultation(
    db: Queryable, actor: Account, consultation_id: str
) -> Consultation | None:
    """A consultation the actor is on the team of (``_in_team``): to ask for an adviser,
    send a referral or save the safety plan."""
    found = await store.consultation_by_id(db, consultation_id)
    return found if found is not None and _in_team(actor, found) else None


# --- NGO workers -------------------------------------------------------------------


async def booked_consultation(
    db: Queryable, ngo_worker: Account, consultation_id: str
) -> Consultation | None:
    """A consultation the worker's organisation booked."""
    found = await store.consultation_by_id(db, consultation_id)
    return found if found is not None and _booked_by_own_organisation(ngo_worker, found) else None


async def booked_meeting(
    db: Queryable, ngo_worker: Account, meeting_id: str
) -> tuple[Meeting, Consultation] | None:
    """A meeting of a consultation the worker's organisation booked."""
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None:
        return None
    consultation = await booked_consultation(db, ngo_worker, meeting.consultation_id)
    return None if consultation is None else (meeting, consultation)


async def organisation_bookings(
    db: Queryable,
    ngo_worker: Account,
    limit: int,
    offset: int,
    search: BookingSearch = BookingSearch(),  # noqa: B008 - frozen, never changed
) -> Sequence[BookingRow]:
    """The bookings of the worker's own organisation, newest first, narrowed by
    ``search`` (never wider: the organisation is always the worker's own)."""
    return await store.organisation_bookings(db, ngo_worker.organisation_id, limit, offset, search)


# --- investigators -----------------------------------------------------------------


async def assigned_consultation(
    db: Queryable, investigator: Account, consultation_id: str
) -> Consultation | None:
    """A consultation assigned to the investigator now."""
    found = await store.consultation_by_id(db, consultation_id)
    return found if found is not None and _assigned_to(investigator, found) else None


async def held_meeting(
    db: Queryable, investigator: Account, meeting_id: str
) -> tuple[Meeting, Consultation] | None:
    """A meeting the investigator holds (even if the consultation went to someone else
    later: they still record how their own meeting went)."""
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None or meeting.investigator_id != investigator.id:
        return None
    consultation = await store.consultation_by_id(db, meeting.consultation_id)
    return None if consultation is None else (meeting, consultation)


async def own_slot(db: Queryable, investigator: Account, slot_id: str) -> Slot | None:
    """One of the investigator's own slots."""
    slot = await slot_store.slot_by_id(db, slot_id)
    return slot if slot is not None and slot.investigator_id == investigator.id else None


async def own_slots(
    db: Queryable, investigator: Account, after: int, limit: int, offset: int
) -> Sequence[Slot]:
    return await slot_store.investigator_slots(db, investigator.id, after, limit, offset)


async def own_meetings(
    db: Queryable, investigator: Account, *, upcoming: bool, now: int, limit: int, offset: int
) -> Sequence[Meeting]:
    """The meetings the investigator holds: upcoming soonest first, or past latest first."""
    return await store.investigator_meetings(
        db, investigator.id, upcoming=upcoming, now=now, limit=limit, offset=offset
    )


async def follow_up_slots(
    db: Queryable, investigator: Account, meetings: Sequence[Meeting], after: int
) -> tuple[list[Slot], list[Slot]]:
    """Free times for a follow-up meeting: the investigator's own, and up to 50 of other
    investigators' (a follow-up may go to someone else, for a reason). Never a time that
    overlaps one of the consultation's planned ``meetings``: the client is there then."""
    if investigator.role != INVESTIGATOR:
        return [], []
    planned = [
        (m.starts_at, m.starts_at + m.duration_minutes * 60)
        for m in meetings
        if m.is_open or m.status == "held"
    ]
    free = [
        s
        for s in await slot_store.all_slots(db, after, FOLLOW_UP_CHOICES, 0)
        if s.status == "free"
        and not any(
            start < s.starts_at + s.duration_minutes * 60 and s.starts_at < end
            for start, end in planned
        )
    ]
    own = [s for s in free if s.investigator_id == investigator.id]
    return own, [s for s in free if s.investigator_id != investigator.id][:50]


async def previous_pseudonym(db: Queryable, consultation_id: str) -> str:
    """Only the label, for an investigator re-sealing notes of a consultation they no
    longer hold (they may not open the consultation itself any more)."""
    found = await store.consultation_by_id(db, consultation_id)
    return found.pseudonym if found else ""


# --- coordinators ------------------------------------------------------------------


async def unit_consultation(
    db: Queryable, coordinator: Account, consultation_id: str
) -> Consultation | None:
    if coordinator.role != COORDINATOR:
        return None
    return await store.consultation_by_id(db, consultation_id)


async def unit_meeting(
    db: Queryable, coordinator: Account, meeting_id: str
) -> tuple[Meeting, Consultation] | None:
    if coordinator.role != COORDINATOR:
        return None
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None:
        return None
    consultation = await store.consultation_by_id(db, meeting.consultation_id)
    return None if consultation is None else (meeting, consultation)


async def unit_meetings(
    db: Queryable, coordinator: Account, after: int, limit: int, offset: int
) -> Sequence[Meeting]:
    if coordinator.role != COORDINATOR:
        return []
    return await store.unit_meetings(db, after, limit, offset)


async def unit_slots(
    db: Queryable, coordinator: Account, after: int, limit: int, offset: int
) -> Sequence[Slot]:
    if coordinator.role != COORDINATOR:
        return []
    return await slot_store.all_slots(db, after, limit, offset)


async def managed_account(db: Queryable, coordinator: Account, account_id: str) -> Account | None:
    """An account the coordinator may disable or enable: any but their own (someone must
    be left to undo it)."""
    if coordinator.role != COORDINATOR or account_id == coordinator.id:
        return None
    return await account_store.account_by_id(db, account_id)


async def unit_place(db: Queryable, coordinator: Account, place_id: str) -> Place | None:
    if coordinator.role != COORDINATOR:
        return None
    return await place_store.place_by_id(db, place_id)


async def unit_invitation(
    db: Queryable, coordinator: Account, invitation_id: str
) -> Invitation | None:
    if coordinator.role != COORDINATOR:
        return None
    return await invitation_store.invitation_by_id(db, invitation_id)


# --- referrals -----------------------------------------------------------------------


async def received_referral(db: Queryable, adviser: Account, referral_id: str) -> Referral | None:
    """A referral sent to the adviser's own organisation."""
    if adviser.role != ADVISER:
        return None
    found = await referral_store.referral_by_id(db, referral_id)
    return found if found is not None and found.organisation_id == adviser.organisation_id else None


async def received_referrals(
    db: Queryable, adviser: Account, limit: int, offset: int
) -> Sequence[Referral]:
    """The referrals sent to the adviser's organisation, newest first."""
    if adviser.role != ADVISER:
        return []
    return await referral_store.organisation_referrals(db, adviser.organisation_id, limit, offset)


async def consultation_referrals(
    db: Queryable, actor: Account, consultation: Consultation
) -> Sequence[Referral]:
    """A consultation's referrals (status only: the note is sealed to advisers), for the
    assigned investigator, the booking organisation and coordinators."""
    if not (
        _booked_by_own_organisation(actor, consultation)
        or _assigned_to(actor, consultation)
        or actor.role == COORDINATOR
    ):
        return []
    return await referral_store.consultation_referrals(db, consultation.id)


async def unit_referrals(
    db: Queryable, coordinator: Account, limit: int, offset: int
) -> Sequence[Referral]:
    if coordinator.role != COORDINATOR:
        return []
    return await referral_store.all_referrals(db, limit, offset)


# --- advisers ----------------------------------------------------------------------


async def adviser_request(
    db: Queryable, adviser: Account, request_id: str
) -> AdviserRequest | None:
    """A request sent to the adviser's own organisation (any status)."""
    if adviser.role != ADVISER:
        return None
    found = await adviser_store.request_by_id(db, request_id)
    return found if found is not None and found.organisation_id == adviser.organisation_id else None


async def organisation_open_requests(
    db: Queryable, adviser: Account, limit: int
) -> Sequence[AdviserRequest]:
    """The open requests sent to the adviser's own organisation, oldest first."""
    if adviser.role != ADVISER:
        return []
    return await adviser_store.open_requests_to(db, adviser.organisation_id, limit)


async def adviser_consultation(
    db: Queryable, adviser: Account, consultation_id: str
) -> Consultation | None:
    """A consultation the adviser takes part in (a part not cancelled). The caller shows
    only its pseudonym, language, needs, meetings and conversation."""
    if adviser.role != ADVISER or not await adviser_store.takes_part(
        db, adviser.id, consultation_id
    ):
        return None
    return await store.consultation_by_id(db, consultation_id)


async def conversation_consultation(
    db: Queryable, staff: Account, consultation_id: str
) -> Consultation | None:
    """A consultation whose conversation the staff member writes in: an adviser taking
    part, or the consultation's team (``_in_team``)."""
    if staff.role == ADVISER:
        return await adviser_consultation(db, staff, consultation_id)
    return await team_consultation(db, staff, consultation_id)


async def own_adviser_meeting(
    db: Queryable, adviser: Account, adviser_meeting_id: str
) -> AdviserMeeting | None:
    """One of the adviser's own parts (to cancel it)."""
    if adviser.role != ADVISER:
        return None
    found = await adviser_store.meeting_by_id(db, adviser_meeting_id)
    return found if found is not None and found.adviser_id == adviser.id else None


async def own_adviser_meetings(
    db: Queryable, adviser: Account, limit: int
) -> Sequence[AdviserMeeting]:
    """The adviser's parts in consultations, not cancelled, soonest first."""
    if adviser.role != ADVISER:
        return []
    return await adviser_store.adviser_meetings(db, adviser.id, limit)


async def asked_adviser_request(
    db: Queryable, staff: Account, request_id: str
) -> AdviserRequest | None:
    """A request about a consultation assigned to the investigator, or booked by the NGO
    worker's organisation (to withdraw it)."""
    found = await adviser_store.request_by_id(db, request_id)
    if found is None or await team_consultation(db, staff, found.consultation_id) is None:
        return None
    return found


# --- several roles -----------------------------------------------------------------


async def consultation_notes(
    db: Queryable, actor: Account, consultation: Consultation
) -> Sequence[Note]:
    """The sealed notes of a consultation, for the NGO that booked it and the assigned
    investigator. Never for a coordinator (metadata only) or an adviser."""
    if actor.role not in (INVESTIGATOR, NGO_WORKER):
        return []
    if not (_booked_by_own_organisation(actor, consultation) or _assigned_to(actor, consultation)):
        return []
    return await note_store.consultation_notes(db, consultation.id)


async def consultation_messages(
    db: Queryable, actor: Account, consultation: Consultation, key_id: str
) -> Sequence[Readable]:
    """The conversation of a consultation with the envelopes sealed to ``key_id``, for
    the NGO that booked it, the assigned investigator and the advisers taking part. Never
    for a coordinator or another organisation (the client reads their own through
    client_messages)."""
    if actor.role == ADVISER:
        if not await adviser_store.takes_part(db, actor.id, consultation.id):
            return []
    elif actor.role not in (INVESTIGATOR, NGO_WORKER) or not (
        _booked_by_own_organisation(actor, consultation) or _assigned_to(actor, consultation)
    ):
        return []
    return await message_store.readable_by(db, consultation.id, key_id)


async def calendar(
    db: Queryable, actor: Account, start: int, end: int
) -> tuple[Sequence[Slot], Sequence[Meeting]]:
    """Slots and meetings starting in [start, end): an investigator's own, or the whole
    unit's for a coordinator."""
    if actor.role == INVESTIGATOR:
        whose: str | None = actor.id
    elif actor.role == COORDINATOR:
        whose = None
    else:
        return [], []
    return (
        await slot_store.slots_between(db, start, end, whose),
        await store.meetings_between(db, start, end, whose),
    )


async def day_meetings(
    db: Queryable, investigator: Account, start: int, end: int
) -> Sequence[Meeting]:
    """The investigator's meetings starting in [start, end), for the day sheet."""
    return await store.meetings_between(db, start, end, investigator.id)


async def reflection_ends(db: Queryable, actor: Account, now: int) -> Sequence[ReflectionEnd]:
    """Running reflection periods: an investigator's own consultations', or the unit's."""
    if actor.role == INVESTIGATOR:
        return await store.reflection_ends(db, now, actor.id)
    if actor.role == COORDINATOR:
        return await store.reflection_ends(db, now, None)
    return []


async def own_attention_item(db: Queryable, owner: Account, item_id: str) -> AttentionItem | None:
    """One of the staff member's own attention items (to mark it done): nobody else's,
    whatever their role, so an item's id shows nothing to anyone but its owner."""
    item = await attention_store.item_by_id(db, item_id)
    return item if item is not None and item.account_id == owner.id else None


async def own_attention_items(
    db: Queryable, owner: Account, limit: int, offset: int
) -> Sequence[AttentionItem]:
    """The staff member's own open attention items: urgent first, then newest first."""
    return await attention_store.open_items(db, owner.id, limit, offset)


# --- safety plans and interpreters ----------------------------------------------------


async def safety_plan(
    db: Queryable, actor: Account, consultation: Consultation
) -> SafetyPlan | None:
    """The plain part of the plan (housing, urgent risk, safe contact): for those who
    edit it and for coordinators (who see no more than this)."""
    if not (_in_team(actor, consultation) or actor.role == COORDINATOR):
        return None
    return await safety_plan_store.plan_of(db, consultation.id)


async def safety_plan_details(
    db: Queryable, actor: Account, consultation: Consultation, key_id: str
) -> tuple[SafetyPlan | None, bytes | None]:
    """The plan and its details sealed to ``key_id`` (None: none for that key), for
    those who edit the plan only."""
    if not _in_team(actor, consultation):
        return None, None
    return await safety_plan_store.plan_and_details(db, consultation.id, key_id)


async def interpreter_meeting(
    db: Queryable, actor: Account, meeting_id: str
) -> tuple[Meeting, Consultation] | None:
    """A meeting whose interpreter the actor sets: one the investigator holds, or any
    meeting of the unit for a coordinator."""
    if actor.role == INVESTIGATOR:
        return await held_meeting(db, actor, meeting_id)
    if actor.role == COORDINATOR:
        return await unit_meeting(db, actor, meeting_id)
    return None
