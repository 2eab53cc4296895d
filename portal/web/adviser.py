"""Adviser pages (assistance system, municipal services): the start page, a request to
the adviser's organisation (join a meeting or offer a time of their own), a consultation
they take part in (meetings and the conversation), and cancelling their part. Also the
investigator's and NGO worker's side: asking for an adviser and withdrawing the request.

What an adviser may see is decided in domain/visibility.py: requests sent to their own
organisation and the consultations they take part in, never notes, outcome or identity.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import Response

from portal.domain import adviser_requests, bookings, keys, places, visibility
from portal.domain.adviser_requests import DURATIONS, SHOWN, AdviserRequest, NotOpen, OwnTime
from portal.domain.errors import InputRejected
from portal.domain.needs import describe
from portal.domain.roles import ADVISER, INVESTIGATOR, NGO_WORKER, ORGANISATION_KIND_LABELS
from portal.i18n import N_
from portal.web import attention, investigator, ngo
from portal.web.conversation import staff_context
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.inputs import local_time, whole_number
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {ADVISER}
DONE = {
    "joined": N_("You take part in the meeting. The person who asked is told."),
    "offered": N_("Your time is offered. The person who asked is told."),
    "cancelled": N_("Your part is cancelled. The person who asked is told."),
}


async def start(request: Request, visit: Visit) -> Response:
    """The adviser's start page: needs attention, open requests to the organisation, and
    the consultations they take part in."""
    svc = visit.services
    db, now = svc.db, svc.clock.now()
    open_requests = await visibility.organisation_open_requests(db, visit.staff, SHOWN)
    upcoming = {
        r.id: await adviser_requests.upcoming_meetings(db, r.consultation_id, now)
        for r in open_requests
    }
    return render(
        request,
        visit,
        "adviser/start.html",
        attention=await attention.queue(visit, "/adviser"),
        open_requests=open_requests,
        upcoming=upcoming,
        describe=describe,
        parts=await visibility.own_adviser_meetings(db, visit.staff, SHOWN),
        shown=SHOWN,
        kind_labels=ORGANISATION_KIND_LABELS,
        done=DONE.get(request.query_params.get("done", "")),
    )


async def _request(request: Request, visit: Visit) -> AdviserRequest:
    return await visit.visible(visibility.adviser_request, request.path_params["id"])


async def request_page(
    request: Request,
    visit: Visit,
    form: FormState | None = None,
    status: int = 200,
    found: AdviserRequest | None = None,
) -> Response:
    svc = visit.services
    asked = found or await _request(request, visit)
    return render(
        request,
        visit,
        "adviser/request.html",
        status,
        asked=asked,
        needs=describe(asked.needs),
        upcoming=await adviser_requests.upcoming_meetings(
            svc.db, asked.consultation_id, svc.clock.now()
        ),
        places=await places.list_places(svc.db),
        durations=DURATIONS,
        kind_labels=ORGANISATION_KIND_LABELS,
        form=form or FormState(values={"duration_minutes": "60"}),
    )


async def _answer(
    request: Request, visit: Visit, asked: AdviserRequest, answer: Awaitable[None], done: str
) -> Response:
    """The adviser's answer to ``asked``, then the consultation they now take part in; a
    refusal shows the request page again with everything typed."""
    try:
        await answer
    except InputRejected as exc:
        return await request_page(request, visit, FormState.typed(visit).rejected(exc), 400, asked)
    except NotOpen:
        form = FormState.typed(visit).error("request", adviser_requests.NOT_OPEN)
        return await request_page(request, visit, form, 409, asked)
    return redirect(f"/adviser/consultations/{asked.consultation_id}?done={done}")


async def join(request: Request, visit: Visit) -> Response:
    svc = visit.services
    asked = await _request(request, visit)
    joining = adviser_requests.join_meeting(
        svc.db, svc.clock, asked, visit.field("meeting_id"), adviser=visit.staff
    )
    return await _answer(request, visit, asked, joining, "joined")


async def offer(request: Request, visit: Visit) -> Response:
    svc = visit.services
    asked = await _request(request, visit)

    async def offering() -> None:  # reading the typed time may refuse it too
        given = OwnTime(
            place_id=visit.field("place_id"),
            starts_at=local_time(visit.field("starts_at"), svc.zone, "starts_at"),
            duration_minutes=whole_number(visit.field("duration_minutes"), max(DURATIONS)) or 0,
        )
        await adviser_requests.offer_time(svc.db, svc.clock, asked, given, adviser=visit.staff)

    return await _answer(request, visit, asked, offering(), "offered")


async def consultation_page(request: Request, visit: Visit) -> Response:
    """A consultation the adviser takes part in: its pseudonym, language and needs, the
    meetings, their own parts and the conversation. Nothing else of it."""
    svc = visit.services
    consultation = await visit.visible(visibility.adviser_consultation, request.path_params["id"])
    key = await keys.current_key(svc.db, visit.staff.id)
    parts = await adviser_requests.parts_of(svc.db, consultation.id)
    return render(
        request,
        visit,
        "adviser/consultation.html",
        consultation=consultation,
        needs=describe(consultation.needs),
        meetings=[
            m
            for m in await bookings.meetings_of(svc.db, consultation)
            if m.is_open and m.starts_at + m.duration_minutes * 60 > svc.clock.now()
        ],
        own_parts=[p for p in parts if p.adviser_id == visit.staff.id and p.status == "planned"],
        lacks_key=key is None,
        done=DONE.get(request.query_params.get("done", "")),
        **await staff_context(
            visit, consultation, f"/adviser/consultations/{consultation.id}/messages", key
        ),
    )


async def cancel_part(request: Request, visit: Visit) -> Response:
    svc = visit.services
    part = await visit.visible(visibility.own_adviser_meeting, request.path_params["id"])
    await adviser_requests.cancel_part(svc.db, svc.clock, part, adviser=visit.staff)
    return redirect("/adviser?done=cancelled")


# --- the investigator's and NGO worker's side -------------------------------------------


def _consultation_url(visit: Visit, consultation_id: str) -> str:
    prefix = "/investigator" if visit.staff.role == INVESTIGATOR else "/ngo"
    return f"{prefix}/consultations/{consultation_id}"


async def _consultation_again(
    request: Request, visit: Visit, consultation_id: str, form: FormState
) -> Response:
    """The consultation page with the refused form (everything typed kept)."""
    if visit.staff.role == INVESTIGATOR:
        return await investigator.consultation_page(
            request, visit, form, 400, consultation_id=consultation_id
        )
    request.path_params["id"] = consultation_id
    return await ngo.consultation_page(request, visit, form, 400)


async def ask(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await visit.visible(visibility.team_consultation, request.path_params["id"])
    try:
        await adviser_requests.ask(
            svc.db,
            svc.clock,
            consultation,
            visit.field("adviser_organisation_id"),
            actor=visit.staff,
        )
    except InputRejected as exc:
        form = FormState.typed(visit).rejected(exc)
        return await _consultation_again(request, visit, consultation.id, form)
    return redirect(_consultation_url(visit, consultation.id) + "?asked=1#advisers")


async def withdraw(request: Request, visit: Visit) -> Response:
    svc = visit.services
    asked = await visit.visible(visibility.asked_adviser_request, request.path_params["id"])
    try:
        await adviser_requests.withdraw(svc.db, svc.clock, asked, actor=visit.staff)
    except NotOpen:
        form = FormState().error("adviser_request", adviser_requests.NOT_OPEN)
        return await _consultation_again(request, visit, asked.consultation_id, form)
    return redirect(_consultation_url(visit, asked.consultation_id) + "#advisers")


ROUTES: list[GuardedRoute] = [
    route("/adviser", start, roles=ROLES),
    route("/adviser/requests/{id}", request_page, roles=ROLES),
    route("/adviser/requests/{id}/join", join, roles=ROLES, methods=["POST"]),
    route("/adviser/requests/{id}/offer", offer, roles=ROLES, methods=["POST"]),
    route("/adviser/consultations/{id}", consultation_page, roles=ROLES),
    route("/adviser/parts/{id}/cancel", cancel_part, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/advisers", ask, roles={INVESTIGATOR}, methods=["POST"]),
    route("/ngo/consultations/{id}/advisers", ask, roles={NGO_WORKER}, methods=["POST"]),
    route(
        "/investigator/adviser-requests/{id}/withdraw",
        withdraw,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route("/ngo/adviser-requests/{id}/withdraw", withdraw, roles={NGO_WORKER}, methods=["POST"]),
]
