"""Replacing a key in a real browser: the page's script makes the key pair, the password
and a new code confirm it on the same form, and a refused confirmation keeps the key the
browser made (saved by confirming again, not made again)."""

from __future__ import annotations

import time

from playwright.sync_api import BrowserContext, Locator, Page, expect

from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import PageWatch
from tests.browser.test_staff_login import SECRETS, sign_in

PASSPHRASE = "canary browser passphrase 5510"
OTHER_PASSPHRASE = "canary browser passphrase 8821"


def make_key(page: Page, passphrase: str) -> Locator:
    """Fills the key form and lets the script make and wrap the key pair; the recovery
    sheet is then shown. Returns the form."""
    form = page.locator("form[data-create-key]")
    form.get_by_label("New decryption passphrase").fill(passphrase)
    form.get_by_label("The same passphrase again").fill(passphrase)
    form.locator("[data-generate]").click()
    expect(form.locator(".recovery-sheet")).to_be_visible(timeout=60_000)
    form.get_by_label("I have printed or written down my recovery key").check()
    return form


def test_key_replacement_is_confirmed_with_password_and_code(
    watched: tuple[BrowserContext, PageWatch],
) -> None:
    context, watch = watched
    sign_in(context, "investigator")
    page = context.pages[-1]
    page.goto("/staff/key")
    # The first key, right after signing in: the sign-in is the confirmation.
    make_key(page, PASSPHRASE).get_by_role("button", name="Save my key").click()
    expect(page.get_by_text("Your key is ready.")).to_be_visible()
    first = page.locator("dl.facts code.fingerprint").inner_text()

    # A replacement, with a wrong code: refused, and the new key comes back unsaved.
    form = make_key(page, OTHER_PASSPHRASE)
    made = form.locator("[data-fingerprint]").inner_text()
    assert made != first
    form.get_by_label("Password").fill(DEMO_PASSWORD)
    form.get_by_label("Code from your authenticator app").fill("000000")
    form.get_by_role("button", name="Save my key").click()
    pending = page.locator("form[data-pending]")
    expect(pending.get_by_role("heading", name="Your new key is not saved yet")).to_be_visible()
    expect(pending.get_by_role("alert")).to_have_text(
        "The password or code is wrong, or the code was used already."
    )
    expect(pending.locator("code.fingerprint")).to_have_text(made)
    expect(page.locator("dl.facts code.fingerprint")).to_have_text(first)  # unchanged
    # The browser rightly logs the refused page's 400; nothing else may go wrong.
    watch.problems = [p for p in watch.problems if "status of 400" not in p]

    # The next code (the sign-in used the current one), and the same key is saved.
    pending.get_by_label("Password").fill(DEMO_PASSWORD)
    pending.get_by_label("Code from your authenticator app").fill(
        code_at(SECRETS["investigator"], int(time.time()) + 30)
    )
    pending.get_by_role("button", name="Save my key").click()
    expect(page.get_by_text("Your key is ready.")).to_be_visible()
    expect(page.locator("dl.facts code.fingerprint")).to_have_text(made)
