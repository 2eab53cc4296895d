"""Real-browser tests: pytest-playwright driving Debian's Chromium (no browser download).

Every page load is watched: a console error, a CSP violation, a failed request or a
request to another origin fails the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Route
from playwright.sync_api import Error as PlaywrightError

from tests.live import LiveServer, live_server, run_portal

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
# PORTAL_TEST_SLOW_SCRIPTS=<ms> delays every response for /static/js/ and /static/vendor/
# by that long in every browser context, as on a slow phone: a test that acts before the
# page's scripts have run then fails every time, not once in a while on CI. Off unless set.
SLOW_SCRIPTS_MS = int(os.environ.get("PORTAL_TEST_SLOW_SCRIPTS") or 0)

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not shutil.which(CHROMIUM):
                item.add_marker(
                    pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
                )


def _slow_script(route: Route) -> None:
    # Not time.sleep(), which would stop the test as well: the handler runs in its own
    # greenlet, and this wait lets the test go on meanwhile.
    with contextlib.suppress(PlaywrightError):  # the page closed meanwhile
        route.request.frame.page.wait_for_timeout(SLOW_SCRIPTS_MS)
    route.fallback()  # always: a route left unhandled stays pending until the loop ends


@pytest.fixture(autouse=True)
def _slow_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    """With PORTAL_TEST_SLOW_SCRIPTS, every context made (fixtures, tests' own
    browser.new_context) delays the scripts."""
    if not SLOW_SCRIPTS_MS:
        return
    new_context = Browser.new_context

    def slowed(self: Browser, *args: Any, **kwargs: Any) -> BrowserContext:
        context = new_context(self, *args, **kwargs)
        for scripts in ("**/static/js/**", "**/static/vendor/**"):
            context.route(scripts, _slow_script)
        return context

    monkeypatch.setattr(Browser, "new_context", slowed)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[LiveServer]:
    result = run_portal(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    with live_server(tmp_path) as server:
        yield server
    log = "\n".join(server.output)
    leaked = [secret for secret in server.secrets if secret in log]
    assert not leaked, f"secrets in the server's log: {leaked}"


class PageWatch:
    """Collects everything on a page that a careful user or auditor would call a fault."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []

    def attach_no_js(self, page: Page) -> Page:
        """For a context with JavaScript off: Chromium then refuses every script fetch,
        module preloads included, and reports it as a CSP failure. That is the browser
        honouring the switch, not a fault of the page."""
        page.on("console", self._console)
        page.on(
            "requestfailed",
            lambda r: (
                None if r.resource_type == "script" and r.failure == "csp" else self._failed(r)
            ),
        )
        page.on("request", self._request)
        return page

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("requestfailed", self._failed)
        page.on("request", self._request)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            self.problems.append(f"console {message.type}: {message.text}")

    def _failed(self, request: Request) -> None:
        # A navigation cancels what the previous page still had in flight (its favicon,
        # say); that is the browser's normal housekeeping, not a fault.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"failed: {request.url} ({request.failure})")

    def _request(self, request: Request) -> None:
        if not request.url.startswith(self.origin) and not request.url.startswith("data:"):
            self.problems.append(f"other origin: {request.url}")

    def expect_one_refusal(self, status: int, *, times: int = 1) -> None:
        """A page refused on purpose (a 400 with the reasons, a 403 for an ended session)
        is reported by Chromium on the console: exactly that one report is expected (or
        ``times`` of them), any other problem still fails the test."""
        report = (
            "console error: Failed to load resource: the server responded with a status"
            f" of {status}"
        )
        refusals = [p for p in self.problems if p.startswith(report)]
        assert len(refusals) == times, self.problems
        for refusal in refusals:
            self.problems.remove(refusal)

    def assert_clean(self) -> None:
        assert not self.problems, self.problems


@pytest.fixture
def watched(
    browser: Browser, demo_server: LiveServer
) -> Iterator[tuple[BrowserContext, PageWatch]]:
    context = browser.new_context(base_url=demo_server.url)
    watch = PageWatch(demo_server.url)
    context.on("page", watch.attach)
    yield context, watch
    context.close()
    watch.assert_clean()


@pytest.fixture
def watched_no_js(
    browser: Browser, demo_server: LiveServer
) -> Iterator[tuple[BrowserContext, PageWatch]]:
    context = browser.new_context(base_url=demo_server.url, java_script_enabled=False)
    watch = PageWatch(demo_server.url)
    context.on("page", watch.attach_no_js)
    yield context, watch
    context.close()
    watch.assert_clean()
