"""Information for clients: short, plain pages in every client language.

Public (no code needed), linked from the header of every client page and the front
page, and working without JavaScript. Their addresses and titles are neutral: a
browser's history or a glance at the tab says "Appointments" and "/help/...", never
what the unit investigates. Like every page, they are not cached (no-store) and carry
the quick exit (templates/base.html).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain.roles import PUBLIC
from portal.i18n import N_
from portal.web.guard import GuardedRoute, route
from portal.web.responses import render
from portal.web.visit import Visit

# The address of each page and the question it answers (the index lists them in order).
PAGES = {
    "meeting": N_("What is a meeting, and what is it not?"),
    "report": N_("What would a report mean?"),
    "support": N_("What help can you get?"),
    "time-to-think": N_("What is time to think?"),
    "interpreter": N_("An interpreter and a support person"),
}


async def index(request: Request, visit: Visit) -> Response:
    return render(request, visit, "client/info/index.html", pages=PAGES)


async def page(request: Request, visit: Visit) -> Response:
    name = request.path_params["page"]
    if name not in PAGES:
        raise HTTPException(404)
    return render(
        request, visit, f"client/info/{name}.html", pages=PAGES, heading=PAGES[name], page=name
    )


ROUTES: list[GuardedRoute] = [
    route("/help", index, roles={PUBLIC}),
    route("/help/{page}", page, roles={PUBLIC}),
]
