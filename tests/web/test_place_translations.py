"""A meeting place's name and directions per client language: coordinators write them
(every error at once, nothing typed lost), clients read their language's, or the
default's marked as such, on the meeting and the first interview."""

from __future__ import annotations

import html
import re

from starlette.testclient import TestClient

from tests.factories import (
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)

FI_NAME = "Asemahuone 4"
FI_DIRECTIONS = "Sivuovi, toinen kerros."


def place_and_client(
    client: TestClient, clock: FakeClock, world: World, locale: str, hours: int = 48
) -> tuple[str, Actor]:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=hours)
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(ngo, slot, client_locale=locale)), locale)
    return place, person


def test_coordinator_writes_names_and_clients_read_theirs_or_the_marked_default(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    place, finnish = place_and_client(client, clock, world, "fi")
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    assert (
        f'href="/coordinator/places/{place}/languages"'
        in coordinator.get("/coordinator/places").text
    )
    form_page = f"/coordinator/places/{place}/languages"
    assert coordinator.get(form_page).status_code == 200

    refused = coordinator.submit(
        form_page,
        name_fi=FI_NAME,
        directions_fi=FI_DIRECTIONS,
        name_sv="",
        directions_sv="Sidodörren.",
        name_ru="x",
    )
    assert refused.status_code == 400
    page = html.unescape(refused.text)
    assert "Write the name too, or leave both boxes empty." in page  # sv
    assert "Enter a name of 2 to 200 characters." in page  # ru
    assert f'value="{FI_NAME}"' in page and "Sidodörren." in page  # nothing typed is lost
    assert re.search(r'id="f-name_sv"[^>]*aria-invalid="true"', page)

    saved = coordinator.submit(form_page, name_fi=FI_NAME, directions_fi=FI_DIRECTIONS)
    assert saved.status_code == 303
    assert f'value="{FI_NAME}"' in coordinator.get(form_page).text
    assert (
        in_app(
            client,
            services_of(client).db.fetch_value,
            "SELECT subject_id FROM audit_events WHERE action = 'place_translated'",
        )
        == place
    )

    # Finnish: the Finnish name and directions, no mark.
    meeting = html.unescape(finnish.get("/meeting").text)
    assert FI_NAME in meeting and FI_DIRECTIONS in meeting
    assert "Station room 4" not in meeting and "(English)" not in meeting

    # Swedish has none: the default's, marked in Swedish.
    _place2, swedish = place_and_client(client, clock, world, "sv", 72)
    shown = html.unescape(swedish.get("/meeting").text)
    assert "Station room 4" in shown and "Side door, second floor." in shown
    assert "(på English)" in shown

    # English is the default language: no mark.
    _place3, english = place_and_client(client, clock, world, "en", 96)
    plain = english.get("/meeting").text
    assert "Station room 4" in plain and "(in English)" not in plain


def test_only_coordinators_edit_place_languages(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    place = in_app(client, make_place, services_of(client))
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    path = f"/coordinator/places/{place}/languages"
    assert investigator.get(path).status_code == 404
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    assert coordinator.get("/coordinator/places/no-such-place/languages").status_code == 404


def test_a_missing_part_falls_back_to_the_default_and_is_marked() -> None:
    from portal.domain.place_languages import LocalPlace, PlaceTranslation, local_place
    from portal.domain.places import Place

    place = Place("p1", "Station room 4", "police_station", "Street 1", "Side door.", None)
    named = PlaceTranslation("p1", "fi", "Asemahuone 4", "")
    assert local_place(place, named, "fi", "en") == LocalPlace(
        "Asemahuone 4", "Street 1", "Side door.", True
    )
    whole = PlaceTranslation("p1", "fi", "Asemahuone 4", "Sivuovi.")
    assert local_place(place, whole, "fi", "en") == LocalPlace(
        "Asemahuone 4", "Street 1", "Sivuovi.", False
    )
    assert local_place(place, None, "fi", "en").in_default is True
    assert local_place(place, None, "en", "en").in_default is False
    no_directions = Place("p1", "Station room 4", "police_station", "Street 1", "", None)
    assert local_place(no_directions, named, "fi", "en").in_default is False
