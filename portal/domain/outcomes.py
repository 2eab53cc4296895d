"""After a meeting: its outcome, the consultation's outcome, the referral consent, the
reflection period, and the decision to report that turns a consultation into a case.

Statuses are plain (dashboards and retention need them); anything written in words is
a sealed note (domain/notes.py), and identity may be recorded only after the decision
to report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain import audit, first_interview, notes
from portal.domain import consultation_states as states
from portal.domain.errors import InputRejected, Problems
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.storage import consent as consent_store
from portal.storage import consultations as store
from portal.storage import slots as slot_store
from portal.storage.accounts import Account
from portal.storage.consent import ConsentText, ReferralConsent
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database, Queryable

DAY = 86_400
MEETING_OUTCOMES = {
    "held": N_("Held"),
    "no_show": N_("Client did not come"),
    "cancelled": N_("Cancelled"),
}
# Whether the client came: known only once the meeting has started.
ATTENDANCE = frozenset({"held", "no_show"})
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
    db: Database,
    clock: Clock,
    meeting: Meeting,
    consultation: Consultation,
    outcome: str,
    *,
    actor: Account,
) -> None:
    if outcome not in MEETING_OUTCOMES:
        raise InputRejected("outcome", N_("Choose one of the options."))
    now = clock.now()
    if outcome in ATTENDANCE and now < meeting.starts_at:
        raise InputRejected(
            "outcome",
            N_("The meeting has not started yet: it can be marked held or missed once it has."),
        )
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
        await audit.record(tx, clock, "meeting_outcome", consultation, actor=actor, detail=outcome)


async def record_consultation_outcome(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    outcome: str,
    *,
    actor: Account,
    note: notes.NoteInput | None = None,
) -> None:
    """The outcome, with the investigator's sealed summary if they wrote one: both and
    the audit event in one transaction."""
    if outcome not in CONSULTATION_OUTCOMES:
        raise InputRejected("outcome", N_("Choose one of the options."))
    current = states.state_of(consultation)
    states.check(current, outcome, "outcome")
    sealed = None
    if note is not None:
        sealed = await notes.seal_note(
            db, clock, consultation, author_role=INVESTIGATOR, given=note, kind="outcome"
        )
    async with db.transaction() as tx:
        # Only from the state checked above: a change made meanwhile refuses this one.
        if not await store.set_outcome(
            tx, consultation.id, outcome, clock.now(), only_from=states.stored_outcome(current)
        ):
            raise InputRejected("outcome", states.CHANGED_MEANWHILE)
        if sealed is not None:
            await notes.insert_sealed(tx, sealed, actor)
        await audit.record(
            tx, clock, "consultation_outcome", consultation, actor=actor, detail=outcome
        )


async def record_reflection(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    status: str,
    ends_on: int | None,
    *,
    actor: Account,
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
    async with db.transaction() as tx:
        await store.set_reflection(tx, consultation.id, status, ends_on, now)
        await audit.record(
            tx, clock, "reflection_recorded", consultation, actor=actor, detail=status
        )


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
        await audit.record(
            tx,
            clock,
            "consent_recorded",
            consultation,
            actor=actor,
            detail=f"version-{text.version}",
        )
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
    actor: Account,
    place_id: str = "",
    change_reason: str = "",
) -> None:
    """The client decides to report: the consultation becomes a case, with its first
    interview planned (domain/first_interview.py). Every problem is refused at once."""
    case_reference = case_reference.strip()
    problems = Problems()
    if not CASE_REFERENCE.fullmatch(case_reference):
        problems.add(
            "case_reference", N_("Enter the case reference: 3 to 64 letters, digits or / . _ -")
        )
    given = first_interview.PlanInput(first_interview_at, place_id, interviewer_id, change_reason)
    plan = await first_interview.check_plan(
        db, clock, consultation, given, problems, place_required=False
    )
    problems.check()
    if plan is None:  # check() raised for every problem
        raise first_interview.NoPlan
    async with db.transaction() as tx:
        if not await store.set_reported(
            tx,
            consultation.id,
            case_reference=case_reference,
            first_interview_at=plan.at,
            interviewer_id=plan.investigator_id,
            now=clock.now(),
        ):
            # Say why, from the row as it is now (not as the page saw it).
            latest = await store.consultation_by_id(tx, consultation.id)
            if latest is not None:
                states.check(states.state_of(latest), states.CASE, "case_reference")
            raise InputRejected("case_reference", states.CHANGED_MEANWHILE)
        await first_interview.save(tx, clock, consultation, plan)
        # The detail: why another investigator holds the first interview, if one does.
        await audit.record(
            tx, clock, "reported", consultation, actor=actor, detail=plan.change_reason
        )


async def latest_consent_text(db: Queryable) -> ConsentText | None:
    return await consent_store.latest_text(db)


async def consent_texts(db: Queryable) -> Sequence[ConsentText]:
    return await consent_store.all_texts(db)


async def consents_of(db: Queryable, consultation: Consultation) -> Sequence[ReferralConsent]:
    """The referral consents of a consultation the caller was allowed to see."""
    return await consent_store.consultation_consents(db, consultation.id)


@dataclass(frozen=True)
class CaseExport:
    sealed: notes.NotesExport
    meetings: Sequence[Meeting]
    consents: Sequence[ReferralConsent]


async def export_case(
    db: Database, clock: Clock, investigator: Account, consultation: Consultation
) -> CaseExport | None:
    """What the case bundle carries; audited as ``case_exported``. None before the
    decision to report, or while the investigator has no key."""
    sealed = await notes.sealed_to_current_key(db, investigator, consultation)
    if not consultation.is_case or sealed is None:
        return None
    found = CaseExport(
        sealed,
        await store.consultation_meetings(db, consultation.id),
        await consent_store.consultation_consents(db, consultation.id),
    )
    await audit.record(db, clock, "case_exported", consultation, actor=investigator)
    return found
