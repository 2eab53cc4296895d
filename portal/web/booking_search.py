"""The NGO worker's booking list narrowed by status, booking date and pseudonym.

A GET form (``/ngo?status=held&booked_from=...``): a search changes nothing, so it can
be bookmarked and paged. Nothing in it is secret: pseudonyms are labels made to say
nothing about a person, shown on the same page. The organisation is never a parameter:
visibility.organisation_bookings always reads the worker's own.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from starlette.requests import Request

from portal.domain.errors import InputRejected
from portal.domain.visibility import BookingSearch
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.inputs import day_start, form_day
from portal.web.visit import Visit

# The latest meeting's status, as the list's badges name it (partials/status.html).
STATUSES = {
    "booked": N_("Booked"),
    "confirmed": N_("Confirmed by client"),
    "change_requested": N_("Client asks for another time"),
    "cancelled": N_("Cancelled"),
    "held": N_("Held"),
    "no_show": N_("Client did not come"),
}
FIELDS = ("status", "booked_from", "booked_until", "pseudonym")
NO_DATE = N_("Enter a date such as 2026-12-01.")
BAD_RANGE = N_("The first day must not be after the last one.")
BAD_PSEUDONYM = N_("A pseudonym has only letters, numbers and spaces, such as Blue Heron 42.")
_PSEUDONYM = re.compile(r"[^\W_]+(?: [^\W_]+){0,3}")


def search_of(request: Request, visit: Visit) -> tuple[BookingSearch, FormState]:
    """The search the query string asks for, and the form to show it in (with a message
    for each part that could not be used; those parts do not narrow the list)."""
    query = request.query_params
    form = FormState(values={name: query.get(name, "")[:64] for name in FIELDS})
    zone = visit.services.zone
    status = form.values["status"]
    if status and status not in STATUSES:
        form.error("status", N_("Choose one of the options."))
    days = {}
    for name in ("booked_from", "booked_until"):
        raw = form.values[name].strip()
        try:
            day = form_day(raw, name) if raw else None
        except InputRejected as exc:
            form.rejected(exc)
            continue
        if raw and day is None:
            form.error(name, NO_DATE)
        days[name] = day
    first, last = days.get("booked_from"), days.get("booked_until")
    if first is not None and last is not None and first > last:
        form.error("booked_until", BAD_RANGE)
        first = last = None
    typed = " ".join(form.values["pseudonym"].split())
    pseudonym = " ".join(word.capitalize() for word in typed.split()) or None
    if pseudonym is not None and not _PSEUDONYM.fullmatch(pseudonym):
        form.error("pseudonym", BAD_PSEUDONYM)
        pseudonym = None
    search = BookingSearch(
        status=status if status in STATUSES else None,
        booked_from=day_start(first, zone) if first is not None else None,
        # The last day counts whole: up to the start of the next.
        booked_until=day_start(last + timedelta(days=1), zone) if last is not None else None,
        pseudonym=pseudonym,
    )
    return search, form


def query_of(form: FormState) -> str:
    """The search as a query string prefix for the pager's links ("" when none)."""
    chosen = [(name, form.values[name]) for name in FIELDS if form.values.get(name)]
    return urlencode(chosen) + "&" if chosen else ""
