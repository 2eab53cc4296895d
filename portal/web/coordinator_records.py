"""Coordinator pages for records: what is due for purge, and the audit log.

Only coordinators reach these routes (anyone else gets 404 from the guard). Nothing
here shows or exports content: the audit log holds fixed codes, pseudonyms and staff
names, and its CSV carries exactly the columns of the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from portal.domain import accounts, audit, retention, visibility
from portal.domain.audit import ACTIONS, FOREVER, AuditEvent, AuditFilter
from portal.domain.errors import InputRejected
from portal.domain.roles import COORDINATOR, ORGANISATION_KIND_LABELS, ROLE_LABELS
from portal.i18n import N_
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.inputs import day_start, form_day
from portal.web.paging import Page, page_number, window
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {COORDINATOR}
ACTOR_ROLES = {
    audit.CLIENT_ROLE: N_("Client"),
    audit.SYSTEM_ROLE: N_("The portal"),
    audit.VISITOR_ROLE: N_("Someone not signed in"),
}
ACTOR_ROLE_LABELS = {**ROLE_LABELS, **ACTOR_ROLES}
# What a detail code means: a retention reason, a sign-in failure, the role of an
# invitation, the kind of an organisation (a consent text's version is shown as a number).
DETAIL_LABELS = {
    **retention.REASONS,
    **audit.DETAILS,
    **ROLE_LABELS,
    **ORGANISATION_KIND_LABELS,
}
# The first seven columns are those of the first release; later ones are appended so a
# spreadsheet built on the old file keeps working.
CSV_COLUMNS = (
    "time",
    "actor_name",
    "actor_role",
    "action",
    "pseudonym",
    "consultation_id",
    "detail",
    "kind",
    "actor_account_id",
    "subject_name",
    "subject_account_id",
    "subject_id",
)
CSV_BATCH = 500


def _day_start(value: str, field: str, zone: ZoneInfo) -> int | None:
    """Midnight at the start of an ``<input type="date">`` day in the portal's zone;
    None if ``value`` is no date, ``InputRejected`` if out of range (web/inputs.py)."""
    day = form_day(value, field)
    return None if day is None else day_start(day, zone)


# --- due for purge ------------------------------------------------------------------


async def retention_page(
    request: Request,
    visit: Visit,
    form: FormState | None = None,
    status: int = 200,
    failed_id: str = "",
) -> Response:
    svc = visit.services
    number = page_number(request)
    limit, offset = window(number)
    due = await retention.due_for_purge(svc.db, svc.clock, svc.settings, limit, offset)
    return render(
        request,
        visit,
        "coordinator/retention.html",
        status,
        due=Page.of(due, number),
        form=form or FormState(),
        failed_id=failed_id,
        extended=request.query_params.get("extended") == "1",
        reasons=retention.REASONS,
        retention_days=svc.settings.retention_days,
        within_days=retention.DUE_WITHIN_DAYS,
        tomorrow=(datetime.fromtimestamp(svc.clock.now(), svc.zone) + timedelta(days=1))
        .date()
        .isoformat(),
    )


async def retention_extend(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await visibility.unit_consultation(
        svc.db, visit.staff, request.path_params["id"]
    )
    if consultation is None or consultation.is_case:
        raise HTTPException(404)
    form = FormState.typed(visit)
    try:
        # Kept through the whole chosen day: the purge may come at the next midnight.
        start = _day_start(visit.field("until"), "until", svc.zone)
        if start is None:
            raise InputRejected("until", N_("Enter a date."))
        until = start + 24 * 60 * 60
        await retention.extend(
            svc.db, svc.clock, consultation, until, visit.field("reason"), visit.staff
        )
    except InputRejected as exc:
        form.rejected(exc)
        return await retention_page(request, visit, form, 400, failed_id=consultation.id)
    except retention.NotSubjectToRetention:
        raise HTTPException(404) from None
    return redirect("/coordinator/retention?extended=1")


# --- audit log ----------------------------------------------------------------------

FILTER_FIELDS = ("kind", "action", "actor", "subject", "pseudonym", "from", "to")


def _audit_filter(
    request: Request, zone: ZoneInfo, people: set[str]
) -> tuple[AuditFilter, FormState]:
    """The GET filters, typed values kept for the form; a bad value is an error.

    ``people`` are the account ids a coordinator may choose as actor or subject.
    """
    params = request.query_params
    form = FormState(values={k: params.get(k, "") for k in FILTER_FIELDS})
    chosen = {k: params.get(k, "") for k in ("kind", "action", "actor", "subject")}
    allowed = {
        "kind": audit.KINDS.keys(),
        "action": ACTIONS.keys(),
        "actor": people | ACTOR_ROLES.keys(),
        "subject": people,
    }
    for name, values in allowed.items():
        if chosen[name] and chosen[name] not in values:
            form.error(name, N_("Choose one of the options."))
            chosen[name] = ""
    dates: dict[str, int | None] = {}
    for name in ("from", "to"):
        if params.get(name):
            try:
                dates[name] = _day_start(params[name], name, zone)
            except InputRejected as exc:
                form.rejected(exc)
                continue
            if dates[name] is None:
                form.error(name, N_("Enter a date."))
    since, until = dates.get("from"), dates.get("to")
    if since is not None and until is not None and since > until:
        form.error("to", N_("The last day comes before the first: choose a later one."))
    consultation_actions = tuple(audit.CONSULTATION_ACTIONS)
    return (
        AuditFilter(
            action=chosen["action"],
            pseudonym=" ".join(params.get("pseudonym", "").split())[:64],
            since=since or 0,
            # "To" includes the whole day.
            until=until + 24 * 60 * 60 if until is not None else FOREVER,
            actions_in=consultation_actions if chosen["kind"] == audit.CONSULTATION else (),
            actions_not_in=consultation_actions if chosen["kind"] == audit.SECURITY else (),
            actor=chosen["actor"],
            subject=chosen["subject"],
        ),
        form,
    )


async def audit_page(request: Request, visit: Visit) -> Response:
    svc = visit.services
    people = await accounts.list_accounts(svc.db)
    chosen, form = _audit_filter(request, svc.zone, {a.id for a in people})
    number = page_number(request)
    limit, offset = window(number)
    events: list[AuditEvent] = []
    if form.ok:
        events = list(await audit.list_events(svc.db, chosen, limit=limit, offset=offset))
    query = urlencode({k: v for k, v in form.values.items() if v})
    return render(
        request,
        visit,
        "coordinator/audit.html",
        200 if form.ok else 400,
        events=Page.of(events, number),
        form=form,
        query=query,
        kinds=audit.KINDS,
        action_groups=(
            (N_("Consultation events"), audit.CONSULTATION_ACTIONS),
            (N_("Security events"), audit.SECURITY_ACTIONS),
        ),
        actions=ACTIONS,
        people=people,
        actor_roles=ACTOR_ROLES,
        role_labels=ACTOR_ROLE_LABELS,
        details=DETAIL_LABELS,
    )


def _spreadsheet_safe(value: str) -> str:
    """Threat: CSV formula injection through a staff name ("=HYPERLINK(...)") when the
    file is opened in a spreadsheet. A leading apostrophe makes the cell plain text."""
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


async def audit_csv(request: Request, visit: Visit) -> Response:
    svc = visit.services
    people = {a.id for a in await accounts.list_accounts(svc.db)}
    chosen, form = _audit_filter(request, svc.zone, people)
    if not form.ok:
        return await audit_page(request, visit)
    # Events of this second may still be written: stopping before it keeps the offsets
    # of the batches stable while the log grows during the download.
    chosen = replace(chosen, until=min(chosen.until, svc.clock.now()))

    async def rows() -> AsyncIterator[str]:
        yield _csv_line(list(CSV_COLUMNS))
        offset = 0
        while True:
            batch = await audit.list_events(svc.db, chosen, limit=CSV_BATCH, offset=offset)
            for event in batch:
                yield _csv_line(
                    [
                        datetime.fromtimestamp(event.at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        _spreadsheet_safe(event.actor_name or ""),
                        event.actor_role,
                        event.action,
                        _spreadsheet_safe(event.pseudonym or ""),
                        event.consultation_id or "",
                        event.detail or "",
                        audit.kind_of(event.action),
                        event.actor_account_id or "",
                        _spreadsheet_safe(event.subject_name or ""),
                        event.subject_account_id or "",
                        event.subject_id or "",
                    ]
                )
            if len(batch) < CSV_BATCH:
                return
            offset += CSV_BATCH

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit-log.csv"'},
    )


ROUTES: list[GuardedRoute] = [
    route("/coordinator/retention", retention_page, roles=ROLES),
    route("/coordinator/retention/{id}/extend", retention_extend, roles=ROLES, methods=["POST"]),
    route("/coordinator/audit", audit_page, roles=ROLES),
    route("/coordinator/audit.csv", audit_csv, roles=ROLES),
]
