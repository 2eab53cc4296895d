"""The first interview of a case: when, where and with whom, planned at the decision to
report and re-planned later.

Continuity: the investigator the client has met holds it unless there is a reason, one
from the same fixed list a follow-up with someone else needs (never free text). The
client's page shows the plan in the client's language (the place's name and directions
as the coordinator wrote them in it, or marked as the default language's) and never a
staff name: "the investigator you have met" or "another investigator". The client's
wishes for it are a sealed note of kind ``interview_wishes`` (domain/notes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.domain import audit
from portal.domain.bookings import OTHER_INVESTIGATOR_REASONS
from portal.domain.errors import InputRejected, Problems
from portal.domain.place_languages import LocalPlace, places_in
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.storage import accounts as account_store
from portal.storage import first_interviews as store
from portal.storage import places as place_store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database, Queryable
from portal.storage.first_interviews import FirstInterview as FirstInterview
from portal.storage.places import Place

REASONS = OTHER_INVESTIGATOR_REASONS
WISHES = "interview_wishes"  # the note kind of the client's wishes
FUTURE = N_("Choose a time in the future.")
NO_PLACE = N_("Choose a place in use.")
NO_INVESTIGATOR = N_("Choose an active investigator.")
NO_REASON = N_("Say why another investigator holds the first interview.")
NOT_A_CASE = N_("The first interview is planned with the decision to report.")


@dataclass(frozen=True)
class PlanInput:
    """What a form says; ``at`` None when the time could not be read."""

    at: int | None
    place_id: str
    investigator_id: str
    reason: str


@dataclass(frozen=True)
class Plan:
    at: int
    place_id: str | None
    investigator_id: str
    change_reason: str | None


class NoPlan(RuntimeError):
    """check_plan found no problem yet returned no plan: a bug, never the user's input."""


async def check_plan(
    db: Queryable,
    clock: Clock,
    consultation: Consultation,
    given: PlanInput,
    problems: Problems,
    *,
    place_required: bool,
) -> Plan | None:
    """Adds every problem of the plan to ``problems``; the plan when there were none."""
    if given.at is None or given.at <= clock.now():
        problems.add("first_interview_at", FUTURE)
    place: Place | None = None
    if given.place_id:
        place = await place_store.place_by_id(db, given.place_id)
    if (given.place_id or place_required) and (place is None or place.archived_at is not None):
        problems.add("first_interview_place_id", NO_PLACE)
    interviewer = await account_store.account_by_id(db, given.investigator_id or "")
    if interviewer is None or interviewer.role != INVESTIGATOR or not interviewer.is_active:
        problems.add("interviewer_id", NO_INVESTIGATOR)
    reason: str | None = None
    if interviewer is not None and interviewer.id != consultation.investigator_id:
        if given.reason not in REASONS:
            problems.add("first_interview_reason", NO_REASON)
        reason = given.reason
    if problems.errors or given.at is None or interviewer is None:
        return None
    return Plan(given.at, place.id if place else None, interviewer.id, reason)


async def replan(
    db: Database, clock: Clock, consultation: Consultation, given: PlanInput, *, actor: Account
) -> None:
    """Change the plan of a case: a new time, place or interviewer (the audit detail: the
    reason code, or "same-investigator"), in one transaction with its audit event."""
    if not consultation.is_case:
        raise InputRejected("first_interview_at", NOT_A_CASE)
    problems = Problems()
    plan = await check_plan(db, clock, consultation, given, problems, place_required=True)
    problems.check()
    if plan is None:  # check() raised for every problem
        raise NoPlan
    async with db.transaction() as tx:
        await save(tx, clock, consultation, plan)
        await audit.record(
            tx,
            clock,
            "first_interview_planned",
            consultation,
            actor=actor,
            detail=plan.change_reason or "same-investigator",
        )


async def save(tx: Queryable, clock: Clock, consultation: Consultation, plan: Plan) -> None:
    """Store the plan; call inside the transaction that audits it (here, or the
    decision to report's: outcomes.decide_to_report)."""
    await store.set_first_interview(
        tx,
        consultation.id,
        at=plan.at,
        investigator_id=plan.investigator_id,
        place_id=plan.place_id,
        change_reason=plan.change_reason,
        now=clock.now(),
    )


@dataclass(frozen=True)
class StaffView:
    """The plan as the investigator's page shows it."""

    at: int
    place: Place | None
    investigator_id: str
    investigator_name: str
    change_reason: str | None


async def staff_view(db: Queryable, consultation: Consultation) -> StaffView | None:
    if not consultation.is_case:  # planned only with the decision to report
        return None
    found = await store.first_interview_of(db, consultation.id)
    if found is None:
        return None
    place = await place_store.place_by_id(db, found.place_id) if found.place_id else None
    who = await account_store.account_by_id(db, found.investigator_id)
    return StaffView(
        found.at,
        place,
        found.investigator_id,
        who.display_name if who else "",
        found.change_reason,
    )


@dataclass(frozen=True)
class ClientView:
    """The plan as the client's page shows it: no staff name."""

    at: int
    place: LocalPlace | None
    with_met_investigator: bool


async def client_view(
    db: Queryable,
    consultation: Consultation,
    meetings: Sequence[Meeting],
    locale: str,
    default_locale: str,
) -> ClientView | None:
    """Only after the decision to report (None before)."""
    if not consultation.is_case:
        return None
    found = await store.first_interview_of(db, consultation.id)
    if found is None:
        return None
    place = None
    if found.place_id:
        place = (await places_in(db, [found.place_id], locale, default_locale)).get(found.place_id)
    met = {m.investigator_id for m in meetings if m.status != "cancelled"}
    return ClientView(found.at, place, found.investigator_id in met)
