"""NGO worker pages: book a meeting from a client's needs, print the slip, follow up."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.domain import bookings, codes, keys, visibility
from portal.domain.bookings import Booking, Consultation, SlotTaken
from portal.domain.client_access import CHANGE_REASONS
from portal.domain.errors import InputRejected
from portal.domain.needs import CHOICES, LABELS, Needs, describe, parse_needs, parse_wish
from portal.domain.roles import NGO_WORKER
from portal.domain.slots import Slot
from portal.i18n import CLIENT_LOCALES, LOCALE_NAMES, N_
from portal.web import adviser_section, attention, booking_search, safety_section
from portal.web.conversation import staff_context
from portal.web.forms import FormState
from portal.web.guard import GuardedRoute, route
from portal.web.note_forms import NOTED, note_form_context, submit_note
from portal.web.paging import Page, number_from, page_number, window
from portal.web.qrcode import qr_svg
from portal.web.referrals import consultation_context as referral_context
from portal.web.rendering import Fixed, templates_of
from portal.web.responses import redirect, render
from portal.web.visit import Visit

ROLES = {NGO_WORKER}
SLOT_TAKEN = N_(
    "Someone else booked that time a moment ago. "
    "Choose another time: everything else you entered is kept."
)
CHOOSE_TIME = N_("Choose a time for the meeting.")
# Matching times per page: the soonest first, then "Later times" (bench/: each time shown
# costs a row and its markup; 30 on one page made the search several times slower).
SEARCH_PAGE = 10
# The booking form's selects in the order shown: (name, label, ((value, text), ...)), the
# client's language first (its options are language names, the others' are msgids). With
# what is chosen in each, all the needs' markup depends on (blocks/booking_needs.html).
NEEDS_FIELDS = Fixed(
    (
        (
            "client_locale",
            N_("Language of the client's pages and slip"),
            tuple((code, LOCALE_NAMES[code]) for code in CLIENT_LOCALES),
        ),
        *((name, label, tuple(CHOICES[name].items())) for name, label in LABELS.items()),
    )
)
# The same order, so that select_state's nth answer is the nth field's.
SELECTS = {name: dict(options) for name, _, options in NEEDS_FIELDS.value}


async def bookings_page(request: Request, visit: Visit) -> Response:
    number = page_number(request)
    limit, offset = window(number)
    db = visit.services.db
    search, form = booking_search.search_of(request, visit)
    rows = await visibility.organisation_bookings(db, visit.staff, limit, offset, search)
    return render(
        request,
        visit,
        "ngo/bookings.html",
        400 if form.errors else 200,
        page=Page.of(rows, number),
        attention=await attention.queue(visit, "/ngo"),
        lacks_key=await keys.lacks_key(db, visit.staff),
        form=form,
        searched=search != visibility.BookingSearch(),
        statuses=booking_search.STATUSES,
        search_query=booking_search.query_of(form),
    )


def _slots_page(visit: Visit, *, booking: bool) -> int:
    """The page of times to show: the one a "Later/Earlier times" button asks for; after a
    failed booking, the one the time was chosen from; for a new search, the first."""
    return number_from(visit.field("slots_page") or (visit.field("slots_shown") if booking else ""))


def _chosen(form: FormState, slots: Page[Slot]) -> str | None:
    """The time chosen in the form if it is on this page of times (the markup is cached by
    it, so it is never just any string someone sent)."""
    slot_id = form.values.get("slot_id")
    return slot_id if any(slot.id == slot_id for slot in slots.items) else None


def _book_page(
    request: Request,
    visit: Visit,
    form: FormState,
    slots: Page[Slot],
    searched: bool,
    status: int = 200,
) -> Response:
    return render(
        request,
        visit,
        "ngo/book.html",
        status,
        partial="main",
        form=form,
        slots=slots,
        chosen_slot=_chosen(form, slots),
        searched=searched,
        needs_fields=NEEDS_FIELDS,
        needs_state=form.select_state(SELECTS),
    )


async def _with_times(
    request: Request, visit: Visit, form: FormState, number: int, status: int = 200
) -> Response:
    """The form with the times that fit the needs answered so far (SlotWish). Before the
    meeting's language is chosen no search runs, and none is said to have found nothing
    (the language's select says what is missing)."""
    wish = parse_wish(form.values)
    if wish is None:
        return _book_page(request, visit, form, Page((), 1, has_next=False), False, status)
    limit, offset = window(number, SEARCH_PAGE)
    found = await bookings.matching_slots(
        visit.services.db, visit.services.clock, wish, limit=limit, offset=offset
    )
    return _book_page(request, visit, form, Page.of(found, number, SEARCH_PAGE), True, status)


async def book_form(request: Request, visit: Visit) -> Response:
    form = FormState()  # every question unanswered: nothing is decided by default
    return _book_page(request, visit, form, Page((), 1, has_next=False), searched=False)


async def book_submit(request: Request, visit: Visit) -> Response:
    """Search (the Search button, or htmx as fields change) or book the chosen slot.

    Searching changes nothing; it is a POST only so that the whole form, CSRF token
    included, travels in the body and never in a URL.
    """
    svc = visit.services
    form = FormState.typed(visit)
    number = _slots_page(visit, booking=visit.field("action") == "book")
    if visit.field("action") != "book":
        return await _with_times(request, visit, form, number)
    needs, problems = parse_needs(form.values)
    for problem in problems:
        form.error(problem.field, problem.message)
    if visit.field("client_locale") not in CLIENT_LOCALES:
        form.error("client_locale", N_("Choose the client's language."))
    slot_id = visit.field("slot_id")
    if needs is None or not slot_id or form.errors:
        if not slot_id:
            form.error("slot_id", CHOOSE_TIME)
        return await _with_times(request, visit, form, number, 400)
    try:
        booking = await bookings.book_meeting(
            svc.db,
            svc.clock,
            svc.codes,
            worker=visit.staff,
            slot_id=slot_id,
            needs=needs,
            client_locale=visit.field("client_locale"),
            code_ttl=svc.settings.one_time_code_ttl,
        )
    except SlotTaken:
        own = await bookings.booking_sent_again(
            svc.db, svc.clock, visit.staff, slot_id, needs, visit.field("client_locale")
        )
        if own is not None:  # the same form sent again (a reloaded slip page)
            return redirect(f"/ngo/consultations/{own.id}?booked=again")
        form.values.pop("slot_id", None)
        form.error("slot_id", SLOT_TAKEN)
        return await _with_times(request, visit, form, number, 409)
    except InputRejected as exc:
        form.rejected(exc)
        return await _with_times(request, visit, form, number, 400)
    return _slip_page(request, visit, booking)


def _slip_page(request: Request, visit: Visit, booking: Booking) -> Response:
    """The printable slip, in the client's language; the code is on this response only."""
    svc = visit.services
    public_url = svc.settings.public_url.rstrip("/") + "/"
    slip = templates_of(request).fragment(
        "client/slip.html",
        {
            "code": codes.display(booking.one_time_code),
            "public_url": public_url,
            "qr": qr_svg(public_url),
            "expires_at": booking.code_expires_at,
        },
        locale=booking.client_locale,
    )
    return render(request, visit, "ngo/slip.html", booking=booking, slip=slip)


async def _own_consultation(visit: Visit, consultation_id: str) -> Consultation:
    found = await visibility.booked_consultation(visit.services.db, visit.staff, consultation_id)
    if found is None:
        raise HTTPException(404)
    return found


async def consultation_page(
    request: Request, visit: Visit, form: FormState | None = None, status: int = 200
) -> Response:
    consultation = await _own_consultation(visit, request.path_params["id"])
    db = visit.services.db
    written = await visibility.consultation_notes(db, visit.staff, consultation)
    key = await keys.current_key(db, consultation.investigator_id)
    own_key = await keys.current_key(db, visit.staff.id)  # the worker's: read once
    return render(
        request,
        visit,
        "ngo/consultation.html",
        status,
        consultation=consultation,
        needs=describe(consultation.needs),
        reasons=CHANGE_REASONS,
        meetings=await bookings.meetings_of(db, consultation),
        code=await bookings.code_state(db, consultation),
        notes=written,
        # Notes the assigned investigator cannot open (reassigned, or a replaced key):
        # the NGO is asked to prepare them again.
        unreadable=[n for n in written if key is None or n.key_id != key.id],
        noted=NOTED.get(request.query_params.get("noted", "")),
        booked_again=request.query_params.get("booked") == "again",
        now=visit.services.clock.now(),
        form=form or FormState(),
        lacks_key=own_key is None,
        **note_form_context(key, "ngo_worker", f"/ngo/consultations/{consultation.id}/notes"),
        **await staff_context(
            visit, consultation, f"/ngo/consultations/{consultation.id}/messages", own_key
        ),
        **await referral_context(
            visit, consultation, f"/ngo/consultations/{consultation.id}/referrals"
        ),
        **await adviser_section.ask_context(visit, consultation),
        # The safety plan (web/safety_section.py).
        **await safety_section.context(
            request,
            visit,
            consultation,
            own_key,
            f"/ngo/consultations/{consultation.id}/safety-plan",
        ),
    )


async def note_submit(request: Request, visit: Visit) -> Response:
    consultation = await _own_consultation(visit, request.path_params["id"])
    outcome = await submit_note(
        visit, consultation, "ngo_worker", f"/ngo/consultations/{consultation.id}"
    )
    if isinstance(outcome, FormState):
        return await consultation_page(request, visit, outcome, 400)
    return outcome


async def new_code(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _own_consultation(visit, request.path_params["id"])
    booking = await bookings.reissue_one_time_code(
        svc.db,
        svc.clock,
        svc.codes,
        consultation,
        svc.settings.one_time_code_ttl,
        actor=visit.staff,
    )
    return _slip_page(request, visit, booking)


async def cancel_meeting(request: Request, visit: Visit) -> Response:
    svc = visit.services
    found = await visibility.booked_meeting(svc.db, visit.staff, request.path_params["id"])
    if found is None:
        raise HTTPException(404)
    meeting, consultation = found
    await bookings.cancel_meeting(svc.db, svc.clock, meeting, consultation, actor=visit.staff)
    return redirect(f"/ngo/consultations/{consultation.id}")


async def rebook_page(
    request: Request,
    visit: Visit,
    form: FormState | None = None,
    status: int = 200,
    number: int = 1,
) -> Response:
    """The same investigator's times first (continuity), then other investigators' with
    a key, and a reason asked for when switching (as for follow-ups)."""
    svc = visit.services
    consultation = await _own_consultation(visit, request.path_params["id"])
    needs = Needs.from_row(consultation.needs)
    form = form or FormState()
    limit, offset = window(number, SEARCH_PAGE)
    choices = await bookings.rebook_choices(
        svc.db, svc.clock, consultation, needs, limit=limit, offset=offset
    )
    others = Page(tuple(choices.others), number, choices.more_others)
    chosen = form.values.get("slot_id")
    return render(
        request,
        visit,
        "ngo/rebook.html",
        status,
        consultation=consultation,
        same=choices.same,
        slots=others,
        chosen_slot=chosen if any(s.id == chosen for s in choices.others) else None,
        chosen_same=chosen if any(s.id == chosen for s in choices.same) else None,
        reasons=bookings.OTHER_INVESTIGATOR_REASONS,
        form=form,
    )


async def rebook_submit(request: Request, visit: Visit) -> Response:
    svc = visit.services
    consultation = await _own_consultation(visit, request.path_params["id"])
    shown = _slots_page(visit, booking=True)
    if visit.field("slots_page"):  # "Later times" or "Earlier times"
        return await rebook_page(request, visit, FormState.typed(visit), number=shown)
    slot_id = visit.field("slot_id")
    if not slot_id:
        form = FormState.typed(visit).error("slot_id", CHOOSE_TIME)
        return await rebook_page(request, visit, form, 400, shown)
    try:
        await bookings.rebook_by_ngo(
            svc.db,
            svc.clock,
            consultation,
            slot_id,
            actor=visit.staff,
            reason=visit.field("reason"),
        )
    except SlotTaken:
        form = FormState.typed(visit).error("slot_id", SLOT_TAKEN)
        return await rebook_page(request, visit, form, 409, shown)
    except InputRejected as exc:
        form = FormState.typed(visit).error(exc.field, exc.message)
        return await rebook_page(request, visit, form, 400, shown)
    return redirect(f"/ngo/consultations/{consultation.id}")


ROUTES: list[GuardedRoute] = [
    route("/ngo", bookings_page, roles=ROLES),
    route("/ngo/book", book_form, roles=ROLES),
    route("/ngo/book", book_submit, roles=ROLES, methods=["POST"]),
    route("/ngo/consultations/{id}", consultation_page, roles=ROLES),
    route("/ngo/consultations/{id}/code", new_code, roles=ROLES, methods=["POST"]),
    route("/ngo/consultations/{id}/notes", note_submit, roles=ROLES, methods=["POST"]),
    route("/ngo/consultations/{id}/rebook", rebook_page, roles=ROLES),
    route("/ngo/consultations/{id}/rebook", rebook_submit, roles=ROLES, methods=["POST"]),
    route("/ngo/meetings/{id}/cancel", cancel_meeting, roles=ROLES, methods=["POST"]),
]
