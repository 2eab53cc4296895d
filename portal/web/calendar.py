"""Week calendars of slots and meetings (investigator: their own; coordinator: the
unit's) and an investigator's printable day sheet. Server-rendered; htmx only swaps
the week when moving between weeks."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from portal.domain import visibility
from portal.domain.calendar import ROWS, lay_out, monday_of, week_bounds
from portal.domain.needs import ACCESSIBILITY, LANGUAGES
from portal.domain.roles import COORDINATOR, INVESTIGATOR
from portal.web.guard import GuardedRoute, route
from portal.web.inputs import day_start, query_day
from portal.web.responses import render
from portal.web.visit import Visit


async def _week(request: Request, visit: Visit, path: str) -> Response:
    svc = visit.services
    zone = svc.zone
    today = datetime.fromtimestamp(svc.clock.now(), zone).date()
    monday = monday_of(query_day(request, "start", today))
    start, end = week_bounds(monday, zone)
    slots, meetings = await visibility.calendar(svc.db, visit.staff, start, end)
    week = lay_out(monday, zone, list(slots), list(meetings))
    return render(
        request,
        visit,
        "staff/week.html",
        partial="main",
        week=week,
        path=path,
        rows=ROWS,
        today=today,
        show_investigator=visit.staff.role == COORDINATOR,
    )


async def investigator_week(request: Request, visit: Visit) -> Response:
    return await _week(request, visit, "/investigator/week")


async def coordinator_week(request: Request, visit: Visit) -> Response:
    return await _week(request, visit, "/coordinator/week")


async def day_sheet(request: Request, visit: Visit) -> Response:
    """A printable list of the day's meetings: needs and places, never sealed content."""
    svc = visit.services
    zone = svc.zone
    today = datetime.fromtimestamp(svc.clock.now(), zone).date()
    day = query_day(request, "date", today)
    start, end = day_start(day, zone), day_start(day + timedelta(days=1), zone)
    meetings = [
        m
        for m in await visibility.day_meetings(svc.db, visit.staff, start, end)
        if m.status != "cancelled"
    ]
    return render(
        request,
        visit,
        "investigator/day.html",
        day=day,
        meetings=meetings,
        languages=LANGUAGES,
        accessibility=ACCESSIBILITY,
        previous=day - timedelta(days=1),
        next=day + timedelta(days=1),
    )


ROUTES: list[GuardedRoute] = [
    route("/investigator/week", investigator_week, roles={INVESTIGATOR}),
    route("/investigator/day", day_sheet, roles={INVESTIGATOR}),
    route("/coordinator/week", coordinator_week, roles={COORDINATOR}),
]
