"""static/js/sealing.js in headless Chromium, on a real portal page under the real CSP.

The module is imported the way the pages will import it (same origin, no eval, no
inline script); everything it seals or wraps is opened by PyNaCl, and the other way round.
The `watched` fixture fails the test on any console error or warning, failed request or
request to another origin; a `securitypolicyviolation` listener must see nothing.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey
from playwright.sync_api import Browser, BrowserContext

from portal.crypto.envelopes import fingerprint, open_json, seal_json
from portal.crypto.wrapped_keys import unwrap, wrap
from tests.browser.conftest import PageWatch
from tests.live import LiveServer

VECTORS = json.loads(
    (Path(__file__).parents[1] / "crypto" / "vectors" / "envelopes.json").read_text("utf-8")
)
LISTEN_FOR_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""
# Chromium exempts code running on DevTools' evaluate stack from CSP's eval check, so the
# import and everything after it run in a page task of their own (a timer), where the page's
# CSP applies in full, as it will for the portal's own scripts.
EXERCISE = """
(args) => {
  async function exercise({ sk, pk, pythonEnvelope, pythonWrapped, vector }) {
    const m = await import("/static/js/sealing.js");
    const sk_ = m.fromBase64(sk), pk_ = m.fromBase64(pk);
    const attempt = async (fn) => {
      try { await fn(); return "ok"; } catch (e) { return e.name; }
    };
    const note = { v: 1, consultation: "c-browser", kind: "prepared_note", author: "ngo",
                   time: "2025-03-14T11:00:00Z", text: "Sealed in Chromium: ä, ру, 🙂" };
    const sealed = m.sealJson(pk_, note);
    const tampered = sealed.slice(); tampered[tampered.length - 1] ^= 1;
    const progress = [];
    const wrapped = await m.wrapSecretKey(sk_, "chromium passphrase",
      { opslimit: 2, memlimitKiB: 19456 }, (p) => progress.push(p));
    return {
      sealed: m.toBase64(sealed),
      openedOwn: m.openJson(sk_, sealed, { consultation: "c-browser", kind: "prepared_note" }),
      openedPython: m.openJson(sk_, m.fromBase64(pythonEnvelope), { consultation: "c-py" }),
      openedVector: m.openJson(
        m.fromBase64(vector.sk), m.fromBase64(vector.envelope_b64), vector.context),
      tampered: await attempt(() => m.openJson(sk_, tampered, {})),
      wrongContext: await attempt(() => m.openJson(sk_, sealed, { consultation: "c-other" })),
      wrapped: m.toBase64(wrapped),
      progressCalls: progress.length,
      unwrappedOwn: m.toBase64(await m.unwrapSecretKey(wrapped, "chromium passphrase", pk_)),
      unwrappedPython: m.toBase64(
        await m.unwrapSecretKey(m.fromBase64(pythonWrapped), "python passphrase", pk_)),
      wrongPassphrase: await attempt(() => m.unwrapSecretKey(wrapped, "wrong", pk_)),
      fingerprint: m.fingerprint(pk_),
      recoveryKey: m.newRecoveryKey(),
      hasNacl: typeof self.nacl?.box === "function",
      violations: await new Promise((r) => setTimeout(() => r(window.__cspViolations), 50)),
    };
  }
  return new Promise((resolve, reject) => {
    setTimeout(() => exercise(args).then(resolve, reject), 0);
  });
}
"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_sealing_module_under_the_real_csp(
    watched: tuple[BrowserContext, PageWatch],
) -> None:
    context, _watch = watched
    secret = PrivateKey.generate()
    sk, pk = bytes(secret), bytes(secret.public_key)
    python_note = {"v": 1, "consultation": "c-py", "kind": "client_note", "text": "PyNaCl"}

    page = context.new_page()
    page.add_init_script(LISTEN_FOR_CSP)
    response = page.goto("/login")
    assert response is not None
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    )  # the literal policy, not the constant it guards
    with page.expect_response("**/static/js/sealing.js") as module_response:
        result: dict[str, Any] = page.evaluate(
            EXERCISE,
            {
                "sk": b64(sk),
                "pk": b64(pk),
                "pythonEnvelope": b64(seal_json(pk, python_note)),
                "pythonWrapped": b64(wrap(sk, "python passphrase", opslimit=2, memlimit_kib=19456)),
                "vector": {**VECTORS["vectors"][0], "sk": VECTORS["secret_key_b64"]},
            },
        )
    assert "javascript" in module_response.value.headers["content-type"]

    sealed = base64.b64decode(result["sealed"])
    opened = open_json(sk, sealed, {"consultation": "c-browser", "kind": "prepared_note"})
    assert opened["text"] == "Sealed in Chromium: ä, ру, 🙂"
    assert result["openedOwn"] == opened
    assert result["openedPython"] == python_note
    assert result["openedVector"] == VECTORS["vectors"][0]["message"]
    assert result["tampered"] == "CannotOpen"
    assert result["wrongContext"] == "WrongContext"

    assert unwrap(base64.b64decode(result["wrapped"]), "chromium passphrase", pk) == sk
    assert base64.b64decode(result["unwrappedOwn"]) == sk
    assert base64.b64decode(result["unwrappedPython"]) == sk
    assert result["wrongPassphrase"] == "WrongPassphrase"
    assert result["progressCalls"] > 0

    assert result["fingerprint"] == fingerprint(pk)
    assert len(result["recoveryKey"]) == 39
    assert result["hasNacl"]
    assert result["violations"] == []


def test_csp_listener_does_see_a_violation(browser: Browser, demo_server: LiveServer) -> None:
    """The control: the same listener on the same page reports a blocked module import.

    (Playwright's own evaluate is exempt from the eval check, so eval is no control.)
    """
    context = browser.new_context(base_url=demo_server.url)
    try:
        page = context.new_page()
        page.add_init_script(LISTEN_FOR_CSP)
        page.goto("/login")
        outcome = page.evaluate(
            """async () => {
              let blocked = "";
              try { await import("data:text/javascript,export default 1"); }
              catch (e) { blocked = e.name; }
              await new Promise((resolve) => setTimeout(resolve, 100));
              return { blocked, violations: window.__cspViolations };
            }"""
        )
    finally:
        context.close()
    assert outcome["blocked"] == "TypeError"
    assert any(v.startswith("script-src") for v in outcome["violations"]), outcome
