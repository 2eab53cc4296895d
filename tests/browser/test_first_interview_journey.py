"""The first interview in a real browser: the decision to report plans it with a place,
the client sees it on their page and sends wishes sealed in the browser, and the
investigator reads them, labelled, after unlocking the key."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_sealed_notes import PASSPHRASE, book_with_note, create_key
from tests.live import LiveServer, meetings_begin

WISH = "canary-browser-interview-wish-breaks-9190"


def test_wishes_for_the_first_interview_sealed_in_the_browser(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [PASSPHRASE, WISH]
    investigator, _watch = watched
    create_key(investigator)
    ngo = browser.new_context(base_url=demo_server.url)
    code, pseudonym = book_with_note(ngo)
    ngo.close()
    client = browser.new_context(base_url=demo_server.url)
    person = client.new_page()
    own_code = client_confirms(person, code)
    demo_server.secrets += [code, own_code]
    expect(person.get_by_text("Your first interview")).to_have_count(0)

    page = investigator.pages[-1]
    page.goto("/investigator")
    page.get_by_role("link", name=pseudonym).first.click()
    meetings_begin(tmp_path)
    page.reload()
    page.locator(".meeting-outcome select").first.select_option("held")
    page.locator(".meeting-outcome button").first.click()
    page.get_by_label("The client's decision for now").select_option("wants_to_report")
    page.get_by_role("button", name="Save the outcome").click()
    expect(page.get_by_text("The outcome is saved.")).to_be_visible()
    page.get_by_label("Police case reference").fill("HEL/2026/0099")
    interview = datetime.now() + timedelta(days=7)
    page.get_by_label("Planned first interview").fill(interview.strftime("%Y-%m-%dT10:00"))
    place = page.get_by_label("Place of the first interview")
    place.select_option(index=1)
    place_name = place.locator("option:checked").inner_text()
    page.get_by_role("button", name="Record the decision to report").click()
    expect(page.get_by_text("this consultation is now a case")).to_be_visible()

    person.reload()
    section = person.locator("#first-interview")
    expect(section.get_by_role("heading", name="Your first interview")).to_be_visible()
    expect(section.get_by_text(place_name)).to_be_visible()
    expect(section.get_by_text("The investigator you have met.")).to_be_visible()
    section.get_by_label("What would help you in the interview?").fill(WISH)
    section.get_by_role("button", name="Lock and send").click()
    expect(person.get_by_text("locked in this browser")).to_be_visible()
    client.close()

    page.reload()
    page.get_by_label("Decryption passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Unlock and read the notes").click()
    expect(page.get_by_text(WISH)).to_be_visible(timeout=60_000)
    expect(page.get_by_text("the client's wishes for the first interview")).to_be_visible()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.sqlite3*"))
    assert WISH.encode() not in stored
