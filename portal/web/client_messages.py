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
from portal.domain.conversation import NotParticipant
from portal.domain.errors import InputRejected
from portal.domain.roles import CLIENT
from portal.i18n import N_
from portal.web.client import consultation_of, meeting_page
from portal.web.conversation import post_sealed, posted_envelopes, refusal
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit

CANNOT_WRITE = N_("Messages are not available at the moment. Your support worker can help.")


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
        envelopes = posted_envelopes(visit)
        if envelopes is None:
            return refusal("unreadable", 400)
        return await post_sealed(visit, consultation, "client", envelopes)
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


ROUTES: list[GuardedRoute] = [
    route("/meeting/messages", messages_page, roles={CLIENT}),
    route("/meeting/messages", message_submit, roles={CLIENT}, methods=["POST"]),
]
