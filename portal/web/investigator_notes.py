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
from portal.domain import audit, keys, notes, visibility
from portal.domain.errors import InputRejected
from portal.domain.roles import INVESTIGATOR
from portal.i18n import N_
from portal.storage import keys as key_store
from portal.storage import notes as note_store
from portal.storage.consultations import Consultation
from portal.storage.database import Database
from portal.storage.keys import InvestigatorKey
from portal.storage.notes import Note
from portal.web.forms import FormState
from portal.web.routing import GuardedRoute, Visit, redirect, render, route

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
    key = await key_store.current_key(db, visit.staff.id)
    return render(
        request,
        visit,
        "investigator/key.html",
        status,
        key=key,
        key_fingerprint=fingerprint(key.public_key) if key else "",
        pending=len(await note_store.notes_to_reseal(db, visit.staff.id)),
        message=KEY_MESSAGES.get(request.query_params.get("done", "")),
        form=form or FormState(),
    )


async def key_create(request: Request, visit: Visit) -> Response:
    """A new key pair (first key, or a replacement for a lost one)."""
    svc = visit.services
    try:
        await keys.register_key(
            svc.db,
            svc.clock,
            visit.staff.id,
            public_key=visit.field("public_key"),
            wrapped_key=visit.field("wrapped_key"),
            recovery_wrapped_key=visit.field("recovery_wrapped_key"),
        )
    except InputRejected as exc:
        return await key_page(request, visit, FormState().error("key", exc.message), 400)
    return redirect("/investigator/key?done=created")


async def key_rewrap(request: Request, visit: Visit) -> Response:
    """The same private key under a new passphrase (changed, or set after recovery)."""
    try:
        await keys.rewrap_key(visit.services.db, visit.staff.id, visit.field("wrapped_key"))
    except (InputRejected, keys.NoKeyYet):
        return await key_page(request, visit, FormState().error("key", keys.BAD_KEY), 400)
    return redirect("/investigator/key?done=passphrase")


@dataclass
class ResealGroup:
    """One consultation handed to another investigator, with the notes sealed to me."""

    pseudonym: str
    target: InvestigatorKey | None  # the new investigator's key (None: none yet)
    notes: list[Note] = field(default_factory=list)


async def reseal_page(request: Request, visit: Visit) -> Response:
    db = visit.services.db
    groups: dict[str, ResealGroup] = {}
    for note, assigned_to in await note_store.notes_to_reseal(db, visit.staff.id):
        if note.consultation_id not in groups:
            groups[note.consultation_id] = ResealGroup(
                await visibility.consultation_pseudonym(db, note.consultation_id),
                await key_store.current_key(db, assigned_to),
            )
        groups[note.consultation_id].notes.append(note)
    key = await key_store.current_key(db, visit.staff.id)
    return render(request, visit, "investigator/reseal.html", key=key, groups=groups)


async def reseal_submit(request: Request, visit: Visit) -> Response:
    try:
        resealed = json.loads(visit.field("resealed") or "{}")
        if not isinstance(resealed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in resealed.items()
        ):
            raise ValueError
        count = await notes.reseal_notes(
            visit.services.db, visit.staff.id, resealed, visit.field("target_key_id")
        )
    except (ValueError, InputRejected):
        raise HTTPException(400) from None
    await audit.record(
        visit.services.db,
        visit.services.clock,
        "notes_resealed",
        None,
        actor=visit.staff,
        detail=f"count-{count}",
    )
    return redirect("/investigator/key?done=resealed")


async def export_document(
    db: Database, consultation: Consultation, key: InvestigatorKey
) -> dict[str, Any]:
    """The export format of docs/exports.md: the notes sealed to ``key`` and the key
    itself, wrapped. Nothing in it is readable without the passphrase or recovery key."""
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
            for note in await note_store.consultation_notes(db, consultation.id)
            if note.key_id == key.id
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
    consultation = await visibility.visible_consultation(db, visit.staff, request.path_params["id"])
    key = await key_store.current_key(db, visit.staff.id)
    if consultation is None or key is None:
        raise HTTPException(404)
    document = await export_document(db, consultation, key)
    await audit.record(db, visit.services.clock, "notes_exported", consultation, actor=visit.staff)
    return download(document, f"notes-{consultation.pseudonym.replace(' ', '-').lower()}.json")


ROUTES: list[GuardedRoute] = [
    route("/investigator/key", key_page, roles=ROLES),
    route("/investigator/key", key_create, roles=ROLES, methods=["POST"]),
    route("/investigator/key/passphrase", key_rewrap, roles=ROLES, methods=["POST"]),
    route("/investigator/reseal", reseal_page, roles=ROLES),
    route("/investigator/reseal", reseal_submit, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/export", export, roles=ROLES),
]
