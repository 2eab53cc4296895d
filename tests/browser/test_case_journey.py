"""Journeys 6 and 7 in a real browser: meeting held -> outcome -> consent -> decision to
report -> identity sealed in the browser -> case bundle -> ``portal decrypt`` reads it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Download, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_sealed_notes import PASSPHRASE, book_with_note, create_key
from tests.browser.test_staff_login import sign_in
from tests.live import LiveServer, meetings_begin, portal_env

IDENTITY = "canary-browser-identity-Ana-Example-1234"


def decrypt_download(download: Download, folder: Path, passphrase: str) -> str:
    """Save a downloaded export and open it with ``portal decrypt``, as an investigator
    would offline; returns what it printed. The file itself holds no plaintext."""
    bundle = folder / "case.json"
    download.save_as(bundle)
    secret = folder / "passphrase"
    secret.write_text(passphrase)
    result = subprocess.run(
        [sys.executable, "-m", "portal", "decrypt", str(bundle), "--secret-file", str(secret)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=portal_env(folder),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "could not be opened" not in result.stdout
    return result.stdout


SUMMARY = "canary-browser-outcome-summary-5678"


def test_from_meeting_to_case_bundle(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [PASSPHRASE, IDENTITY, SUMMARY]
    investigator, _watch = watched
    create_key(investigator)

    coordinator = browser.new_context(base_url=demo_server.url)
    sign_in(coordinator, "coordinator")
    page = coordinator.pages[-1]
    page.goto("/coordinator/consent")
    page.get_by_label("Consent text").fill(
        "The assistance system offers safe housing, health care, and legal advice."
    )
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 1")).to_be_visible()
    coordinator.close()

    ngo = browser.new_context(base_url=demo_server.url)
    _code, pseudonym = book_with_note(ngo)
    ngo.close()

    page = investigator.pages[-1]
    page.goto("/investigator")
    page.get_by_role("link", name=pseudonym).click()
    meetings_begin(tmp_path)
    page.reload()
    page.locator(".meeting-outcome select").first.select_option("held")
    page.locator(".meeting-outcome button").first.click()
    expect(page.get_by_text("The meeting's outcome is saved.")).to_be_visible()

    page.get_by_label("The client's decision for now").select_option("wants_to_report")
    page.get_by_label("What was discussed, and what happens next").fill(SUMMARY)
    page.get_by_role("button", name="Save the outcome").click()
    expect(page.get_by_text("The outcome is saved.")).to_be_visible()

    page.get_by_label("The assistance system was explained to the client").select_option("yes")
    page.get_by_label("The client consents to referral").select_option("yes")
    page.get_by_role("button", name="Record the consent").click()
    expect(page.get_by_text("The referral consent is recorded.")).to_be_visible()

    page.get_by_label("Police case reference").fill("HEL/2026/0042")
    interview = datetime.now() + timedelta(days=7)
    page.get_by_label("Planned first interview").fill(interview.strftime("%Y-%m-%dT10:00"))
    advisers = page.locator("#advisers")
    expect(advisers.get_by_role("button", name="Ask an adviser")).to_be_visible()
    page.get_by_role("button", name="Record the decision to report").click()
    expect(page.get_by_text("this consultation is now a case")).to_be_visible()
    # Saved without leaving the page, and the advisers' section follows at once.
    expect(
        advisers.get_by_text("Advisers are asked before the decision to report.")
    ).to_be_visible()
    expect(advisers.get_by_role("button", name="Ask an adviser")).to_have_count(0)

    page.get_by_label("Full name").fill(IDENTITY)
    page.get_by_role("button", name="Seal the identity record").click()
    expect(page.get_by_text("The identity record is sealed.")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the case bundle").click()
    opened = decrypt_download(download.value, tmp_path, PASSPHRASE)
    assert IDENTITY in opened and SUMMARY in opened
    assert IDENTITY not in (tmp_path / "case.json").read_text()  # only sealed in the file
