"""The coordinator's invitation form in a real browser: after a refusal, choosing another
organisation offers that organisation's roles (the page holds every role; the script
offers those of the chosen kind), and nothing typed is lost."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_staff_login import sign_in


def test_after_a_refusal_another_organisation_offers_its_roles(
    watched: tuple[BrowserContext, PageWatch],
) -> None:
    context, watch = watched
    sign_in(context, "coordinator")
    page = context.pages[-1]
    page.goto("/coordinator/people")
    page.get_by_label("Name").fill("Ilona Testinen")
    page.locator("#f-organisation_id").select_option(label="Harbour Women's Support Centre")
    page.locator("form[data-invite-form] button[type=submit]").click()
    expect(page.locator("#f-role-error")).to_have_text("Choose a role.")
    watch.expect_one_refusal(400)
    expect(page.get_by_label("Name")).to_have_value("Ilona Testinen")
    police = page.locator("#f-organisation_id option[data-kind=police]").first
    page.locator("#f-organisation_id").select_option(police.get_attribute("value"))
    page.locator("#f-role").select_option("investigator")
    expect(page.locator("#f-role")).to_have_value("investigator")
