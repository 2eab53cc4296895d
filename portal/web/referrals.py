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
from portal.web.conversation import Refused, b64, not_sent, posted_envelopes, refusal
from portal.web.guard import GuardedRoute, route
from portal.web.paging import visible_page
from portal.web.responses import from_script, redirect, render
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
# Why a referral sent again after signing in was refused (its text is sealed to the
# advisers: only they could open it, so it cannot come back into the box).
NOT_SENT = {
    "keys_changed": N_(
        "The advisers' keys changed while you were signed out, so the referral was not "
        "sent. Open the consultation and write it again."
    ),
    "used": N_("This referral was sent already."),
    "no_consent": referrals.NO_CONSENT,
    "already_open": referrals.ALREADY_OPEN,
    "no_advisers": referrals.NO_ADVISERS,
    "unreadable": N_("The referral could not be read. Open the consultation and write it again."),
}


def keys_json(found: list[AdviserKey]) -> list[dict[str, str]]:
    return [{"id": k.key_id, "key": b64(k.public_key)} for k in found]


# --- sending, from a consultation page ---------------------------------------------------


async def send(request: Request, visit: Visit) -> Response:
    """A referral sealed in the sender's browser: JSON ``{"saved": true}``, or a refusal
    code (with the advisers' keys now, if they changed). Sent again as a plain form from
    the page after signing in (web/ended.py): the consultation page, or why not."""
    consultation = await visit.visible(visibility.team_consultation, request.path_params["id"])
    refused = await _save(visit, consultation)
    if from_script(request):
        return JSONResponse({"saved": True}) if refused is None else refused.answer()
    page = request.url.path.removesuffix("/referrals")
    if refused is None:
        return redirect(f"{page}?referred=1#referrals")
    return not_sent(
        request,
        visit,
        refused,
        heading=N_("The referral was not sent"),
        reason=NOT_SENT.get(refused.code, NOT_SENT["unreadable"]),
        back=(f"{page}#referrals", N_("Back to the consultation")),
    )


async def _save(visit: Visit, consultation: Consultation) -> Refused | None:
    envelopes = posted_envelopes(visit)
    if envelopes is None:
        return Refused("unreadable", 400)
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
        return Refused("keys_changed", 409, {"keys": keys_json(exc.keys)})
    except InputRejected as exc:
        return Refused(CODES.get(exc.message, "unreadable"), 400)
    return None


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
    return render(
        request,
        visit,
        "referrals/list.html",
        page=await visible_page(request, visit, visibility.received_referrals),
        statuses=referrals.STATUSES,
        languages=LANGUAGES,
        urgency=CHOICES["urgency"],
    )


async def _received(request: Request, visit: Visit) -> Referral:
    return await visit.visible(visibility.received_referral, request.path_params["id"])


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
    shared = posted_envelopes(visit, "shared")
    if shared is None:
        return refusal("not_shared", 400)
    svc = visit.services
    try:
        count = await referrals.share(
            svc.db, svc.clock, referral, adviser=visit.staff, envelopes=shared
        )
    except InputRejected:
        return refusal("not_shared", 400)
    return JSONResponse({"shared": count})


# --- coordinators ------------------------------------------------------------------------


async def unit_list(request: Request, visit: Visit) -> Response:
    return render(
        request,
        visit,
        "referrals/unit.html",
        page=await visible_page(request, visit, visibility.unit_referrals),
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
