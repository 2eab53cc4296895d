"""A second sender's redemption time while one sender floods wrong codes.

``portal serve`` on a fresh SQLite demo database, with the production argon2 settings
(t=3, 64 MiB). A flooder bound to 127.0.0.2 keeps CONNECTIONS requests of wrong codes
in flight for the whole run; a visitor bound to 127.0.0.3 redeems a slip and signs in
with its client code, once before the flood and again during it. The figure: the
visitor's time per step, quiet and under the flood, and what the flooder got.

    .venv/bin/python bench/fairness.py [--seconds 20] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx2 as httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CLIENT_CODE = re.compile(r'class="client-code"[^>]*><strong>([0-9 ]+)</strong>')
SLIP = re.compile(r"the code of a demo slip: ([0-9 ]+)")


def demo(work: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "portal", "demo"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        env=_env(work),
    ).stdout
    found = SLIP.search(out)
    if found is None:
        raise SystemExit(f"portal demo printed no slip: {out}")
    return found.group(1)


def _env(work: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PORTAL_DEV_SECRET_FILE": str(work / "secret"),
        "PORTAL_PURGE_INTERVAL_SECONDS": "0",
    }


def client(source: str, base: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=60)


async def enter(http: httpx.AsyncClient, code: str) -> tuple[int, float, str]:
    """One code entry as a browser makes it (form, then post); status, seconds, page."""
    started = time.perf_counter()
    page = await http.get("/code")
    _keep_cookie(http, page)
    token = TOKEN.search(page.text)
    if token is None:
        raise SystemExit("no form on /code")
    answer = await http.post(
        "/code",
        data={"csrf_token": token.group(1), "code": code},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    _keep_cookie(http, answer)
    return answer.status_code, time.perf_counter() - started, answer.text


def _keep_cookie(http: httpx.AsyncClient, response: httpx.Response) -> None:
    """The session cookie is Secure (``__Host-``), which httpx will not send back over
    plain HTTP: kept by hand, as a browser on localhost would."""
    for value in response.headers.get_list("set-cookie"):
        http.headers["cookie"] = value.split(";", 1)[0]


async def visitor(base: str, slip: str) -> list[tuple[str, int, float]]:
    steps = []
    async with client("127.0.0.3", base) as http:
        status, seconds, page = await enter(http, slip)
        steps.append(("redeem the slip", status, seconds))
        found = CLIENT_CODE.search(page)
        if found is None:
            return steps
        for _ in range(3):
            http.headers.pop("cookie", None)
            status, seconds, _page = await enter(http, found.group(1))
            steps.append(("sign in with the client code", status, seconds))
    return steps


async def flood(base: str, connections: int, stop: asyncio.Event) -> Counter[int]:
    statuses: Counter[int] = Counter()

    async def one(http: httpx.AsyncClient, n: int) -> None:
        while not stop.is_set():
            status, _seconds, _page = await enter(http, f"{n:018d}")
            statuses[status] += 1
            n += connections

    async with client("127.0.0.2", base) as http:
        await asyncio.gather(*(one(http, i) for i in range(connections)))
    return statuses


async def run(base: str, work: Path, seconds: float, connections: int) -> None:
    quiet = await visitor(base, demo(work))
    slip = demo(work)  # a fresh slip (the demo replaces the first)
    stop = asyncio.Event()
    flooding = asyncio.create_task(flood(base, connections, stop))
    await asyncio.sleep(seconds / 2)
    loud = await visitor(base, slip)
    await asyncio.sleep(seconds / 2)
    stop.set()
    statuses = await flooding
    print(f"flooder (127.0.0.2, {connections} in flight for {seconds:.0f} s): {dict(statuses)}")
    for (step, status, before), (_same, status_loud, during) in zip(quiet, loud, strict=False):
        print(
            f"visitor (127.0.0.3) {step}: quiet {before * 1000:.0f} ms ({status}), "
            f"during the flood {during * 1000:.0f} ms ({status_loud})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        demo(work)
        port = 8711
        server = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port)],
            cwd=work,
            env=_env(work),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            asyncio.run(run(base, work, args.seconds, args.connections))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
