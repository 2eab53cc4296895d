"""The whole story in one real-browser suite, from ``portal init`` to the case bundle.

Several browser contexts act at once: the coordinator, an investigator, an NGO worker,
a client with JavaScript and a second client without; they write to each other in the
conversation. Every watched page fails the test
on a console error (CSP violations included), a failed request, or a request to another
origin. Screenshots of the main pages go to ``PORTAL_SCREENSHOTS`` (docs/screenshots
holds the ones the README shows) or to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.crypto.totp import code_at
from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_case_journey import decrypt_download
from tests.browser.test_conversation import write
from tests.live import LiveServer, live_server, meetings_begin, run_portal

PASSWORD = "canary journey password 4242"
PASSPHRASE = "canary journey passphrase 9191"
NGO_NOTE = "canary-journey-ngo-note-afraid-of-the-boss"
CLIENT_NOTE = "canary-journey-client-note-with-js"
PLAIN_NOTE = "canary-journey-second-client-without-js"
IDENTITY = "canary-journey-identity-Dana-Example"
FROM_POLICE = "canary-journey-message-the-interpreter-is-confirmed"
FROM_CLIENT = "canary-journey-message-can-we-move-to-thursday"


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    init = run_portal(
        tmp_path, "init", "--organisation", "Helsinki Police Unit", "--name", "Coral Coordinator"
    )
    assert init.returncode == 0, init.stderr
    link = re.search(r"/enrol/\S+", init.stdout)
    assert link
    with live_server(tmp_path) as server:
        yield server, link.group(0)
    log = "\n".join(server.output)
    for secret in (PASSWORD, PASSPHRASE, NGO_NOTE, CLIENT_NOTE, PLAIN_NOTE, IDENTITY):
        assert secret not in log


class Story:
    def __init__(self, browser: Browser, server: LiveServer, shots: Path) -> None:
        self.browser, self.server, self.shots = browser, server, shots
        self.watch = PageWatch(server.url)
        self.contexts: list[BrowserContext] = []

    def context(self, *, javascript: bool = True, mobile: bool = False) -> Page:
        size = {"width": 360, "height": 800} if mobile else {"width": 1280, "height": 900}
        context = self.browser.new_context(
            base_url=self.server.url, viewport=size, java_script_enabled=javascript
        )
        context.on("page", self.watch.attach if javascript else self.watch.attach_no_js)
        self.contexts.append(context)
        return context.new_page()

    def shot(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.watch.assert_clean()


def enrol(page: Page, path: str, username: str) -> None:
    page.goto(path)
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_label("The 6-digit code the app shows now").fill(code_at(secret, int(time.time())))
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()


def create_key(page: Page) -> None:
    """On the key page enrolment leads to: a key pair made in the browser, saved."""
    expect(page).to_have_url("/staff/key")
    page.get_by_label("New decryption passphrase").fill(PASSPHRASE)
    page.get_by_label("The same passphrase again").fill(PASSPHRASE)
    page.get_by_role("button", name="Create my key").click()
    expect(page.locator(".recovery-sheet")).to_be_visible(timeout=60_000)
    page.get_by_label("I have printed or written down my recovery key").check()
    page.get_by_role("button", name="Save my key").click()
    expect(page.get_by_text("Your key is ready.")).to_be_visible()


def invite(page: Page, name: str, organisation: str, role: str) -> str:
    page.goto("/coordinator/people")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Organisation").select_option(label=organisation)
    page.get_by_label("Role").select_option(label=role)
    page.get_by_role("button", name="Create enrolment link").click()
    return re.sub(r"^https?://[^/]+", "", page.locator("code.link").inner_text())


def tomorrow(hour: int) -> str:
    return (datetime.now() + timedelta(days=1)).strftime(f"%Y-%m-%dT{hour:02d}:00")


def book(page: Page, client_locale: str) -> str:
    page.goto("/ngo/book")
    answer_needs(page, client_locale=client_locale)
    page.wait_for_load_state("networkidle")
    page.locator("#slot-results input[type=radio]").first.check()
    page.get_by_role("button", name="Book the chosen time").click()
    return page.locator(".slip-code").inner_text()


def test_the_whole_story(
    browser: Browser, fresh_server: tuple[LiveServer, str], tmp_path: Path
) -> None:
    server, first_link = fresh_server
    shots = Path(os.environ.get("PORTAL_SCREENSHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    story = Story(browser, server, shots)

    # Set-up: the first coordinator enrols and prepares the unit.
    coordinator = story.context()
    enrol(coordinator, first_link, "coral")
    expect(coordinator.get_by_role("heading", level=1)).to_contain_text("Coral Coordinator")
    coordinator.goto("/coordinator/organisations")
    coordinator.get_by_label("Name").fill("Harbour Support Centre")
    coordinator.get_by_label("Kind").select_option("ngo")
    coordinator.get_by_role("button", name="Add organisation").click()
    coordinator.goto("/coordinator/places")
    coordinator.get_by_label("Name").fill("Station room 4")
    coordinator.get_by_label("Kind").select_option("police_station")
    coordinator.get_by_label("Address").fill("Pasilanraitio 13, Helsinki")
    coordinator.get_by_label("Directions for the client").fill("Side door, ask for room 4.")
    coordinator.get_by_role("button", name="Add the place").click()
    coordinator.goto("/coordinator/consent")
    coordinator.get_by_label("Consent text").fill(
        "The assistance system offers safe housing, health care and legal advice."
    )
    coordinator.get_by_role("button", name="Publish").click()
    investigator_link = invite(
        coordinator, "Ilona Investigator", "Helsinki Police Unit", "Investigator"
    )
    ngo_link = invite(coordinator, "Nora Worker", "Harbour Support Centre", "NGO worker")

    # Enrolment with keys (both roles go on to the key page), then availability.
    investigator = story.context()
    enrol(investigator, investigator_link, "ilona")
    create_key(investigator)
    for hour in (10, 13):
        investigator.goto("/investigator/slots")
        investigator.get_by_label("Date and time").fill(tomorrow(hour))
        investigator.get_by_label("Finnish").check()
        investigator.get_by_role("button", name="Publish").click()
    expect(investigator.locator("table")).to_contain_text("Station room 4")

    # Booking with a note, and the slips.
    ngo = story.context()
    enrol(ngo, ngo_link, "nora")
    create_key(ngo)
    first_code = book(ngo, "en")
    story.shot(ngo, "slip")
    ngo.get_by_role("link", name="Go to the booking").click()
    # The note is sealed by a module script: a click before the page's load event posts
    # the text for the server to seal. Waiting for the URL waits for that event.
    ngo.wait_for_url("**/ngo/consultations/*")
    ngo.get_by_label("What worries you or makes you afraid?").fill(NGO_NOTE)
    ngo.get_by_role("button", name="Lock and send").click()
    expect(ngo.get_by_text("locked in this browser")).to_be_visible()
    first_booking = ngo.url.split("?")[0]
    second_code = book(ngo, "en")

    # The first client, on a phone with JavaScript.
    client = story.context(mobile=True)
    client.goto("/")
    story.shot(client, "client-front-page")
    client_confirms(client, first_code)
    client.get_by_label("Anything else you want the investigator to know").fill(CLIENT_NOTE)
    client.get_by_role("button", name="Lock and send").click()
    expect(client.get_by_text("locked in this browser")).to_be_visible()
    story.shot(client, "client-meeting")

    # A second client does everything without JavaScript.
    plain = story.context(javascript=False, mobile=True)
    client_confirms(plain, second_code)
    plain.get_by_label("Anything else you want the investigator to know").fill(PLAIN_NOTE)
    plain.get_by_role("button", name="Lock and send").click()
    expect(plain.get_by_text("locked on the server")).to_be_visible()

    # The investigator reads the notes, records the outcome, the decision to report.
    investigator.goto("/investigator")
    expect(investigator.get_by_text("Confirmed by client").first).to_be_visible()
    for index, expected in ((0, (NGO_NOTE, CLIENT_NOTE)), (1, (PLAIN_NOTE,))):
        investigator.goto("/investigator")
        investigator.locator("table a").nth(index).click()
        investigator.get_by_label("Decryption passphrase").fill(PASSPHRASE)
        investigator.get_by_role("button", name="Unlock and read the notes").click()
        for text in expected:
            expect(investigator.get_by_text(text)).to_be_visible(timeout=60_000)
    investigator.goto("/investigator")
    investigator.locator("table a").first.click()
    investigator.get_by_label("Decryption passphrase").fill(PASSPHRASE)
    investigator.get_by_role("button", name="Unlock and read the notes").click()
    expect(investigator.get_by_text(NGO_NOTE)).to_be_visible(timeout=60_000)
    story.shot(investigator, "investigator-reads-notes")

    # The conversation: the investigator writes, the client answers from their phone,
    # the support worker reads both; each sealed to everyone in the conversation.
    write(investigator, FROM_POLICE)
    expect(investigator.locator(".message-text", has_text=FROM_POLICE)).to_be_visible()
    client.goto("/meeting")
    expect(client.get_by_text(FROM_POLICE)).to_be_visible()
    write(client, FROM_CLIENT)
    expect(client.get_by_text("Your message was sent.")).to_be_visible()
    ngo.goto(first_booking)
    ngo.get_by_label("Decryption passphrase").fill(PASSPHRASE)
    ngo.get_by_role("button", name="Unlock and read the messages").click()
    for text in (FROM_POLICE, FROM_CLIENT):
        expect(ngo.get_by_text(text)).to_be_visible(timeout=60_000)
    story.shot(ngo, "ngo-conversation")

    meetings_begin(tmp_path)
    investigator.reload()
    investigator.locator(".meeting-outcome select").first.select_option("held")
    investigator.locator(".meeting-outcome button").first.click()
    expect(investigator.get_by_text("The meeting's outcome is saved.")).to_be_visible()
    investigator.get_by_label("The client's decision for now").select_option("wants_to_report")
    investigator.get_by_role("button", name="Save the outcome").click()
    expect(investigator.get_by_text("The outcome is saved.")).to_be_visible()
    investigator.get_by_label("The assistance system was explained to the client").select_option(
        "yes"
    )
    investigator.get_by_label("The client consents to referral").select_option("yes")
    investigator.get_by_role("button", name="Record the consent").click()
    expect(investigator.get_by_text("The referral consent is recorded.")).to_be_visible()
    investigator.get_by_label("Police case reference").fill("HEL/2026/0777")
    investigator.get_by_label("Planned first interview").fill(
        tomorrow(15).replace(
            tomorrow(15)[:10], (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%d")
        )
    )
    investigator.get_by_role("button", name="Record the decision to report").click()
    expect(investigator.get_by_text("this consultation is now a case")).to_be_visible()
    investigator.get_by_label("Full name").fill(IDENTITY)
    investigator.get_by_role("button", name="Seal the identity record").click()
    expect(investigator.get_by_text("The identity record is sealed.")).to_be_visible()
    with investigator.expect_download() as download:
        investigator.get_by_role("link", name="Download the case bundle").click()
    opened = decrypt_download(download.value, tmp_path, PASSPHRASE)
    assert IDENTITY in opened and NGO_NOTE in opened
    assert IDENTITY not in (tmp_path / "case.json").read_text()  # only sealed in the file

    coordinator.goto("/coordinator/week?start=" + tomorrow(10)[:10])
    story.shot(coordinator, "coordinator-week")
    ngo.goto("/ngo")
    story.shot(ngo, "ngo-bookings")
    story.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("portal.sqlite3*"))
    for text in (NGO_NOTE, CLIENT_NOTE, PLAIN_NOTE, IDENTITY, PASSPHRASE, FROM_POLICE, FROM_CLIENT):
        assert text.encode() not in stored
