"""Referrals over the web: the investigator and the booking NGO's workers send one from
their consultation page; the receiving organisation's advisers list them, open the note
in their browser, move the status on, and share the note with a colleague who got a
key later; coordinators list every referral's status.

The referral note is sealed in the sender's browser (static/js/referral.js) to every
current key of the receiving advisers; the browser posts only envelopes with fetch, and
these handlers answer in JSON with a fixed code (the page holds the words, so nothing
typed is lost on a refusal). Who may see which referral is decided in
domain/visibility.py; what may happen to one, in domain/referrals.py.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from portal.domain import keys, referrals, visibility
from portal.domain.bookings import Consultation
from portal.domain.errors import InputRejected
from portal.domain.needs import CHOICES, LANGUAGES, describe
from portal.domain.referrals import AdviserKey, KeysChanged, NotSender, Referral
from portal.domain.roles import (
    ADVISER,
    COORDINATOR,
    INVESTIGATOR,
    NGO_WORKER,
    ORGANISATION_KIND_LABELS,
)
from portal.i18n import N_
from portal.web.guard import GuardedRoute, route
from portal.web.paging import Page, page_number, window
from portal.web.responses import redirect, render
from portal.web.visit import Visit

# The code the browser gets for each refusal (the page holds the words, translated).
CODES = {
    referrals.NO_CONSENT: "no_consent",
    referrals.CHOOSE_ORGANISATION: "choose_organisation",
    referrals.NO_ADVISERS: "no_advisers",
    referrals.ALREADY_OPEN: "already_open",
    referrals.UNREADABLE: "unreadable",
    referrals.KEYS_CHANGED: "keys_changed",
    referrals.USED_ID: "used",
    referrals.NOT_SHARED: "not_shared",
}
DONE = {"status": N_("The referral's status is saved.")}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def keys_json(found: list[AdviserKey]) -> list[dict[str, str]]:
    return [{"id": k.key_id, "key": _b64(k.public_key)} for k in found]


def _refusal(code: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, **extra}, status_code=status)


def _posted(visit: Visit, name: str) -> dict[str, str] | None:
    """The ``name`` fields, each ``<recipient key id>:<base64>``; None if malformed or
    one key twice."""
    found: dict[str, str] = {}
    for value in visit.form.getlist(name):
        if not isinstance(value, str) or ":" not in value:
            return None
        key_id, envelope = value.split(":", 1)
        if not key_id or key_id in found:
            return None
        found[key_id] = envelope
    return found


# --- sending, from a consultation page ---------------------------------------------------


async def _consultation(request: Request, visit: Visit) -> Consultation:
    db, staff, wanted = visit.services.db, visit.staff, request.path_params["id"]
    if staff.role == INVESTIGATOR:
        found = await visibility.assigned_consultation(db, staff, wanted)
    else:
        found = await visibility.booked_consultation(db, staff, wanted)
    if found is None:
        raise HTTPException(404)
    return found


async def send(request: Request, visit: Visit) -> Response:
    """A referral sealed in the sender's browser: JSON ``{"saved": true}``, or a refusal
    code (with the advisers' keys now, if they changed)."""
    consultation = await _consultation(request, visit)
    envelopes = _posted(visit, "envelope")
    if envelopes is None:
        return _refusal("unreadable", 400)
    svc = visit.services
    try:
        await referrals.send(
            svc.db,
            svc.clock,
            consultation,
            sender=visit.staff,
            organisation_id=visit.field("organisation_id"),
            referral_id=visit.field("referral_id"),
            envelopes=envelopes,
        )
    except NotSender:
        raise HTTPException(404) from None
    except KeysChanged as exc:
        return _refusal("keys_changed", 409, keys=keys_json(exc.keys))
    except InputRejected as exc:
        return _refusal(CODES.get(exc.message, "unreadable"), 400)
    return JSONResponse({"saved": True})


async def consultation_context(
    visit: Visit, consultation: Consultation, action: str
) -> dict[str, Any]:
    """What templates/referrals/_section.html needs on a consultation page (investigator,
    NGO worker): the referrals' plain status, and the form to send one."""
    db = visit.services.db
    consent = await referrals.has_consent(db, consultation)
    return {
        "referrals": await visibility.consultation_referrals(db, visit.staff, consultation),
        # The receiving organisations and their advisers' keys: only once there is consent.
        "referral_targets": await referrals.targets(db) if consent else [],
        "referral_consent": consent,
        "referral_id": referrals.new_referral_id(),
        "referral_action": action,
        "referral_statuses": referrals.STATUSES,
        "referral_kind_labels": ORGANISATION_KIND_LABELS,
    }


# --- advisers ----------------------------------------------------------------------------


async def adviser_list(request: Request, visit: Visit) -> Response:
    number = page_number(request)
    limit, offset = window(number)
    rows = await visibility.received_referrals(visit.services.db, visit.staff, limit, offset)
    return render(
        request,
        visit,
        "referrals/list.html",
        page=Page.of(rows, number),
        statuses=referrals.STATUSES,
        languages=LANGUAGES,
        urgency=CHOICES["urgency"],
    )


async def _received(request: Request, visit: Visit) -> Referral:
    found = await visibility.received_referral(
        visit.services.db, visit.staff, request.path_params["id"]
    )
    if found is None:
        raise HTTPException(404)
    return found


async def _detail(
    request: Request, visit: Visit, referral: Referral, error: str = "", status: int = 200
) -> Response:
    db = visit.services.db
    key = await keys.current_key(db, visit.staff.id)
    return render(
        request,
        visit,
        "referrals/referral.html",
        status,
        view=await referrals.adviser_view(db, referral, key.id if key else None),
        key=key,
        needs=describe(referral.needs),
        languages=LANGUAGES,
        statuses=referrals.STATUSES,
        actions=referrals.ACTIONS,
        error=error,
        done=DONE.get(request.query_params.get("done", "")),
    )


async def adviser_referral(request: Request, visit: Visit) -> Response:
    return await _detail(request, visit, await _received(request, visit))


async def adviser_status(request: Request, visit: Visit) -> Response:
    svc = visit.services
    referral = await _received(request, visit)
    try:
        await referrals.change_status(
            svc.db, svc.clock, referral, visit.field("status"), adviser=visit.staff
        )
    except InputRejected as exc:
        latest = await _received(request, visit)
        return await _detail(request, visit, latest, exc.message, 409)
    return redirect(f"/adviser/referrals/{referral.id}?done=status")


async def adviser_share(request: Request, visit: Visit) -> Response:
    """The note re-sealed in this adviser's browser for colleagues without an envelope."""
    referral = await _received(request, visit)
    shared = _posted(visit, "shared")
    if shared is None:
        return _refusal("not_shared", 400)
    svc = visit.services
    try:
        count = await referrals.share(
            svc.db, svc.clock, referral, adviser=visit.staff, envelopes=shared
        )
    except InputRejected:
        return _refusal("not_shared", 400)
    return JSONResponse({"shared": count})


# --- coordinators ------------------------------------------------------------------------


async def unit_list(request: Request, visit: Visit) -> Response:
    number = page_number(request)
    limit, offset = window(number)
    rows = await visibility.unit_referrals(visit.services.db, visit.staff, limit, offset)
    return render(
        request,
        visit,
        "referrals/unit.html",
        page=Page.of(rows, number),
        statuses=referrals.STATUSES,
    )


ROUTES: list[GuardedRoute] = [
    route(
        "/investigator/consultations/{id}/referrals",
        send,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route("/ngo/consultations/{id}/referrals", send, roles={NGO_WORKER}, methods=["POST"]),
    route("/adviser/referrals", adviser_list, roles={ADVISER}),
    route("/adviser/referrals/{id}", adviser_referral, roles={ADVISER}),
    route("/adviser/referrals/{id}/status", adviser_status, roles={ADVISER}, methods=["POST"]),
    route("/adviser/referrals/{id}/share", adviser_share, roles={ADVISER}, methods=["POST"]),
    route("/coordinator/referrals", unit_list, roles={COORDINATOR}),
]
