"""The "needs attention" queue on every staff start page, the whole queue page, and
marking an item done.

Threat: one staff member closing or reading another's items by trying ids. An item is
looked up only through visibility.own_attention_item: anyone but its owner gets 404, as
for an id that does not exist. The queue shows what happened in fixed words and a fixed
reason, never content; the start pages show a capped number of items with "N more" (a
queue never makes a page grow without bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import attention, visibility
from portal.domain.attention import KINDS, AttentionItem
from portal.domain.client_access import CHANGE_REASONS
from portal.domain.roles import ADVISER, INVESTIGATOR, NGO_WORKER, STAFF_ROLES
from portal.web.guard import GuardedRoute, route
from portal.web.paging import visible_page
from portal.web.responses import redirect, render
from portal.web.visit import Visit

# Items shown on a start page; the rest are counted ("N more") and on /staff/attention.
SHOWN = 10
# The consultation page for each role that gets items.
CONSULTATION_PAGES = {
    INVESTIGATOR: "/investigator/consultations/",
    NGO_WORKER: "/ngo/consultations/",
    ADVISER: "/adviser/consultations/",
}
# The pages a "Done" button may return to (a fixed list: no open redirect).
RETURN_TO = frozenset({"/staff", "/staff/attention", "/investigator", "/ngo", "/adviser"})


@dataclass(frozen=True)
class Queue:
    items: Sequence[AttentionItem]
    more: int
    link: str | None  # the start of the consultation page's path, for the viewer's role
    here: str  # where "Done" returns to
    whole: bool = False  # the whole queue's own page (its heading is the page's)
    kinds: dict[str, str] = field(default_factory=lambda: KINDS)
    reasons: dict[str, str] = field(default_factory=lambda: CHANGE_REASONS)


async def queue(visit: Visit, here: str) -> Queue:
    """The start page's part: the first items, and how many more there are (counted by
    the session's own statement, not by another query)."""
    items = await visibility.own_attention_items(visit.services.db, visit.staff, SHOWN, 0)
    more = max(0, visit.session.attention_count - len(items))
    return Queue(items, more, CONSULTATION_PAGES.get(visit.staff.role), here)


async def queue_page(request: Request, visit: Visit) -> Response:
    page = await visible_page(request, visit, visibility.own_attention_items)
    return render(
        request,
        visit,
        "staff/attention.html",
        page=page,
        attention=Queue(
            page.items, 0, CONSULTATION_PAGES.get(visit.staff.role), "/staff/attention", True
        ),
    )


async def mark_done(request: Request, visit: Visit) -> Response:
    """The owner closes an item; anyone else gets 404 and the item stays open."""
    svc = visit.services
    item = await visibility.own_attention_item(svc.db, visit.staff, request.path_params["id"])
    if item is None:
        raise HTTPException(404)
    await attention.mark_done(svc.db, svc.clock, item)
    target = visit.field("next")
    return redirect(target if target in RETURN_TO else "/staff")


ROUTES: list[GuardedRoute] = [
    route("/staff/attention", queue_page, roles=STAFF_ROLES),
    route("/staff/attention/{id}/done", mark_done, roles=STAFF_ROLES, methods=["POST"]),
]
