"""The heart of the product, in-process: NGO books -> slip -> client -> investigator."""

from __future__ import annotations

import re

import pytest
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
from tests.test_privacy import database_text


@pytest.fixture
def slot_ids(client: TestClient, world: World) -> list[str]:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    return [
        in_app(client, make_slot, svc, world.investigator, place, hours_ahead=24 * (i + 1))
        for i in range(3)
    ]


@pytest.fixture
def ngo(client: TestClient, clock: FakeClock, world: World) -> Actor:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    return worker


def test_whole_journey_from_booking_to_a_confirmed_meeting(
    client: TestClient, clock: FakeClock, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    search = ngo.submit("/ngo/book", action="search", language="fi")
    assert slot_ids[0] in search.text  # matching times are offered
    slip = book(ngo, slot_ids[0], client_locale="fi")
    assert slip.status_code == 200
    code = slip_code(slip)
    assert "<svg" in slip.text  # QR code of the portal address, drawn inline
    assert "https://portal.test/" in slip.text
    assert "Valitse kieli." in slip.text  # the slip is in the client's language
    assert code.replace(" ", "") not in slip.text.replace(code, "")  # only in its one place

    person, client_code = redeem(client, code)
    meeting = person.get("/meeting")
    assert meeting.status_code == 200
    assert "Station room 4" in meeting.text and "Side door, second floor." in meeting.text
    assert "Your support person can come with you." in meeting.text
    meeting_id = re.search(r'action="/meeting/([^/]+)/answer"', meeting.text)
    assert meeting_id
    answer = person.submit("/meeting", f"/meeting/{meeting_id.group(1)}/answer", answer="confirm")
    assert answer.status_code == 303
    assert "You confirmed the meeting" in person.get(answer.headers["location"]).text

    assert 'badge-confirmed">Confirmed by client' in ngo.get("/ngo").text
    assert "Used by the client" in ngo.get("/ngo").text
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    dashboard = investigator.get("/investigator")
    assert "Confirmed by client" in dashboard.text
    assert "Finnish" in dashboard.text

    stored = database_text(client)
    for secret in (code, code.replace(" ", ""), client_code, client_code.replace(" ", "")):
        assert secret not in stored


def test_the_one_time_code_works_once(client: TestClient, ngo: Actor, slot_ids: list[str]) -> None:
    code = slip_code(book(ngo, slot_ids[0]))
    redeem(client, code)
    again = Actor(client).submit("/code", code=code)
    assert again.status_code == 400
    assert "This code does not work" in again.text


def test_the_booking_form_decides_nothing_by_default(ngo: Actor, slot_ids: list[str]) -> None:
    """Whether the client may be a minor, needs an interpreter, which language their
    slip is in: every question is answered by the worker, none is answered for them."""
    form = ngo.get("/ngo/book").text
    selects = re.findall(r'<select id="f-([a-z_]+)"', form)
    assert len(selects) == 14 and "minor" in selects and "client_locale" in selects
    needs = form.split('<fieldset class="needs"')[1].split("</fieldset>")[0]
    assert needs.count('<option value="">') == 14 and " selected" not in needs
    # Only the language chosen: the times are offered, but booking one asks every
    # other question at once and books nothing.
    search = ngo.submit("/ngo/book", action="search", language="fi")
    assert slot_ids[0] in search.text
    refused = ngo.submit("/ngo/book", action="book", language="fi", slot_id=slot_ids[0])
    assert refused.status_code == 400
    unanswered = re.findall(r'<p class="error" id="f-([a-z_]+)-error">', refused.text)
    assert sorted(unanswered) == sorted(name for name in selects if name != "language")
    assert 'class="slip-code"' not in refused.text
    # Without the meeting's language no search runs, and none is said to have failed.
    nothing = ngo.submit("/ngo/book", action="book", slot_id=slot_ids[0])
    assert "Choose one of the options." in nothing.text
    assert "No free time matches" not in nothing.text


@pytest.mark.parametrize(
    "locale", ["en", "fi", "sv", "ru", "uk", "ro", "th", "vi", "ar", "es", "zh"]
)
def test_the_slips_last_day_reads_as_a_sentence_in_every_language(
    ngo: Actor, slot_ids: list[str], locale: str
) -> None:
    """Russian and Ukrainian dates end with an abbreviation of "year": the sentence
    around them must not add a second full stop."""
    slip = book(ngo, slot_ids[0], client_locale=locale).text
    found = re.search(r'<p class="slip-expiry">([^<]*)</p>', slip)
    assert found, locale
    assert "2" in found.group(1) and ".." not in found.group(1) and "{" not in found.group(1)


def test_an_empty_code_is_asked_for_in_the_clients_language(client: TestClient) -> None:
    person = Actor(client)
    person.submit("/", "/language", locale="ru", next="/code")
    for _ in range(12):  # more than a sender's tries a minute: none of these is one
        empty = person.submit("/code", code="  ")
        assert empty.status_code == 400
        assert "Сначала введите цифры вашего кода." in empty.text
    assert person.submit("/code", code="1" * 18).status_code == 400  # still a try left


def test_the_one_time_code_expires(
    client: TestClient, clock: FakeClock, ngo: Actor, slot_ids: list[str]
) -> None:
    code = slip_code(book(ngo, slot_ids[2]))
    clock.advance(14 * 24 * 3600 + 1)
    assert Actor(client).submit("/code", code=code).status_code == 400


def test_a_fresh_slip_invalidates_the_old_code(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    old = slip_code(book(ngo, slot_ids[0]))
    consultation = re.search(r'href="/ngo/consultations/([^"]+)"', ngo.get("/ngo").text)
    assert consultation
    path = f"/ngo/consultations/{consultation.group(1)}"
    new = slip_code(ngo.submit(path, f"{path}/code"))
    assert new != old
    assert Actor(client).submit("/code", code=old).status_code == 400
    redeem(client, new)


def test_a_fresh_slip_once_used_ends_every_page_opened_with_the_earlier_codes(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    """A worker prints a new slip when a code may be in the wrong hands: once the client
    uses it, whoever holds the earlier client code, or a page opened with it, is out."""
    first, client_code = redeem(client, slip_code(book(ngo, slot_ids[0])))
    other = Actor(client)
    assert other.submit("/code", code=client_code).headers["location"] == "/meeting"
    form = other.csrf_from("/meeting")
    consultation = re.search(r'href="/ngo/consultations/([^"]+)"', ngo.get("/ngo").text)
    assert consultation
    path = f"/ngo/consultations/{consultation.group(1)}"
    new = slip_code(ngo.submit(path, f"{path}/code"))
    # Until the new slip is used, the client's code and pages go on working.
    assert "Station room 4" in first.get("/meeting").text
    person, new_client_code = redeem(client, new)
    assert new_client_code != client_code
    for earlier in (first, other):
        ended = earlier.get("/meeting")
        assert ended.status_code == 303 and ended.headers["location"] == "/code"
    sent = other.request(
        "POST", "/meeting/messages", data={"csrf_token": form, "text": "canary from the old page"}
    )
    assert sent.headers.get("location") != "/meeting?sent=1"
    assert "canary from the old page" not in person.get("/meeting/messages").text
    assert Actor(client).submit("/code", code=client_code).status_code == 400
    assert "Station room 4" in person.get("/meeting").text


def test_the_client_code_opens_the_meeting_again_and_the_slip_does_not(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    code = slip_code(book(ngo, slot_ids[0]))
    person, client_code = redeem(client, code)
    person.submit("/meeting", "/leave")
    assert person.get("/meeting").status_code == 303  # the session is over
    back = Actor(client)
    response = back.submit("/code", code=client_code.replace(" ", "-"))
    assert response.status_code == 303 and response.headers["location"] == "/meeting"
    assert "Station room 4" in back.get("/meeting").text


def test_code_guessing_is_limited_per_source(client: TestClient) -> None:
    guesser = Actor(client)
    statuses = [guesser.submit("/code", code=f"{i:012d}").status_code for i in range(11)]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


def test_no_code_travels_in_a_url(client: TestClient, ngo: Actor, slot_ids: list[str]) -> None:
    code = slip_code(book(ngo, slot_ids[0]))
    person = Actor(client)
    person.submit("/", "/language", locale="en", next="/code")
    response = person.submit("/code", code=code)
    for step in (response, person.get("/meeting")):
        assert (
            "location" not in step.headers or code.replace(" ", "") not in step.headers["location"]
        )
        assert all(code.replace(" ", "") not in c for c in person.cookies.values())


def test_a_taken_slot_keeps_the_rest_of_the_booking(
    client: TestClient, clock: FakeClock, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    rival = Actor(client)
    rival.log_in(world.other_ngo_worker, clock)
    assert book(rival, slot_ids[0]).status_code == 200
    lost = book(ngo, slot_ids[0], language="en", urgency="urgent", reflection_period="yes")
    assert lost.status_code == 409
    assert "Someone else booked that time" in lost.text
    assert re.search(r'<option value="urgent" selected>', lost.text)
    assert re.search(r'<option value="en" selected>', lost.text)
    assert slot_ids[1] in lost.text  # other times are offered at once
    assert f'value="{slot_ids[0]}"' not in lost.text


def test_a_booking_sent_again_leads_to_it_and_books_nothing_more(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    """Reloading the slip page sends the booking form again: the worker is shown the
    booking they made, not told that someone else took the time."""
    first = book(ngo, slot_ids[0])
    assert first.status_code == 200 and 'class="slip-code"' in first.text
    again = book(ngo, slot_ids[0])
    assert again.status_code == 303
    consultation = again.headers["location"].removesuffix("?booked=again")
    assert consultation.startswith("/ngo/consultations/")
    page = ngo.get(again.headers["location"])
    assert "You booked this time already: this is that booking." in page.text
    assert 'class="slip-code"' not in page.text
    bookings = re.findall(r'href="(/ngo/consultations/[^"?]+)"', ngo.get("/ngo").text)
    assert bookings == [consultation]
    # Another client's answers on the same time: that is a lost race, the form is kept.
    other = book(ngo, slot_ids[0], minor="yes")
    assert other.status_code == 409 and "Someone else booked that time" in other.text


def test_client_pages_are_neutral_and_protective(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot_ids[0])))
    for page in (person.get("/"), person.get("/meeting"), Actor(client).get("/code")):
        title = re.search(r"<title>(.*?)</title>", page.text)
        assert title and title.group(1) == "Appointments"
        assert "police" not in page.url.path and "trafficking" not in page.text.lower()
        assert 'action="/bye"' in page.text and "data-quick-exit" in page.text
        assert 'hx-history="false"' in page.text
        assert page.headers["cache-control"] == "no-store"
        assert not re.search(r'(src|href|action)="(https?:)?//', page.text)  # nothing external


def test_client_session_times_out_quickly(
    client: TestClient, clock: FakeClock, ngo: Actor, slot_ids: list[str]
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot_ids[0])))
    clock.advance(11 * 60)
    response = person.get("/meeting")
    assert response.status_code == 303 and response.headers["location"] == "/code?ended=1"


def test_a_client_who_leaves_or_times_out_is_told_so_in_their_language(
    client: TestClient, clock: FakeClock, ngo: Actor, slot_ids: list[str]
) -> None:
    person, code = redeem(client, slip_code(book(ngo, slot_ids[0])), locale="ru")
    left = person.submit("/meeting", "/leave")
    assert left.headers["location"] == "/code?left=1"
    page = person.get("/code?left=1")
    assert '<html lang="ru"' in page.text
    assert "Вы вышли. Ваш код будет работать, когда вы вернётесь." in page.text
    assert person.get("/meeting").headers["location"] == "/code"  # the page is closed
    # Back with the code, then away for eleven minutes.
    assert person.submit("/code", code=code).headers["location"] == "/meeting"
    clock.advance(11 * 60)
    ended = person.get("/meeting")
    assert ended.headers["location"] == "/code?ended=1"
    page = person.get("/code?ended=1")
    assert '<html lang="ru"' in page.text
    assert "Вас долго не было, поэтому страница закрылась" in page.text
    assert person.get("/meeting").headers["location"] == "/code"


def test_client_cancels_and_the_slot_is_free_again(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot_ids[0])))
    meeting_id = re.search(r'action="/meeting/([^/]+)/answer"', person.get("/meeting").text)
    assert meeting_id
    person.submit(
        "/meeting", f"/meeting/{meeting_id.group(1)}/answer", answer="cancel", confirm="yes"
    )
    assert 'badge-cancelled">Cancelled' in ngo.get("/ngo").text
    assert slot_ids[0] in ngo.submit("/ngo/book", action="search", language="fi").text


def test_client_asks_for_another_time_with_a_reason(
    client: TestClient, ngo: Actor, slot_ids: list[str]
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot_ids[0])))
    meeting_id = re.search(r'action="/meeting/([^/]+)/answer"', person.get("/meeting").text)
    assert meeting_id
    person.submit(
        "/meeting", f"/meeting/{meeting_id.group(1)}/answer", answer="change", reason="unsafe"
    )
    consultation = re.search(r'href="(/ngo/consultations/[^"]+)"', ngo.get("/ngo").text)
    assert consultation
    page = ngo.get(consultation.group(1)).text
    assert "Client asks for another time" in page and "It is not safe for me to come now" in page


def test_follow_up_meeting_appears_on_the_client_page(
    client: TestClient, clock: FakeClock, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    person, _code = redeem(client, slip_code(book(ngo, slot_ids[0])))
    investigator = Actor(client)
    investigator.log_in(world.investigator, clock)
    consultation = re.search(
        r'href="(/investigator/consultations/[^"]+)"', investigator.get("/investigator").text
    )
    assert consultation
    form = investigator.get(consultation.group(1)).text
    times = form.split('<select id="f-slot_id"')[1].split("</select>")[0]
    assert '<option value="">Choose</option>' in times and " selected" not in times
    unchosen = investigator.submit(
        consultation.group(1), consultation.group(1) + "/follow-up", slot_id=""
    )
    assert unchosen.status_code == 400 and "Choose a time for the meeting." in unchosen.text
    response = investigator.submit(
        consultation.group(1), consultation.group(1) + "/follow-up", slot_id=slot_ids[1]
    )
    assert response.status_code == 303
    page = person.get("/meeting").text
    assert page.count('class="meeting card"') == 2
    assert "Follow-up booked" in ngo.get("/ngo").text


def test_htmx_search_gets_the_same_template_as_a_partial(ngo: Actor, slot_ids: list[str]) -> None:
    token = ngo.csrf_from("/ngo/book")
    response = ngo.request(
        "POST",
        "/ngo/book",
        data={"language": "fi", **{"x": "y"}},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="slot-results"' in response.text
    assert slot_ids[0] in response.text


def test_code_guessing_is_limited_for_the_whole_portal(database_url: str, clock: FakeClock) -> None:
    """Many senders together reach the portal-wide cap: everyone is asked to come back in a
    minute (503 with Retry-After), and what they typed comes back."""
    from portal.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        database_url, code_attempts_per_minute=5, code_attempts_per_source_per_minute=100
    )
    with TestClient(
        create_app(settings, clock), base_url="https://portal.test", follow_redirects=False
    ) as limited:
        answers = [Actor(limited).submit("/code", code=f"{i:020d}") for i in range(6)]
    assert [a.status_code for a in answers] == [400] * 5 + [503]
    assert answers[5].headers["retry-after"] == "60"
    assert "The service is busy. Try again in a moment." in answers[5].text
    assert 'value="00000000000000000005"' in answers[5].text


def test_search_respects_the_wish_for_a_woman_investigator(
    client: TestClient, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    svc = services_of(client)
    in_app(
        client,
        svc.db.execute,
        "UPDATE accounts SET gender = 'female' WHERE id = :id",
        id=world.other_investigator.id,
    )
    place = in_app(client, make_place, svc, "NGO room", "ngo_premises")
    hers = in_app(client, make_slot, svc, world.other_investigator, place)
    found = ngo.submit("/ngo/book", action="search", language="fi", investigator_gender="female")
    assert hers in found.text and slot_ids[0] not in found.text
    venue = ngo.submit(
        "/ngo/book", action="search", language="fi", venue_preference="police_station"
    )
    assert hers not in venue.text and slot_ids[0] in venue.text
    interpreter = ngo.submit("/ngo/book", action="search", language="ti", interpreter_needed="yes")
    assert slot_ids[0] not in interpreter.text  # no Tigrinya, no interpreter on offer


def test_bad_needs_are_refused_without_losing_the_form(ngo: Actor, slot_ids: list[str]) -> None:
    response = book(ngo, slot_ids[0], language="klingon", urgency="urgent")
    assert response.status_code == 400
    assert "Choose one of the options." in response.text
    assert re.search(r'<option value="urgent" selected>', response.text)
    none_chosen = ngo.submit("/ngo/book", action="book", language="fi")
    assert none_chosen.status_code == 400 and "Choose a time for the meeting." in none_chosen.text


def later_slots(client: TestClient, world: World, days: int) -> list[str]:
    """One free time a day for ``days`` days after the ``slot_ids`` fixture's three."""
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    return [
        in_app(client, make_slot, svc, world.investigator, place, hours_ahead=24 * (day + 4))
        for day in range(days)
    ]


def test_matching_times_come_a_page_at_a_time_and_the_form_is_kept(
    client: TestClient, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    later = later_slots(client, world, 9)  # 12 matching times, the fixture's three soonest
    needs = {"language": "fi", "urgency": "urgent"}
    first = ngo.submit("/ngo/book", action="search", **needs)
    assert all(slot in first.text for slot in slot_ids + later[:7])
    assert later[7] not in first.text and later[8] not in first.text
    assert "Later times" in first.text and "Earlier times" not in first.text

    second = ngo.submit("/ngo/book", slots_page="2", **needs)
    assert later[7] in second.text and later[8] in second.text and slot_ids[0] not in second.text
    assert "Earlier times" in second.text and "Later times" not in second.text
    assert '<option value="urgent" selected>' in second.text

    # A booking refused for another field comes back on the page its time was chosen from.
    refused = book(ngo, later[8], slots_shown="2", client_locale="tlh")
    assert refused.status_code == 400
    assert re.search(rf'value="{later[8]}" checked', refused.text)
    assert book(ngo, later[8], slots_shown="2").status_code == 200  # the slip

    # A new search starts again from the soonest times.
    again = ngo.submit("/ngo/book", action="search", slots_shown="2", **needs)
    assert slot_ids[0] in again.text and later[8] not in again.text


def test_rebooking_offers_later_times_too(
    client: TestClient, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    later = later_slots(client, world, 10)
    book(ngo, slot_ids[0])
    consultation = re.search(r'href="(/ngo/consultations/[^"]+)"', ngo.get("/ngo").text)
    assert consultation
    rebook = consultation.group(1) + "/rebook"
    assert later[8] not in ngo.get(rebook).text
    second = ngo.submit(rebook, slots_page="2")
    assert second.status_code == 200 and later[8] in second.text
    assert ngo.submit(rebook, slot_id=later[8]).status_code == 303
    assert "Choose a time" in ngo.submit(rebook, slots_shown="2").text


def test_a_disabled_investigators_times_are_not_offered(
    client: TestClient, world: World, ngo: Actor, slot_ids: list[str]
) -> None:
    assert slot_ids[0] in ngo.submit("/ngo/book", action="search", language="fi").text
    svc = services_of(client)
    in_app(
        client,
        svc.db.execute,
        "UPDATE accounts SET disabled_at = 1 WHERE id = :id",
        id=world.investigator.id,
    )
    found = ngo.submit("/ngo/book", action="search", language="fi")
    assert found.status_code == 200 and slot_ids[0] not in found.text
