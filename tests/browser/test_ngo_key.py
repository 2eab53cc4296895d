"""An NGO worker's key in a real browser: the NGO pages say what a worker without a key
cannot read and link the key page; the worker creates the key there (the browser makes
and wraps it), and the passphrase then unwraps it: the change-passphrase form opens the
key with the passphrase chosen, refuses a wrong one, and the recovery key opens it too.
The server's log holds no passphrase and no recovery key."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import PageWatch
from tests.browser.test_staff_login import sign_in
from tests.live import LiveServer

PASSPHRASE = "canary ngo browser passphrase 6620"
CHANGED = "canary ngo browser passphrase 9143"
RECOVERED = "canary ngo browser passphrase 2207"
WRONG = "canary ngo wrong passphrase 4471"
NO_KEY = "You have no key yet. Without it you cannot read or write the conversation"


def change_passphrase(page: Page, old: str, new: str, *, recover: bool = False) -> None:
    """Fill the change (or recovery) form; the script unwraps the key with ``old`` and
    wraps it under ``new`` before the form is sent."""
    form = page.locator("form[data-recover]" if recover else "form[data-change-passphrase]")
    form.get_by_label("Recovery key" if recover else "Current decryption passphrase").fill(old)
    form.get_by_label("New decryption passphrase").fill(new)
    form.get_by_label("The same passphrase again").fill(new)
    form.get_by_role(
        "button", name="Set a new passphrase" if recover else "Change the passphrase"
    ).click()


def test_an_ngo_worker_creates_a_key_and_its_passphrase_unwraps_it(
    watched: tuple[BrowserContext, PageWatch], demo_server: LiveServer
) -> None:
    demo_server.secrets += [PASSPHRASE, CHANGED, RECOVERED, WRONG]
    context, _watch = watched
    sign_in(context, "ngo")
    page = context.pages[-1]
    expect(page.get_by_role("link", name="Your key for sealed messages and notes")).to_be_visible()
    page.goto("/ngo")
    expect(page.get_by_text(NO_KEY)).to_be_visible()
    page.get_by_role("link", name="Create your key").click()
    expect(page).to_have_url("/staff/key")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your key for sealed messages and notes"
    )

    create = page.locator("form[data-create-key]")
    create.get_by_label("New decryption passphrase").fill(PASSPHRASE)
    create.get_by_label("The same passphrase again").fill(PASSPHRASE)
    create.get_by_role("button", name="Create my key").click()
    expect(create.locator(".recovery-sheet")).to_be_visible(timeout=60_000)
    recovery = create.locator("[data-recovery-key]").inner_text()
    assert len(recovery.replace("-", "")) == 32
    demo_server.secrets.append(recovery)
    made = create.locator("[data-fingerprint]").inner_text()
    create.get_by_label("I have printed or written down my recovery key").check()
    create.get_by_role("button", name="Save my key").click()
    expect(
        page.get_by_text("Your key is ready. Messages and notes can now be sealed to you.")
    ).to_be_visible()
    page.wait_for_load_state()  # the new page's script: it unwraps before the form is sent
    expect(page.locator("dl.facts code.fingerprint")).to_have_text(made)

    # A wrong passphrase does not unwrap the key: nothing is sent.
    change_passphrase(page, WRONG, CHANGED)
    status = page.locator("form[data-change-passphrase] .key-status")
    expect(status).to_have_text("The passphrase or recovery key is wrong.", timeout=60_000)
    expect(page).to_have_url("/staff/key?done=created")

    # The login password as the new passphrase: refused in the browser when it is typed
    # on the same form (the server sees that password at every sign-in).
    form = page.locator("form[data-change-passphrase]")
    form.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    change_passphrase(page, PASSPHRASE, DEMO_PASSWORD)
    expect(status).to_have_text(
        "Use a passphrase different from your login password: the server sees that password"
        " at every sign-in."
    )
    form.get_by_label("Password", exact=True).fill("")

    # The passphrase chosen at creation unwraps it (the sign-in is fresh: no password
    # and code asked), and then the new one does.
    change_passphrase(page, PASSPHRASE, CHANGED)
    expect(page.get_by_text("Your decryption passphrase was changed.")).to_be_visible(
        timeout=60_000
    )
    page.wait_for_load_state()  # as above: a new page
    change_passphrase(page, PASSPHRASE, RECOVERED)  # the old passphrase no longer opens it
    expect(status).to_have_text("The passphrase or recovery key is wrong.", timeout=60_000)

    # The recovery key opens the same key; the fingerprint stays. The page it leads to
    # says what the page before it said, so the test waits for the form's navigation
    # itself (a visit started before it ends would be aborted by it).
    with page.expect_navigation(
        url=lambda url: url.endswith("/staff/key?done=passphrase"), timeout=60_000
    ):
        change_passphrase(page, recovery.lower(), RECOVERED, recover=True)
    expect(page.get_by_text("Your decryption passphrase was changed.")).to_be_visible(
        timeout=60_000
    )
    expect(page.locator("dl.facts code.fingerprint")).to_have_text(made)

    page.goto("/ngo")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bookings")
    expect(page.get_by_text(NO_KEY)).to_have_count(0)
