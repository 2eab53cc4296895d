"""Journey of a sealed note in a real browser: the investigator creates a key, the NGO
and the client write notes (with and without JavaScript), the investigator unlocks the
key and reads them. The database and the server's log hold none of the texts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_staff_login import sign_in
from tests.live import LiveServer

PASSPHRASE = "canary browser passphrase 7731"
NGO_NOTE = "canary-ngo-note-afraid-of-the-landlord-3141"
CLIENT_JS_NOTE = "canary-client-note-with-js-2718"
CLIENT_NO_JS_NOTE = "canary-client-note-without-js-1618"


def create_key(context: BrowserContext) -> None:
    sign_in(context, "investigator")
    page = context.pages[-1]
    page.goto("/staff/key")
    page.get_by_label("New decryption passphrase").fill(PASSPHRASE)
    page.get_by_label("The same passphrase again").fill(PASSPHRASE)
    page.get_by_role("button", name="Create my key").click()
    sheet = page.locator(".recovery-sheet")
    expect(sheet).to_be_visible(timeout=60_000)
    recovery = page.locator("[data-recovery-key]").inner_text()
    assert len(recovery.replace("-", "")) == 32
    page.get_by_label("I have printed or written down my recovery key").check()
    page.get_by_role("button", name="Save my key").click()
    expect(page.get_by_text("Your key is ready.")).to_be_visible()


def book_with_note(context: BrowserContext) -> tuple[str, str]:
    sign_in(context, "ngo")
    page = context.pages[-1]
    page.goto("/ngo/book")
    answer_needs(page, investigator_gender="male")  # Mikko, who has the key
    page.wait_for_load_state("networkidle")  # htmx's refresh of the times, before ticking one
    page.locator("#slot-results input[type=radio]").first.check()
    page.get_by_role("button", name="Book the chosen time").click()
    code = page.locator(".slip-code").inner_text()
    pseudonym = page.get_by_role("heading", level=1).inner_text().split(": ", 1)[1]
    page.get_by_role("link", name="Go to the booking").click()
    # Until the page has loaded, its sealing module may not be running yet: a click then
    # sends the form without JavaScript and the server seals the note (a loaded machine
    # showed it). Waiting for the URL waits for the load event.
    page.wait_for_url("**/ngo/consultations/*")
    page.get_by_label("What worries you or makes you afraid?").fill(NGO_NOTE)
    page.get_by_role("button", name="Lock and send").click()
    expect(page.get_by_text("locked in this browser")).to_be_visible()
    return code, pseudonym


def slip_with_a_note(browser: Browser, base_url: str) -> str:
    """The investigator makes a key and the NGO worker books with a sealed note, each in
    a context of their own; the slip's code."""
    investigator = browser.new_context(base_url=base_url)
    create_key(investigator)
    investigator.close()
    ngo = browser.new_context(base_url=base_url)
    code, _pseudonym = book_with_note(ngo)
    ngo.close()
    return code


def client_writes(page: Page, text: str, *, javascript: bool) -> None:
    page.get_by_label("Anything else you want the investigator to know").fill(text)
    page.get_by_role("button", name="Lock and send").click()
    expected = "locked in this browser" if javascript else "locked on the server"
    expect(page.get_by_text(expected)).to_be_visible()


def test_notes_sealed_in_browser_and_server_are_read_by_the_investigator(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    demo_server.secrets += [PASSPHRASE, NGO_NOTE, CLIENT_JS_NOTE, CLIENT_NO_JS_NOTE]
    investigator, _watch = watched
    create_key(investigator)
    ngo = browser.new_context(base_url=demo_server.url)
    code, pseudonym = book_with_note(ngo)
    ngo.close()

    client = browser.new_context(base_url=demo_server.url)
    page = client.new_page()
    own_code = client_confirms(page, code)
    demo_server.secrets += [code, own_code]
    client_writes(page, CLIENT_JS_NOTE, javascript=True)
    client.close()

    # The same client later, on a browser without JavaScript, with their own code.
    plain = browser.new_context(base_url=demo_server.url, java_script_enabled=False)
    page = plain.new_page()
    page.goto("/code")
    page.get_by_label("Code").fill(own_code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your meeting")).to_be_visible()
    client_writes(page, CLIENT_NO_JS_NOTE, javascript=False)
    plain.close()

    reader = investigator.pages[-1]
    reader.goto("/investigator")
    reader.get_by_role("link", name=pseudonym).first.click()  # the table, or the queue
    reader.get_by_label("Decryption passphrase").fill(PASSPHRASE)
    reader.get_by_role("button", name="Unlock and read the notes").click()
    expect(reader.get_by_text(NGO_NOTE)).to_be_visible(timeout=60_000)
    expect(reader.get_by_text(CLIENT_JS_NOTE)).to_be_visible()
    expect(reader.get_by_text(CLIENT_NO_JS_NOTE)).to_be_visible()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.sqlite3*"))
    for secret in (PASSPHRASE, NGO_NOTE, CLIENT_JS_NOTE, CLIENT_NO_JS_NOTE, own_code):
        assert secret.encode() not in stored


def test_an_investigator_enrols_and_creates_a_key(
    watched: tuple[BrowserContext, PageWatch], browser: Browser, demo_server: LiveServer
) -> None:
    import re
    import time

    from portal.crypto.totp import code_at

    coordinator, _watch = watched
    sign_in(coordinator, "coordinator")
    page = coordinator.pages[-1]
    page.goto("/coordinator/people")
    page.get_by_label("Name", exact=True).fill("Ilona Investigator")
    page.get_by_label("Organisation").select_option(label="Helsinki Police, Anti-Trafficking Unit")
    page.get_by_label("Role").select_option(label="Investigator")
    page.get_by_role("button", name="Create enrolment link").click()
    link = page.locator("code.link").inner_text()
    demo_server.secrets.append(link.rsplit("/", 1)[1])

    newcomer = browser.new_context(base_url=demo_server.url)
    enrol = newcomer.new_page()
    enrol.goto(re.sub(r"^https?://[^/]+", "", link))
    secret = enrol.locator("code.secret").inner_text()
    enrol.get_by_label("Username").fill("ilona")
    enrol.get_by_label("Password", exact=True).fill("correct horse battery staple")
    enrol.get_by_label("Password again").fill("correct horse battery staple")
    enrol.get_by_label("The 6-digit code the app shows now").fill(code_at(secret, int(time.time())))
    enrol.get_by_role("button", name="Create my account").click()
    expect(
        enrol.get_by_role("heading", name="Your key for sealed messages and notes")
    ).to_be_visible()
    enrol.get_by_label("New decryption passphrase").fill(PASSPHRASE)
    enrol.get_by_label("The same passphrase again").fill(PASSPHRASE)
    enrol.get_by_role("button", name="Create my key").click()
    expect(enrol.locator(".recovery-sheet")).to_be_visible(timeout=60_000)
    enrol.get_by_label("I have printed or written down my recovery key").check()
    enrol.get_by_role("button", name="Save my key").click()
    expect(enrol.get_by_text("Your key is ready.")).to_be_visible()
    expect(enrol.locator("code.fingerprint")).to_have_text(
        re.compile(r"^([0-9a-f]{4} ){7}[0-9a-f]{4}$")
    )
    newcomer.close()
