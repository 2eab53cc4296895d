"""A referral in a real browser: the investigator records the client's consent, writes a
referral note and sends it (sealed in their browser to the adviser's key); the adviser
unlocks their key and reads the note; the investigator's page shows "Accepted" once the
adviser accepts. The database file and the server's log never hold the note."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, expect

from portal.crypto.tokens import random_id
from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import PageWatch
from tests.browser.test_conversation import book, give_ngo_worker_a_key, unlock
from tests.browser.test_sealed_notes import create_key
from tests.live import LiveServer

ADVISER = "vas-adviser"  # not the demo's own adviser
ADVISER_TOTP = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
ADVISER_PASSPHRASE = "canary adviser passphrase 7719"
NOTE = "canary-browser-referral-Maria-Virtanen-needs-a-safe-flat-4471"
CONSENT = "The assistance system offers a safe place to live, health care and legal advice."


def add_adviser_and_consent_text(tmp_path: Path, passphrase: str = ADVISER_PASSPHRASE) -> None:
    """An assistance organisation with one adviser (the demo has none), and a published
    consent text, written straight into the demo database."""
    now = int(time.time())
    with sqlite3.connect(tmp_path / "portal.sqlite3") as db:
        org = random_id()
        db.execute(
            "INSERT INTO organisations (id, name, kind, created_at) VALUES (?, ?, ?, ?)",
            (org, "Victim Assistance System", "assistance", now),
        )
        (password_hash, coordinator) = db.execute(
            "SELECT password_hash, (SELECT id FROM accounts WHERE username = 'coordinator')"
            " FROM accounts WHERE username = 'ngo'"
        ).fetchone()
        db.execute(
            "INSERT INTO accounts (id, organisation_id, username, display_name, role, gender,"
            " password_hash, totp_secret, totp_last_step, created_at)"
            " VALUES (?, ?, ?, ?, 'adviser', 'unspecified', ?, ?, 0, ?)",
            (random_id(), org, ADVISER, "Hanna Adviser", password_hash, ADVISER_TOTP, now),
        )
        db.execute(
            "INSERT INTO consent_texts (id, version, text, created_by, created_at)"
            " VALUES (?, 1, ?, ?, ?)",
            (random_id(), CONSENT, coordinator, now),
        )
    give_ngo_worker_a_key(tmp_path, ADVISER, passphrase)


def add_referral(tmp_path: Path) -> dict[str, str]:
    """The adviser and the consent text, the client's consent on the first demo booking,
    and a referral of it (its envelope random bytes: only its shape matters here). The
    ids, and the username of the booking's investigator."""
    add_adviser_and_consent_text(tmp_path, random_id())
    now = int(time.time())
    referral = random_id()
    with sqlite3.connect(tmp_path / "portal.sqlite3") as db:
        consultation, investigator, username, booker = db.execute(
            "SELECT c.id, c.investigator_id, a.username, c.booked_by FROM consultations c"
            " JOIN accounts a ON a.id = c.investigator_id ORDER BY c.created_at LIMIT 1"
        ).fetchone()
        (text_id,) = db.execute("SELECT id FROM consent_texts").fetchone()
        (org, key_id) = db.execute(
            "SELECT a.organisation_id, k.id FROM accounts a"
            " JOIN investigator_keys k ON k.account_id = a.id WHERE a.username = ?",
            (ADVISER,),
        ).fetchone()
        consent = random_id()
        db.execute(
            "INSERT INTO referral_consents (id, consultation_id, consent_text_id, explained,"
            " consents, recorded_by, recorded_at) VALUES (?, ?, ?, 1, 1, ?, ?)",
            (consent, consultation, text_id, investigator, now),
        )
        db.execute(
            "INSERT INTO referrals (id, consultation_id, organisation_id, consent_id, sent_by,"
            " sent_at, status, status_by, status_at) VALUES (?, ?, ?, ?, ?, ?, 'sent', ?, ?)",
            (referral, consultation, org, consent, booker, now, booker, now),
        )
        db.execute(
            "INSERT INTO referral_envelopes (referral_id, recipient_key_id, envelope,"
            " created_at) VALUES (?, ?, ?, ?)",
            (referral, key_id, b"\x01" + bytes(328), now),
        )
    return {"referral": referral, "consultation": consultation, "investigator": username}


def sign_in_adviser(context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(ADVISER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_at(ADVISER_TOTP, int(time.time()))
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def test_investigator_refers_and_the_adviser_reads_and_accepts(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [NOTE, ADVISER_PASSPHRASE]
    investigator, watch = watched
    create_key(investigator)
    add_adviser_and_consent_text(tmp_path)
    ngo = browser.new_context(base_url=demo_server.url)
    ngo.on("page", watch.attach)
    _code, _pseudonym, ngo_url = book(ngo)
    ngo.close()
    consultation_url = "/investigator/consultations/" + ngo_url.rsplit("/", 1)[1]

    # The investigator records the consent, then writes and sends the referral.
    police = investigator.pages[-1]
    police.goto(consultation_url)
    referrals = police.locator("#referrals")
    expect(referrals).to_contain_text("The client's consent to referral is not recorded.")
    police.get_by_label("The assistance system was explained to the client").select_option("yes")
    police.get_by_label("The client consents to referral").select_option("yes")
    police.get_by_role("button", name="Record the consent").click()
    expect(police.get_by_text("The referral consent is recorded.")).to_be_visible()
    send = police.get_by_role("button", name="Lock and send the referral")
    expect(send).to_be_enabled()
    # Everything missing is said at once, and nothing is sent.
    send.click()
    expect(referrals.locator("#referral-organisation-error")).to_have_text(
        "Choose the organisation to refer the client to."
    )
    expect(referrals.locator("#referral-note-error")).to_have_text("Write the referral note first.")
    referrals.get_by_label("Organisation").select_option(
        label="Victim Assistance System (Assistance system)"
    )
    referrals.get_by_label("Referral note").fill(NOTE)
    # Meanwhile the adviser replaced their key: the server refuses the old set, the note
    # stays in the page, and sending again seals it to the key now.
    give_ngo_worker_a_key(tmp_path, ADVISER, ADVISER_PASSPHRASE)
    send.click()
    expect(referrals.get_by_role("status")).to_have_text(
        "The advisers' keys changed while you were writing. Your note is still here:"
        " send it again to lock it to their keys now."
    )
    expect(referrals.get_by_label("Referral note")).to_have_value(NOTE)
    # Chromium logs every refused fetch; this one was expected, nothing else may be.
    refused = "console error: Failed to load resource: the server responded with a status of 409"
    assert [p for p in watch.problems if p.startswith(refused)] == [watch.problems[-1]]
    watch.problems.pop()
    send.click()
    expect(referrals.locator("table")).to_contain_text("Victim Assistance System")
    expect(referrals.locator("table")).to_contain_text("Sent")
    assert NOTE not in police.content()

    # The adviser unlocks their key and reads the note, then accepts.
    adviser = browser.new_context(base_url=demo_server.url)
    adviser.on("page", watch.attach)
    sign_in_adviser(adviser)
    page = adviser.pages[-1]
    page.get_by_role("link", name="Referrals").first.click()
    page.locator("table a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Helsinki Police")
    unlock(page, ADVISER_PASSPHRASE, "Unlock and read the note")
    expect(page.get_by_text(NOTE)).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Mark as received").click()
    expect(page.get_by_text("The referral's status is saved.")).to_be_visible()
    page.get_by_role("button", name="Accept").click()
    expect(page.locator(".facts").first).to_contain_text("Accepted")
    adviser.close()

    # The investigator sees the status, never the note.
    police.goto(consultation_url)
    expect(police.locator("#referrals table")).to_contain_text("Accepted")
    assert NOTE not in police.content()
    assert re.search(r"The referral was (received|accepted)\.", police.goto("/staff").text())

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.sqlite3*"))
    for secret in (NOTE, ADVISER_PASSPHRASE):
        assert secret.encode() not in stored
