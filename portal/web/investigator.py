"""Investigator pages: the meeting dashboard, availability slots, follow-up meetings."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import accounts, bookings, keys, outcomes, places, slots, visibility
from portal.domain.bookings import Consultation, SlotTaken
from portal.domain.client_access import CHANGE_REASONS
from portal.domain.errors import InputRejected
from portal.domain.needs import LANGUAGES, describe
from portal.domain.notes import KINDS
from portal.domain.roles import INVESTIGATOR
from portal.domain.slots import DURATIONS, MAX_WEEKS, Planned, Slot, SlotInput, SlotNotFree
from portal.i18n import N_
from portal.web import adviser_section, attention, safety_section
from portal.web import interpreters as interpreter_forms
from portal.web.conversation import staff_context
from portal.web.first_interview import staff_context as first_interview_context
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.inputs import local_time, whole_number
from portal.web.paging import Page, page_number, window
from portal.web.referrals import consultation_context as referral_context
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {INVESTIGATOR}
NOT_FREE = N_("This time is booked or withdrawn, so it cannot be changed.")
DONE = {
    "meeting": N_("The meeting's outcome is saved."),
    "outcome": N_("The outcome is saved."),
    "consent": N_("The referral consent is recorded."),
    "reflection": N_("The reflection period is saved."),
    "reported": N_("The decision to report is recorded: this consultation is now a case."),
    "identity": N_("The identity record is sealed."),
    "interview": N_("The first interview is planned again."),
}


async def dashboard(request: Request, visit: Visit) -> Response:
    return await _meetings(request, visit, upcoming=True)


async def past_meetings(request: Request, visit: Visit) -> Response:
    return await _meetings(request, visit, upcoming=False)


async def _meetings(request: Request, visit: Visit, *, upcoming: bool) -> Response:
    svc = visit.services
    number = page_number(request)
    limit, offset = window(number)
    rows = await visibility.own_meetings(
        svc.db,
        visit.staff,
        upcoming=upcoming,
        now=svc.clock.now(),
        limit=limit,
        offset=offset,
    )
    return render(
        request,
        visit,
        "investigator/dashboard.html",
        page=Page.of(rows, number),
        upcoming=upcoming,
        languages=LANGUAGES,
        reflection_ends=await visibility.reflection_ends(svc.db, visit.staff, svc.clock.now()),
        attention=await attention.queue(visit, "/investigator") if upcoming else None,
        lacks_key=upcoming and await keys.lacks_key(svc.db, visit.staff),
    )


def _slot_input(visit: Visit) -> SlotInput:
    """What the slot form says; raises ``InputRejected`` for a date out of range."""
    zone = visit.services.zone
    return SlotInput(
        place_id=visit.field("place_id"),
        starts_at=local_time(visit.field("starts_at"), zone, "starts_at"),
        duration_minutes=whole_number(visit.field("duration_minutes"), max(DURATIONS)) or 0,
        languages=[v for v in visit.form.getlist("languages") if isinstance(v, str)],
        interpreter_available=visit.field("interpreter_available") == "yes",
        weeks=whole_number(visit.field("weeks") or "1", MAX_WEEKS) or 0,
    )


async def _slots_page(
    request: Request,
    visit: Visit,
    form: FormState,
    status: int = 200,
    editing: Slot | None = None,
    planned: list[Planned] | None = None,
    published: int | None = None,
) -> Response:
    svc = visit.services
    number = page_number(request)
    limit, offset = window(number)
    rows = await visibility.own_slots(svc.db, visit.staff, svc.clock.now(), limit, offset)
    return render(
        request,
        visit,
        "investigator/slots.html",
        status,
        page=Page.of(rows, number),
        form=form,
        editing=editing,
        places=await places.list_places(svc.db),
        languages=LANGUAGES,
        durations=DURATIONS,
        max_weeks=MAX_WEEKS,
        planned=planned,
        published=published,
        chosen_languages=form.values.get("languages_list", "").split(","),
    )


def _typed(visit: Visit) -> FormState:
    form = FormState.typed(visit)
    form.values["languages_list"] = ",".join(
        v for v in visit.form.getlist("languages") if isinstance(v, str)
    )
    return form


async def slots_page(request: Request, visit: Visit) -> Response:
    form = FormState(values={"duration_minutes": "60", "languages_list": "fi,en", "weeks": "1"})
    published = whole_number(request.query_params.get("published", ""), MAX_WEEKS)
    return await _slots_page(request, visit, form, published=published)


async def slot_create(request: Request, visit: Visit) -> Response:
    """A repeating time is shown first, each week marked if it overlaps one of the
    investigator's times; the confirmation publishes the free weeks."""
    svc = visit.services
    try:
        given = _slot_input(visit)
        if given.weeks > 1 and visit.field("confirm") != "yes":
            planned = await slots.plan_slots(svc.db, svc.clock, svc.zone, visit.staff.id, given)
            return await _slots_page(request, visit, _typed(visit), planned=planned)
        published = await slots.publish_slots(svc.db, svc.clock, svc.zone, visit.staff.id, given)
    except InputRejected as exc:
        return await _slots_page(request, visit, _typed(visit).rejected(exc), 400)
    return redirect(f"/investigator/slots?published={len(published)}")


async def _own_slot(visit: Visit, slot_id: str) -> Slot:
    found = await visibility.own_slot(visit.services.db, visit.staff, slot_id)
    if found is None:
        raise HTTPException(404)
    return found


async def slot_edit_form(request: Request, visit: Visit) -> Response:
    slot = await _own_slot(visit, request.path_params["id"])
    form = FormState(
        values={
            "place_id": slot.place_id,
            "starts_at": "",
            "duration_minutes": str(slot.duration_minutes),
            "languages_list": ",".join(slot.languages),
            "interpreter_available": "yes" if slot.interpreter_available else "no",
        }
    )
    return await _slots_page(request, visit, form, editing=slot)


async def slot_edit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    slot = await _own_slot(visit, request.path_params["id"])
    try:
        await slots.edit_slot(svc.db, svc.clock, slot, _slot_input(visit))
    except InputRejected as exc:
        form = _typed(visit).rejected(exc)
        return await _slots_page(request, visit, form, 400, editing=slot)
    except SlotNotFree:
        return await _slots_page(
            request, visit, _typed(visit).error("starts_at", NOT_FREE), 409, editing=slot
        )
    return redirect("/investigator/slots")


async def slot_withdraw(request: Request, visit: Visit) -> Response:
    slot = await _own_slot(visit, request.path_params["id"])
    try:
        await slots.withdraw_slot(visit.services.db, slot.id)
    except SlotNotFree:
        return await _slots_page(request, visit, FormState().error("withdraw", NOT_FREE), 409)
    return redirect("/investigator/slots")


async def consultation_page(
    request: Request,
    visit: Visit,
    form: FormState | None = None,
    status: int = 200,
    consultation_id: str | None = None,
    meeting_form: FormState | None = None,
) -> Response:
    """``consultation_id`` and ``meeting_form``: when a form about one of its meetings
    comes back (its errors are shown in the meetings list, where it was sent from)."""
    svc = visit.services
    consultation = await visibility.assigned_consultation(
        svc.db, visit.staff, consultation_id or request.path_params["id"]
    )
    if consultation is None:
        raise HTTPException(404)
    meetings = await bookings.meetings_of(svc.db, consultation)
    own_free, others_free = await visibility.follow_up_slots(
        svc.db, visit.staff, meetings, svc.clock.now()
    )
    key = await keys.current_key(svc.db, visit.staff.id)
    done_key = request.query_params.get("done", "")
    return render(
        request,
        visit,
        "investigator/consultation.html",
        status,
        consultation=consultation,
        meetings=meetings,
        needs=describe(consultation.needs),
        free_slots=own_free,
        others_free=others_free,
        other_reasons=bookings.OTHER_INVESTIGATOR_REASONS,
        # The client's reason for asking for another time ("not safe" among them).
        reasons=CHANGE_REASONS,
        form=form or FormState(),
        notes=await visibility.consultation_notes(svc.db, visit.staff, consultation),
        key=key,
        note_kinds=KINDS,
        # Each notice in the section its form is in (saved there without leaving the page).
        done=None if done_key == "meeting" else DONE.get(done_key),
        meeting_done=DONE["meeting"] if done_key == "meeting" else None,
        meeting_form=meeting_form or FormState(),
        **await _after_meeting_context(visit, consultation),
        # The first interview's plan (web/first_interview.py).
        **await first_interview_context(visit, consultation),
        **await staff_context(
            visit, consultation, f"/investigator/consultations/{consultation.id}/messages", key
        ),
        **await referral_context(
            visit, consultation, f"/investigator/consultations/{consultation.id}/referrals"
        ),
        **await adviser_section.ask_context(visit, consultation),
        # The safety plan and the meetings' interpreters (web/safety_section.py,
        # web/interpreters.py).
        **await safety_section.context(
            request,
            visit,
            consultation,
            key,
            f"/investigator/consultations/{consultation.id}/safety-plan",
        ),
        **interpreter_forms.context(visit, consultation),
    )


async def _after_meeting_context(visit: Visit, consultation: Consultation) -> dict[str, Any]:
    """What the outcome, consent, reflection and report forms need."""
    db = visit.services.db
    return {
        "meeting_outcomes": outcomes.MEETING_OUTCOMES,
        # Held or missed only once a meeting has started; cancelled at any time.
        "attendance": outcomes.ATTENDANCE,
        "now": visit.services.clock.now(),
        "consultation_outcomes": outcomes.CONSULTATION_OUTCOMES,
        "reflection_choices": outcomes.REFLECTION,
        "consent_text": await outcomes.latest_consent_text(db),
        "consents": await outcomes.consents_of(db, consultation),
        "investigators": await accounts.active_investigators(db),
    }


async def follow_up(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await visibility.assigned_consultation(
        svc.db, visit.staff, request.path_params["id"]
    )
    if consultation is None:
        raise HTTPException(404)
    if not visit.field("slot_id"):  # the list starts at "Choose": nothing booked unchosen
        form = FormState.typed(visit).error("slot_id", N_("Choose a time for the meeting."))
        return await consultation_page(request, visit, form, 400)
    try:
        await bookings.book_follow_up(
            svc.db,
            svc.clock,
            consultation,
            visit.field("slot_id"),
            investigator=visit.staff,
            reason=visit.field("reason"),
        )
    except SlotTaken:
        form = FormState().error("slot_id", N_("That time is no longer free. Choose another."))
        return await consultation_page(request, visit, form, 409)
    except InputRejected as exc:
        return await consultation_page(request, visit, FormState.typed(visit).rejected(exc), 400)
    return redirect(f"/investigator/consultations/{consultation.id}")


ROUTES: list[GuardedRoute] = [
    route("/investigator", dashboard, roles=ROLES),
    route("/investigator/past", past_meetings, roles=ROLES),
    route("/investigator/slots", slots_page, roles=ROLES),
    route("/investigator/slots", slot_create, roles=ROLES, methods=["POST"]),
    route("/investigator/slots/{id}", slot_edit_form, roles=ROLES),
    route("/investigator/slots/{id}", slot_edit, roles=ROLES, methods=["POST"]),
    route("/investigator/slots/{id}/withdraw", slot_withdraw, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}", consultation_page, roles=ROLES),
    route("/investigator/consultations/{id}/follow-up", follow_up, roles=ROLES, methods=["POST"]),
]
