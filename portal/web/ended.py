"""The page for a form sent after its session ended: say so, sign in again, keep the text.

Threat: an expired session is bad input too (docs/security.md). Answering it with a
bare "refused" page in English loses what a client wrote about their situation, or a
worker's whole booking, and pushes people to type less. The guard (guard.py) sends every
POST it refuses for a missing, ended or outdated session here:

- the page speaks the language the form was shown in (its ``page_lang`` field: the
  session that held the language is gone), and a client's new session keeps it;
- a signed-out visitor gets the staff sign-in form or the client's code form, carrying
  what they typed (kept.py) in hidden fields; after signing in again the next page
  (``resume.html``, from ``resume`` below) offers it back in a form to the same address,
  to check and send again, never sent without the person's click;
- someone still signed in (the page was older than their session: they signed out and
  in again in another tab) gets that form at once;
- a page's script (a sealed message sent with fetch) gets ``{"error": "ended"}``: the
  text stays in its box and the page says why it was not sent.

The typed text is also shown to read and copy, so it survives even a sign-in that fails
or is abandoned. It is the text that was on this person's screen a moment ago; nothing
is stored, and a cross-site page cannot make a browser send a form here (security/csrf.py
refuses it before any route), so the page only ever echoes a person's own POST.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from portal.domain import needs
from portal.domain.roles import CLIENT
from portal.security.sessions import CurrentSession
from portal.services import Services
from portal.web import kept
from portal.web.forms import FormState
from portal.web.responses import from_script, render
from portal.web.visit import Visit, language


async def page(request: Request, visit: Visit, roles: Collection[str]) -> Response:
    if from_script(request):
        # A form sent by a page's script (static/js/posting.js): it keeps the text on the
        # page and says, in the page's language, that the page must be opened again.
        return JSONResponse({"error": "ended"}, status_code=403)
    visit.locale = page_language(request, visit.services, visit.session, visit.form)
    typed = kept.refused(request.scope["path"], visit.form)
    role = (
        visit.account.role
        if visit.account is not None
        else (CLIENT if visit.session.consultation_id is not None else None)
    )
    if role is not None and role in roles:
        return await resume(request, visit, typed, status=403)
    if CLIENT in roles:
        return render(
            request, visit, "client/code.html", 403, kept=typed, form=FormState(), ended=True,
            left=False,
        )  # fmt: skip
    return render(
        request, visit, "public/login.html", 403, kept=typed, form=FormState(), expired=True
    )


def page_language(request: Request, svc: Services, session: CurrentSession, form: FormData) -> str:
    """The session's language; else, for a form, the one it was shown in (the session
    that held it may have ended; a sign-in or code page sent again keeps it). Nothing
    stores it here: a refused request writes nothing."""
    page_lang = form.get(kept.PAGE_LANG)
    if session.locale is None and page_lang in svc.catalogues.locales:
        return str(page_lang)
    return language(request, session, svc)


async def resume(
    request: Request, visit: Visit, typed: kept.Kept | None, status: int = 200
) -> Response:
    """The page after signing in again (or for a page older than its session): what was
    typed, in a form to where it was going. Signed in again, the session keeps the
    language the form was in (as the language chooser would)."""
    svc = visit.services
    page_lang = visit.field(kept.PAGE_LANG)
    if visit.session.locale is None and page_lang in svc.catalogues.locales:
        visit.session = await svc.sessions.remember_locale(visit.session, page_lang)
    visit.locale = language(request, visit.session, svc)
    if typed is not None and not typed.typed_by(visit.account.id if visit.account else None):
        # Another account typed it (a colleague on this browser): nothing is offered,
        # nothing is shown, and nothing is sent in this person's name.
        return render(request, visit, "resume.html", status, kept=None, answers=[], other=True)
    # A booking's answers are choices, not typed words (the copy to read leaves them
    # out): said in words, so that the worker can check them before sending.
    answers = needs.describe_answers(dict(typed.fields)) if typed else []
    return render(request, visit, "resume.html", status, kept=typed, answers=answers, other=False)
