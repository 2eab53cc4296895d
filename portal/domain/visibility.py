"""The one place that decides who may see which consultation, meeting and slot.

Threat: insecure direct object references (a curious insider or a compromised NGO
account trying ids). Every lookup by id from the web goes through here; anything the
caller may not see is ``None`` and the page answers 404, exactly as for an id that does
not exist.

- NGO workers: consultations booked by their own organisation.
- Investigators: consultations assigned to them, meetings they hold, their own slots.
- Coordinators: all consultations, meetings and slots of the unit (metadata only; no
  sealed content ever reaches them).
"""

from __future__ import annotations

from portal.domain.roles import COORDINATOR, INVESTIGATOR, NGO_WORKER
from portal.storage import consultations as store
from portal.storage import slots as slot_store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Queryable
from portal.storage.slots import Slot


def may_see_consultation(actor: Account, consultation: Consultation) -> bool:
    if actor.role == NGO_WORKER:
        return consultation.organisation_id == actor.organisation_id
    if actor.role == INVESTIGATOR:
        return consultation.investigator_id == actor.id
    return actor.role == COORDINATOR


async def visible_consultation(
    db: Queryable, actor: Account, consultation_id: str
) -> Consultation | None:
    consultation = await store.consultation_by_id(db, consultation_id)
    if consultation is None or not may_see_consultation(actor, consultation):
        return None
    return consultation


async def visible_meeting(
    db: Queryable, actor: Account, meeting_id: str
) -> tuple[Meeting, Consultation] | None:
    meeting = await store.meeting_by_id(db, meeting_id)
    if meeting is None:
        return None
    consultation = await store.consultation_by_id(db, meeting.consultation_id)
    if consultation is None:
        return None
    if actor.role == INVESTIGATOR and meeting.investigator_id == actor.id:
        return meeting, consultation
    if not may_see_consultation(actor, consultation):
        return None
    return meeting, consultation


async def visible_slot(db: Queryable, actor: Account, slot_id: str) -> Slot | None:
    slot = await slot_store.slot_by_id(db, slot_id)
    if slot is None:
        return None
    if actor.role == COORDINATOR or (
        actor.role == INVESTIGATOR and slot.investigator_id == actor.id
    ):
        return slot
    return None


async def consultation_pseudonym(db: Queryable, consultation_id: str) -> str:
    """Only the label, for an investigator re-sealing notes of a consultation they no
    longer hold (they may not open the consultation itself any more)."""
    found = await store.consultation_by_id(db, consultation_id)
    return found.pseudonym if found else ""
