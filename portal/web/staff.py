"""Pages every staff member has: the home page for their role and their account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.domain import accounts, keys
from portal.domain.password_policy import PasswordPolicyError, check_policy
from portal.domain.roles import ORGANISATION_KIND_LABELS, ROLE_LABELS, STAFF_ROLES
from portal.i18n import N_
from portal.security.sessions import new_sid, session_tag
from portal.web import attention, reauth
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit


async def home(request: Request, visit: Visit) -> Response:
    return render(
        request,
        visit,
        "staff/home.html",
        role_label=ROLE_LABELS[visit.staff.role],
        kind_labels=ORGANISATION_KIND_LABELS,
        attention=await attention.queue(visit, "/staff"),
        holds_key=keys.may_hold_key(visit.staff.role),
        lacks_key=await keys.lacks_key(visit.services.db, visit.staff),
    )


async def password_form(request: Request, visit: Visit) -> Response:
    changed = request.query_params.get("changed") == "1"
    return render(request, visit, "staff/password.html", form=FormState(), changed=changed)


async def password_submit(request: Request, visit: Visit) -> Response:
    """Sensitive: always the current password and a new code (web/reauth.py), limited per
    account, audited, and the owner's other sessions end and see a notice afterwards."""
    svc = visit.services
    form = FormState()
    new = visit.field("new_password")
    if new != visit.field("confirm_password"):
        form.error("confirm_password", N_("The two passwords are not the same."))
    else:
        try:  # before the confirmation: a refused new password costs no code
            check_policy(new)
        except PasswordPolicyError as exc:
            form.error("new_password", str(exc))
    if form.ok and (refused := await reauth.confirm(visit, always=True)) is not None:
        form.error("current_password", refused.message)
        return render(
            request, visit, "staff/password.html", refused.status, form=form, changed=False
        )
    if not form.ok:
        return render(request, visit, "staff/password.html", 400, form=form, changed=False)
    account = visit.staff
    # A changed password ends every session of the account, this one included; the
    # person stays logged in through a fresh session, made here so that the notice can
    # name it as the one that made the change (it is told on the spot instead).
    sid = new_sid()
    try:
        await accounts.change_password(
            svc.db, svc.hasher, svc.hashing, svc.clock, account, new, session_tag(sid)
        )
    except PasswordPolicyError as exc:
        form.error("new_password", str(exc))
        return render(request, visit, "staff/password.html", 400, form=form, changed=False)
    await svc.sessions.end_all_for_account(account.id)
    visit.session = await svc.sessions.begin(visit.session, account.id, sid)
    return redirect("/staff/password?changed=1")


async def dismiss_notices(request: Request, visit: Visit) -> Response:
    """The owner read the notices of key and password changes: gone in every session,
    except a change made from this very session (a stolen session cannot hide its own)."""
    await accounts.dismiss_notices(visit.services.db, visit.staff.id, visit.session.tag)
    target = visit.field("next")
    # Only local paths, as for the language choice (no open redirect).
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/staff")


ROUTES: list[GuardedRoute] = [
    route("/staff", home, roles=STAFF_ROLES),
    route("/staff/password", password_form, roles=STAFF_ROLES),
    route("/staff/password", password_submit, roles=STAFF_ROLES, methods=["POST"]),
    route("/staff/notices", dismiss_notices, roles=STAFF_ROLES, methods=["POST"]),
]
