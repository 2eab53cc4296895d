"""The client's journey over a Tor-like link: requests per page and seconds per step.

Debian's Chromium drives ``portal serve`` on a fresh SQLite demo database through
Chromium's own network emulation (DevTools ``Network.emulateNetworkConditions``): 500 ms
round trip, 1 Mbit/s each way, as a Tor circuit often is. The journey is the client's
first visit: the front page, the choice of a language, the code page, the slip's code,
then the meeting page with the client code. Once with JavaScript and once without
(Tor Browser's "safest" setting). The browser's cache starts empty, as on a first visit.

    .venv/bin/python bench/slow_link.py [--rtt-ms 500] [--kbit 1000]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SLIP = re.compile(r"the code of a demo slip: ([0-9 ]+)")
PORT = 8713


def _env(work: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PORTAL_DEV_SECRET_FILE": str(work / "secret"),
        "PORTAL_PURGE_INTERVAL_SECONDS": "0",
        "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{PORT}",
    }


def demo(work: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "portal", "demo"],
        cwd=work,
        env=_env(work),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = SLIP.search(out)
    if found is None:
        raise SystemExit(f"portal demo printed no slip: {out}")
    return found.group(1)


def journey(page: Page, base: str, slip: str) -> list[tuple[str, int, float]]:
    """Each step: its name, the requests it made, its seconds."""
    steps: list[tuple[str, Callable[[], None]]] = [
        ("front page", lambda: page.goto(base + "/")),
        ("choose a language", lambda: page.locator("button[value=en]").click()),
        ("enter the slip's code", lambda: _enter(page, slip)),
        ("open the meeting page", lambda: page.locator('a[href="/meeting"]').click()),
    ]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    measured = []
    for name, action in steps:
        before = len(requests)
        started = time.perf_counter()
        action()
        page.wait_for_load_state("load")
        measured.append((name, len(requests) - before, time.perf_counter() - started))
    return measured


def _enter(page: Page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()


def run(base: str, work: Path, rtt_ms: int, kbit: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        for javascript in (True, False):
            slip = demo(work)  # a fresh slip each time (the demo replaces the data)
            context = browser.new_context(java_script_enabled=javascript)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send(
                "Network.emulateNetworkConditions",
                {
                    "offline": False,
                    "latency": rtt_ms,
                    "downloadThroughput": kbit * 1000 / 8,
                    "uploadThroughput": kbit * 1000 / 8,
                },
            )
            steps = journey(page, base, slip)
            total = sum(seconds for _name, _count, seconds in steps)
            label = "with JavaScript" if javascript else "without JavaScript"
            print(f"\n{label} ({rtt_ms} ms round trip, {kbit} kbit/s):")
            for name, count, seconds in steps:
                print(f"  {name:<24} {count:>2} requests  {seconds:5.2f} s")
            count = sum(c for _n, c, _s in steps)
            print(f"  {'whole journey':<24} {count:>2} requests  {total:5.2f} s")
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt-ms", type=int, default=500)
    parser.add_argument("--kbit", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        demo(work)
        server = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(PORT)],
            cwd=work,
            env=_env(work),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{PORT}"
        try:
            for _ in range(200):
                try:
                    with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310 - local
                        break
                except OSError:
                    time.sleep(0.1)
            run(base, work, args.rtt_ms, args.kbit)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
