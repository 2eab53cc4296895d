"""The key page of every staff member content is sealed to (investigators, NGO workers).

Threat: a stolen session cookie putting its own key in place of the owner's (everything
sealed afterwards would be sealed to the thief), or a key under a passphrase the thief
chose. Creating, replacing and re-wrapping a key need a fresh sign-in or password and
code on the same form (web/reauth.py), are audited, and the owner's other sessions are
told (domain/keys.py, accounts.record_security_change). A coordinator has no key: the
routes refuse them, and the domain refuses a key for their role as well.

Key generation, wrapping and unlocking happen in the browser (static/js/keys.js and
unlock.js); these handlers only store public keys and wrapped keys, and hand them back
to their owner.
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import Response

from portal.crypto.envelopes import fingerprint
from portal.domain import keys, notes
from portal.domain.errors import InputRejected
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.web import reauth
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = keys.KEY_HOLDERS
PAGE = "/staff/key"
KEY_MESSAGES = {
    "created": N_("Your key is ready. Messages and notes can now be sealed to you."),
    "passphrase": N_("Your decryption passphrase was changed."),
    "resealed": N_("The notes were sealed to the new investigator."),
}


async def key_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    db = visit.services.db
    form = form or FormState()
    key = await keys.current_key(db, visit.staff.id)
    # A key pair or wrapped key the browser made, sent back because the confirmation
    # with password and code was missing or wrong: saved by confirming, not made again.
    pending = form.values.get("purpose", "") if form.values.get("wrapped_key") else ""
    pending_pk = form.values.get("public_key", "")
    return render(
        request,
        visit,
        "staff/key.html",
        status,
        key=key,
        key_fingerprint=fingerprint(key.public_key) if key else "",
        pending=len(await notes.notes_to_reseal(db, visit.staff)),
        pending_save=pending,
        pending_fingerprint=_fingerprint_of(pending_pk) if pending == "create" else "",
        message=KEY_MESSAGES.get(request.query_params.get("done", "")),
        form=form,
    )


def _fingerprint_of(public_key: str) -> str:
    try:
        return fingerprint(base64.b64decode(public_key, validate=True))
    except ValueError:  # binascii.Error included; checked already, so not expected
        return ""


def _sent_back(visit: Visit, purpose: str, *fields: str) -> FormState:
    """What the browser made, for the page that asks for the confirmation again."""
    return FormState(values={"purpose": purpose, **{name: visit.field(name) for name in fields}})


async def key_create(request: Request, visit: Visit) -> Response:
    """A new key pair (first key, or a replacement for a lost one). Sensitive: whoever
    replaces the key reads everything sealed to its owner afterwards, so it needs a fresh
    sign-in or password and code on this form (web/reauth.py), and is audited."""
    svc = visit.services
    fields = ("public_key", "wrapped_key", "recovery_wrapped_key")
    try:
        new = keys.check_new_key(*(visit.field(name) for name in fields))
    except InputRejected as exc:
        return await key_page(request, visit, FormState().error("key", exc.message), 400)
    refused = await reauth.confirm(visit)
    if refused is not None:
        form = _sent_back(visit, "create", *fields).error("reauth", refused.message)
        return await key_page(request, visit, form, refused.status)
    await keys.register_key(svc.db, svc.clock, visit.staff, new, visit.session.tag)
    return redirect(f"{PAGE}?done=created")


async def key_rewrap(request: Request, visit: Visit) -> Response:
    """The same private key under a new passphrase (changed, or set after recovery).
    Sensitive like a new key: a thief who knows the new passphrase could open what is
    sealed to the key with a copy of the wrapped key."""
    svc = visit.services
    try:
        wrapped = keys.check_rewrapped_key(visit.field("wrapped_key"))
    except InputRejected:
        return await key_page(request, visit, FormState().error("key", keys.BAD_KEY), 400)
    refused = await reauth.confirm(visit)
    if refused is not None:
        purpose = "recover" if visit.field("purpose") == "recover" else "change"
        form = _sent_back(visit, purpose, "wrapped_key").error("reauth", refused.message)
        return await key_page(request, visit, form, refused.status)
    try:
        await keys.rewrap_key(svc.db, svc.clock, visit.staff, wrapped, visit.session.tag)
    except keys.NoKeyYet:
        return await key_page(request, visit, FormState().error("key", keys.BAD_KEY), 400)
    return redirect(f"{PAGE}?done=passphrase")


async def old_key_page(request: Request, visit: Visit) -> Response:
    """The investigators' former address of the key page (bookmarks, printed guides)."""
    return redirect(PAGE)


ROUTES: list[GuardedRoute] = [
    route(PAGE, key_page, roles=ROLES),
    route(PAGE, key_create, roles=ROLES, methods=["POST"]),
    route(f"{PAGE}/passphrase", key_rewrap, roles=ROLES, methods=["POST"]),
    route("/investigator/key", old_key_page, roles={INVESTIGATOR}),
]
