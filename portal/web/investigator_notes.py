"""Investigator pages for sealed notes: re-sealing for a new investigator, export.

Unlocking and opening happen in the browser (static/js/unlock.js and investigator.js);
these handlers only hand envelopes and wrapped keys back to their owner. The key page
itself is every key holder's (web/keys.py).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import keys, notes, visibility
from portal.domain.bookings import Consultation
from portal.domain.errors import InputRejected
from portal.domain.keys import StaffKey
from portal.domain.notes import Note, NotesExport
from portal.domain.roles import INVESTIGATOR
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {INVESTIGATOR}
EXPORT_FORMAT = "intake-portal-notes-export"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


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
    return redirect("/staff/key?done=resealed")


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
    route("/investigator/reseal", reseal_page, roles=ROLES),
    route("/investigator/reseal", reseal_submit, roles=ROLES, methods=["POST"]),
    route("/investigator/consultations/{id}/export", export, roles=ROLES),
]
