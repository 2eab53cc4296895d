"""The client's cancel button, in Chromium without JavaScript (Tor Browser "safest"):
one tap only asks; "No, keep the meeting" keeps it; "Yes" cancels; the cancellation can
be taken back from the same page, and the meeting is then planned again."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import book_a_meeting, client_confirms
from tests.live import LiveServer


def test_cancelling_without_javascript_asks_first_and_can_be_taken_back(
    browser: Browser,
    demo_server: LiveServer,
    watched_no_js: tuple[BrowserContext, PageWatch],
) -> None:
    ngo = browser.new_context(base_url=demo_server.url)
    code = book_a_meeting(ngo, javascript=True)
    ngo.close()
    context, _watch = watched_no_js
    page = context.new_page()
    own_code = client_confirms(page, code)
    demo_server.secrets += [code, own_code]

    page.get_by_role("button", name="Cancel the meeting").click()
    expect(page.get_by_text("Do you really want to cancel this meeting?")).to_be_visible()
    expect(page.get_by_text("You can take it back within 10 minutes.")).to_be_visible()
    page.get_by_role("link", name="No, keep the meeting").click()
    expect(page.get_by_text("Do you really want to cancel this meeting?")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel the meeting")).to_be_visible()
    expect(page.get_by_role("button", name="Take back the cancellation")).to_have_count(0)

    page.get_by_role("button", name="Cancel the meeting").click()
    page.get_by_role("button", name="Yes, cancel the meeting").click()
    expect(
        page.get_by_text("The meeting is cancelled. Your support worker will be told.")
    ).to_be_visible()
    expect(page.get_by_text("You have no meeting booked at the moment.")).to_be_visible()

    page.get_by_role("button", name="Take back the cancellation").click()
    expect(
        page.get_by_text("The cancellation is taken back: the meeting is on again.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Your meeting")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel the meeting")).to_be_visible()
    expect(page.get_by_text("You have no meeting booked at the moment.")).to_have_count(0)
