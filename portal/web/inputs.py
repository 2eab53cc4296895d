"""Numbers and dates typed into a form or a query string, read once, at the edge.

Threat: input that crashes a page (a 500 for anyone, on a public page too). Found by
an attacker and by the fuzz (tests/reliability/test_fuzz.py):

- ``"²".isdigit()`` and ``"①".isdigit()`` are true, but ``int()`` refuses them
  (Unicode category No); and ``int()`` refuses more than 4300 digits. Only ASCII
  digits are read here, and never more than the largest value allowed has.
- A date at the end of the calendar (``9999-12-31``, ``0001-01-01``) overflowed the
  date arithmetic of the week and day views (the next day, the week around it, a time
  zone). Every date read here lies between ``FIRST_DAY`` and ``LAST_DAY``, so that
  arithmetic stays far from Python's limits, and nothing absurd reaches the database.

A value that is no number or date is ``None`` for the caller to treat as missing (each
form already says what to enter); a readable date out of range is an ``InputRejected``
with its own message, or a 404 for a calendar page.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request

from portal.domain.errors import InputRejected
from portal.i18n import N_

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
OUT_OF_RANGE = N_("Enter a date between 2000 and 2099.")


def whole_number(raw: str, maximum: int) -> int | None:
    """``raw`` as a number from 0 to ``maximum`` written in ASCII digits, else None."""
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    text = text.lstrip("0") or "0"
    if len(text) > len(str(maximum)):  # before int(): it reads at most 4300 digits
        return None
    value = int(text)
    return value if value <= maximum else None


def _within(day: date, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputRejected(field, OUT_OF_RANGE)
    return day


def form_day(raw: str, field: str) -> date | None:
    """A date as ``<input type="date">`` sends it; None if ``raw`` is none.

    Raises ``InputRejected`` for ``field`` when the date lies outside 2000-2099."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return _within(day, field)


def local_time(raw: str, zone: ZoneInfo, field: str) -> int | None:
    """``2026-12-01T10:00`` (or with a space) in the portal's time zone -> seconds since
    the epoch; None if ``raw`` is no date and time.

    Raises ``InputRejected`` for ``field`` when the date lies outside 2000-2099."""
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "T"))
    except ValueError:
        return None
    _within(moment.date(), field)
    return int(moment.replace(tzinfo=zone).timestamp())


def day_start(day: date, zone: ZoneInfo) -> int:
    """Midnight at the start of ``day`` in the portal's time zone, in epoch seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def query_day(request: Request, name: str, today: date) -> date:
    """The day a calendar page shows: query parameter ``name``, or ``today`` when it is
    missing or no date. A date outside 2000-2099 has no page (404)."""
    try:
        day = form_day(request.query_params.get(name, ""), name)
    except InputRejected:
        raise HTTPException(404) from None
    return today if day is None else day
