"""Cached blocks are shared by everyone who uses a language: nothing of one person's page
(session, CSRF token, account, what they typed) may reach another person through them."""

from __future__ import annotations

import re

import httpx2 as httpx
from starlette.testclient import TestClient

from tests.factories import (
    CSRF,
    NEEDS,
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_person,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)
from tests.web.sealed import WISHES, Case

TYPED = "canary-typed-by-a-worker-3318"
NAME = "Canaryworker4471"  # the display name make_person gives "canaryworker4471"


def own_marks(pages: list[httpx.Response]) -> set[str]:
    """What belongs to the person who saw these pages: their CSRF tokens."""
    return {token for page in pages for token in CSRF.findall(page.text)}


def booking_pages(worker: Actor, slot_id: str) -> list[httpx.Response]:
    """The booking form as a worker sees it: empty, searched, refused, and the htmx search."""
    typed = {**NEEDS, "language": TYPED, "wishes": TYPED, "slots_shown": TYPED}
    return [
        worker.get("/ngo/book"),
        worker.submit("/ngo/book", action="search", **NEEDS),
        worker.submit("/ngo/book", action="book", **typed),
        worker.submit("/ngo/book", action="book", slot_id=TYPED, **NEEDS),
        worker.submit("/ngo/book", action="book", **NEEDS),
        worker.request(
            "POST",
            "/ngo/book",
            data={"csrf_token": worker.csrf_from("/ngo/book"), "action": "search", **NEEDS},
            headers={"hx-request": "true"},
        ),
        worker.get(f"/ngo/consultations/{slot_id}/rebook"),
    ]


def test_one_persons_page_never_reaches_the_next_through_a_cached_block(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slots = [
        in_app(client, make_slot, svc, world.investigator, place, hours_ahead=hours)
        for hours in (50, 52, 54)
    ]
    first = Actor(client)
    first.log_in(in_app(client, make_person, svc, world.ngo, "ngo_worker", NAME.lower()), clock)
    second = Actor(client)
    second.log_in(world.other_ngo_worker, clock)

    first_pages = booking_pages(first, case.consultation)
    assert NAME in first_pages[0].text  # their own page
    assert first_pages[2].status_code == 400 and 'id="f-language-error"' in first_pages[2].text
    second_pages = booking_pages(second, "no-such-consultation")
    # The same needs, so the same keys: the second worker is shown the first one's blocks.
    assert 'name="slot_id"' in second_pages[1].text and 'id="f-language"' in second_pages[1].text
    for page in second_pages:
        for mark in own_marks(first_pages) | {NAME, TYPED}:
            assert mark not in page.text

    # Two clients: the first types a note that is refused (it comes back to them only).
    first_client = case.client
    first_client_pages = [
        first_client.get("/meeting"),
        first_client.submit("/meeting", "/meeting/notes", envelope="not base64!", wishes=WISHES),
    ]
    assert WISHES in first_client_pages[1].text
    second_client, _ = redeem(client, slip_code(book(first, slots[0])))
    second_client_pages = [
        second_client.get("/meeting"),
        second_client.submit("/meeting", "/meeting/notes", envelope="not base64!"),
        Actor(client).get("/"),
    ]
    assert 'name="reason"' in second_client_pages[0].text  # the change reasons, cached
    assert re.search(r'<textarea id="n-wishes"[^>]*></textarea>', second_client_pages[0].text)
    for page in second_client_pages:
        for mark in own_marks(first_client_pages) | {WISHES}:
            assert mark not in page.text

    everyone = own_marks(first_pages + second_pages + first_client_pages + second_client_pages)
    for locale in ("en", "fi", "sv"):
        kept = client.app.state.templates.blocks(locale).kept.values()
        for mark in everyone | {NAME, TYPED, WISHES, case.consultation}:
            assert not any(mark in block for block in kept)
