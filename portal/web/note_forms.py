"""The prepared-note form shared by NGO workers and clients, and what it needs to seal.

With JavaScript the form is sealed in the browser (static/js/notes.js) and only the
envelope is posted; without it the sections arrive in clear and the server seals them
in the same request (portal/domain/notes.py).
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import Response

from portal.domain import notes
from portal.domain.bookings import Consultation
from portal.domain.errors import InputRejected
from portal.domain.keys import NoKeyYet, StaffKey
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.responses import redirect
from portal.web.visit import Visit

NOTED = {
    "browser": N_(
        "Your note was locked in this browser before it was sent. "
        "Only the investigator can open it."
    ),
    "server": N_(
        "Your note was locked on the server as soon as it arrived. "
        "Only the investigator can open it."
    ),
}
NO_KEY = N_("The investigator cannot receive notes yet. Try again later.")
# (heading, hint) of the form, by author.
WORDING = {
    "client": (
        N_("Things you want the police to know before the meeting"),
        N_(
            "Only the investigator who meets you can read this: not the support "
            "organisation, and not you after sending. Write only what you want to."
        ),
    ),
    "ngo_worker": (
        N_("Prepared notes"),
        N_(
            "Fears, threats and wishes for the first interview. The note is locked to the "
            "investigator: after sending, you cannot read it back."
        ),
    ),
}


def note_form_context(key: StaffKey | None, author_role: str, action: str) -> dict[str, Any]:
    """What the note form needs: the key to seal to (the investigator's current one, or
    None), the prompts, the words."""
    heading, hint = WORDING[author_role]
    return {
        "note_key": key,
        "note_key_b64": base64.b64encode(key.public_key).decode() if key else "",
        "note_sections": tuple(notes.SECTIONS.items()),  # (name, prompt): a cache key
        "note_action": action,
        "note_author": author_role,
        "note_heading": heading,
        "note_hint": hint,
    }


def note_input(visit: Visit, sections: dict[str, str] | None = None) -> notes.NoteInput:
    return notes.NoteInput(
        envelope=visit.field("envelope"),
        key_id=visit.field("key_id"),
        sections={name: visit.field(name) for name in (sections or notes.SECTIONS)},
    )


async def submit_note(
    visit: Visit, consultation: Consultation, author_role: str, back_to: str
) -> Response | FormState:
    """Store the note and redirect; or the form (what was typed, and why) to show again."""
    svc = visit.services
    try:
        sealed_in = await notes.add_note(
            svc.db,
            svc.clock,
            consultation,
            author_role=author_role,
            author=visit.account,
            given=note_input(visit),
        )
    except InputRejected as exc:
        return FormState.typed(visit).rejected(exc)
    except NoKeyYet:
        return FormState.typed(visit).error("other", NO_KEY)
    return redirect(f"{back_to}?noted={sealed_in}")
