"""The first interview: the investigator re-plans it, the client sees it and sends
wishes for it (sealed like every note). The consultation and meeting pages call the
``*_context`` helpers; the forms post here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import first_interview, notes, place_languages, places, visibility
from portal.domain.bookings import Consultation, Meeting
from portal.domain.errors import InputRejected
from portal.domain.keys import NoKeyYet
from portal.domain.roles import CLIENT, INVESTIGATOR
from portal.i18n import LOCALE_NAMES
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.inputs import local_time
from portal.web.note_forms import NO_KEY, note_input
from portal.web.responses import redirect
from portal.web.visit import Visit

WISHES_SECTIONS = notes.KINDS[first_interview.WISHES].sections


async def staff_context(visit: Visit, consultation: Consultation) -> dict[str, Any]:
    """What the decision to report and the plan on the consultation page need."""
    db = visit.services.db
    return {
        "first_interview": await first_interview.staff_view(db, consultation),
        "interview_places": await places.list_places(db),
        "interview_reasons": first_interview.REASONS,
    }


async def client_context(
    visit: Visit, consultation: Consultation, meetings: Sequence[Meeting]
) -> dict[str, Any]:
    """The plan on the client's meeting page (None before the decision to report)."""
    svc = visit.services
    default = svc.settings.default_locale
    return {
        "first_interview": await first_interview.client_view(
            svc.db, consultation, meetings, visit.locale, default
        ),
        # Each meeting's place in the client's language (or the default's, marked).
        "meeting_places": await place_languages.meeting_places(
            svc.db, [m for m in meetings if m.is_open], visit.locale, default
        ),
        "default_language": LOCALE_NAMES.get(default, default),
    }


async def replan(request: Request, visit: Visit) -> Response:
    from portal.web.investigator import consultation_page  # it shows this module's part

    svc = visit.services
    consultation = await visibility.assigned_consultation(
        svc.db, visit.staff, request.path_params["id"]
    )
    if consultation is None:
        raise HTTPException(404)
    try:
        given = first_interview.PlanInput(
            local_time(visit.field("first_interview_at"), svc.zone, "first_interview_at"),
            visit.field("first_interview_place_id"),
            visit.field("interviewer_id"),
            visit.field("first_interview_reason"),
        )
        await first_interview.replan(svc.db, svc.clock, consultation, given, actor=visit.staff)
    except InputRejected as exc:
        form = FormState.typed(visit).rejected(exc)
        form.values["replan"] = "yes"
        return await consultation_page(request, visit, form, 400)
    return redirect(f"/investigator/consultations/{consultation.id}?done=interview#after")


async def wishes_submit(request: Request, visit: Visit) -> Response:
    """The client's wishes, sealed in the browser or (without JavaScript) here."""
    from portal.web.client import consultation_of, meeting_page

    svc = visit.services
    consultation = await consultation_of(visit)
    try:
        sealed_in = await notes.add_note(
            svc.db,
            svc.clock,
            consultation,
            author_role="client",
            author=None,
            given=note_input(visit, WISHES_SECTIONS),
            kind=first_interview.WISHES,
        )
    except InputRejected as exc:
        # One message beside the one box (a browser's envelope refused included): the
        # prepared-note form on the same page keeps its own.
        form = FormState.typed(visit).error(first_interview.WISHES, exc.message)
        return await meeting_page(request, visit, form, 400)
    except NoKeyYet:
        form = FormState.typed(visit).error(first_interview.WISHES, NO_KEY)
        return await meeting_page(request, visit, form, 400)
    except notes.NotAllowed:  # no case (yet): nothing to wish for
        raise HTTPException(404) from None
    return redirect(f"/meeting?noted={sealed_in}#first-interview")


ROUTES: list[GuardedRoute] = [
    route(
        "/investigator/consultations/{id}/first-interview",
        replan,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route("/meeting/interview-wishes", wishes_submit, roles={CLIENT}, methods=["POST"]),
]
