"""WCAG 2.2 AA in a real browser: axe-core on every page of every actor, a keyboard-only
client journey with visible focus, and client pages at 360 px wide and 200% text size.

axe-core is vendored for tests only. The portal's CSP forbids inline scripts, so axe runs
through ``page.evaluate`` (the DevTools protocol, outside the page's CSP) and is never
served by the portal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD
from portal.i18n import LOCALE_NAMES
from tests.browser.booking import answer_needs
from tests.browser.conftest import PageWatch
from tests.browser.test_staff_login import SECRETS
from tests.live import LiveServer, live_server, run_portal

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
AXE_RUN = (
    AXE + "; axe.run(document, {runOnly: {type: 'tag', values: "
    "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
    " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))"
)
CLIENT_LANGUAGES = ["fi", "ar", "th"]
INFO_PAGES = [
    "/help",
    "/help/meeting",
    "/help/report",
    "/help/support",
    "/help/time-to-think",
    "/help/interpreter",
]
STAFF_PAGES = {
    "ngo": ["/ngo", "/ngo/book?searched", "slip", "/ngo/consultations/", "/staff/key"],
    "investigator": [
        "/investigator",
        "/investigator/slots",
        "/staff/key",
        "/investigator/consultations/",
        "/investigator/week",
        "/investigator/day",
        "/staff/passkeys",
    ],
    # The demo's first booking is asked of the assistance system's advisers (open).
    "adviser": ["/staff", "/adviser", "/adviser/requests/"],
    # The second is asked of municipal services, whose adviser joins its meeting.
    "ankkuri": ["/adviser", "/adviser/consultations/"],
    "coordinator": [
        "/staff",
        "/coordinator/people",
        "/coordinator/organisations",
        "/coordinator/places",
        "place languages",
        "/coordinator/schedule",
        "/coordinator/meetings/{id}/interpreter",
        "/coordinator/consent",
        "/coordinator/retention",
        "/coordinator/audit",
        "/coordinator/week",
        "/coordinator/passkeys",
        "/staff/passkeys",
    ],
}
FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(),
    text: (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 80),
    name: e.getAttribute('name') || '',
    focusVisible: e.matches(':focus-visible'),
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
  };
}"""

WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > innerWidth + 1
    || e.scrollWidth > e.clientWidth + 1)
  .map(e => e.tagName.toLowerCase() + '.' + e.className + ' ' + (e.innerText || '').slice(0, 40))
  .slice(0, 8)"""


def assert_no_violations(page: Page, what: str) -> None:
    # The page as its user gets it: after its load event, once its scripts have run (a
    # click that navigated returns before that).
    page.wait_for_load_state()
    violations = page.evaluate(AXE_RUN)
    assert violations == [], f"{what} ({page.url}): {violations}"


# One demo server for the whole module: the pages are only read, plus a few bookings.
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("a11y")
    result = run_portal(workdir, "demo")
    assert result.returncode == 0, result.stderr
    with live_server(workdir) as live:
        yield live
    log = "\n".join(live.output)
    assert not [secret for secret in live.secrets if secret in log]


WATCHES: dict[int, PageWatch] = {}


def watched_context(browser: Browser, server: LiveServer, **options: Any) -> BrowserContext:
    """A context that fails its test on console errors, failed or other-origin requests."""
    context = browser.new_context(base_url=server.url, **options)
    watch = PageWatch(server.url)
    context.on("page", watch.attach)
    WATCHES[id(context)] = watch
    return context


def close_clean(context: BrowserContext) -> None:
    watch = WATCHES.pop(id(context))
    context.close()
    watch.assert_clean()


def signed_in(browser: Browser, server: LiveServer, username: str) -> Page:
    """A staff member signed in, with Finnish pages (the language buttons in the footer)."""
    page = watched_context(browser, server).new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_at(SECRETS[username], int(time.time()))
    )
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    page.locator("footer button[name=locale][value=fi]").click()
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    return page


def search_times(page: Page, client_locale: str) -> None:
    """The NGO worker's booking page with matching times (in any staff language)."""
    page.goto("/ngo/book")
    answer_needs(page, client_locale=client_locale)
    # A full search, not htmx's live refresh, so no late swap can undo the choice below.
    with page.expect_navigation():
        page.locator("button[name=action][value=search]").click()
    expect(page.locator("#slot-results input[type=radio]").first).to_be_visible()


def book(page: Page, client_locale: str) -> str:
    """Book the first matching free time; returns the slip's code."""
    search_times(page, client_locale)
    page.locator("#slot-results input[type=radio]").first.check()
    page.locator("button[name=action][value=book]").click()
    code = page.locator(".slip-code").inner_text()
    assert len(code.replace(" ", "")) == 18
    return code


@pytest.fixture(scope="module")
def staff(browser: Browser, server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """Signs each staff member in once (TOTP codes are single use) and keeps the page."""
    pages: dict[str, Page] = {}

    def get(username: str) -> Page:
        if username not in pages:
            pages[username] = signed_in(browser, server, username)
        return pages[username]

    yield get
    for page in pages.values():
        close_clean(page.context)


@pytest.fixture(scope="module")
def new_slip(browser: Browser, server: LiveServer) -> Iterator[Callable[[str], str]]:
    """Slip codes booked by a second NGO worker, one fresh code per call."""
    pages: list[Page] = []

    def get(client_locale: str) -> str:
        if not pages:
            pages.append(signed_in(browser, server, "ngo2"))
        return book(pages[0], client_locale)

    yield get
    for page in pages:
        close_clean(page.context)


def staff_path(page: Page, path: str) -> str:
    """Pages whose address comes from data: a new slip, the first consultation listed."""
    if path == "slip":
        book(page, "fi")
        return page.url
    if path == "/adviser/requests/":
        page.goto("/adviser")
        return str(page.locator(f"main a[href^='{path}']").first.get_attribute("href"))
    if path.endswith("/interpreter"):  # a meeting's interpreter, from the schedule
        page.goto("/coordinator/schedule")
        link = page.locator("main a[href$='/interpreter']").first
        return str(link.get_attribute("href"))
    if path.endswith("/consultations/"):
        page.goto(path.removesuffix("consultations/").rstrip("/"))
        link = page.locator(f"main a[href^='{path}']").first
        return str(link.get_attribute("href"))
    if path == "place languages":  # the first place's names per language
        page.goto("/coordinator/places")
        return str(page.locator("main a[href$='/languages']").first.get_attribute("href"))
    return path


@pytest.mark.parametrize(
    ("username", "path"),
    [(username, path) for username, paths in STAFF_PAGES.items() for path in paths],
)
def test_staff_pages_have_no_violations(
    staff: Callable[[str], Page], username: str, path: str
) -> None:
    page = staff(username)
    if path == "/ngo/book?searched":
        search_times(page, "ar")
    else:
        page.goto(staff_path(page, path))
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    assert_no_violations(page, f"{username} {path}")


@pytest.mark.parametrize("language", CLIENT_LANGUAGES)
def test_public_and_client_pages_have_no_violations(
    browser: Browser, server: LiveServer, new_slip: Callable[[str], str], language: str
) -> None:
    code = new_slip(language)
    context = watched_context(browser, server)
    page = context.new_page()
    page.goto("/")
    assert_no_violations(page, "front page")
    page.get_by_role("button", name=LOCALE_NAMES[language]).click()
    expect(page).to_have_url("/code")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_no_violations(page, "code page")
    page.goto("/")
    assert_no_violations(page, "front page in the language")

    page.goto("/code")
    page.locator("input[name=code]").fill(code)
    page.locator("form[action='/code'] button[type=submit]").click()
    expect(page.locator(".client-code")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_no_violations(page, "new client code")
    page.locator("main a[href='/meeting']").click()
    expect(page).to_have_url("/meeting")
    assert_no_violations(page, "meeting")
    page.locator("form[action$='/answer'] input[value=confirm] ~ button").click()
    expect(page.locator("main .notice[role=status]")).to_be_visible()
    assert_no_violations(page, "meeting, confirmed")
    page.goto("/meeting/messages")
    assert_no_violations(page, "all messages")
    # Information for clients (web/client_info.py), reached from the header.
    page.locator("header a[href='/help']").click()
    expect(page).to_have_url("/help")
    for path in INFO_PAGES:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_no_violations(page, path)
    # Quick exit ends the session, language and all, so these come last.
    for path in ["/login", "/bye"]:
        page.goto(path)
        assert_no_violations(page, path)
    close_clean(context)

    # Error pages: the browser rightly logs their 400 and 404, so these are not watched.
    other = browser.new_context(base_url=server.url)
    page = other.new_page()
    page.goto("/")
    page.get_by_role("button", name=LOCALE_NAMES[language]).click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("input[name=code]").fill("1234")
    page.locator("form[action='/code'] button[type=submit]").click()
    expect(page.locator("main .error")).to_be_visible()
    assert_no_violations(page, "code page with an error")
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    assert_no_violations(page, "404 page")
    other.close()


def press_tab_until(page: Page, wanted: Callable[[dict[str, Any]], bool]) -> None:
    """Tab forward until ``wanted`` holds; every element on the way shows its focus."""
    for _ in range(40):
        page.keyboard.press("Tab")
        focused: dict[str, Any] = page.evaluate(FOCUSED)
        if focused["tag"] == "body":
            continue
        assert focused["focusVisible"] and focused["outline"], f"focus not visible: {focused}"
        if wanted(focused):
            return
    raise AssertionError("never reached the wanted element with Tab")


def test_keyboard_only_client_journey(
    browser: Browser, server: LiveServer, new_slip: Callable[[str], str]
) -> None:
    code = new_slip("en")
    context = watched_context(browser, server)
    page = context.new_page()
    page.goto("/")
    press_tab_until(page, lambda f: f["text"] == "English")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    press_tab_until(page, lambda f: f["name"] == "code")
    page.keyboard.type(code)
    press_tab_until(page, lambda f: f["text"] == "Continue")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="This is your own code")).to_be_visible()
    press_tab_until(page, lambda f: f["text"].startswith("I have kept my code"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your meeting")).to_be_visible()
    press_tab_until(page, lambda f: f["text"] == "I will come")
    page.keyboard.press("Enter")
    expect(page.get_by_text("You confirmed the meeting")).to_be_visible()
    close_clean(context)


def assert_fits(page: Page, what: str) -> None:
    """Text at 200%, then: no sideways scrolling, and every main button fully on screen."""
    page.wait_for_load_state()  # as in assert_no_violations
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("innerWidth")
    wide = page.evaluate(WIDER_THAN_SCREEN)
    assert width <= inner + 1, f"{what}: page is {width} px wide on a {inner} px screen: {wide}"
    buttons = page.locator("main button, main a.button, main input")
    assert buttons.count() > 0
    for index in range(buttons.count()):
        button = buttons.nth(index)
        if button.get_attribute("type") == "hidden":
            continue
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["x"] >= -1 and box["x"] + box["width"] <= inner + 1, f"{what}: {box}"


@pytest.mark.parametrize("language", CLIENT_LANGUAGES)
def test_client_pages_fit_a_small_screen_at_double_text_size(
    browser: Browser, server: LiveServer, new_slip: Callable[[str], str], language: str
) -> None:
    code = new_slip(language)
    context = watched_context(browser, server, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto("/")
    assert_fits(page, "front page")
    page.locator(f"main button[name=locale][value={language}]").click()
    expect(page).to_have_url("/code")
    assert_fits(page, "code page")
    page.locator("input[name=code]").fill(code)
    page.locator("form[action='/code'] button[type=submit]").click()
    expect(page.locator(".client-code")).to_be_visible()
    assert_fits(page, "new client code")
    page.locator("main a[href='/meeting']").click()
    expect(page).to_have_url("/meeting")
    assert_fits(page, "meeting")
    close_clean(context)


@pytest.fixture(scope="module")
def referral_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A demo server with an adviser and one referral (tests/browser/test_referral.py)."""
    from tests.browser.test_referral import add_referral

    workdir = tmp_path_factory.mktemp("a11y-referrals")
    result = run_portal(workdir, "demo")
    assert result.returncode == 0, result.stderr
    ids = add_referral(workdir)
    with live_server(workdir) as live:
        yield live, ids


def test_referral_pages_have_no_violations(
    browser: Browser, referral_server: tuple[LiveServer, dict[str, str]]
) -> None:
    """The adviser's list and referral, the coordinator's list, and the referral section
    (status table and send form) on the investigator's and the NGO's consultation page."""
    from tests.browser.test_referral import ADVISER, ADVISER_TOTP

    server, ids = referral_server
    secrets = {**SECRETS, ADVISER: ADVISER_TOTP}
    pages = {
        ADVISER: ["/adviser/referrals", f"/adviser/referrals/{ids['referral']}"],
        "coordinator": ["/coordinator/referrals"],
        ids["investigator"]: [f"/investigator/consultations/{ids['consultation']}"],
        "ngo": [f"/ngo/consultations/{ids['consultation']}"],
    }
    for username, paths in pages.items():
        context = watched_context(browser, server)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_label("Code from your authenticator app").fill(
            code_at(secrets[username], int(time.time()))
        )
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        page.locator("footer button[name=locale][value=fi]").click()
        expect(page.locator("html")).to_have_attribute("lang", "fi")
        for path in paths:
            page.goto(path)
            expect(page.locator("html")).to_have_attribute("lang", "fi")
            if path.startswith(("/investigator/consultations/", "/ngo/consultations/")):
                expect(page.locator("#referrals table")).to_be_visible()
                expect(page.locator("form[data-referral-form]")).to_be_visible()
            assert_no_violations(page, f"{username} {path}")
        close_clean(context)
