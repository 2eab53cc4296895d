"""Saving a consultation's safety plan (investigator, NGO worker).

The plain choices post as a normal form; the sealed details travel as one ``envelope``
field per participant key (``<key id>:<base64>``), sealed in the browser by
static/js/safety_plan.js. Without JavaScript or an unlocked key no envelope is sent and
the stored details stay. A refused save draws the consultation page again (400, or 409
when the participants' keys changed) with every error and the posted envelopes kept.
Who may save is decided in domain/visibility.py ``team_consultation``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import safety_plans, visibility
from portal.domain.errors import InputRejected
from portal.domain.roles import INVESTIGATOR, NGO_WORKER
from portal.web import investigator, ngo
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect
from portal.web.safety_section import Refused
from portal.web.visit import Visit

PAGES = {INVESTIGATOR: "/investigator/consultations/", NGO_WORKER: "/ngo/consultations/"}


def posted_envelopes(visit: Visit) -> dict[str, str] | None:
    """The ``envelope`` fields (None: none posted); a malformed one or a key twice gives
    a value the domain refuses as unreadable."""
    found: dict[str, str] = {}
    for value in visit.form.getlist("envelope"):
        if not isinstance(value, str):
            continue
        key_id, _, envelope = value.partition(":")
        found[key_id] = "" if key_id in found else envelope
    return found or None


async def save(request: Request, visit: Visit) -> Response:
    svc, staff = visit.services, visit.staff
    consultation = await visibility.team_consultation(svc.db, staff, request.path_params["id"])
    if consultation is None:
        raise HTTPException(404)
    envelopes = posted_envelopes(visit)
    page = PAGES[staff.role] + consultation.id
    try:
        await safety_plans.save(
            svc.db,
            svc.clock,
            consultation,
            actor=staff,
            values={name: visit.field(name) for name in safety_plans.FIELDS},
            envelopes=envelopes,
            clear_details=visit.field("clear_details") == "yes",
        )
    except InputRejected as exc:
        form = FormState(values={n: visit.field(n) for n in safety_plans.FIELDS}).rejected(exc)
        request.state.safety_refused = Refused(form, envelopes or {})
        status = 409 if isinstance(exc, safety_plans.ParticipantsChanged) else 400
        if staff.role == INVESTIGATOR:
            return await investigator.consultation_page(
                request, visit, status=status, consultation_id=consultation.id
            )
        return await ngo.consultation_page(request, visit, status=status)
    return redirect(f"{page}?saved=safety#safety-plan")


ROUTES: list[GuardedRoute] = [
    route(
        "/investigator/consultations/{id}/safety-plan",
        save,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route("/ngo/consultations/{id}/safety-plan", save, roles={NGO_WORKER}, methods=["POST"]),
]
