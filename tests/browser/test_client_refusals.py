"""A refusal on the client's long meeting page, without JavaScript, on a small phone:
the page comes back opened at the refusal (each form's address ends with its section's
anchor), not at the top, where nothing says that something was not sent."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_sealed_notes import slip_with_a_note
from tests.live import LiveServer


def in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    scrolled = page.evaluate("window.scrollY")
    assert box is not None and scrolled > 0  # scrolled down, to the refusal
    return 0 <= box["y"] < 640


def test_a_refused_message_or_note_opens_the_page_at_the_refusal(
    browser: Browser, demo_server: LiveServer
) -> None:
    code = slip_with_a_note(browser, demo_server.url)
    phone = browser.new_context(
        base_url=demo_server.url, java_script_enabled=False, viewport={"width": 360, "height": 640}
    )
    page = phone.new_page()
    client_confirms(page, code)

    page.get_by_role("button", name="Send", exact=True).click()  # nothing written
    expect(page.locator("#message-text-error")).to_have_text("Write a message first.")
    assert page.url.endswith("/meeting/messages#messages")
    assert in_view(page, "#message-text-error")

    page.goto("/meeting")
    page.get_by_role("button", name="Lock and send").click()  # no box filled in
    expect(page.locator(".notes .error").first).to_be_visible()
    assert page.url.endswith("/meeting/notes#note-form")
    assert in_view(page, ".notes .error")
    phone.close()
