"""Passkey pages: the owner's list (add, name, remove), the challenges the page's script
asks for, a coordinator's requirement per role and recovery links.

Threat: a thief with a stolen session adding their own passkey (a lasting way in) or
removing the owner's. Adding and removing need a fresh sign-in or confirmation on the
same form (web/reauth.py), are audited and reach the other sessions as notices
(domain/passkeys.py). The ceremonies run in the browser (static/js/passkeys.js); the
challenges are bound to this session's cookie and used once.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.crypto.tokens import sha256
from portal.domain import accounts, passkeys, visibility
from portal.domain.errors import InputRejected
from portal.domain.roles import COORDINATOR, PUBLIC, ROLE_LABELS, STAFF_ROLES
from portal.i18n import N_
from portal.security.senders import sender_of
from portal.security.sessions import new_sid, session_tag
from portal.web import reauth
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.sign_in_gate import TOO_MANY_ATTEMPTS, SignInGate
from portal.web.visit import Visit

PAGE = "/staff/passkeys"
MESSAGES = {
    "added": N_("Your passkey was added. You can use it instead of the code from your app."),
    "removed": N_("The passkey was removed."),
}


def _session_hash(visit: Visit) -> bytes:
    return sha256(visit.session.sid)


def _json(body: str) -> Response:
    return Response(body, media_type="application/json", headers={"cache-control": "no-store"})


async def passkeys_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    svc = visit.services
    return render(
        request,
        visit,
        "staff/passkeys.html",
        status,
        passkeys=await passkeys.list_passkeys(svc.db, visit.staff.id),
        form=form or FormState(),
        message=MESSAGES.get(request.query_params.get("done", "")),
        must_register=visit.staff.passkey_missing,
    )


async def options(request: Request, visit: Visit) -> Response:
    """A new challenge for this session: to add a passkey or to confirm an action."""
    svc = visit.services
    purpose = visit.field("purpose")
    if purpose == "register":
        made = await passkeys.registration_options(
            svc.db, svc.clock, svc.settings, visit.staff, _session_hash(visit)
        )
    elif purpose == "confirm":
        made = await passkeys.assertion_options(
            svc.db, svc.clock, svc.settings, _session_hash(visit), "confirm", visit.staff
        )
    else:
        raise HTTPException(400)
    return _json(made.json)


async def sign_in_options(request: Request, visit: Visit) -> Response:
    """A challenge for signing in with a passkey. Counted per sender like sign-in
    attempts: each one writes a row."""
    svc = visit.services
    limit = svc.limits.per_minute(svc.settings.login_attempts_per_source_per_minute)
    if not await svc.limits.hit(limit, "passkey-options-source", sender_of(request.scope)):
        return Response(status_code=429, headers={"cache-control": "no-store"})
    made = await passkeys.assertion_options(
        svc.db, svc.clock, svc.settings, _session_hash(visit), "sign_in"
    )
    return _json(made.json)


async def passkey_add(request: Request, visit: Visit) -> Response:
    svc = visit.services
    form = FormState.typed(visit)
    try:
        passkeys.check_name(visit.field("name"))
    except InputRejected as exc:
        return await passkeys_page(request, visit, form.error(exc.field, exc.message), 400)
    if not visit.field("passkey_attestation"):
        # No JavaScript, or a click before the page's script ran (a slow phone).
        form.error(
            "passkey",
            N_(
                "Adding a passkey needs JavaScript in this browser. If it is on, wait until "
                "the page has loaded, then try again."
            ),
        )
        return await passkeys_page(request, visit, form, 400)
    refused = await reauth.confirm(visit)
    if refused is not None:
        form.values["purpose"] = "add"
        return await passkeys_page(request, visit, form.error("reauth", refused.message), 400)
    try:
        await passkeys.register(
            svc.db,
            svc.clock,
            svc.settings,
            visit.staff,
            _session_hash(visit),
            visit.session.tag,
            visit.field("name"),
            visit.field("passkey_attestation"),
        )
    except InputRejected as exc:
        return await passkeys_page(request, visit, form.error(exc.field, exc.message), 400)
    except passkeys.PasskeyRefused:
        form.error("passkey", passkeys.PASSKEY_REFUSED)
        return await passkeys_page(request, visit, form, 400)
    return redirect(f"{PAGE}?done=added")


async def passkey_remove(request: Request, visit: Visit) -> Response:
    svc = visit.services
    refused = await reauth.confirm(visit)
    if refused is not None:
        form = FormState(values={"purpose": request.path_params["id"]})
        return await passkeys_page(request, visit, form.error("reauth", refused.message), 400)
    removed = await passkeys.remove(
        svc.db, svc.clock, visit.staff, request.path_params["id"], visit.session.tag
    )
    if not removed:
        raise HTTPException(404)
    return redirect(f"{PAGE}?done=removed")


# --- Coordinators ----------------------------------------------------------------------


async def requirement_page(
    request: Request, visit: Visit, link: str | None = None, link_for: str = ""
) -> Response:
    db = visit.services.db
    people = [
        a
        for a in await accounts.list_accounts(db)
        if a.role in passkeys.REQUIRABLE_ROLES and a.is_active
    ]
    return render(
        request,
        visit,
        "coordinator/passkeys.html",
        required=await passkeys.required_roles(db),
        roles=[(r, ROLE_LABELS[r]) for r in passkeys.REQUIRABLE_ROLES],
        people=people,
        role_labels=ROLE_LABELS,
        link=link,
        link_for=link_for,
    )


async def requirement_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    role = visit.field("role")
    if role not in passkeys.REQUIRABLE_ROLES or visit.field("required") not in ("yes", "no"):
        raise HTTPException(400)
    await passkeys.set_required(
        svc.db, svc.clock, visit.staff, role, visit.field("required") == "yes"
    )
    return redirect("/coordinator/passkeys")


async def recovery_issue(request: Request, visit: Visit) -> Response:
    svc = visit.services
    account = await visibility.managed_account(svc.db, visit.staff, request.path_params["id"])
    if account is None:
        raise HTTPException(404)
    try:
        token = await passkeys.issue_recovery(svc.db, svc.clock, visit.staff, account.id)
    except passkeys.RecoveryInvalid:
        raise HTTPException(404) from None
    # Shown once, on this response only; never stored (only its hash) or logged.
    link = f"{svc.settings.public_url.rstrip('/')}/passkey-recovery/{token}"
    return await requirement_page(request, visit, link, account.display_name)


# --- Recovery link ---------------------------------------------------------------------


async def recovery_form(request: Request, visit: Visit) -> Response:
    svc = visit.services
    try:
        await passkeys.open_recovery(
            svc.db, svc.clock, svc.settings.enrolment_link_ttl, request.path_params["token"]
        )
    except passkeys.RecoveryInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    return render(request, visit, "public/passkey_recovery.html", form=FormState())


async def recovery_submit(request: Request, visit: Visit) -> Response:
    """Password and code through the link: limited like the sign-in form, per sender and
    per account, before any hashing."""
    svc = visit.services
    form = FormState.typed(visit)
    username = visit.field("username").strip().lower()
    gate = SignInGate(request, visit, username)
    if await gate.refuses():
        form.error("password", TOO_MANY_ATTEMPTS)
        return render(request, visit, "public/passkey_recovery.html", 429, form=form)
    credentials = accounts.Credentials(username, visit.field("password"), visit.field("totp_code"))
    # The session the recovery begins, made first so that the notice names it.
    sid = new_sid()
    try:
        account = await passkeys.recover(
            svc.db,
            svc.hasher,
            svc.hashing,
            svc.clock,
            svc.settings.enrolment_link_ttl,
            request.path_params["token"],
            credentials,
            session_tag(sid),
        )
    except passkeys.RecoveryInvalid:
        return render(request, visit, "public/enrol_invalid.html", 404)
    except accounts.LoginFailed:
        form.error("password", accounts.LOGIN_FAILED)
        return render(request, visit, "public/passkey_recovery.html", 400, form=form)
    await gate.passed()
    visit.session = await svc.sessions.begin(visit.session, account.id, sid)
    return redirect(PAGE)


ROUTES: list[GuardedRoute] = [
    route(PAGE, passkeys_page, roles=STAFF_ROLES),
    route(PAGE, passkey_add, roles=STAFF_ROLES, methods=["POST"]),
    route(f"{PAGE}/options", options, roles=STAFF_ROLES, methods=["POST"]),
    route(f"{PAGE}/{{id}}/remove", passkey_remove, roles=STAFF_ROLES, methods=["POST"]),
    route("/login/passkey", sign_in_options, roles={PUBLIC}, methods=["POST"]),
    route("/coordinator/passkeys", requirement_page, roles={COORDINATOR}),
    route("/coordinator/passkeys", requirement_submit, roles={COORDINATOR}, methods=["POST"]),
    route(
        "/coordinator/accounts/{id}/passkey-recovery",
        recovery_issue,
        roles={COORDINATOR},
        methods=["POST"],
    ),
    route("/passkey-recovery/{token}", recovery_form, roles={PUBLIC}),
    route("/passkey-recovery/{token}", recovery_submit, roles={PUBLIC}, methods=["POST"]),
]
