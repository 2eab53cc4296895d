"""Journeys 4 and 5 in a real browser, with JavaScript and without: NGO books, the client
redeems the slip's code and confirms, the investigator sees it confirmed."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_staff_login import sign_in


def book_a_meeting(context: BrowserContext, javascript: bool) -> str:
    sign_in(context, "ngo")
    page = context.pages[-1]
    page.get_by_role("link", name="Book a meeting").first.click()
    # Its load event: htmx has run, or answers chosen before would refresh no times.
    page.wait_for_url("**/ngo/book")
    answer_needs(page)
    if javascript:
        # htmx refreshes the matching times as the needs change; no button needed. Wait
        # for the last refresh, or it could replace the list after a time is ticked.
        page.wait_for_load_state("networkidle")
        expect(page.locator("#slot-results input[type=radio]").first).to_be_visible()
    else:
        page.get_by_role("button", name="Search for times").click()
    page.locator("#slot-results input[type=radio]").first.check()
    page.get_by_role("button", name="Book the chosen time").click()
    expect(page.get_by_role("heading", name="Your appointment code")).to_be_visible()
    code = page.locator(".slip-code").inner_text()
    assert len(code.replace(" ", "")) == 18
    return code


def client_confirms(page: Page, code: str) -> str:
    """Redeem the slip's code and confirm the meeting; returns the client's own code."""
    page.goto("/")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="This is your own code")).to_be_visible()
    own = page.locator(".client-code").inner_text()
    assert len(own.replace(" ", "")) == 20
    page.get_by_role("link", name="I have kept my code").click()
    expect(page.get_by_role("heading", name="Your meeting")).to_be_visible()
    expect(page.get_by_text("Your support person can come with you.")).to_be_visible()
    page.get_by_role("button", name="I will come").click()
    expect(page.get_by_text("You confirmed the meeting")).to_be_visible()
    page.wait_for_load_state()  # the sealing scripts have run: the page's forms seal
    assert code.replace(" ", "") not in page.url and own.replace(" ", "") not in page.url
    return own


def quick_exit_ends_the_session(context: BrowserContext, page: Page, javascript: bool) -> None:
    """Esc (or the button without JavaScript) leaves for a neutral page, the browser
    forgets the site, and a copy of the cookie taken before opens nothing."""
    copied = context.cookies()
    assert [c["name"] for c in copied] == ["__Host-sid"]
    if javascript:
        page.keyboard.press("Escape")
    else:
        page.get_by_role("button", name="Quick exit").click()
    expect(page).to_have_url("/bye")
    expect(page).to_have_title("Recipes")
    assert context.cookies() == []
    browser = context.browser
    assert browser is not None
    other = browser.new_context(base_url=page.url.removesuffix("/bye"))
    other.add_cookies(copied)
    stolen = other.new_page()
    stolen.goto("/meeting")
    expect(stolen).to_have_url("/code")
    other.close()


@pytest.mark.parametrize("javascript", [True, False])
def test_booking_to_confirmed_meeting(request: pytest.FixtureRequest, javascript: bool) -> None:
    context, _watch = request.getfixturevalue("watched" if javascript else "watched_no_js")
    code = book_a_meeting(context, javascript)
    browser = context.browser
    assert browser is not None
    client_context = browser.new_context(
        base_url=context.pages[-1].url.split("/ngo")[0], java_script_enabled=javascript
    )
    client_page = client_context.new_page()
    client_confirms(client_page, code)
    quick_exit_ends_the_session(client_context, client_page, javascript)
    client_context.close()
    staff = browser.new_context(
        base_url=context.pages[-1].url.split("/ngo")[0], java_script_enabled=javascript
    )
    sign_in(staff, "investigator")
    dashboard = staff.pages[-1]
    dashboard.get_by_role("link", name="Upcoming meetings").first.click()
    expect(dashboard.get_by_text("Confirmed by client")).to_be_visible()
    staff.close()


def test_a_refusal_beside_a_choice_goes_once_another_answer_is_picked(
    watched: tuple[BrowserContext, PageWatch],
) -> None:
    """With JavaScript the booking form refreshes only its times as the needs change, so
    a refusal from the last full page would stay beside an answer that is now given."""
    context, watch = watched
    sign_in(context, "ngo")
    page = context.pages[-1]
    page.goto("/ngo/book")
    page.get_by_role("button", name="Book the chosen time").click()
    expect(page.locator("#f-language-error")).to_be_visible()
    page.wait_for_load_state()  # the refused page's script, which clears a refusal
    watch.expect_one_refusal(400)
    language = page.locator(".field", has=page.locator("#f-language"))
    expect(language.locator(".error")).to_have_text("Choose one of the options.")
    page.locator("#f-language").select_option("fi")
    expect(language.locator(".error")).to_have_count(0)
    expect(page.locator("#f-language")).not_to_have_attribute("aria-invalid", "true")
    minor = page.locator(".field", has=page.locator("#f-minor"))
    expect(minor.locator(".error")).to_have_count(1)  # still unanswered: still said
