"""The client's pages: enter a code, see the meeting, answer it, leave.

Every page works without JavaScript. Codes only ever arrive in a POST body; nothing a
client does puts a code in a URL, and the pages carry a neutral title and a quick exit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.crypto.hashing import Overloaded, SenderBusy
from portal.domain import client_access, codes
from portal.domain.bookings import Consultation
from portal.domain.client_access import CHANGE_REASONS, CodeRejected
from portal.domain.roles import CLIENT, PUBLIC
from portal.i18n import N_
from portal.security.senders import sender_of
from portal.web import kept
from portal.web.ended import resume
from portal.web.errors import RETRY_AFTER
from portal.web.first_interview import client_context as first_interview_context
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.note_forms import NOTED, note_form_context, submit_note
from portal.web.refusals import refused
from portal.web.responses import redirect, render
from portal.web.visit import Visit

WRONG_CODE = N_(
    "This code does not work. Check the numbers and try again, "
    "or ask the person who gave it to you."
)
NO_CODE = N_("Enter the numbers of your code first.")
NO_REASON = N_("Choose why you need another time.")
TOO_MANY = N_("Too many tries. Wait a minute and try again.")
BUSY = N_("The service is busy. Try again in a moment.")
DONE_MESSAGES = {
    "confirm": N_("Thank you. You confirmed the meeting."),
    "cancel": N_("The meeting is cancelled. Your support worker will be told."),
    "change": N_("You asked for another time. Your support worker will contact you."),
    "undo": N_("The cancellation is taken back: the meeting is on again."),
    "undo_failed": N_(
        "The cancellation could not be taken back: the time is no longer free. "
        "Your support worker will contact you."
    ),
}
# (value, msgid) of each reason: the key of a cached block (blocks/change_reasons.html).
REASONS = tuple(CHANGE_REASONS.items())
# The meeting page opens only the latest messages (each an X25519 multiplication on the
# event loop); /meeting/messages shows them all.
LATEST_MESSAGES = 3


async def code_form(request: Request, visit: Visit) -> Response:
    if visit.session.consultation_id is not None:
        return redirect("/meeting")
    ended = request.query_params.get("ended") == "1"
    left = request.query_params.get("left") == "1"
    return render(request, visit, "client/code.html", form=FormState(), ended=ended, left=left)


async def code_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    form = FormState.typed(visit)
    if not codes.normalise(visit.field("code")):  # nothing typed: nothing to count or hash
        return _code_page(request, visit, form.error("code", NO_CODE), 400)
    per_sender = svc.limits.per_minute(svc.settings.code_attempts_per_source_per_minute)
    overall = svc.limits.per_minute(svc.settings.code_attempts_per_minute)
    # Both limits before any hashing: guessing costs the guesser, not the server. A
    # sender over its own budget is refused before it can count against the portal's,
    # so one sender's flood never makes another visitor's code fail; only many senders
    # together reach the global cap, and then everyone is asked to come back in a
    # minute (503) - the cap the guessing arithmetic rests on (docs/security.md).
    sender = sender_of(request.scope)
    if not await svc.limits.hit(per_sender, "code-source", sender):
        await refused(visit, "code_throttled", sender)
        return _code_page(request, visit, form.error("code", TOO_MANY), 429)
    if not await svc.limits.hit(overall, "code-all"):
        await refused(visit, "code_busy", "all")
        return _code_page(request, visit, form.error("code", BUSY), 503)
    typed = visit.field("code")
    try:
        if len(codes.normalise(typed)) in codes.ONE_TIME_LENGTHS:
            redeemed = await client_access.redeem_one_time_code(svc.db, svc.clock, svc.codes, typed)
            visit.session = await svc.sessions.begin_client(
                visit.session, redeemed.consultation_id, redeemed.client_secret_key
            )
            return render(
                request,
                visit,
                "client/new_code.html",
                client_code=codes.display(redeemed.client_code),
            )
        opened = await client_access.open_with_client_code(svc.db, svc.codes, typed)
    except CodeRejected:
        return _code_page(request, visit, form.error("code", WRONG_CODE), 400)
    # The hashing pool refused the work: the page comes back with what was typed.
    except SenderBusy:
        svc.metrics.rate_limited("hashing-sender")
        return _code_page(request, visit, form.error("code", TOO_MANY), 429)
    except Overloaded:
        await refused(visit, "code_busy", "all")
        return _code_page(request, visit, form.error("code", BUSY), 503)
    visit.session = await svc.sessions.begin_client(
        visit.session, opened.consultation_id, opened.client_secret_key
    )
    carried = kept.carried(visit.form)
    if carried is not None:  # back after the page closed: offer what they wrote
        return await resume(request, visit, carried)
    return redirect("/meeting")


def _code_page(request: Request, visit: Visit, form: FormState, status: int) -> Response:
    response = render(
        request, visit, "client/code.html", status, form=form, ended=False, left=False
    )
    if status in (429, 503):
        response.headers["retry-after"] = RETRY_AFTER
    return response


async def consultation_of(visit: Visit) -> Consultation:
    found = await client_access.client_consultation(
        visit.services.db, visit.session.consultation_id or ""
    )
    if found is None:  # purged while the client was looking
        raise HTTPException(404)
    return found


async def meeting_page(
    request: Request,
    visit: Visit,
    form: FormState | None = None,
    status: int = 200,
    message_form: FormState | None = None,
    confirm_cancel: str | None = None,
) -> Response:
    """``confirm_cancel``: the meeting whose cancellation is asked for once more."""
    svc = visit.services
    found = await client_access.meeting_page(
        svc.db,
        visit.session.consultation_id or "",
        visit.session.client_secret_key,  # opens the messages here; no argon2
        svc.clock.now(),
        LATEST_MESSAGES,
    )
    if found is None:  # purged while the client was looking
        raise HTTPException(404)
    consultation, key, meetings = found.consultation, found.key, found.meetings
    done = request.query_params.get("done", "")
    return render(
        request,
        visit,
        "client/meeting.html",
        status,
        consultation=consultation,
        upcoming=[m for m in meetings if m.is_open],
        earlier=[m for m in meetings if not m.is_open],
        undoable={m.id for m in meetings if client_access.can_undo(m, svc.clock.now())},
        undo_minutes=client_access.UNDO_SECONDS // 60,
        confirm_cancel=confirm_cancel,
        reasons=REASONS,
        message=DONE_MESSAGES.get(done) or NOTED.get(request.query_params.get("noted", "")),
        form=form or FormState(),
        messages=found.conversation,
        message_form=message_form or FormState(),
        message_sent=request.query_params.get("sent") == "1",
        # The forms' addresses end with their section's anchor: a page sent back with a
        # refusal (no JavaScript) opens at the refusal, not at the top of the page.
        **note_form_context(key, "client", "/meeting/notes#note-form"),
        # The first interview, after the decision to report (web/first_interview.py).
        **await first_interview_context(visit, consultation, meetings),
        advisers=found.advisers,
    )


async def note_submit(request: Request, visit: Visit) -> Response:
    outcome = await submit_note(visit, await consultation_of(visit), "client", "/meeting")
    if isinstance(outcome, FormState):
        return await meeting_page(request, visit, outcome, 400)
    return outcome


async def meeting_answer(request: Request, visit: Visit) -> Response:
    """Cancelling asks once more (a second step that works without JavaScript); one
    tap on a small screen must not cancel a meeting someone may need."""
    svc = visit.services
    answer = visit.field("answer")
    if answer == "change" and visit.field("reason") not in client_access.CHANGE_REASONS:
        # The radios are required, but a browser that skips that check (or an old page)
        # must not get a silent redirect: the page says what is missing.
        meeting_id = request.path_params["id"]
        form = FormState.typed(visit).error(f"reason:{meeting_id}", NO_REASON)
        return await meeting_page(request, visit, form, 400)
    consultation_id = visit.session.consultation_id or ""
    if answer == "cancel" and visit.field("confirm") != "yes":
        try:
            meeting = await client_access.client_meeting(
                svc.db, consultation_id, request.path_params["id"]
            )
        except client_access.MeetingNotFound as exc:
            raise HTTPException(404) from exc
        return await meeting_page(request, visit, confirm_cancel=meeting.id)
    try:
        changed = await client_access.answer_meeting(
            svc.db,
            svc.clock,
            visit.session.consultation_id or "",
            request.path_params["id"],
            answer,
            visit.field("reason") or None,
        )
    except client_access.MeetingNotFound as exc:
        raise HTTPException(404) from exc
    return redirect(f"/meeting?done={answer}" if changed else "/meeting")


async def meeting_undo(request: Request, visit: Visit) -> Response:
    """Take back a cancellation made in the last minutes, if the time is still free."""
    svc = visit.services
    try:
        undone = await client_access.undo_cancel(
            svc.db, svc.clock, visit.session.consultation_id or "", request.path_params["id"]
        )
    except client_access.MeetingNotFound as exc:
        raise HTTPException(404) from exc
    return redirect("/meeting?done=undo" if undone else "/meeting?done=undo_failed")


async def leave(request: Request, visit: Visit) -> Response:
    visit.session = await visit.services.sessions.end(visit.session, keep_language=True)
    return redirect("/code?left=1")


ROUTES: list[GuardedRoute] = [
    route("/code", code_form, roles={PUBLIC}),
    route("/code", code_submit, roles={PUBLIC}, methods=["POST"]),
    route("/meeting", meeting_page, roles={CLIENT}),
    route("/meeting/{id}/answer", meeting_answer, roles={CLIENT}, methods=["POST"]),
    route("/meeting/{id}/undo", meeting_undo, roles={CLIENT}, methods=["POST"]),
    route("/meeting/notes", note_submit, roles={CLIENT}, methods=["POST"]),
    route("/leave", leave, roles={CLIENT}, methods=["POST"]),
]
