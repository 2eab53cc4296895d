"""The staff member's e-mail address for alerts (domain/staff_email.py says why so careful).

Setting and removing the address are sensitive actions: password and a new code on the
same form (web/reauth.py, always asked), audited, with a notice in the other sessions.
The verification link opens a page that only shows a button: a GET changes nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.domain import staff_email
from portal.domain.errors import InputRejected
from portal.domain.roles import STAFF_ROLES
from portal.i18n import N_
from portal.web import reauth
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit

PAGE = "staff/email.html"
MAIL_OFF = N_("E-mail alerts are not switched on in this portal.")
LINK_INVALID = N_(
    "This link does not work: it has expired, was made for another address or account, "
    "or was changed. Set your address again to get a new link."
)
STATUS = {
    "saved": N_("Saved. We sent a link to the address: open it to confirm the address."),
    "removed": N_("The address was removed. You will get no more e-mail from the portal."),
    "verified": N_("Your address is confirmed. You will get an e-mail when there is "
                   "something new for you."),
}  # fmt: skip


async def _page(
    request: Request, visit: Visit, status_code: int = 200, form: FormState | None = None
) -> Response:
    svc = visit.services
    address = await staff_email.address_of(svc.db, visit.staff.id)
    return render(
        request,
        visit,
        PAGE,
        status_code,
        form=form or FormState(),
        address=address,
        mail_enabled=svc.settings.mail_enabled,
        status=STATUS.get(request.query_params.get("done", ""), ""),
    )


async def email_page(request: Request, visit: Visit) -> Response:
    return await _page(request, visit)


async def email_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    form = FormState.typed(visit)
    if not svc.settings.mail_enabled:
        return await _page(request, visit, 409, form.error("email", MAIL_OFF))
    removing = visit.field("action") == "remove"
    if (refused := await reauth.confirm(visit, always=True)) is not None:
        form.error("current_password", refused.message)
        return await _page(request, visit, refused.status, form)
    try:
        if removing:
            await staff_email.remove_address(svc.db, svc.clock, visit.staff, visit.session.tag)
        else:
            await staff_email.set_address(
                svc.db, svc.clock, visit.staff, visit.field("email"), visit.session.tag
            )
    except InputRejected as exc:
        return await _page(request, visit, 400, form.rejected(exc))
    return redirect("/staff/email?done=" + ("removed" if removing else "saved"))


async def verify_page(request: Request, visit: Visit) -> Response:
    """What the link opens: a button, nothing changed (mail scanners follow links)."""
    svc = visit.services
    token = request.query_params.get("t", "")
    try:
        await staff_email.check_link(svc.db, svc.keys, svc.clock, visit.staff, token)
    except staff_email.VerificationInvalid:
        return render(request, visit, "staff/email_verify.html", 400, token="", error=LINK_INVALID)
    return render(request, visit, "staff/email_verify.html", token=token, error="")


async def verify_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    try:
        await staff_email.verify(svc.db, svc.keys, svc.clock, visit.staff, visit.field("t"))
    except staff_email.VerificationInvalid:
        return render(request, visit, "staff/email_verify.html", 400, token="", error=LINK_INVALID)
    return redirect("/staff/email?done=verified")


ROUTES: list[GuardedRoute] = [
    route("/staff/email", email_page, roles=STAFF_ROLES),
    route("/staff/email", email_submit, roles=STAFF_ROLES, methods=["POST"]),
    route("/staff/email/verify", verify_page, roles=STAFF_ROLES),
    route("/staff/email/verify", verify_submit, roles=STAFF_ROLES, methods=["POST"]),
]
