"""Sections of the investigator's consultation page saved without leaving it (htmx): a
"saved" notice speaks of the last save only, so the one before goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_sealed_notes import PASSPHRASE, book_with_note, create_key
from tests.live import LiveServer, meetings_begin


def test_each_save_replaces_the_notice_of_the_one_before(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets.append(PASSPHRASE)
    investigator, watch = watched
    create_key(investigator)
    ngo = browser.new_context(base_url=demo_server.url)
    _code, pseudonym = book_with_note(ngo)
    ngo.close()

    page = investigator.pages[-1]
    page.goto("/investigator")
    page.get_by_role("link", name=pseudonym).first.click()
    page.wait_for_url("**/investigator/consultations/*")
    meetings_begin(tmp_path)
    page.reload()
    meeting_saved = page.get_by_text("The meeting's outcome is saved.")
    page.locator(".meeting-outcome select").first.select_option("held")
    page.locator(".meeting-outcome button").first.click()
    expect(meeting_saved).to_be_visible()

    page.get_by_label("Reflection period", exact=True).select_option("needed")
    page.get_by_role("button", name="Save the reflection period").click()
    expect(page.get_by_text("The reflection period is saved.")).to_be_visible()
    expect(meeting_saved).to_have_count(0)

    ends = (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%d")  # too soon: refused
    page.get_by_label("Reflection period", exact=True).select_option("granted")
    page.get_by_label("Ends on (if granted)").fill(ends)
    page.get_by_role("button", name="Save the reflection period").click()
    expect(page.get_by_text("A reflection period ends 30 days to 6 months")).to_be_visible()
    expect(page.get_by_text("The reflection period is saved.")).to_have_count(0)
    watch.expect_one_refusal(400)
