"""Setting a meeting's interpreter (needed -> requested -> confirmed): the investigator
who holds the meeting, on their consultation page or the meeting's interpreter page, or
a coordinator, from the unit's schedule. Who may is decided in domain/visibility.py
``interpreter_meeting``; the allowed changes in domain/interpreters.py. A refused change
draws the meeting's interpreter page with every error and what was chosen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import interpreters, visibility
from portal.domain.bookings import Consultation, Meeting
from portal.domain.errors import InputRejected
from portal.domain.needs import LANGUAGES
from portal.domain.roles import COORDINATOR, INVESTIGATOR
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit

PREFIX = {INVESTIGATOR: "/investigator/meetings/", COORDINATOR: "/coordinator/meetings/"}


@dataclass(frozen=True)
class InterpreterForms:
    """What templates/investigator/_interpreter.html needs for a consultation's meetings."""

    prefix: str  # the meetings' path for the viewer's role
    wishes: list[str]  # the client's wishes about the interpreter (msgids)
    form: FormState = field(default_factory=FormState)
    meeting_id: str = ""  # the meeting ``form`` belongs to (a refused change)
    transitions: Any = field(default_factory=lambda: interpreters.TRANSITIONS)
    choices: dict[str, str] = field(default_factory=lambda: interpreters.CHOICES)
    languages: dict[str, str] = field(default_factory=lambda: LANGUAGES)
    confirmed: str = interpreters.CONFIRMED

    def form_of(self, meeting_id: str) -> FormState:
        return self.form if meeting_id == self.meeting_id else FormState()


def context(visit: Visit, consultation: Consultation) -> dict[str, Any]:
    """The interpreter forms of a staff consultation page."""
    return {
        "interpreter": InterpreterForms(
            PREFIX.get(visit.staff.role, ""), interpreters.wishes(consultation.needs)
        )
    }


async def _meeting(request: Request, visit: Visit) -> tuple[Meeting, Consultation]:
    found = await visibility.interpreter_meeting(
        visit.services.db, visit.staff, request.path_params["id"]
    )
    if found is None:
        raise HTTPException(404)
    return found


def _page(
    request: Request,
    visit: Visit,
    meeting: Meeting,
    consultation: Consultation,
    form: FormState | None = None,
    status: int = 200,
) -> Response:
    forms = InterpreterForms(
        PREFIX[visit.staff.role],
        interpreters.wishes(consultation.needs),
        form or FormState(),
        meeting.id,
    )
    back = (
        f"/investigator/consultations/{consultation.id}"
        if visit.staff.role == INVESTIGATOR
        else "/coordinator/schedule"
    )
    return render(
        request,
        visit,
        "staff/interpreter.html",
        status,
        meeting=meeting,
        consultation=consultation,
        interpreter=forms,
        back=back,
    )


async def interpreter_page(request: Request, visit: Visit) -> Response:
    meeting, consultation = await _meeting(request, visit)
    return _page(request, visit, meeting, consultation)


async def interpreter_change(request: Request, visit: Visit) -> Response:
    svc = visit.services
    meeting, consultation = await _meeting(request, visit)
    try:
        await interpreters.change(
            svc.db,
            svc.clock,
            meeting,
            consultation,
            actor=visit.staff,
            status=visit.field("status"),
            language=visit.field("language"),
            wishes_met=visit.field("wishes_met") == "yes",
        )
    except InputRejected as exc:
        typed = FormState(
            values={n: visit.field(n) for n in ("status", "language", "wishes_met")}
        ).rejected(exc)
        # Drawn with the meeting as it is now (someone may have changed it meanwhile).
        fresh = await visibility.interpreter_meeting(svc.db, visit.staff, meeting.id)
        meeting = fresh[0] if fresh else meeting
        return _page(request, visit, meeting, consultation, typed, 400)
    if visit.staff.role == INVESTIGATOR:
        return redirect(f"/investigator/consultations/{consultation.id}#meeting-{meeting.id}")
    return redirect("/coordinator/schedule")


ROUTES: list[GuardedRoute] = [
    route("/investigator/meetings/{id}/interpreter", interpreter_page, roles={INVESTIGATOR}),
    route(
        "/investigator/meetings/{id}/interpreter",
        interpreter_change,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route("/coordinator/meetings/{id}/interpreter", interpreter_page, roles={COORDINATOR}),
    route(
        "/coordinator/meetings/{id}/interpreter",
        interpreter_change,
        roles={COORDINATOR},
        methods=["POST"],
    ),
]
