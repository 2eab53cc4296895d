"""The page where a staff member sets up an authenticator app again after a reset
(domain/second_factor.py explains the threat and the steps)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.crypto import totp
from portal.crypto.hashing import Overloaded, SenderBusy
from portal.domain import accounts, second_factor
from portal.domain.roles import PUBLIC
from portal.web.errors import RETRY_AFTER
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.qrcode import qr_svg
from portal.web.responses import redirect, render
from portal.web.sign_in_gate import BUSY, TOO_MANY_ATTEMPTS, SignInGate
from portal.web.visit import Visit

TEMPLATE = "public/second_factor.html"


def set_up_page(
    request: Request,
    visit: Visit,
    account: accounts.Account,
    form: FormState,
    status: int = 200,
) -> Response:
    pending = second_factor.new_pending(visit.services.keys, account)
    form.values["username"] = account.username
    return render(
        request,
        visit,
        TEMPLATE,
        status,
        form=form,
        qr=qr_svg(totp.provisioning_uri(pending.secret, account.username)),
        totp_secret=pending.secret,
        totp_pending=pending.signed,
    )


async def set_up_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    form = FormState.typed(visit)
    username = visit.field("username").strip().lower()
    gate = SignInGate(request, visit, username)
    if await gate.refuses():
        form.error("password", TOO_MANY_ATTEMPTS)
        return render(request, visit, "public/login.html", 429, form=form, expired=False)
    try:
        account_id, secret = second_factor.open_pending(svc.keys, visit.field("totp_pending"))
    except second_factor.PendingInvalid:
        form.error("password", accounts.LOGIN_FAILED)
        return render(request, visit, "public/login.html", 400, form=form, expired=False)
    given = accounts.Credentials(username, visit.field("password"), visit.field("totp_code"))
    try:
        account = await second_factor.set_up_again(
            svc.db, svc.hasher, svc.hashing, svc.clock, given, account_id, secret
        )
    except accounts.PasskeyRequired:  # set up, but this account signs in with its passkey
        await gate.passed()
        form.error("password", accounts.PASSKEY_REQUIRED)
        return render(request, visit, "public/login.html", 400, form=form, expired=False)
    except accounts.LoginFailed:
        # Back to the sign-in form: a right password shows a fresh key there again.
        form.error("password", accounts.LOGIN_FAILED)
        return render(request, visit, "public/login.html", 400, form=form, expired=False)
    except (SenderBusy, Overloaded) as exc:
        busy = isinstance(exc, Overloaded)
        form.error("password", BUSY if busy else TOO_MANY_ATTEMPTS)
        page = render(
            request, visit, "public/login.html", 503 if busy else 429, form=form, expired=False
        )
        page.headers["retry-after"] = RETRY_AFTER
        return page
    await gate.passed()
    visit.session = await svc.sessions.begin(visit.session, account.id)
    return redirect("/staff")


ROUTES: list[GuardedRoute] = [
    route("/login/second-factor", set_up_submit, roles={PUBLIC}, methods=["POST"]),
]
