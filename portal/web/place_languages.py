"""Coordinators write a meeting place's name and directions in each client language."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import place_languages, visibility
from portal.domain.errors import InputRejected
from portal.domain.places import Place
from portal.domain.roles import COORDINATOR
from portal.i18n import LOCALE_NAMES
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.responses import redirect, render
from portal.web.visit import Visit


async def _place(request: Request, visit: Visit) -> Place:
    found = await visibility.unit_place(visit.services.db, visit.staff, request.path_params["id"])
    if found is None:
        raise HTTPException(404)
    return found


async def _page(
    request: Request, visit: Visit, place: Place, form: FormState, status: int = 200
) -> Response:
    default = visit.services.settings.default_locale
    return render(
        request,
        visit,
        "coordinator/place_languages.html",
        status,
        place=place,
        form=form,
        languages=[(code, LOCALE_NAMES[code]) for code in place_languages.other_languages(default)],
        default_language=LOCALE_NAMES.get(default, default),
        saved=request.query_params.get("saved") == "1",
    )


async def languages_page(request: Request, visit: Visit) -> Response:
    place = await _place(request, visit)
    known = await place_languages.translations_of(visit.services.db, place)
    values: dict[str, str] = {}
    for locale, translation in known.items():
        values[f"name_{locale}"] = translation.name
        values[f"directions_{locale}"] = translation.directions
    return await _page(request, visit, place, FormState(values=values))


async def languages_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    place = await _place(request, visit)
    default = svc.settings.default_locale
    given = {
        code: (visit.field(f"name_{code}"), visit.field(f"directions_{code}"))
        for code in place_languages.other_languages(default)
    }
    try:
        await place_languages.save_translations(
            svc.db, svc.clock, place, given, default=default, actor=visit.staff
        )
    except InputRejected as exc:
        return await _page(request, visit, place, FormState.typed(visit).rejected(exc), 400)
    return redirect(f"/coordinator/places/{place.id}/languages?saved=1")


ROUTES: list[GuardedRoute] = [
    route("/coordinator/places/{id}/languages", languages_page, roles={COORDINATOR}),
    route(
        "/coordinator/places/{id}/languages",
        languages_submit,
        roles={COORDINATOR},
        methods=["POST"],
    ),
]
