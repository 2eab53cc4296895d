"""Work never lost, in a real browser with and without JavaScript: a session ends while
an NGO worker books or a client writes a note; they sign in or enter their code again on
the page that says so, and what they typed is sent after their click.

The session ends the way the server sees an idle timeout: the browser's next request
comes without the old session (cleared here rather than waited for), so its form's CSRF
token fits no session. tests/web/test_session_ended.py covers the real timeout."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD
from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_sealed_notes import slip_with_a_note
from tests.browser.test_staff_login import SECRETS, sign_in
from tests.live import LiveServer

CLIENT_NOTE = "canary-client-note-written-while-the-page-closed-5521"


def sign_in_again(page: Page, username: str) -> None:
    expect(page.get_by_text("Your session ended. Sign in again.")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    # Each authenticator code works once, and the first sign-in used this 30-second step's:
    # the next step's code is accepted a step early (as from a phone whose clock is a
    # little ahead), so the test need not wait for it.
    page.get_by_label("Code from your authenticator app").fill(
        code_at(SECRETS[username], int(time.time()) + 30)
    )
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_booking_survives_the_end_of_the_session(
    request: pytest.FixtureRequest, javascript: bool
) -> None:
    context, watch = request.getfixturevalue("watched" if javascript else "watched_no_js")
    sign_in(context, "ngo")
    page = context.pages[-1]
    page.goto("/ngo/book")
    answer_needs(page)
    if javascript:
        page.wait_for_load_state("networkidle")  # htmx's refresh of the times
        expect(page.locator("#slot-results input[type=radio]").first).to_be_visible()
    else:
        page.get_by_role("button", name="Search for times").click()
    page.locator("#slot-results input[type=radio]").first.check()
    context.clear_cookies()  # the session ends while the worker fills in the form
    page.get_by_role("button", name="Book the chosen time").click()

    sign_in_again(page, "ngo")
    expect(page.get_by_role("heading", name="Send what you typed")).to_be_visible()
    # The answers are choices, not typed words: they are said in words, to check.
    answers = page.locator(".kept dl")
    expect(answers).to_contain_text("The client may be under 18")
    expect(answers).to_contain_text("Language or dialect for the meeting")
    assert page.locator(".slip-code").count() == 0  # nothing booked before the click
    page.get_by_role("button", name="Send it").click()
    expect(page.get_by_role("heading", name="Your appointment code")).to_be_visible()
    assert len(page.locator(".slip-code").inner_text().replace(" ", "")) == 18
    watch.expect_one_refusal(403)  # the refused POST (the CSRF tests rely on it)


@pytest.mark.parametrize("javascript", [True, False])
def test_a_clients_note_survives_the_end_of_the_session(
    browser: Browser,
    request: pytest.FixtureRequest,
    demo_server: LiveServer,
    javascript: bool,
) -> None:
    demo_server.secrets.append(CLIENT_NOTE)
    code = slip_with_a_note(browser, demo_server.url)

    context, watch = request.getfixturevalue("watched" if javascript else "watched_no_js")
    page = context.new_page()
    own_code = client_confirms(page, code)
    page.get_by_label("Anything else you want the investigator to know").fill(CLIENT_NOTE)
    context.clear_cookies()  # the page closes to protect the client while they write
    page.get_by_role("button", name="Lock and send").click()

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_text("Nothing was sent.")).to_be_visible()
    if javascript:  # sealed in the browser: kept locked, never shown in clear
        expect(page.get_by_text("was locked before it was sent")).to_be_visible()
        assert CLIENT_NOTE not in page.content()
    else:
        expect(page.locator("textarea[readonly]")).to_have_value(CLIENT_NOTE)
    page.get_by_label("Code").fill(own_code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Send what you typed")).to_be_visible()
    assert own_code.replace(" ", "") not in page.content().replace(" ", "")
    page.get_by_role("button", name="Send it").click()
    expected = "locked in this browser" if javascript else "locked on the server"
    expect(page.get_by_text(expected)).to_be_visible()
    watch.expect_one_refusal(403)  # the refused POST (the CSRF tests rely on it)


def test_a_message_sealed_after_the_page_closed_is_carried_to_the_code_page(
    browser: Browser, watched: tuple[BrowserContext, PageWatch], demo_server: LiveServer
) -> None:
    """With JavaScript a message is sealed in the browser and posted by script: when the
    session ended meanwhile, the sealed message goes on to the code page (the text never
    leaves the page), and after the code it is sent with one click."""
    demo_server.secrets.append(CLIENT_NOTE)
    code = slip_with_a_note(browser, demo_server.url)

    context, watch = watched
    page = context.new_page()
    own_code = client_confirms(page, code)
    box = page.get_by_label("Your message")
    box.fill("A first message, sent while the page is open.")
    page.get_by_role("button", name="Send", exact=True).click()
    sent = page.locator("#messages .notice", has_text="Your message was sent.")
    expect(sent).to_be_visible()
    # The script sent it, then loaded the page again: its scripts must run once more.
    page.wait_for_load_state()
    box.fill(CLIENT_NOTE)
    context.clear_cookies()  # the page closes to protect the client while they write
    with page.expect_request(
        lambda r: r.url.endswith("/meeting/messages") and r.resource_type == "document"
    ) as carried:
        page.get_by_role("button", name="Send", exact=True).click()
    assert "envelope=" in (carried.value.post_data or "")
    assert CLIENT_NOTE not in (carried.value.post_data or "")
    expect(
        page.get_by_text("the page closed to protect you. Enter your code again.")
    ).to_be_visible()
    expect(page.get_by_text("What you wrote was locked before it was sent.")).to_be_visible()

    page.get_by_label("Code").fill(own_code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Send it").click()
    expect(page.locator("#messages .notice", has_text="Your message was sent.")).to_be_visible()
    expect(page.get_by_text(CLIENT_NOTE)).to_be_visible()
    watch.expect_one_refusal(403, times=2)  # the script's post, then the plain form's
