"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools protocol,
``WebAuthn.addVirtualAuthenticator``: CTAP2, internal, resident keys, user verification)
answers the portal's own module (static/js/passkeys.js). A passkey is added, signs in
instead of the code, confirms a key replacement, and is removed.

WebAuthn refuses an IP address as relying party, so this server's public URL (the
relying party and origin) is http://localhost:PORT, a secure context like https.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import PageWatch
from tests.browser.test_key_replacement import PASSPHRASE, make_key
from tests.browser.test_staff_login import SECRETS
from tests.live import LiveServer, live_server, run_portal


@pytest.fixture
def localhost_server(tmp_path: Path) -> Iterator[LiveServer]:
    result = run_portal(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    with live_server(tmp_path, host="localhost") as server:
        yield server
    log = "\n".join(server.output)
    assert not [secret for secret in server.secrets if secret in log]


@pytest.fixture
def context(
    browser: Browser, localhost_server: LiveServer
) -> Iterator[tuple[BrowserContext, PageWatch]]:
    context = browser.new_context(base_url=localhost_server.url)
    watch = PageWatch(localhost_server.url)
    context.on("page", watch.attach)
    yield context, watch
    context.close()
    # The refused pages' 400s are logged by the browser, rightly; nothing else may fail.
    watch.problems = [p for p in watch.problems if "status of 400" not in p]
    watch.assert_clean()


def virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added: dict[str, Any] = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def credentials(cdp: CDPSession, authenticator: str) -> list[dict[str, Any]]:
    found: dict[str, Any] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    return list(found["credentials"])


def sign_in_with_code(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_at(SECRETS[username], int(time.time()))
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def test_a_passkey_is_added_signs_in_confirms_a_key_replacement_and_is_removed(
    context: tuple[BrowserContext, PageWatch],
) -> None:
    browser_context, _watch = context
    page = browser_context.new_page()
    cdp, authenticator = virtual_authenticator(page)
    sign_in_with_code(page, "investigator")

    # Add: named, made by the authenticator, listed with "not used yet".
    page.get_by_role("link", name="Your passkeys").click()
    page.wait_for_url("**/staff/passkeys")  # its load event: the passkey script runs
    page.get_by_label("Name of the passkey").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Your passkey was added.")).to_be_visible()
    expect(page.get_by_role("heading", name="Laptop")).to_be_visible()
    expect(page.locator(".passkey-list")).to_contain_text("Not yet")
    assert len(credentials(cdp, authenticator)) == 1

    # Sign in: username and password, then the passkey instead of the code.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url("/login")
    page.get_by_label("Username").fill("investigator")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Use a passkey instead of the code").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    page.goto("/staff/passkeys")
    expect(page.locator(".passkey-list")).not_to_contain_text("Not yet")

    # A key replacement confirmed with password and passkey. A first key after the
    # sign-in needs no confirmation; the replacement is confirmed on its own form.
    page.goto("/staff/key")
    make_key(page, PASSPHRASE).get_by_role("button", name="Save my key").click()
    expect(page.get_by_text("Your key is ready.")).to_be_visible()
    first = page.locator("dl.facts code.fingerprint").inner_text()
    form = make_key(page, "canary browser passphrase 7761")
    made = form.locator("[data-fingerprint]").inner_text()
    form.get_by_label("Password").fill("not the password at all")
    form.get_by_role("button", name="Confirm with a passkey instead of the code").click()
    pending = page.locator("form[data-pending]")
    expect(pending.get_by_role("alert")).to_have_text(
        "The password or code is wrong, or the code was used already."
    )
    expect(page.locator("dl.facts code.fingerprint")).to_have_text(first)
    pending.get_by_label("Password").fill(DEMO_PASSWORD)
    pending.get_by_role("button", name="Confirm with a passkey instead of the code").click()
    expect(page.get_by_text("Your key is ready.")).to_be_visible()
    expect(page.locator("dl.facts code.fingerprint")).to_have_text(made)
    # The authenticator's counter moved with each use (sign-in, the refused and the
    # accepted confirmation).
    assert credentials(cdp, authenticator)[0]["signCount"] >= 3

    # Remove: confirmed the same way.
    page.goto("/staff/passkeys")
    removal = page.locator(".passkey-list form")
    removal.get_by_label("Password").fill(DEMO_PASSWORD)
    removal.get_by_role("button", name="Confirm with a passkey instead of the code").click()
    expect(page.get_by_text("The passkey was removed.")).to_be_visible()
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()


def test_a_required_role_adds_a_passkey_before_anything_else(
    context: tuple[BrowserContext, PageWatch],
) -> None:
    browser_context, _watch = context
    page = browser_context.new_page()
    sign_in_with_code(page, "coordinator")
    page.get_by_role("link", name="Passkeys for the staff").click()
    page.get_by_role("button", name="Require NGO worker").click()
    expect(page.locator("table").first).to_contain_text("Required")
    page.get_by_role("button", name="Log out").click()

    virtual_authenticator(page)
    page.goto("/login")
    page.get_by_label("Username").fill("ngo")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_at(SECRETS["ngo"], int(time.time()))
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/staff/passkeys")
    expect(page.get_by_role("alert")).to_contain_text("requires a passkey for your role")
    page.goto("/ngo/book")
    expect(page).to_have_url("/staff/passkeys")
    page.get_by_label("Name of the passkey").fill("Phone")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Your passkey was added.")).to_be_visible()
    page.goto("/ngo/book")
    expect(page).to_have_url("/ngo/book")
