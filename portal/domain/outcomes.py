"""After a meeting: its outcome, the consultation's outcome, the referral consent, the
reflection period, and the decision to report that turns a consultation into a case.

Statuses are plain (dashboards and retention need them); anything written in words is
a sealed note (domain/notes.py), and identity may be recorded only after the decision
to report.
"""

from __future__ import annotations

import re

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain import audit
from portal.domain.errors import InputRejected
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.storage import accounts as account_store
from portal.storage import consent as consent_store
from portal.storage import consultations as store
from portal.storage import slots as slot_store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database

DAY = 86_400
MEETING_OUTCOMES = {
    "held": N_("Held"),
    "no_show": N_("Client did not come"),
    "cancelled": N_("Cancelled"),
}
CONSULTATION_OUTCOMES = {
    "wants_to_report": N_("Wants to report"),
    "needs_time": N_("Needs time"),
    "declined": N_("Declined"),
}
REFLECTION = {
    "none": N_("Not needed"),
    "needed": N_("Needed, not decided yet"),
    "granted": N_("Granted"),
}
# A reflection period is 30 days to 6 months (docs/design.md section 1).
REFLECTION_MIN_DAYS, REFLECTION_MAX_DAYS = 30, 183
CASE_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{2,63}")


class NoConsentText(Exception):
    """A coordinator has not published a consent text yet."""


async def record_meeting_outcome(
    db: Database, clock: Clock, meeting: Meeting, outcome: str
) -> None:
    if outcome not in MEETING_OUTCOMES:
        raise InputRejected("outcome", N_("Choose one of the options."))
    now = clock.now()
    async with db.transaction() as tx:
        if not await store.set_meeting_status(
            tx,
            meeting.id,
            outcome,
            now,
            only_if=("booked", "confirmed", "change_requested", "held", "no_show"),
        ):
            raise InputRejected("outcome", N_("This meeting was cancelled already."))
        if outcome == "cancelled":
            await slot_store.free_slot(tx, meeting.slot_id)
        await store.touch_consultation(tx, meeting.consultation_id, now)


async def record_consultation_outcome(
    db: Database, clock: Clock, consultation: Consultation, outcome: str
) -> None:
    if outcome not in CONSULTATION_OUTCOMES:
        raise InputRejected("outcome", N_("Choose one of the options."))
    await store.set_outcome(db, consultation.id, outcome, clock.now())


async def record_reflection(
    db: Database, clock: Clock, consultation: Consultation, status: str, ends_on: int | None
) -> None:
    if status not in REFLECTION:
        raise InputRejected("reflection_status", N_("Choose one of the options."))
    now = clock.now()
    if status == "granted":
        earliest, latest = now + (REFLECTION_MIN_DAYS - 1) * DAY, now + REFLECTION_MAX_DAYS * DAY
        if ends_on is None or not earliest <= ends_on <= latest:
            raise InputRejected(
                "reflection_ends_on",
                N_("A reflection period ends 30 days to 6 months from now. Enter its end date."),
            )
    else:
        ends_on = None
    await store.set_reflection(db, consultation.id, status, ends_on, now)


async def record_consent(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    actor: Account,
    *,
    explained: bool,
    consents: bool,
) -> int:
    """Record against the current consent text; returns its version."""
    text = await consent_store.latest_text(db)
    if text is None:
        raise NoConsentText
    if consents and not explained:
        raise InputRejected(
            "explained", N_("Consent counts only after the assistance system was explained.")
        )
    now = clock.now()
    async with db.transaction() as tx:
        await consent_store.insert_consent(
            tx,
            consent_id=random_id(),
            consultation_id=consultation.id,
            text_id=text.id,
            explained=explained,
            consents=consents,
            recorded_by=actor.id,
            now=now,
        )
        await store.touch_consultation(tx, consultation.id, now)
    return text.version


async def publish_consent_text(db: Database, clock: Clock, actor: Account, text: str) -> int:
    text = text.strip()
    if not 20 <= len(text) <= 5000:
        raise InputRejected("text", N_("Write the consent text: 20 to 5000 characters."))
    async with db.transaction() as tx:
        latest = await consent_store.latest_text(tx)
        version = (latest.version if latest else 0) + 1
        text_id = random_id()
        await consent_store.insert_text(
            tx,
            text_id=text_id,
            version=version,
            text=text,
            created_by=actor.id,
            now=clock.now(),
        )
        # The version number, never the text: the log stays content-free.
        await audit.record(
            tx,
            clock,
            "consent_text_published",
            None,
            actor=actor,
            detail=str(version),
            subject_id=text_id,
        )
    return version


async def decide_to_report(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    case_reference: str,
    first_interview_at: int | None,
    interviewer_id: str,
) -> None:
    """The client decides to report: the consultation becomes a case."""
    case_reference = case_reference.strip()
    if not CASE_REFERENCE.fullmatch(case_reference):
        raise InputRejected(
            "case_reference", N_("Enter the case reference: 3 to 64 letters, digits or / . _ -")
        )
    if first_interview_at is None or first_interview_at <= clock.now():
        raise InputRejected("first_interview_at", N_("Choose a time in the future."))
    interviewer = await account_store.account_by_id(db, interviewer_id)
    if interviewer is None or interviewer.role != INVESTIGATOR or not interviewer.is_active:
        raise InputRejected("interviewer_id", N_("Choose an active investigator."))
    if not await store.set_reported(
        db,
        consultation.id,
        case_reference=case_reference,
        first_interview_at=first_interview_at,
        interviewer_id=interviewer.id,
        now=clock.now(),
    ):
        raise InputRejected("case_reference", N_("The decision to report is recorded already."))
