"""The conversation of a consultation over the web: staff (investigator, NGO worker,
an adviser taking part) and the client post messages; staff share earlier messages
with new participants.

Staff and clients with JavaScript seal in the browser (static/js/conversation.js) and
post one envelope per recipient with fetch; these handlers answer in JSON with a fixed
code, and the page shows the words for it (so nothing typed is lost on a refusal). A
client without JavaScript posts the text, and the server seals it in the request
(domain/conversation.py). Who may post where is decided in domain/visibility.py.

Sealed envelopes also arrive as a plain form: when the session ended while the page was
open, the script sends them the way a form goes without JavaScript, so that the page
which says so carries them to the next sign-in (web/ended.py), and the page after it
sends them again. That answer is a page, not JSON.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from portal.domain import conversation, visibility
from portal.domain.bookings import Consultation
from portal.domain.conversation import NotParticipant, RecipientKey, RecipientsChanged
from portal.domain.errors import InputRejected
from portal.domain.keys import StaffKey
from portal.domain.roles import ADVISER, INVESTIGATOR, NGO_WORKER
from portal.i18n import N_
from portal.web.guard import GuardedRoute, route
from portal.web.responses import from_script, redirect, render
from portal.web.visit import Visit

# The code the browser gets for each refusal (the page holds the words, translated).
CODES = {
    conversation.TOO_LONG: "too_long",
    conversation.EMPTY: "empty",
    conversation.UNREADABLE: "unreadable",
    conversation.RECIPIENTS_CHANGED: "recipients_changed",
    conversation.USED_ID: "used",
    conversation.NOT_SHARED: "not_shared",
}


# Why a message sent again after signing in was refused, for the page that says so.
NOT_SENT = {
    "recipients_changed": N_(
        "The people in this conversation changed while you were signed out, so the "
        "message was not sent. Open the conversation and write it again."
    ),
    "used": N_("This message was sent already."),
    "no_key": N_("You have no key yet, so you can neither read nor write in this conversation."),
    "unreadable": N_("The message could not be read. Open the conversation and write it again."),
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def recipients_json(recipients: list[RecipientKey]) -> list[dict[str, str]]:
    return [{"id": k.key_id, "key": b64(k.public_key), "role": k.role} for k in recipients]


def refusal(code: str, status: int, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, **extra}, status_code=status)


def posted_envelopes(visit: Visit, name: str = "envelope") -> dict[str, str] | None:
    """The ``name`` fields (envelopes sealed in the browser, here and for referrals), each
    ``<recipient key id>:<base64>``; None if malformed or one recipient twice."""
    found: dict[str, str] = {}
    for value in visit.form.getlist(name):
        if not isinstance(value, str) or ":" not in value:
            return None
        key_id, envelope = value.split(":", 1)
        if not key_id or key_id in found:
            return None
        found[key_id] = envelope
    return found


@dataclass(frozen=True)
class Refused:
    """Why a sealed message was not saved: the code the page has words for."""

    code: str
    status: int
    extra: dict[str, Any] = field(default_factory=dict)

    def answer(self) -> JSONResponse:
        """For the page's script: the code, with what it needs to try again."""
        return refusal(self.code, self.status, **self.extra)


async def save_sealed(
    visit: Visit, consultation: Consultation, role: str, envelopes: dict[str, str] | None
) -> Refused | None:
    """Store a message sealed in the browser; None when saved."""
    if envelopes is None:
        return Refused("unreadable", 400)
    svc = visit.services
    try:
        await conversation.post_sealed(
            svc.db,
            svc.clock,
            consultation,
            role=role,
            account=visit.account,
            message_id=visit.field("message_id"),
            envelopes=envelopes,
        )
    except NotParticipant:
        return Refused("no_key", 403)
    except RecipientsChanged as exc:
        extra = {
            "recipients": recipients_json(exc.recipients),
            "next": conversation.new_message_id(),
        }
        return Refused("recipients_changed", 409, extra)
    except InputRejected as exc:
        return Refused(CODES.get(exc.message, "unreadable"), 400)
    return None


def script_answer(refused: Refused | None) -> JSONResponse:
    """For the page's script: ``{"saved": true, "next": <fresh id>}`` or the refusal."""
    if refused is None:
        return JSONResponse({"saved": True, "next": conversation.new_message_id()})
    return refused.answer()


async def _staff_consultation(request: Request, visit: Visit) -> Consultation:
    return await visit.visible(visibility.conversation_consultation, request.path_params["id"])


async def staff_post(request: Request, visit: Visit) -> Response:
    consultation = await _staff_consultation(request, visit)
    refused = await save_sealed(visit, consultation, visit.staff.role, posted_envelopes(visit))
    if from_script(request):
        return script_answer(refused)
    # Sent again from the page after signing in (web/ended.py): back to the conversation,
    # or, refused, the words for why (the text is sealed: only the author's browser,
    # unlocked, could open it again).
    page = request.url.path.removesuffix("/messages")
    if refused is None:
        return redirect(f"{page}#messages")
    return not_sent(
        request,
        visit,
        refused,
        heading=N_("The message was not sent"),
        reason=NOT_SENT.get(refused.code, NOT_SENT["unreadable"]),
        back=(f"{page}#messages", N_("Back to the conversation")),
    )


def not_sent(
    request: Request,
    visit: Visit,
    refused: Refused,
    *,
    heading: str,
    reason: str,
    back: tuple[str, str],
) -> Response:
    """The page for something sealed in the browser, sent again as a plain form after
    signing in, and refused: why, and the way back (its address and words)."""
    return render(
        request,
        visit,
        "staff/not_sent.html",
        refused.status,
        heading=heading,
        reason=reason,
        back=back[0],
        back_label=back[1],
    )


def shared_envelopes(visit: Visit) -> list[tuple[str, str, str]] | None:
    """The ``shared`` fields, each ``<message id>:<recipient key id>:<base64>``."""
    found = []
    for value in visit.form.getlist("shared"):
        parts = value.split(":", 2) if isinstance(value, str) else []
        if len(parts) != 3:
            return None
        found.append((parts[0], parts[1], parts[2]))
    return found


async def staff_share(request: Request, visit: Visit) -> Response:
    """Earlier messages re-sealed in the browser for participants who have none."""
    consultation = await _staff_consultation(request, visit)
    shared = shared_envelopes(visit)
    if shared is None:
        return refusal("not_shared", 400)
    svc = visit.services
    try:
        count = await conversation.share_earlier(
            svc.db,
            svc.clock,
            consultation,
            account=visit.staff,
            role=visit.staff.role,
            envelopes=shared,
        )
    except NotParticipant:
        return refusal("no_key", 403)
    except InputRejected:
        return refusal("not_shared", 400)
    return JSONResponse({"shared": count})


async def staff_context(
    visit: Visit, consultation: Consultation, action: str, key: StaffKey | None
) -> dict[str, Any]:
    """What templates/partials/conversation.html needs on a staff consultation page.
    ``key``: the reader's current key (None: they have none), read once by the page."""
    db = visit.services.db
    staff = visit.staff
    readable = await visibility.consultation_messages(
        db, staff, consultation, key.id if key else ""
    )
    return {
        "conversation": await conversation.staff_conversation(db, key, consultation, readable),
        "conversation_action": action,
    }


ROUTES: list[GuardedRoute] = [
    route(
        "/investigator/consultations/{id}/messages",
        staff_post,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route(
        "/investigator/consultations/{id}/messages/share",
        staff_share,
        roles={INVESTIGATOR},
        methods=["POST"],
    ),
    route("/ngo/consultations/{id}/messages", staff_post, roles={NGO_WORKER}, methods=["POST"]),
    route(
        "/ngo/consultations/{id}/messages/share",
        staff_share,
        roles={NGO_WORKER},
        methods=["POST"],
    ),
    route("/adviser/consultations/{id}/messages", staff_post, roles={ADVISER}, methods=["POST"]),
    route(
        "/adviser/consultations/{id}/messages/share",
        staff_share,
        roles={ADVISER},
        methods=["POST"],
    ),
]
