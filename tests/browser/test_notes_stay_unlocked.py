"""Saving on the investigator's consultation page keeps the key unlocked: the meeting's
outcome, the consultation's outcome (a sealed note) and the reflection period are saved
without leaving the page, so the notes stay open and the passphrase is typed once. The
new outcome note is opened with the key the page already holds; an error comes back in
its section with what was typed. The page keeps one "saved" notice, the latest save's."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_sealed_notes import NGO_NOTE, PASSPHRASE, book_with_note, create_key
from tests.live import LiveServer, meetings_begin

SUMMARY = "canary-outcome-saved-without-leaving-4417"


def test_notes_stay_unlocked_across_saves(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [PASSPHRASE, NGO_NOTE, SUMMARY]
    investigator, watch = watched
    create_key(investigator)
    ngo = browser.new_context(base_url=demo_server.url)
    _code, pseudonym = book_with_note(ngo)
    ngo.close()

    page = investigator.pages[-1]
    page.goto("/investigator")
    page.get_by_role("link", name=pseudonym).click()
    meetings_begin(tmp_path)
    page.reload()
    page.get_by_label("Decryption passphrase").fill(PASSPHRASE)
    page.get_by_role("button", name="Unlock and read the notes").click()
    expect(page.get_by_text(NGO_NOTE)).to_be_visible(timeout=60_000)
    # Marks the page itself: a full reload would lose it.
    page.evaluate("document.body.dataset.sameDocument = 'yes'")

    page.locator(".meeting-outcome select").first.select_option("held")
    page.locator(".meeting-outcome button").first.click()
    expect(page.get_by_text("The meeting's outcome is saved.")).to_be_visible()
    expect(page.get_by_text(NGO_NOTE)).to_be_visible()

    page.get_by_label("The client's decision for now").select_option("needs_time")
    page.get_by_label("What was discussed, and what happens next").fill(SUMMARY)
    page.get_by_role("button", name="Save the outcome").click()
    expect(page.get_by_text("The outcome is saved.")).to_be_visible()
    # One "saved" notice: the one of the save before goes.
    expect(page.get_by_text("The meeting's outcome is saved.")).to_have_count(0)
    expect(page.get_by_text(SUMMARY)).to_be_visible()  # the new note, opened in the page
    expect(page.get_by_text(NGO_NOTE)).to_be_visible()

    # A refused save comes back in its section, the choice kept, the key still there.
    page.get_by_label("Reflection period", exact=True).select_option("granted")
    page.get_by_role("button", name="Save the reflection period").click()
    expect(page.locator("#after .error").first).to_be_visible()
    expect(page.get_by_label("Reflection period", exact=True)).to_have_value("granted")
    expect(page.get_by_text("The outcome is saved.")).to_have_count(0)
    watch.expect_one_refusal(400)
    expect(page.get_by_text(NGO_NOTE)).to_be_visible()

    assert page.evaluate("document.body.dataset.sameDocument") == "yes"
    expect(page.get_by_text("Unlocked. The key stays only in this page")).to_be_visible()
