"""Coordinator pages: organisations, people, enrolment links, disabling accounts."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import (
    accounts,
    bookings,
    invitations,
    outcomes,
    places,
    visibility,
)
from portal.domain.errors import InputRejected
from portal.domain.needs import STAFF_GENDER
from portal.domain.organisations import create_organisation, list_organisations
from portal.domain.places import PLACE_KINDS
from portal.domain.roles import COORDINATOR, ORGANISATION_KIND_LABELS, ROLE_LABELS, role_groups
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.paging import Page, page_number, window
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {COORDINATOR}


async def organisations_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    orgs = await list_organisations(visit.services.db)
    return render(
        request,
        visit,
        "coordinator/organisations.html",
        status,
        organisations=orgs,
        form=form or FormState(),
        kind_labels=ORGANISATION_KIND_LABELS,
    )


async def organisation_create(request: Request, visit: Visit) -> Response:
    svc = visit.services
    try:
        await create_organisation(
            svc.db, svc.clock, visit.field("name"), visit.field("kind"), actor=visit.staff
        )
    except InputRejected as exc:
        form = FormState.typed(visit).rejected(exc)
        return await organisations_page(request, visit, form, 400)
    return redirect("/coordinator/organisations")


async def people_page(
    request: Request,
    visit: Visit,
    form: FormState | None = None,
    status: int = 200,
    link: str | None = None,
) -> Response:
    db = visit.services.db
    organisations = await list_organisations(db)
    form = form or FormState()
    if "organisation_id" not in form.values and (
        chosen := request.query_params.get("organisation")
    ):
        form.values["organisation_id"] = chosen  # from "Invite a person" of an organisation
    kind = {org.id: org.kind for org in organisations}.get(form.values.get("organisation_id", ""))
    return render(
        request,
        visit,
        "coordinator/people.html",
        status,
        accounts=await accounts.list_accounts(db),
        invitations=await invitations.list_invitations(db),
        organisations=organisations,
        role_groups=role_groups(),
        chosen_kind=kind,
        kind_labels=ORGANISATION_KIND_LABELS,
        form=form,
        link=link,
        now=visit.services.clock.now(),
        role_labels=ROLE_LABELS,
        genders=STAFF_GENDER,
        gender_options=[(k, v) for k, v in STAFF_GENDER.items() if k != "unspecified"],
        done=ACCOUNT_DONE.get(request.query_params.get("done", "")),
    )


async def invitation_create(request: Request, visit: Visit) -> Response:
    svc = visit.services
    form = FormState.typed(visit)
    try:
        token = await invitations.invite(
            svc.db,
            svc.keys,
            svc.clock,
            organisation_id=visit.field("organisation_id"),
            role=visit.field("role"),
            display_name=visit.field("display_name"),
            gender=visit.field("gender") or "unspecified",
            actor=visit.staff,
            ttl=svc.settings.enrolment_link_ttl,
        )
    except InputRejected as exc:
        return await people_page(request, visit, form.rejected(exc), 400)
    # The link is shown once, on this response only; it is never stored or logged.
    link = f"{svc.settings.public_url.rstrip('/')}/enrol/{token}"
    return await people_page(request, visit, link=link)


async def invitation_revoke(request: Request, visit: Visit) -> Response:
    svc = visit.services
    if await visibility.unit_invitation(svc.db, visit.staff, request.path_params["id"]) is None:
        raise HTTPException(404)
    await invitations.revoke_invitation(
        svc.db, svc.clock, request.path_params["id"], actor=visit.staff
    )
    return redirect("/coordinator/people")


async def account_disable(request: Request, visit: Visit) -> Response:
    return await _set_disabled(request, visit, disabled=True)


async def account_enable(request: Request, visit: Visit) -> Response:
    return await _set_disabled(request, visit, disabled=False)


async def _set_disabled(request: Request, visit: Visit, *, disabled: bool) -> Response:
    svc = visit.services
    account = await visibility.managed_account(svc.db, visit.staff, request.path_params["id"])
    if account is None:
        raise HTTPException(404)
    await accounts.set_disabled(svc.db, svc.clock, account.id, disabled, actor=visit.staff)
    if disabled:
        await svc.sessions.end_all_for_account(account.id)
    return redirect(f"/coordinator/people?done={'disabled' if disabled else 'enabled'}")


ACCOUNT_DONE = {
    "disabled": N_("The account is disabled: its sessions ended, and it cannot sign in."),
    "enabled": N_("The account can sign in again."),
}


async def places_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    return render(
        request,
        visit,
        "coordinator/places.html",
        status,
        places=await places.list_places(visit.services.db, include_archived=True),
        form=form or FormState(),
        kinds=PLACE_KINDS,
        stopped=request.query_params.get("stopped") == "1",
    )


async def place_create(request: Request, visit: Visit) -> Response:
    svc = visit.services
    try:
        await places.add_place(
            svc.db,
            svc.clock,
            name=visit.field("name"),
            kind=visit.field("kind"),
            address=visit.field("address"),
            directions=visit.field("directions"),
            actor=visit.staff,
        )
    except InputRejected as exc:
        return await places_page(request, visit, FormState.typed(visit).rejected(exc), 400)
    return redirect("/coordinator/places")


async def place_archive(request: Request, visit: Visit) -> Response:
    svc = visit.services
    place = await visibility.unit_place(svc.db, visit.staff, request.path_params["id"])
    if place is None:
        raise HTTPException(404)
    stopping = place.archived_at is None
    await places.set_archived(svc.db, svc.clock, place, stopping, actor=visit.staff)
    return redirect("/coordinator/places?stopped=1" if stopping else "/coordinator/places")


async def schedule_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    svc = visit.services
    number = page_number(request)
    limit, offset = window(number)
    meetings = await visibility.unit_meetings(svc.db, visit.staff, svc.clock.now(), limit, offset)
    free = await visibility.unit_slots(svc.db, visit.staff, svc.clock.now(), limit, offset)
    investigators = await accounts.active_investigators(svc.db)
    return render(
        request,
        visit,
        "coordinator/schedule.html",
        status,
        meetings=Page.of(meetings, number),
        slots=Page.of(free, number),
        investigators=investigators,
        reflection_ends=await visibility.reflection_ends(svc.db, visit.staff, svc.clock.now()),
        form=form or FormState(),
        done=REASSIGNED.get(request.query_params.get("done", "")),
    )


REASSIGNED = {
    "reassigned": N_("The meeting was given to the investigator you chose."),
    "unchanged": N_("Nothing changed: the meeting is already that investigator's."),
}


async def meeting_reassign(request: Request, visit: Visit) -> Response:
    svc = visit.services
    found = await visibility.unit_meeting(svc.db, visit.staff, request.path_params["id"])
    if found is None:
        raise HTTPException(404)
    meeting, consultation = found
    try:
        changed = await bookings.reassign_meeting(
            svc.db,
            svc.clock,
            meeting,
            consultation,
            visit.field("investigator_id"),
            actor=visit.staff,
        )
    except InputRejected as exc:
        return await schedule_page(request, visit, FormState().rejected(exc), 400)
    return redirect(f"/coordinator/schedule?done={'reassigned' if changed else 'unchanged'}")


async def consent_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    return render(
        request,
        visit,
        "coordinator/consent.html",
        status,
        texts=await outcomes.consent_texts(visit.services.db),
        form=form or FormState(),
    )


async def consent_publish(request: Request, visit: Visit) -> Response:
    svc = visit.services
    try:
        await outcomes.publish_consent_text(svc.db, svc.clock, visit.staff, visit.field("text"))
    except InputRejected as exc:
        return await consent_page(request, visit, FormState.typed(visit).rejected(exc), 400)
    return redirect("/coordinator/consent")


ROUTES: list[GuardedRoute] = [
    route("/coordinator/consent", consent_page, roles=ROLES),
    route("/coordinator/consent", consent_publish, roles=ROLES, methods=["POST"]),
    route("/coordinator/places", places_page, roles=ROLES),
    route("/coordinator/places", place_create, roles=ROLES, methods=["POST"]),
    route("/coordinator/places/{id}/archive", place_archive, roles=ROLES, methods=["POST"]),
    route("/coordinator/schedule", schedule_page, roles=ROLES),
    route("/coordinator/meetings/{id}/reassign", meeting_reassign, roles=ROLES, methods=["POST"]),
    route("/coordinator/organisations", organisations_page, roles=ROLES),
    route("/coordinator/organisations", organisation_create, roles=ROLES, methods=["POST"]),
    route("/coordinator/people", people_page, roles=ROLES),
    route("/coordinator/invitations", invitation_create, roles=ROLES, methods=["POST"]),
    route("/coordinator/invitations/{id}/revoke", invitation_revoke, roles=ROLES, methods=["POST"]),
    route("/coordinator/accounts/{id}/disable", account_disable, roles=ROLES, methods=["POST"]),
    route("/coordinator/accounts/{id}/enable", account_enable, roles=ROLES, methods=["POST"]),
]
