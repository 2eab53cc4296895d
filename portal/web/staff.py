"""Pages every staff member has: the home page for their role and their account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.crypto.passwords import PasswordPolicyError
from portal.domain import accounts
from portal.domain.roles import ORGANISATION_KIND_LABELS, ROLE_LABELS, STAFF_ROLES
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.routing import GuardedRoute, Visit, redirect, render, route


async def home(request: Request, visit: Visit) -> Response:
    return render(
        request,
        visit,
        "staff/home.html",
        role_label=ROLE_LABELS[visit.staff.role],
        kind_labels=ORGANISATION_KIND_LABELS,
    )


async def password_form(request: Request, visit: Visit) -> Response:
    changed = request.query_params.get("changed") == "1"
    return render(request, visit, "staff/password.html", form=FormState(), changed=changed)


async def password_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    account = visit.staff
    form = FormState()
    new = visit.field("new_password")
    if new != visit.field("confirm_password"):
        form.error("confirm_password", N_("The two passwords are not the same."))
    else:
        try:
            await accounts.change_password(
                svc.db, svc.hasher, svc.hashing, account, visit.field("current_password"), new
            )
        except PasswordPolicyError as exc:
            form.error("new_password", str(exc))
        except accounts.WrongPassword:
            form.error("current_password", N_("The current password is wrong."))
    if not form.ok:
        return render(request, visit, "staff/password.html", 400, form=form, changed=False)
    # A changed password ends every session of the account, this one included;
    # the person stays logged in through a fresh session.
    await svc.sessions.end_all_for_account(account.id)
    visit.session = await svc.sessions.begin(visit.session, account.id)
    return redirect("/staff/password?changed=1")


ROUTES: list[GuardedRoute] = [
    route("/staff", home, roles=STAFF_ROLES),
    route("/staff/password", password_form, roles=STAFF_ROLES),
    route("/staff/password", password_submit, roles=STAFF_ROLES, methods=["POST"]),
]
