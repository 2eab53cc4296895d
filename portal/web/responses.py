"""What a handler answers: a page rendered for the visit, or a redirect.

``render`` gives every template the visit, the signed-in account, and the CSRF token and
its hidden field, computed only if the page prints them (a printed token is what makes
the session middleware set the cookie it is bound to).
"""

from __future__ import annotations

from typing import Any

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.web import kept
from portal.web.rendering import templates_of
from portal.web.visit import Visit


class _LazyToken:
    """The CSRF token, computed (and the cookie set) only if a template prints it."""

    def __init__(self, visit: Visit) -> None:
        self._visit = visit

    def __str__(self) -> str:
        return self._visit.csrf_token

    __html__ = __str__


class _LazyField(_LazyToken):
    """The hidden form fields that carry the CSRF token and the page's language
    (``{{ csrf_field }}``), written once per token (a page has several forms)."""

    def __init__(self, visit: Visit) -> None:
        super().__init__(visit)
        self._written = ("", "")  # (token, field)

    def __str__(self) -> str:
        token = self._visit.csrf_token
        if self._written[0] != token:
            # The page's language too: if the session has ended by the time the form is
            # sent, the refusal still speaks it (kept.py).
            field = (
                f'<input type="hidden" name="csrf_token" value="{escape(token)}">'
                f'<input type="hidden" name="page_lang" value="{escape(self._visit.locale)}">'
            )
            if self._visit.account is not None:
                # Whose page it was: what was typed is offered back to that account only.
                field += (
                    f'<input type="hidden" name="page_by" value="{escape(self._visit.account.id)}">'
                )
            self._written = (token, field)
        return self._written[1]

    __html__ = __str__


def from_script(request: Request) -> bool:
    """Sent by a page's script (static/js/posting.js), which reads a JSON answer."""
    return "application/json" in request.headers.get("accept", "")


def redirect(path: str) -> Response:
    """Post/redirect/get: 303 to ``path`` (the session middleware adds any new cookie)."""
    return RedirectResponse(path, status_code=303)


def render(
    request: Request,
    visit: Visit,
    template: str,
    status_code: int = 200,
    partial: str | None = None,
    **context: Any,
) -> Response:
    page = {
        "visit": visit,
        "account": visit.account,
        "client": visit.session.consultation_id is not None,
        "current_path": request.scope["path"],
        "csrf_token": _LazyToken(visit),
        "csrf_field": _LazyField(visit),
        # Typed fields a sign-in or code form carries through after a session ended.
        "kept": kept.carried(visit.form),
        **context,
    }
    return templates_of(request).render(
        request, template, page, locale=visit.locale, status_code=status_code, partial=partial
    )
