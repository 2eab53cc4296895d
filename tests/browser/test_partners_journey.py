"""Journey 11 in a real browser, from the booking to the planned first interview: the NGO
books (an interpreter needed), the investigator asks the assistance system for an
adviser, the adviser joins the meeting and the client's page says so; consent, a referral
sealed to the adviser, who accepts; the status reaches police and NGO; a safety plan with
an urgent risk puts urgent items in both queues; the interpreter is confirmed and the
client's page changes its words; the decision to report, and the client sees the first
interview. The database file and the server's log hold no sealed text."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.crypto.tokens import random_id
from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD
from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_conversation import give_ngo_worker_a_key, unlock
from tests.browser.test_sealed_notes import PASSPHRASE, create_key
from tests.browser.test_staff_login import sign_in
from tests.live import LiveServer, meetings_begin

ADVISER_TOTP = "MFZXG2LTORQW4Y3FMFZXG2LTORQW4Y3F"  # the demo's adviser (portal/demo.py)
ADVISER_PASSPHRASE = "canary partners adviser passphrase 3380"
REFERRAL_NOTE = "canary-partners-referral-she-wants-a-safe-flat-in-the-north-9914"
SAFETY_DETAILS = "canary-partners-safety-the-landlord-knows-her-phone-2297"
ASSISTANCE = "National Assistance System (Assistance system)"
JOINS = (
    "Someone from the assistance system who can explain the help you can get will also be there."
)


def publish_consent_text(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "portal.sqlite3") as db:
        (coordinator,) = db.execute(
            "SELECT id FROM accounts WHERE username = 'coordinator'"
        ).fetchone()
        db.execute(
            "INSERT INTO consent_texts (id, version, text, created_by, created_at)"
            " VALUES (?, 1, ?, ?, ?)",
            (
                random_id(),
                "The assistance system offers a safe place to live, health care and advice.",
                coordinator,
                int(time.time()),
            ),
        )


def book_with_interpreter(context: BrowserContext) -> tuple[str, str, str]:
    """The slip's code, the pseudonym and the NGO's page of the consultation."""
    sign_in(context, "ngo")
    page = context.pages[-1]
    page.goto("/ngo/book")
    # Mikko (male) has a key.
    answer_needs(page, language="ru", interpreter_needed="yes", investigator_gender="male")
    page.wait_for_load_state("networkidle")
    page.locator("#slot-results input[type=radio]").first.check()
    page.get_by_role("button", name="Book the chosen time").click()
    code = page.locator(".slip-code").inner_text()
    pseudonym = page.get_by_role("heading", level=1).inner_text().split(": ", 1)[1]
    page.get_by_role("link", name="Go to the booking").click()
    return code, pseudonym, page.url


def sign_in_adviser(context: BrowserContext) -> Page:
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill("adviser")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_at(ADVISER_TOTP, int(time.time()))
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    return page


def test_partners_from_booking_to_the_first_interview(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [PASSPHRASE, ADVISER_PASSPHRASE, REFERRAL_NOTE, SAFETY_DETAILS]
    investigator, watch = watched
    create_key(investigator)
    give_ngo_worker_a_key(tmp_path, "adviser", ADVISER_PASSPHRASE)
    publish_consent_text(tmp_path)

    ngo = browser.new_context(base_url=demo_server.url)
    ngo.on("page", watch.attach)
    code, pseudonym, ngo_url = book_with_interpreter(ngo)
    client = browser.new_context(base_url=demo_server.url)
    client.on("page", watch.attach)
    person = client.new_page()
    own_code = client_confirms(person, code)
    demo_server.secrets += [code, own_code]
    expect(person.get_by_text("We are arranging an interpreter for you.")).to_be_visible()
    expect(person.get_by_text("An interpreter will be there.")).to_have_count(0)

    # The investigator asks the assistance system for an adviser.
    police = investigator.pages[-1]
    police.goto("/investigator")
    police.get_by_role("link", name=pseudonym).first.click()
    consultation_url = police.url
    police.get_by_label("Ask an adviser to talk with the client").select_option(label=ASSISTANCE)
    police.get_by_role("button", name="Ask an adviser").click()
    expect(police.locator("#advisers")).to_contain_text("asked, no answer yet")

    # The adviser sees the request on their start page and joins the meeting.
    advisers = browser.new_context(base_url=demo_server.url)
    advisers.on("page", watch.attach)
    adviser = sign_in_adviser(advisers)
    adviser.goto("/adviser")
    adviser.locator("main a[href^='/adviser/requests/']", has_text=pseudonym).first.click()
    expect(adviser.get_by_role("heading", level=1)).to_have_text(f"Request: {pseudonym}")
    adviser.locator("input[name=meeting_id]").first.check()
    adviser.get_by_role("button", name="Join this meeting").click()
    expect(adviser.get_by_role("heading", level=1)).to_contain_text(pseudonym)

    # The client's page says who will be there.
    person.reload()
    expect(person.get_by_text(JOINS)).to_be_visible()

    # Consent, then the referral, sealed in the investigator's browser to the adviser.
    police.goto(consultation_url)
    expect(police.locator("#advisers")).to_contain_text("joins the meeting")
    police.get_by_label("The assistance system was explained to the client").select_option("yes")
    police.get_by_label("The client consents to referral").select_option("yes")
    police.get_by_role("button", name="Record the consent").click()
    expect(police.get_by_text("The referral consent is recorded.")).to_be_visible()
    police.goto(consultation_url)
    referrals = police.locator("#referrals")
    # Sent empty first: refused in the page, and the form still sends once filled in.
    referrals.get_by_role("button", name="Lock and send the referral").click()
    expect(referrals.locator("#referral-note-error")).to_have_text("Write the referral note first.")
    referrals.get_by_label("Organisation").select_option(label=ASSISTANCE)
    referrals.get_by_label("Referral note").fill(REFERRAL_NOTE)
    referrals.get_by_role("button", name="Lock and send the referral").click()
    expect(referrals.locator("table")).to_contain_text("Sent")

    # The adviser reads the note in their browser and accepts.
    adviser.goto("/adviser/referrals")
    adviser.locator("table a").first.click()
    unlock(adviser, ADVISER_PASSPHRASE, "Unlock and read the note")
    expect(adviser.get_by_text(REFERRAL_NOTE)).to_be_visible(timeout=60_000)
    adviser.get_by_role("button", name="Mark as received").click()
    expect(adviser.get_by_text("The referral's status is saved.")).to_be_visible()
    adviser.get_by_role("button", name="Accept").click()
    expect(adviser.locator(".facts").first).to_contain_text("Accepted")

    # Police and NGO see the status, never the note.
    police.goto(consultation_url)
    expect(police.locator("#referrals table")).to_contain_text("Accepted")
    worker = ngo.pages[-1]
    worker.goto(ngo_url)
    expect(worker.locator("#referrals table")).to_contain_text("Accepted")
    assert REFERRAL_NOTE not in police.content() and REFERRAL_NOTE not in worker.content()

    # A safety plan with an urgent risk: urgent items for the investigator and the NGO.
    unlock(police, PASSPHRASE, "Unlock and read the notes and messages")
    plan = police.locator("#safety-plan")
    expect(plan.locator("#sp-details")).to_be_visible(timeout=60_000)
    plan.get_by_label("Housing").select_option("assistance_system")
    plan.get_by_label("Urgent risk to the client's safety").select_option("yes")
    plan.get_by_label("A safe way of contact is agreed").select_option("yes")
    plan.locator("#sp-details").fill(SAFETY_DETAILS)
    plan.get_by_role("button", name="Save the safety plan").click()
    expect(police.get_by_text("The safety plan is saved.")).to_be_visible()
    for page in (police, worker):
        page.goto("/staff")
        expect(page.get_by_text("The safety plan says there is an urgent risk.")).to_be_visible()

    # The interpreter is requested, then confirmed: the client's words change.
    police.goto(consultation_url)
    police.get_by_text("Change the interpreter").first.click()
    police.locator(".interpreter-form select[name=status]").first.select_option("requested")
    police.get_by_role("button", name="Save the interpreter").first.click()
    expect(police.locator(".interpreter").first).to_contain_text("requested")
    person.reload()
    expect(person.get_by_text("We are arranging an interpreter for you.")).to_be_visible()
    police.get_by_text("Change the interpreter").first.click()
    form = police.locator(".interpreter-form").first
    form.locator("select[name=status]").select_option("confirmed")
    form.locator("select[name=language]").select_option("ru")
    wishes = form.locator("input[name=wishes_met]")
    if wishes.count():
        wishes.check()
    police.get_by_role("button", name="Save the interpreter").first.click()
    expect(police.locator(".interpreter").first).to_contain_text("confirmed")
    person.reload()
    expect(person.get_by_text("An interpreter will be there.")).to_be_visible()
    expect(person.get_by_text("We are arranging an interpreter for you.")).to_have_count(0)

    # After the meeting, the decision to report with the first interview planned.
    meetings_begin(tmp_path)
    police.goto(consultation_url)
    police.locator(".meeting-outcome select").first.select_option("held")
    police.locator(".meeting-outcome button").first.click()
    expect(police.get_by_text("The meeting's outcome is saved.")).to_be_visible()
    police.get_by_label("The client's decision for now").select_option("wants_to_report")
    police.get_by_role("button", name="Save the outcome").click()
    expect(police.get_by_text("The outcome is saved.")).to_be_visible()
    police.get_by_label("Police case reference").fill("HEL/2026/0077")
    interview = datetime.now() + timedelta(days=7)
    police.get_by_label("Planned first interview").fill(interview.strftime("%Y-%m-%dT10:00"))
    police.get_by_label("Place of the first interview").select_option(index=1)
    police.get_by_role("button", name="Record the decision to report").click()
    expect(police.get_by_text("this consultation is now a case")).to_be_visible()

    person.reload()
    expect(person.get_by_role("heading", name="Your first interview")).to_be_visible()
    expect(person.get_by_text("The investigator you have met.")).to_be_visible()
    for context in (ngo, client, advisers):
        context.close()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.sqlite3*"))
    for secret in (REFERRAL_NOTE, SAFETY_DETAILS, PASSPHRASE, ADVISER_PASSPHRASE):
        assert secret.encode() not in stored
