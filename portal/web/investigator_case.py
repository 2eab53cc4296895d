"""Investigator actions after a meeting: outcomes, consent, reflection period, the
decision to report, the sealed identity record, and the case bundle for export."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import accounts, bookings, first_interview, keys, notes, outcomes, visibility
from portal.domain.bookings import Consultation
from portal.domain.errors import InputRejected
from portal.domain.keys import NoKeyYet
from portal.domain.needs import describe
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.inputs import local_time
from portal.web.investigator import consultation_page
from portal.web.investigator_notes import download, export_document
from portal.web.note_forms import note_input
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {INVESTIGATOR}


async def _assigned(request: Request, visit: Visit) -> Consultation:
    found = await visibility.assigned_consultation(
        visit.services.db, visit.staff, request.path_params["id"]
    )
    if found is None:
        raise HTTPException(404)
    return found


def _back(consultation: Consultation, done: str) -> Response:
    return redirect(f"/investigator/consultations/{consultation.id}?done={done}#after")


async def _again(request: Request, visit: Visit, exc: InputRejected) -> Response:
    form = FormState.typed(visit).rejected(exc)
    return await consultation_page(request, visit, form, 400)


async def meeting_outcome(request: Request, visit: Visit) -> Response:
    svc = visit.services
    found = await visibility.held_meeting(svc.db, visit.staff, request.path_params["id"])
    if found is None:
        raise HTTPException(404)
    meeting, consultation = found
    try:
        await outcomes.record_meeting_outcome(
            svc.db, svc.clock, meeting, consultation, visit.field("outcome"), actor=visit.staff
        )
    except InputRejected as exc:
        rejected = FormState().rejected(exc)
        return await consultation_page(
            request, visit, None, 400, consultation.id, meeting_form=rejected
        )
    return _back(consultation, "meeting")


async def consultation_outcome(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _assigned(request, visit)
    given = note_input(visit, notes.KINDS["outcome"].sections)
    try:
        await outcomes.record_consultation_outcome(
            svc.db,
            svc.clock,
            consultation,
            visit.field("outcome"),
            actor=visit.staff,
            note=given if given.envelope or any(given.sections.values()) else None,
        )
    except InputRejected as exc:
        return await _again(request, visit, exc)
    except NoKeyYet:
        raise HTTPException(409) from None
    return _back(consultation, "outcome")


def _yes_or_no(visit: Visit, name: str) -> bool:
    """A recorded decision is made, never assumed: only an explicit yes or no counts."""
    value = visit.field(name)
    if value not in ("yes", "no"):
        raise InputRejected(name, N_("Choose one of the options."))
    return value == "yes"


async def consent(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _assigned(request, visit)
    try:
        await outcomes.record_consent(
            svc.db,
            svc.clock,
            consultation,
            visit.staff,
            explained=_yes_or_no(visit, "explained"),
            consents=_yes_or_no(visit, "consents"),
        )
    except InputRejected as exc:
        return await _again(request, visit, exc)
    except outcomes.NoConsentText:
        raise HTTPException(409) from None
    return _back(consultation, "consent")


async def reflection(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _assigned(request, visit)
    try:
        ends_on = local_time(
            visit.field("reflection_ends_on") + "T12:00", svc.zone, "reflection_ends_on"
        )
        await outcomes.record_reflection(
            svc.db,
            svc.clock,
            consultation,
            visit.field("reflection_status"),
            ends_on,
            actor=visit.staff,
        )
    except InputRejected as exc:
        return await _again(request, visit, exc)
    return _back(consultation, "reflection")


async def report(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _assigned(request, visit)
    try:
        await outcomes.decide_to_report(
            svc.db,
            svc.clock,
            consultation,
            case_reference=visit.field("case_reference"),
            first_interview_at=local_time(
                visit.field("first_interview_at"), svc.zone, "first_interview_at"
            ),
            interviewer_id=visit.field("interviewer_id") or visit.staff.id,
            actor=visit.staff,
            place_id=visit.field("first_interview_place_id"),
            change_reason=visit.field("first_interview_reason"),
        )
    except InputRejected as exc:
        return await _again(request, visit, exc)
    return _back(consultation, "reported")


async def identity(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _assigned(request, visit)
    try:
        await notes.add_note(
            svc.db,
            svc.clock,
            consultation,
            author_role="investigator",
            author=visit.staff,
            given=note_input(visit, notes.KINDS["identity"].sections),
            kind="identity",
        )
    except InputRejected as exc:
        return await _again(request, visit, exc)
    except (notes.NotAllowed, NoKeyYet):
        raise HTTPException(409) from None
    return _back(consultation, "identity")


async def case_export(request: Request, visit: Visit) -> Response:
    """The case bundle: plain metadata plus every sealed part, for ``portal decrypt`` and
    for transfer to the police case-management system."""
    svc = visit.services
    consultation = await _assigned(request, visit)
    found = await outcomes.export_case(svc.db, svc.clock, visit.staff, consultation)
    if found is None:
        raise HTTPException(404)
    meetings, consents = found.meetings, found.consents
    document = export_document(consultation, found.sealed)
    document["case"] = {
        "case_reference": consultation.case_reference,
        "reported_at": consultation.reported_at,
        "first_interview_at": consultation.first_interview_at,
        "first_interview_investigator": consultation.first_interview_investigator_id,
        "outcome": consultation.outcome,
        "reflection_status": consultation.reflection_status,
        "reflection_ends_on": consultation.reflection_ends_on,
        "needs": consultation.needs,
        "first_interview_investigator_name": await accounts.name_of(
            svc.db, consultation.first_interview_investigator_id
        ),
        **_first_interview_export(await first_interview.staff_view(svc.db, consultation)),
        "meetings": [
            {
                "starts_at": m.starts_at,
                "status": m.status,
                "place": m.place_name,
                "place_address": m.place_address,
                "investigator": m.investigator_name,
            }
            for m in meetings
        ],
        "referral_consents": [
            {
                "consent_text_version": c.version,
                "explained": c.explained,
                "consents": c.consents,
                "recorded_at": c.recorded_at,
                "consent_text": c.text,
            }
            for c in consents
        ],
    }
    reference = (consultation.case_reference or consultation.id).replace("/", "-")
    return download(document, f"case-{reference}.json")


def _first_interview_export(plan: first_interview.StaffView | None) -> dict[str, str | None]:
    """The place (name and address) and the reason code for another interviewer."""
    place = plan.place if plan else None
    return {
        "first_interview_place": f"{place.name}, {place.address}" if place else None,
        "first_interview_change_reason": plan.change_reason if plan else None,
    }


async def case_print(request: Request, visit: Visit) -> Response:
    """The case as one readable, printable page: words and local times, the consent
    wording agreed to, and the notes opened in this browser after unlocking."""
    svc = visit.services
    consultation = await _assigned(request, visit)
    if not consultation.is_case:
        raise HTTPException(404)
    return render(
        request,
        visit,
        "investigator/case_print.html",
        consultation=consultation,
        interviewer=await accounts.name_of(svc.db, consultation.first_interview_investigator_id),
        needs=describe(consultation.needs),
        meetings=await bookings.meetings_of(svc.db, consultation),
        consents=await outcomes.consents_of(svc.db, consultation),
        notes=await visibility.consultation_notes(svc.db, visit.staff, consultation),
        key=await keys.current_key(svc.db, visit.staff.id),
        note_kinds=notes.KINDS,
        consultation_outcomes=outcomes.CONSULTATION_OUTCOMES,
        reflection_choices=outcomes.REFLECTION,
        first_interview=await first_interview.staff_view(svc.db, consultation),
        interview_reasons=first_interview.REASONS,
    )


ROUTES: list[GuardedRoute] = [
    route("/investigator/meetings/{id}/outcome", meeting_outcome, roles=ROLES, methods=["POST"]),
    route(
        "/investigator/consultations/{id}/outcome",
        consultation_outcome,
        roles=ROLES,
        methods=["POST"],
    ),
    route("/investigator/consultations/{id}/consent", consent, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/reflection", reflection, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/report", report, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/identity", identity, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/case", case_export, roles=ROLES),
    route("/investigator/consultations/{id}/case/print", case_print, roles=ROLES),
]
