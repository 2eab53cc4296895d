"""The conversation in a real browser: the investigator writes, the client reads and
answers with and without JavaScript, the NGO worker reads everything, the investigator
reads the answers; after the worker replaces their key, the investigator's browser shares
the earlier messages with the new one; a coordinator and a worker of another organisation
see nothing. The database file and the server's log hold none of the texts."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from nacl.public import PrivateKey
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.crypto.tokens import random_id
from portal.crypto.wrapped_keys import wrap
from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_booking_journey import client_confirms
from tests.browser.test_sealed_notes import PASSPHRASE, create_key
from tests.browser.test_staff_login import sign_in
from tests.live import LiveServer

NGO_PASSPHRASE = "canary ngo worker passphrase 6421"
NEW_NGO_PASSPHRASE = "canary ngo worker new passphrase 9052"
FROM_POLICE = "canary-browser-message-the-interpreter-is-confirmed-1123"
FROM_CLIENT_JS = "canary-browser-message-can-we-move-to-thursday-5813"
FROM_CLIENT_NO_JS = "canary-browser-message-it-is-not-safe-for-me-now-2134"


def give_ngo_worker_a_key(tmp_path: Path, username: str, passphrase: str = NGO_PASSPHRASE) -> None:
    """What the key page does in the worker's browser, stored directly (the argon2 floor,
    so unlocking in the browser is quick); any earlier key is retired, as a replacement."""
    private = PrivateKey.generate()
    secret = bytes(private)
    with sqlite3.connect(tmp_path / "portal.sqlite3") as db:
        (account_id,) = db.execute(
            "SELECT id FROM accounts WHERE username = ?", (username,)
        ).fetchone()
        db.execute(
            "UPDATE investigator_keys SET retired_at = ? WHERE account_id = ?"
            " AND retired_at IS NULL",
            (int(time.time()), account_id),
        )
        db.execute(
            "INSERT INTO investigator_keys (id, account_id, public_key, wrapped_key,"
            " recovery_wrapped_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                random_id(),
                account_id,
                bytes(private.public_key),
                wrap(secret, passphrase, 2, 19456),
                wrap(secret, random_id(), 2, 19456),
                int(time.time()),
            ),
        )


def book(context: BrowserContext) -> tuple[str, str, str]:
    """The NGO worker books a time with Mikko (who has a key); returns the slip's code,
    the pseudonym and the consultation's page."""
    sign_in(context, "ngo")
    page = context.pages[-1]
    page.goto("/ngo/book")
    answer_needs(page, investigator_gender="male")
    page.wait_for_load_state("networkidle")
    page.locator("#slot-results input[type=radio]").first.check()
    page.get_by_role("button", name="Book the chosen time").click()
    code = page.locator(".slip-code").inner_text()
    pseudonym = page.get_by_role("heading", level=1).inner_text().split(": ", 1)[1]
    page.get_by_role("link", name="Go to the booking").click()
    page.wait_for_url("**/ngo/consultations/*")  # and its load event: the scripts have run
    return code, pseudonym, re.sub(r"^https?://[^/]+", "", page.url)


def write(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def unlock(page: Page, passphrase: str, button: str) -> None:
    page.get_by_label("Decryption passphrase").fill(passphrase)
    page.get_by_role("button", name=button).click()


def test_a_conversation_among_police_support_worker_and_client(
    browser: Browser,
    watched: tuple[BrowserContext, PageWatch],
    watched_no_js: tuple[BrowserContext, PageWatch],
    demo_server: LiveServer,
    tmp_path: Path,
) -> None:
    texts = [FROM_POLICE, FROM_CLIENT_JS, FROM_CLIENT_NO_JS]
    demo_server.secrets += [PASSPHRASE, NGO_PASSPHRASE, NEW_NGO_PASSPHRASE, *texts]
    investigator, watch = watched
    create_key(investigator)
    give_ngo_worker_a_key(tmp_path, "ngo")
    give_ngo_worker_a_key(tmp_path, "ngo2")  # another organisation's: never a recipient
    ngo = browser.new_context(base_url=demo_server.url)
    ngo.on("page", watch.attach)
    code, pseudonym, ngo_url = book(ngo)

    # The client takes the slip (with JavaScript): from now on they take part.
    client_js = browser.new_context(base_url=demo_server.url)
    client_js.on("page", watch.attach)
    client_page = client_js.new_page()
    own_code = client_confirms(client_page, code)
    demo_server.secrets += [code, own_code, own_code.replace(" ", "")]
    expect(client_page.get_by_role("heading", name="Messages")).to_be_visible()
    expect(client_page.get_by_text("locked on our server as soon as it arrives")).to_be_hidden()

    # The investigator writes (sealed in the browser to all three).
    police = investigator.pages[-1]
    police.goto("/investigator")
    police.get_by_role("link", name=pseudonym).first.click()
    consultation_url = re.sub(r"^https?://[^/]+", "", police.url)
    helsinki = ZoneInfo("Europe/Helsinki")  # the portal's zone; this browser's is UTC
    before = datetime.now(helsinki)
    write(police, FROM_POLICE)
    sent = police.locator(".message", has_text=FROM_POLICE)
    expect(sent.locator(".message-text")).to_be_visible()
    expect(sent.locator(".message-meta")).to_contain_text(" · you")  # when, and whose
    shown = sent.locator(".message-meta").inner_text()
    times = {f"{t.hour % 12 or 12}:{t.minute:02d}" for t in (before, datetime.now(helsinki))}
    assert any(time in shown for time in times), (shown, times)
    expect(police.locator("form[data-message-form] .message-status")).to_have_text(
        "Your message was sent."
    )
    expect(police.get_by_label("Your message")).to_have_value("")

    # The client with JavaScript reads it (opened by the server) and answers.
    client_page.goto("/meeting")
    expect(client_page.get_by_text(FROM_POLICE)).to_be_visible()
    expect(client_page.locator(".message-meta").first).to_contain_text("the police")
    write(client_page, FROM_CLIENT_JS)
    expect(client_page.get_by_text("Your message was sent.")).to_be_visible()
    expect(client_page.get_by_text(FROM_CLIENT_JS)).to_be_visible()
    client_js.close()

    # The same client on a browser without JavaScript, with their own code.
    plain, _plain_watch = watched_no_js
    page = plain.new_page()
    page.goto("/code")
    page.get_by_label("Code").fill(own_code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Your meeting")).to_be_visible()
    expect(page.get_by_text(FROM_POLICE)).to_be_visible()
    expect(page.get_by_text(FROM_CLIENT_JS)).to_be_visible()
    expect(page.get_by_text("locked on our server as soon as it arrives")).to_be_visible()
    write(page, FROM_CLIENT_NO_JS)
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    expect(page.get_by_text(FROM_CLIENT_NO_JS)).to_be_visible()

    # The NGO worker unlocks their key and reads everything.
    worker = ngo.pages[-1]
    worker.goto(ngo_url)
    unlock(worker, NGO_PASSPHRASE, "Unlock and read the messages")
    for text in texts:
        expect(worker.get_by_text(text)).to_be_visible(timeout=60_000)

    # The investigator reads the answers.
    police.goto(consultation_url)
    unlock(police, PASSPHRASE, "Unlock and read the notes and messages")
    for text in texts:
        expect(police.get_by_text(text)).to_be_visible(timeout=60_000)

    # The NGO worker replaces a lost key: the earlier messages are not sealed to the new
    # one, until the investigator's browser shares them.
    give_ngo_worker_a_key(tmp_path, "ngo", NEW_NGO_PASSPHRASE)
    worker.goto(ngo_url)
    expect(worker.get_by_text("Written before you could read this conversation")).to_have_count(3)
    police.goto(consultation_url)
    unlock(police, PASSPHRASE, "Unlock and read the notes and messages")
    share = police.get_by_role("button", name="Share earlier messages with: Leena Korhonen")
    expect(share).to_be_enabled(timeout=60_000)
    share.click()
    expect(police.get_by_text("The earlier messages are shared.")).to_be_visible()
    worker.goto(ngo_url)
    unlock(worker, NEW_NGO_PASSPHRASE, "Unlock and read the messages")
    for text in texts:
        expect(worker.get_by_text(text)).to_be_visible(timeout=60_000)
    ngo.close()

    # A coordinator and a worker of another organisation see nothing.
    consultation = consultation_url.rsplit("/", 1)[1]
    for username, urls in (
        ("coordinator", (consultation_url, f"/ngo/consultations/{consultation}")),
        ("ngo2", (f"/ngo/consultations/{consultation}",)),
    ):
        outsider = browser.new_context(base_url=demo_server.url)
        sign_in(outsider, username)  # each TOTP code works once: one sign-in each
        for url in urls:
            response = outsider.pages[-1].goto(url)
            assert response is not None and response.status == 404, (username, url)
            for text in texts:
                assert text not in outsider.pages[-1].content()
        outsider.close()

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("portal.sqlite3*"))
    for secret in (
        *texts,
        PASSPHRASE,
        NGO_PASSPHRASE,
        NEW_NGO_PASSPHRASE,
        own_code.replace(" ", ""),
    ):
        assert secret.encode() not in stored
    with sqlite3.connect(tmp_path / "portal.sqlite3") as db:
        sealed_in = [r[0] for r in db.execute("SELECT sealed_in FROM messages ORDER BY created_at")]
        recipients = {
            r[0] for r in db.execute("SELECT COUNT(*) FROM message_envelopes GROUP BY message_id")
        }
    assert sealed_in == ["browser", "browser", "server"]
    # The investigator, the NGO worker and the client, each; and the worker's new key.
    assert recipients == {4}
