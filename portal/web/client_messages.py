"""The client's messages: answer the conversation from the meeting page, read it all
on its own page (the meeting page shows only the latest).

With JavaScript the message is sealed in the browser to every recipient (the client's
own key included) and posted with fetch (portal/web/conversation.py answers in JSON).
Without it the text is posted and the server seals it in this request, never keeping
or logging the plaintext; the page says so in plain words.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from portal.domain import conversation
from portal.domain.bookings import Consultation
from portal.domain.conversation import NotParticipant
from portal.domain.errors import InputRejected
from portal.domain.roles import CLIENT
from portal.i18n import N_
from portal.web.client import consultation_of, meeting_page
from portal.web.conversation import posted_envelopes, save_sealed, script_answer
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import from_script, redirect, render
from portal.web.visit import Visit

CANNOT_WRITE = N_("Messages are not available at the moment. Your support worker can help.")
# Why a sealed message sent again after entering the code was refused (the words of the
# page's own refusals, templates/partials/message_form.html).
CLIENT_REFUSALS = {
    "recipients_changed": N_(
        "The people in this conversation changed while you were writing. Your message "
        "is still here: send it again."
    ),
    "used": N_("This message was sent already. Reload the page to write another."),
    "no_key": CANNOT_WRITE,
    "unreadable": N_("The message could not be read. Try again."),
}


async def messages_page(request: Request, visit: Visit) -> Response:
    consultation = await consultation_of(visit)
    messages = await conversation.client_conversation(
        visit.services.db, consultation.id, visit.session.client_secret_key
    )
    return render(
        request,
        visit,
        "client/messages.html",
        consultation=consultation,
        messages=messages,
        message_form=FormState(),
        message_sent=False,
    )


async def message_submit(request: Request, visit: Visit) -> Response:
    consultation = await consultation_of(visit)
    if visit.form.getlist("envelope"):  # sealed in the browser
        return await _sealed_submit(request, visit, consultation)
    svc = visit.services
    try:
        await conversation.post_from_client_text(
            svc.db,
            svc.clock,
            consultation,
            message_id=visit.field("message_id"),
            text=visit.field("text"),
        )
    except InputRejected as exc:
        typed = FormState(values={"text": visit.field("text")}).error("text", exc.message)
        return await meeting_page(request, visit, None, 400, typed)
    except NotParticipant:
        typed = FormState(values={"text": visit.field("text")}).error("text", CANNOT_WRITE)
        return await meeting_page(request, visit, None, 403, typed)
    return redirect("/meeting?sent=1#messages")


async def _sealed_submit(request: Request, visit: Visit, consultation: Consultation) -> Response:
    """Sealed in the browser: posted by the page's script (a JSON answer), or sent again
    as a plain form from the page after the client entered their code (web/ended.py):
    then the meeting page, or, refused, the message back in its box with the reason."""
    envelopes = posted_envelopes(visit)
    refused = await save_sealed(visit, consultation, "client", envelopes)
    if from_script(request):
        return script_answer(refused)
    if refused is None:
        return redirect("/meeting?sent=1#messages")
    text = (
        ""  # it is in the conversation already: back in the box, it would go twice
        if refused.code == "used"
        else await conversation.client_text(
            visit.services.db,
            consultation.id,
            message_id=visit.field("message_id"),
            envelopes=envelopes or {},
            secret_key=visit.session.client_secret_key,
        )
    )
    reason = CLIENT_REFUSALS.get(refused.code, CLIENT_REFUSALS["unreadable"])
    typed = FormState(values={"text": text}).error("text", reason)
    return await meeting_page(request, visit, None, refused.status, typed)


ROUTES: list[GuardedRoute] = [
    route("/meeting/messages", messages_page, roles={CLIENT}),
    route("/meeting/messages", message_submit, roles={CLIENT}, methods=["POST"]),
]
