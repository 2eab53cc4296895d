"""Staff sign-in and the coordinator's first steps in a real browser, with and without JS."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import BrowserContext, expect

from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD, PEOPLE
from tests.browser.conftest import PageWatch

SECRETS = {username: secret for username, _n, _r, _o, secret in PEOPLE}


def sign_in(context: BrowserContext, username: str) -> None:
    page = context.new_page()
    page.goto("/login")
    expect(page).to_have_title("Appointments")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_at(SECRETS[username], int(time.time()))
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


@pytest.mark.parametrize("javascript", [True, False])
def test_coordinator_signs_in_and_invites_someone(
    request: pytest.FixtureRequest, javascript: bool
) -> None:
    context, _watch = request.getfixturevalue("watched" if javascript else "watched_no_js")
    sign_in(context, "coordinator")
    page = context.pages[-1]
    expect(page.get_by_text("Helsinki Police, Anti-Trafficking Unit")).to_be_visible()
    page.get_by_role("link", name="People").click()
    page.get_by_label("Name", exact=True).fill("Pia Probationer")
    page.get_by_label("Organisation").select_option(label="Harbour Women's Support Centre")
    page.get_by_label("Role").select_option(label="NGO worker")
    page.get_by_role("button", name="Create enrolment link").click()
    expect(page.get_by_role("heading", name="Enrolment link", exact=True)).to_be_visible()
    expect(page.locator("code.link")).to_contain_text("/enrol/")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url("/login")


@pytest.mark.parametrize("how", ["Escape key", "button"])
def test_quick_exit_leaves_no_way_back(watched: tuple[BrowserContext, PageWatch], how: str) -> None:
    """With the script (static/js/portal.js), Esc or the button leaves for a neutral page
    that replaces this one in the history: Back does not show the portal again."""
    context, _watch = watched
    page = context.new_page()
    page.goto("/code")
    page.goto("/")
    if how == "button":
        page.get_by_role("button", name="Quick exit").click()
    else:
        page.keyboard.press("Escape")
    expect(page).to_have_url("/bye")
    expect(page).to_have_title("Recipes")
    page.go_back()
    expect(page).to_have_url("/code")  # the page before the portal's last, not "/"
