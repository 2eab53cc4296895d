"""Pages anyone may open: the front page, language, staff login, enrolment, quick exit."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from portal.crypto import totp
from portal.crypto.hashing import Overloaded, SenderBusy
from portal.crypto.tokens import sha256
from portal.domain import accounts, invitations, keys, passkeys, readiness
from portal.domain.errors import InputRejected
from portal.domain.roles import PUBLIC
from portal.i18n import N_
from portal.security.senders import sender_of
from portal.web import ended, kept
from portal.web.errors import CLEAR_SITE_DATA, RETRY_AFTER
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.qrcode import qr_svg
from portal.web.responses import redirect, render
from portal.web.sign_in_gate import BUSY, TOO_MANY_ATTEMPTS, SignInGate
from portal.web.visit import Visit

FILL_IN_ALL = N_("Enter your username, your password and the code from your authenticator app.")
READY_WITHIN = 2.0  # seconds /readyz may take; a load balancer's probe waits not much longer
KEY_REPLACED = N_(
    "The key for the authenticator app had expired or was changed, so here is a new one. "
    "Scan it (or type the key), then enter the code the app shows."
)


async def healthz(request: Request, visit: Visit) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request, visit: Visit) -> Response:
    """Ready when the database answers at the latest schema revision and Redis (when
    configured) answers, all within READY_WITHIN seconds. Otherwise 503 with one fixed
    word for what failed (no versions, no error text, no addresses)."""
    problem = "timeout"
    try:
        async with asyncio.timeout(READY_WITHIN):
            problem = await readiness.database_problem(visit.services.db)
            if not problem:
                problem = "redis"
                await visit.services.limits.ping()
                problem = ""
    except Exception:  # noqa: S110 - the problem word says what failed
        pass
    if problem:
        return PlainTextResponse(f"not ready: {problem}", status_code=503)
    return PlainTextResponse("ready")


async def front_page(request: Request, visit: Visit) -> Response:
    return render(request, visit, "public/index.html")


async def choose_language(request: Request, visit: Visit) -> Response:
    """Keep the chosen language in the session (a new visitor's first choice makes a row
    holding only the language). One sender makes at most a few such rows a minute: past
    that the choice is not kept and the pages speak the browser's language, so a loop
    of requests cannot fill the sessions table."""
    svc = visit.services
    locale = visit.field("locale")
    if locale in svc.catalogues.locales and (
        visit.session.row is not None
        or await svc.limits.hit(
            svc.limits.per_minute(svc.settings.new_sessions_per_source_per_minute),
            "session-source",
            sender_of(request.scope),
        )
    ):
        visit.session = await svc.sessions.remember_locale(visit.session, locale)
    target = visit.field("next")
    # Only local paths: an open redirect would let a link send a client anywhere.
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


async def quick_exit(request: Request, visit: Visit) -> Response:
    """Where a quick exit lands: a neutral page, and Clear-Site-Data drops the cookie,
    cache and storage. A GET changes nothing on the server (the quick exit's POST below
    ends the session first), so a plain link here works anywhere."""
    response = render(request, visit, "public/bye.html")
    response.headers["clear-site-data"] = CLEAR_SITE_DATA
    return response


async def quick_exit_submit(request: Request, visit: Visit) -> Response:
    """The quick-exit button (a form, so it works without JavaScript; Esc sends it too).

    Threat: a copy of the session cookie taken before the exit (a shared computer's
    cookie store, a synced browser profile, someone watching) would still open the
    client's meeting until the idle timeout. The session row ends here.
    """
    await visit.services.sessions.end(visit.session)
    # visit.session is left as it was: no fresh cookie is handed out on the way out.
    response = redirect("/bye")
    response.headers["clear-site-data"] = CLEAR_SITE_DATA
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
    if not (username and visit.field("password")) or not (
        visit.field("totp_code") or visit.field("passkey_assertion")
    ):  # something left empty: said as such, and nothing counted or hashed
        form.error("password", FILL_IN_ALL)
        return render(request, visit, "public/login.html", 400, form=form, expired=False)
    gate = SignInGate(request, visit, username)
    if await gate.refuses():
        form.error("password", TOO_MANY_ATTEMPTS)
        return render(request, visit, "public/login.html", 429, form=form, expired=False)
    assertion = visit.field("passkey_assertion")
    credentials = accounts.Credentials(username, visit.field("password"), visit.field("totp_code"))
    try:
        if assertion:  # password and passkey instead of the code (static/js/passkeys.js)
            account = await passkeys.sign_in(
                svc.db,
                svc.hasher,
                svc.hashing,
                svc.clock,
                svc.settings,
                username,
                visit.field("password"),
                sha256(visit.session.sid),
                assertion,
            )
        else:
            account = await accounts.authenticate(
                svc.db, svc.hasher, svc.hashing, svc.clock, credentials
            )
    except accounts.LoginFailed as exc:
        required = isinstance(exc, accounts.PasskeyRequired)
        form.error("password", accounts.PASSKEY_REQUIRED if required else accounts.LOGIN_FAILED)
        return render(request, visit, "public/login.html", 400, form=form, expired=False)
    except accounts.SecondFactorMissing as missing:  # reset by the operator
        from portal.web.second_factor import set_up_page

        return set_up_page(request, visit, missing.account, FormState())
    except (SenderBusy, Overloaded) as exc:  # the hashing pool refused the work
        busy = isinstance(exc, Overloaded)
        form.error("password", BUSY if busy else TOO_MANY_ATTEMPTS)
        status = 503 if busy else 429
        if not busy:
            svc.metrics.rate_limited("hashing-sender")
        page = render(request, visit, "public/login.html", status, form=form, expired=False)
        page.headers["retry-after"] = RETRY_AFTER
        return page
    await gate.passed()
    visit.session = await svc.sessions.begin(visit.session, account.id)
    typed = kept.carried(visit.form)
    if typed is not None:  # signed in again after a session ended: offer the text back
        return await ended.resume(request, visit, typed)
    return redirect("/staff")


async def logout(request: Request, visit: Visit) -> Response:
    visit.session = await visit.services.sessions.end(visit.session, keep_language=True)
    return redirect("/login")


async def enrol_allowed(request: Request, visit: Visit) -> bool:
    """Enrolment links are long signed tokens, so this limit is not about guessing them:
    it bounds what one sender can make the portal do (look-ups, password hashing)."""
    svc = visit.services
    per_sender = svc.limits.per_minute(svc.settings.enrol_attempts_per_source_per_minute)
    return await svc.limits.hit(per_sender, "enrol-source", sender_of(request.scope))


async def enrol_form(request: Request, visit: Visit) -> Response:
    svc = visit.services
    if not await enrol_allowed(request, visit):
        return _too_many(request, visit)
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
    form = FormState()
    pending = invitations.new_pending_secret(svc.keys, invitation)
    return _enrol_page(request, visit, invitation.display_name, form, pending)


async def enrol_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    if not await enrol_allowed(request, visit):
        return _too_many(request, visit)
    token = request.path_params["token"]
    try:
        invitation = await invitations.open_invitation(
            svc.db, svc.keys, svc.clock, token, svc.settings.enrolment_link_ttl
        )
    except invitations.InvitationInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    form = FormState.typed(visit)
    signed = visit.field("totp_pending")
    try:
        pending = invitations.PendingSecret(
            invitations.open_pending_secret(svc.keys, invitation, signed), signed
        )
    except invitations.PendingSecretInvalid:
        # Only the server chooses the secret: an altered, expired or foreign one gets a
        # fresh key to scan, and the rest of the form is kept.
        pending = invitations.new_pending_secret(svc.keys, invitation)
        form.values.pop("totp_code", None)  # a code from the old key fits no more
        form.error("totp_code", KEY_REPLACED)
    if visit.field("password") != visit.field("confirm_password"):
        form.error("confirm_password", N_("The two passwords are not the same."))
    if not form.ok:
        return _enrol_page(request, visit, invitation.display_name, form, pending, 400)
    given = invitations.Enrolment(
        visit.field("username"), visit.field("password"), pending.secret, visit.field("totp_code")
    )
    try:
        account_id = await invitations.enrol(
            svc.db, svc.hasher, svc.hashing, svc.clock, invitation, given
        )
    except InputRejected as exc:
        form.rejected(exc)
        return _enrol_page(request, visit, invitation.display_name, form, pending, 400)
    except invitations.InvitationInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    visit.session = await svc.sessions.begin(visit.session, account_id)
    # A key holder's next step is the key pair that messages and notes are sealed to.
    return redirect("/staff/key" if keys.may_hold_key(invitation.role) else "/staff")


def _too_many(request: Request, visit: Visit) -> Response:
    response = render(request, visit, "error.html", 429, status=429, message=TOO_MANY_ATTEMPTS)
    response.headers["retry-after"] = RETRY_AFTER
    return response


def _enrol_page(
    request: Request,
    visit: Visit,
    display_name: str,
    form: FormState,
    pending: invitations.PendingSecret,
    status: int = 200,
) -> Response:
    # The label the authenticator app shows. Only a valid username: whatever else was
    # typed (64 KiB of it) made the QR code overflow, a 500.
    typed = form.values.get("username", "").strip().lower()
    label = typed if invitations.USERNAME.fullmatch(typed) else display_name[:64]
    uri = totp.provisioning_uri(pending.secret, label)
    return render(
        request,
        visit,
        "public/enrol.html",
        status,
        form=form,
        display_name=display_name,
        qr=qr_svg(uri),
        totp_secret=pending.secret,
        totp_pending=pending.signed,
    )


ROUTES: list[GuardedRoute] = [
    route("/healthz", healthz, roles={PUBLIC}),
    route("/readyz", readyz, roles={PUBLIC}),
    route("/", front_page, roles={PUBLIC}),
    route("/language", choose_language, roles={PUBLIC}, methods=["POST"]),
    route("/bye", quick_exit, roles={PUBLIC}),
    route("/bye", quick_exit_submit, roles={PUBLIC}, methods=["POST"]),
    route("/login", login_form, roles={PUBLIC}),
    route("/login", login_submit, roles={PUBLIC}, methods=["POST"]),
    route("/logout", logout, roles={PUBLIC}, methods=["POST"]),
    route("/enrol/{token}", enrol_form, roles={PUBLIC}),
    route("/enrol/{token}", enrol_submit, roles={PUBLIC}, methods=["POST"]),
]
