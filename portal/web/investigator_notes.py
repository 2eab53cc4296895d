"""Investigator pages for sealed notes: the key pair, reading, re-sealing, export.

Key generation, wrapping, unlocking and opening happen in the browser
(static/js/keys.js and notes.js); these handlers only store public keys, wrapped keys
and envelopes, and hand them back to their owner.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.crypto.envelopes import fingerprint
from portal.domain import keys, notes, visibility
from portal.domain.bookings import Consultation
from portal.domain.errors import InputRejected
from portal.domain.keys import StaffKey
from portal.domain.notes import Note, NotesExport
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.web import reauth
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {INVESTIGATOR}
EXPORT_FORMAT = "intake-portal-notes-export"
KEY_MESSAGES = {
    "created": N_("Your key is ready. Notes can now be sealed to you."),
    "passphrase": N_("Your decryption passphrase was changed."),
    "resealed": N_("The notes were sealed to the new investigator."),
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


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
        "investigator/key.html",
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
    replaces the key reads every note sealed afterwards, so it needs a fresh sign-in or
    password and code on this form (web/reauth.py), and is audited."""
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
    return redirect("/investigator/key?done=created")


async def key_rewrap(request: Request, visit: Visit) -> Response:
    """The same private key under a new passphrase (changed, or set after recovery).
    Sensitive like a new key: a thief who knows the new passphrase could open the notes
    with a copy of the wrapped key."""
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
    return redirect("/investigator/key?done=passphrase")


@dataclass
class ResealGroup:
    """One consultation handed to another investigator, with the notes sealed to me."""

    pseudonym: str
    target: StaffKey | None  # the new investigator's key (None: none yet)
    notes: list[Note] = field(default_factory=list)


async def reseal_page(request: Request, visit: Visit) -> Response:
    db = visit.services.db
    groups: dict[str, ResealGroup] = {}
    for note, assigned_to in await notes.notes_to_reseal(db, visit.staff):
        if note.consultation_id not in groups:
            groups[note.consultation_id] = ResealGroup(
                await visibility.previous_pseudonym(db, note.consultation_id),
                await keys.current_key(db, assigned_to),
            )
        groups[note.consultation_id].notes.append(note)
    key = await keys.current_key(db, visit.staff.id)
    return render(request, visit, "investigator/reseal.html", key=key, groups=groups)


async def reseal_submit(request: Request, visit: Visit) -> Response:
    try:
        resealed = json.loads(visit.field("resealed") or "{}")
        if not isinstance(resealed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in resealed.items()
        ):
            raise ValueError
        await notes.reseal_notes(
            visit.services.db,
            visit.services.clock,
            visit.staff,
            resealed,
            visit.field("target_key_id"),
        )
    except (ValueError, InputRejected):
        raise HTTPException(400) from None
    return redirect("/investigator/key?done=resealed")


def export_document(consultation: Consultation, sealed: NotesExport) -> dict[str, Any]:
    """The export format of docs/exports.md: the notes sealed to the key and the key
    itself, wrapped. Nothing in it is readable without the passphrase or recovery key."""
    key = sealed.key
    return {
        "format": EXPORT_FORMAT,
        "version": 1,
        "consultation": {"id": consultation.id, "pseudonym": consultation.pseudonym},
        "public_key": b64(key.public_key),
        "wrapped_key": b64(key.wrapped_key),
        "recovery_wrapped_key": b64(key.recovery_wrapped_key),
        "notes": [
            {
                "id": note.id,
                "kind": note.kind,
                "author_role": note.author_role,
                "created_at": note.created_at,
                "sealed_in": note.sealed_in,
                "envelope": b64(note.envelope),
            }
            for note in sealed.notes
        ],
    }


def download(document: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(document, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def export(request: Request, visit: Visit) -> Response:
    """The consultation's sealed notes and the wrapped keys, for ``portal decrypt``."""
    db = visit.services.db
    consultation = await visibility.assigned_consultation(
        db, visit.staff, request.path_params["id"]
    )
    if consultation is None:
        raise HTTPException(404)
    sealed = await notes.export_notes(db, visit.services.clock, visit.staff, consultation)
    if sealed is None:
        raise HTTPException(404)
    document = export_document(consultation, sealed)
    return download(document, f"notes-{consultation.pseudonym.replace(' ', '-').lower()}.json")


ROUTES: list[GuardedRoute] = [
    route("/investigator/key", key_page, roles=ROLES),
    route("/investigator/key", key_create, roles=ROLES, methods=["POST"]),
    route("/investigator/key/passphrase", key_rewrap, roles=ROLES, methods=["POST"]),
    route("/investigator/reseal", reseal_page, roles=ROLES),
    route("/investigator/reseal", reseal_submit, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/export", export, roles=ROLES),
]
