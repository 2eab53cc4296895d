"""Pages anyone may open: the front page, language, staff login, enrolment, quick exit."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from portal.crypto import totp
from portal.domain import accounts, invitations
from portal.domain.errors import InputRejected
from portal.domain.roles import INVESTIGATOR, PUBLIC
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.qrcode import qr_svg
from portal.web.routing import GuardedRoute, Visit, redirect, render, route

TOO_MANY_ATTEMPTS = N_("Too many attempts. Wait a minute and try again.")


async def healthz(request: Request, visit: Visit) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request, visit: Visit) -> Response:
    """Ready when the database answers; says nothing else (no versions, no errors)."""
    try:
        await visit.services.db.fetch_value("SELECT 1")
    except Exception:
        return PlainTextResponse("not ready", status_code=503)
    return PlainTextResponse("ready")


async def front_page(request: Request, visit: Visit) -> Response:
    return render(request, visit, "public/index.html")


async def choose_language(request: Request, visit: Visit) -> Response:
    locale = visit.field("locale")
    if locale in visit.services.catalogues.locales:
        visit.session = await visit.services.sessions.remember_locale(visit.session, locale)
    target = visit.field("next")
    # Only local paths: an open redirect would let a link send a client anywhere.
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


async def quick_exit(request: Request, visit: Visit) -> Response:
    """Leaves no trace in the browser: Clear-Site-Data drops the cookie and cache.

    A plain GET link (works without JavaScript) that changes nothing on the server; the
    session row, if any, ends by its idle timeout.
    """
    response = render(request, visit, "public/bye.html")
    response.headers["clear-site-data"] = '"cache", "cookies", "storage"'
    return response


async def login_form(request: Request, visit: Visit) -> Response:
    if visit.account is not None:
        return redirect("/staff")
    return render(
        request,
        visit,
        "public/login.html",
        form=FormState(),
        expired=request.query_params.get("ended") == "1",
    )


async def login_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    form = FormState.typed(visit)
    username = visit.field("username").strip().lower()
    account_key = svc.keys.mac("login-account", username)
    per_account = svc.limits.per_minute(svc.settings.login_failures_per_account_per_minute)
    per_source = svc.limits.per_minute(svc.settings.login_attempts_per_source_per_minute)
    # Both limits count the attempt before any hashing: a flood costs no argon2 work,
    # and attempts made at the same moment cannot all slip past a check-then-count.
    # A successful login clears the account's count, so only failures add up.
    if not await svc.limits.hit(
        per_source, "login-source", svc.limits.source_hash(request.scope)
    ) or not await svc.limits.hit(per_account, "login-account", account_key):
        form.error("password", TOO_MANY_ATTEMPTS)
        return render(request, visit, "public/login.html", 429, form=form, expired=False)
    credentials = accounts.Credentials(username, visit.field("password"), visit.field("totp_code"))
    try:
        account = await accounts.authenticate(
            svc.db, svc.hasher, svc.hashing, svc.clock, credentials
        )
    except accounts.LoginFailed:
        form.error("password", accounts.LOGIN_FAILED)
        return render(request, visit, "public/login.html", 400, form=form, expired=False)
    await svc.limits.clear(per_account, "login-account", account_key)
    visit.session = await svc.sessions.begin(visit.session, account.id)
    return redirect("/staff")


async def logout(request: Request, visit: Visit) -> Response:
    visit.session = await visit.services.sessions.end(visit.session)
    return redirect("/login")


async def enrol_form(request: Request, visit: Visit) -> Response:
    svc = visit.services
    try:
        invitation = await invitations.open_invitation(
            svc.db,
            svc.keys,
            svc.clock,
            request.path_params["token"],
            svc.settings.enrolment_link_ttl,
        )
    except invitations.InvitationInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    form = FormState(values={"totp_secret": totp.new_secret()})
    return _enrol_page(request, visit, invitation.display_name, form)


async def enrol_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    token = request.path_params["token"]
    try:
        invitation = await invitations.open_invitation(
            svc.db, svc.keys, svc.clock, token, svc.settings.enrolment_link_ttl
        )
    except invitations.InvitationInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    form = FormState.typed(visit)
    secret = visit.field("totp_secret")
    if not totp.is_secret(secret):  # "é" * 32 passed isalnum() and broke the QR code
        form.values["totp_secret"] = secret = totp.new_secret()
    if visit.field("password") != visit.field("confirm_password"):
        form.error("confirm_password", N_("The two passwords are not the same."))
        return _enrol_page(request, visit, invitation.display_name, form, 400)
    given = invitations.Enrolment(
        visit.field("username"), visit.field("password"), secret, visit.field("totp_code")
    )
    try:
        account_id = await invitations.enrol(
            svc.db, svc.hasher, svc.hashing, svc.clock, invitation, given
        )
    except InputRejected as exc:
        form.error(exc.field, exc.message)
        return _enrol_page(request, visit, invitation.display_name, form, 400)
    except invitations.InvitationInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    visit.session = await svc.sessions.begin(visit.session, account_id)
    # An investigator's next step is the key pair that notes are sealed to.
    return redirect("/investigator/key" if invitation.role == INVESTIGATOR else "/staff")


def _enrol_page(
    request: Request, visit: Visit, display_name: str, form: FormState, status: int = 200
) -> Response:
    secret = form.values["totp_secret"]
    # The label the authenticator app shows. Only a valid username: whatever else was
    # typed (64 KiB of it) made the QR code overflow, a 500.
    typed = form.values.get("username", "").strip().lower()
    label = typed if invitations.USERNAME.fullmatch(typed) else display_name[:64]
    uri = totp.provisioning_uri(secret, label)
    return render(
        request,
        visit,
        "public/enrol.html",
        status,
        form=form,
        display_name=display_name,
        qr=qr_svg(uri),
        totp_secret=secret,
    )


ROUTES: list[GuardedRoute] = [
    route("/healthz", healthz, roles={PUBLIC}),
    route("/readyz", readyz, roles={PUBLIC}),
    route("/", front_page, roles={PUBLIC}),
    route("/language", choose_language, roles={PUBLIC}, methods=["POST"]),
    route("/bye", quick_exit, roles={PUBLIC}),
    route("/login", login_form, roles={PUBLIC}),
    route("/login", login_submit, roles={PUBLIC}, methods=["POST"]),
    route("/logout", logout, roles={PUBLIC}, methods=["POST"]),
    route("/enrol/{token}", enrol_form, roles={PUBLIC}),
    route("/enrol/{token}", enrol_submit, roles={PUBLIC}, methods=["POST"]),
]
