"""The safety plan in a real browser: the investigator unlocks their key, chooses the
plan's answers, writes the details and saves (sealed in the browser to the investigator
and the support organisation's worker); the worker unlocks their key and reads them;
the week view marks the consultation with an urgent risk in words. Neither the database
file nor the server's log holds the details."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_conversation import NGO_PASSPHRASE, book, give_ngo_worker_a_key, unlock
from tests.browser.test_sealed_notes import PASSPHRASE, create_key
from tests.live import LiveServer

DETAILS = "canary-browser-safety-details-stays-with-her-sister-on-friday-4471"


def meeting_day(tmp_path: Path, pseudonym: str) -> str:
    with sqlite3.connect(tmp_path / "portal.sqlite3") as db:
        (starts_at,) = db.execute(
            "SELECT m.starts_at FROM meetings m JOIN consultations c ON c.id = m.consultation_id"
            " WHERE c.pseudonym = ?",
            (pseudonym,),
        ).fetchone()
    return datetime.fromtimestamp(starts_at, ZoneInfo("Europe/Helsinki")).date().isoformat()


def test_the_investigator_seals_the_plan_and_the_support_worker_reads_it(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [PASSPHRASE, NGO_PASSPHRASE, DETAILS]
    investigator, watch = watched
    create_key(investigator)
    give_ngo_worker_a_key(tmp_path, "ngo")
    ngo = browser.new_context(base_url=demo_server.url)
    ngo.on("page", watch.attach)
    _code, pseudonym, ngo_url = book(ngo)

    police = investigator.pages[-1]
    police.goto("/investigator")
    police.get_by_role("link", name=pseudonym).first.click()
    plan = police.locator("#safety-plan")
    expect(plan.get_by_text("No safety plan yet.")).to_be_visible()
    details = plan.locator("#sp-details")
    expect(details).to_be_hidden()  # locked until the key is unlocked
    unlock(police, PASSPHRASE, "Unlock and read the notes and messages")
    expect(details).to_be_visible(timeout=60_000)
    plan.get_by_label("Housing").select_option("shelter")
    plan.get_by_label("Urgent risk to the client's safety").select_option("yes")
    plan.get_by_label("A safe way of contact is agreed").select_option("yes")
    details.fill(DETAILS)
    plan.get_by_role("button", name="Save the safety plan").click()
    expect(police.get_by_text("The safety plan is saved.")).to_be_visible()
    expect(plan.get_by_role("heading", name="Safety plan")).to_contain_text("Urgent risk")
    expect(plan.get_by_label("Housing")).to_have_value("shelter")

    # The support worker unlocks their key and reads what the investigator wrote.
    worker = ngo.pages[-1]
    worker.goto(ngo_url)
    worker_plan = worker.locator("#safety-plan")
    expect(worker_plan.get_by_label("Urgent risk to the client's safety")).to_have_value("yes")
    unlock(worker, NGO_PASSPHRASE, "Unlock and read the messages")
    expect(worker_plan.locator("#sp-details")).to_have_value(DETAILS, timeout=60_000)
    # Their start page has the urgent item.
    worker.goto("/ngo")
    expect(worker.get_by_text("The safety plan says there is an urgent risk.")).to_be_visible()
    ngo.close()

    # The week of the meeting marks the consultation in words.
    police.goto(f"/investigator/week?start={meeting_day(tmp_path, pseudonym)}")
    entry = police.locator(".week-entry.is-meeting", has_text=pseudonym)
    expect(entry.get_by_text("Urgent risk", exact=True)).to_be_visible()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.sqlite3*"))
    assert DETAILS.encode() not in stored
    assert PASSPHRASE.encode() not in stored
