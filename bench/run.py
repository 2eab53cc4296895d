"""Benchmarks of DESIGN.md section 7, with one command, printing a table.

    .venv/bin/python bench/run.py [--quick] [--postgres postgresql://postgres@127.0.0.1/bench]

For each backend (SQLite always; PostgreSQL with --postgres) and each dataset size
(100, 10,000 and 100,000 consultations), a fresh database is migrated with
``portal migrate`` and filled in bulk (bench/dataset.py); then ``portal serve`` (one
uvicorn process) and a bare Starlette "hello" app (bench/hello.py, same uvicorn) run on
free loopback ports and wrk (2 threads, 32 connections) measures, in the same run:

* the client meeting page, the NGO slot search, the investigator dashboard and the login
  page: requests/s, p50 and p99 latency, and the ratio to the hello app (three rounds of
  hello then page, 5 s each, 2 s with --quick; the median round is the figure);
* a flood of 200 concurrent wrong codes and 200 wrong passwords while wrk loads the
  meeting page: answers by status (429 = refused before hashing), the meeting page's
  latency meanwhile, and the server's peak memory (VmHWM);
* bytes: JavaScript and total transfer per page, gzipped, from the real rendered pages;
* argon2 unlock of an investigator key in headless Chromium (skipped if unavailable);
* the in-process time to open the envelopes of a 20-message conversation for a client
  (bench/envelopes.py, budget 2 ms);
* the client's first journey over a Tor-like link (bench/slow_link.py: 500 ms round
  trip, 1 Mbit/s, Chromium's network emulation), with and without JavaScript: requests
  and seconds per step (skipped if Chromium is missing).

Nothing is installed at run time: wrk must be there (Debian: ``apt-get install wrk``).
The PostgreSQL database named in --postgres is created and dropped by the benchmark, so
its name must start with "bench".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import dataset  # noqa: E402
import httpx2 as httpx  # noqa: E402

BIN = Path(sys.executable).parent
COOKIE = "__Host-sid"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SIZES = (100, 10_000, 100_000)
BUDGET = {"sqlite": 25.0, "postgresql": 18.0}  # % of bare Starlette (docs/design.md)
BUDGETED_PAGES = {"meeting", "meeting_20", "ngo_search"}
JS_BUDGET, TOTAL_BUDGET = 30 * 1024, 60 * 1024
NEEDS = {
    "client_locale": "en", "language": "fi", "interpreter_needed": "no",
    "interpreter_gender": "any", "interpreter_other_community": "no",
    "investigator_gender": "any", "support_person": "yes", "accessibility": "none",
    "childcare": "no", "venue_preference": "any", "urgency": "soon", "minor": "no",
    "reflection_period": "unsure", "safe_contact": "via_ngo",
}  # fmt: skip

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


# --- processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def peak_rss_kib(self) -> int:
        return _status_kib(self.process.pid, "VmHWM")

    def rss_kib(self) -> int:
        return _status_kib(self.process.pid, "VmRSS")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def start(
    name: str, argv: list[str], env: dict[str, str], port: int, probe: str, work: Path
) -> Server:
    log = work / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=work)
    server = Server(name, process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited at start:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.base + probe, timeout=2).status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise SystemExit(f"{name} did not answer on {server.base}{probe} within 60 s")


def portal_env(database_url: str, work: Path, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=database_url,
        PORTAL_SECRET_KEY=secret,
        PORTAL_DEV_SECRET_FILE=str(work / "dev-secret"),
        # The daily purge would scan the table once at start; not what is measured here.
        PORTAL_PURGE_INTERVAL_SECONDS="0",
    )
    return env


def portal_argv() -> list[str]:
    """``portal serve``, less the address (--host and --port follow)."""
    return [str(BIN / "portal"), "serve"]


def hello_argv() -> list[str]:
    """The bare Starlette app under the same uvicorn, less the address."""
    return [
        str(BIN / "python"), "-m", "uvicorn", "--app-dir", str(HERE), "hello:app",
        "--no-access-log", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip


def address(port: int) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port)]


def start_portal(env: dict[str, str], work: Path) -> Server:
    port = free_port()
    return start("portal", portal_argv() + address(port), env, port, "/healthz", work)


def start_hello(work: Path) -> Server:
    port = free_port()
    return start("hello", hello_argv() + address(port), dict(os.environ), port, "/", work)


# --- wrk ------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int


def wrk_script(work: Path, name: str, *, method: str = "GET", body: str = "",
               cookie: str = "") -> Path:  # fmt: skip
    lines = [f'wrk.method = "{method}"']
    if body:
        lines.append(f"wrk.body = {json.dumps(body)}")
        lines.append('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
    if cookie:
        lines.append(f'wrk.headers["Cookie"] = "{COOKIE}={cookie}"')
    path = work / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n" + WRK_DONE)
    return path


def wrk_command(url: str, script: Path, seconds: int) -> list[str]:
    return ["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]


def parse_wrk(output: str) -> Load:
    found = re.search(r"^BENCH (\{.*\})$", output, re.M)
    if not found:
        raise SystemExit(f"wrk printed no summary:\n{output}")
    r = json.loads(found.group(1))
    return Load(
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        max_ms=r["max_us"] / 1000,
        requests=r["requests"],
        errors=r["socket_errors"] + r["status_errors"],
    )


def wrk(url: str, script: Path, seconds: int, warmup: int = 1) -> Load:
    if warmup:
        subprocess.run(wrk_command(url, script, warmup), capture_output=True, check=True)
    done = subprocess.run(
        wrk_command(url, script, seconds), capture_output=True, text=True, check=True
    )
    return parse_wrk(done.stdout)


# --- pages ----------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    cookie: str = ""
    body: str = ""
    expect: str = ""  # a piece of HTML the page must contain (we measure the right page)

    @property
    def method(self) -> str:
        return "POST" if self.body else "GET"


def check_page(base: str, page: Page) -> int:
    """Fetch the page once as wrk will; fail loudly if it is not the page we mean."""
    headers = {"Cookie": f"{COOKIE}={page.cookie}"} if page.cookie else {}
    if page.body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = httpx.request(
        page.method, base + page.path, headers=headers, content=page.body or None,
        follow_redirects=False, timeout=30,
    )  # fmt: skip
    if response.status_code != 200 or page.expect not in response.text:
        raise SystemExit(
            f"{page.name}: {page.method} {page.path} gave {response.status_code}"
            f" (expected 200 with {page.expect!r}):\n{response.text[:1500]}"
        )
    return len(response.content)


def csrf_for(base: str, path: str, sid: str) -> str:
    text = httpx.get(base + path, headers={"Cookie": f"{COOKIE}={sid}"}, timeout=30).text
    found = CSRF.search(text)
    if not found:
        raise SystemExit(f"no CSRF token on {path}")
    return found.group(1)


def pages_for(base: str, prepared: dataset.Prepared) -> list[Page]:
    from urllib.parse import urlencode

    token = csrf_for(base, "/ngo/book", prepared.ngo_sid)
    search = urlencode({"csrf_token": token, "action": "search", **NEEDS})
    return [
        Page("meeting", "/meeting", prepared.client_sid, expect="Bench place"),
        Page("meeting_20", "/meeting", prepared.talker_sid, expect="Message 19: can we meet"),
        Page("ngo_search", "/ngo/book", prepared.ngo_sid, search, expect='name="slot_id"'),
        Page("investigator", "/investigator", prepared.investigator_sid, expect="Bench-"),
        Page("login", "/login", expect='name="password"'),
    ]


@dataclass
class Row:
    backend: str
    size: int
    page: str
    rps: float
    p50_ms: float
    p99_ms: float
    ratio: float
    hello_rps: float
    html_bytes: int
    errors: int
    ratio_low: float = 0.0  # the lowest and highest ratio of the rounds (ratio: the median)
    ratio_high: float = 0.0
    app_ms: float = 0.0  # in-process (bench/inprocess.py): whole request, no server
    render_ms: float = 0.0
    db_ms: float = 0.0
    statements: float = 0.0


def measure_pages(
    backend: str,
    prepared: dataset.Prepared,
    portal: Server,
    hello: Server,
    work: Path,
    seconds: int,
    rounds: int,
    only: str | None = None,
) -> tuple[list[Row], list[Page]]:
    """Each page under wrk right after the hello app under wrk, ``rounds`` times in turn;
    the figure is the round with the median ratio. The machine may be shared and its
    speed comes and goes: a baseline taken just before each page keeps a ratio honest,
    and the median of several keeps one slow moment from deciding it."""
    pages = pages_for(portal.base, prepared)
    if only:
        pages = [page for page in pages if page.name in only.split(",")]
    sizes = {page.name: check_page(portal.base, page) for page in pages}
    hello_script = wrk_script(work, "hello")
    rows = []
    for page in pages:
        script = wrk_script(work, page.name, method=page.method, body=page.body, cookie=page.cookie)
        measured = []
        for _ in range(rounds):
            baseline = wrk(hello.base + "/", hello_script, seconds)
            measured.append((baseline, wrk(portal.base + page.path, script, seconds)))
        check_page(portal.base, page)  # still the same page (the session did not end)
        measured.sort(key=lambda pair: pair[1].rps / pair[0].rps)
        baseline, load = measured[len(measured) // 2]
        low, high = (100 * load.rps / base.rps for base, load in (measured[0], measured[-1]))
        rows.append(Row(
            backend, prepared.size, page.name, load.rps, load.p50_ms, load.p99_ms,
            100 * load.rps / baseline.rps, baseline.rps, sizes[page.name],
            sum(load.errors for _, load in measured), low, high,
        ))  # fmt: skip
        print(
            f"  {backend:<10} {prepared.size:>7} {page.name:<13} {load.rps:8.0f} req/s"
            f"  p50 {load.p50_ms:6.1f} ms  p99 {load.p99_ms:6.1f} ms"
            f"  {rows[-1].ratio:5.1f}% of hello ({baseline.rps:.0f} req/s),"
            f" rounds {low:.1f} to {high:.1f}%",
            flush=True,
        )
    return rows, pages


def breakdown(rows: list[Row], pages: list[Page], env: dict[str, str], work: Path) -> None:
    """Fill in where each page's time goes, from bench/inprocess.py on the same data."""
    requests = [[p.name, p.method, p.path, p.cookie, p.body] for p in pages]
    done = subprocess.run(
        [str(BIN / "python"), str(HERE / "inprocess.py"), env["PORTAL_DATABASE_URL"],
         env["PORTAL_SECRET_KEY"], json.dumps(requests)],
        env=env, cwd=work, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        print(f"  in-process breakdown failed:\n{done.stderr[-2000:]}")
        return
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for row in rows:
        if row.page in found:
            f = found[row.page]
            row.app_ms, row.render_ms = f["ms"], f["render_ms"]
            row.db_ms, row.statements = f["db_ms"], f["statements"]
            print(f"  {row.backend:<10} {row.size:>7} {row.page:<13} in-process {row.app_ms:5.2f}"
                  f" ms/request: render {row.render_ms:5.2f} ms, database {row.db_ms:5.2f} ms"
                  f" in {row.statements:.0f} statements", flush=True)  # fmt: skip


# --- flood ----------------------------------------------------------------------------


@dataclass
class Flood:
    backend: str
    size: int
    codes: dict[int, int] = field(default_factory=dict)
    logins: dict[int, int] = field(default_factory=dict)
    flood_seconds: float = 0.0
    meeting_quiet: Load | None = None
    meeting_during: Load | None = None
    probe_max_ms: float = 0.0
    rss_before_kib: int = 0
    peak_before_kib: int = 0
    peak_after_kib: int = 0


async def _flood(base: str, n: int, username: str) -> tuple[dict[int, int], dict[int, int], float]:
    sid = secrets.token_urlsafe(16)
    headers = {"Cookie": f"{COOKIE}={sid}"}
    limits = httpx.Limits(max_connections=2 * n + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=120) as client:  # fmt: skip
        tokens = {}
        for path in ("/code", "/login"):
            found = CSRF.search((await client.get(path)).text)
            assert found, f"no CSRF token on {path}"
            tokens[path] = found.group(1)

        async def code() -> int:
            digits = "".join(secrets.choice("0123456789") for _ in range(12))
            r = await client.post("/code", data={"csrf_token": tokens["/code"], "code": digits})
            return r.status_code

        async def login() -> int:
            r = await client.post("/login", data={
                "csrf_token": tokens["/login"], "username": username,
                "password": secrets.token_urlsafe(12), "totp_code": "000000",
            })  # fmt: skip
            return r.status_code

        started = time.monotonic()
        results = await asyncio.gather(*[code() for _ in range(n)], *[login() for _ in range(n)])
        elapsed = time.monotonic() - started
    count: list[dict[int, int]] = [{}, {}]
    for index, status in enumerate(results):
        bucket = count[0 if index < n else 1]
        bucket[status] = bucket.get(status, 0) + 1
    return count[0], count[1], elapsed


async def _probe(base: str, sid: str, stop: asyncio.Event) -> float:
    """Latency of single meeting-page views during the flood (on top of wrk's load)."""
    worst = 0.0
    async with httpx.AsyncClient(base_url=base, headers={"Cookie": f"{COOKIE}={sid}"},
                                 timeout=120) as client:  # fmt: skip
        while not stop.is_set():
            started = time.monotonic()
            r = await client.get("/meeting")
            assert r.status_code == 200, r.status_code
            worst = max(worst, time.monotonic() - started)
            await asyncio.sleep(0.02)
    return worst * 1000


def measure_flood(
    backend: str, prepared: dataset.Prepared, env: dict[str, str], work: Path, seconds: int,
    n: int = 200,
) -> Flood:  # fmt: skip
    """A fresh server (fresh rate limits, fresh peak memory), the meeting page under wrk,
    then 200 wrong codes and 200 wrong passwords at once in the middle of the wrk run."""
    result = Flood(backend, prepared.size)
    portal = start_portal(env, work)
    try:
        meeting = Page("meeting", "/meeting", prepared.client_sid, expect="Bench place")
        check_page(portal.base, meeting)
        script = wrk_script(work, "flood-meeting", cookie=prepared.client_sid)
        result.meeting_quiet = wrk(portal.base + "/meeting", script, seconds)
        result.rss_before_kib = portal.rss_kib()
        result.peak_before_kib = portal.peak_rss_kib()
        load = subprocess.Popen(
            wrk_command(portal.base + "/meeting", script, seconds),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(min(1.0, seconds / 3))

        async def attack() -> tuple[dict[int, int], dict[int, int], float, float]:
            stop = asyncio.Event()
            probe = asyncio.create_task(_probe(portal.base, prepared.client_sid, stop))
            codes, logins, elapsed = await _flood(portal.base, n, prepared.ngo_username)
            stop.set()
            return codes, logins, elapsed, await probe

        result.codes, result.logins, result.flood_seconds, result.probe_max_ms = asyncio.run(
            attack()
        )
        out, _ = load.communicate()
        result.meeting_during = parse_wrk(out)
        result.peak_after_kib = portal.peak_rss_kib()
    finally:
        portal.stop()
    return result


# --- bytes ----------------------------------------------------------------------------

ASSET = re.compile(
    r"<script\b[^>]*\bsrc=\"([^\"]+)\"|<link\b(?=[^>]*\brel=\"(?:modulepreload|stylesheet|icon)\")"
    r"[^>]*\bhref=\"([^\"]+)\"",
    re.I,
)
STATIC_IMPORT = re.compile(r"""^\s*import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']""", re.M)
FORM = re.compile(r"<form\b[^>]*>", re.I)


@dataclass
class Bytes:
    page: str
    client: bool
    html_gz: int
    js_gz: int
    css_gz: int
    other_gz: int
    forms: int
    forms_without_action: int
    scripts: list[str]

    @property
    def total_gz(self) -> int:
        return self.html_gz + self.js_gz + self.css_gz + self.other_gz


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def measure_bytes(base: str, prepared: dataset.Prepared) -> list[Bytes]:
    pages = [
        ("front page /", "/", "", True),
        ("code /code", "/code", "", True),
        ("meeting /meeting", "/meeting", prepared.client_sid, True),
        ("login /login", "/login", "", False),
        ("NGO /ngo/book", "/ngo/book", prepared.ngo_sid, False),
        ("investigator", "/investigator", prepared.investigator_sid, False),
    ]
    results = []
    for name, path, sid, client in pages:
        headers = {"Cookie": f"{COOKIE}={sid}"} if sid else {}
        html = httpx.get(base + path, headers=headers, timeout=30)
        assert html.status_code == 200, (path, html.status_code)
        queue = [a or b for a, b in ASSET.findall(html.text)]
        seen: dict[str, bytes] = {}
        while queue:
            url = urljoin(base + path, queue.pop(0))
            parts = urlsplit(url)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            if url in seen:
                continue
            body = httpx.get(url, timeout=30).content
            seen[url] = body
            if url.endswith(".js"):  # static imports load with the page; dynamic ones don't
                queue.extend(urljoin(url, m) for m in STATIC_IMPORT.findall(body.decode()))
        js = sum(_gz(b) for u, b in seen.items() if u.endswith(".js"))
        css = sum(_gz(b) for u, b in seen.items() if u.endswith(".css"))
        other = sum(_gz(b) for u, b in seen.items() if not u.endswith((".js", ".css")))
        forms = FORM.findall(html.text)
        results.append(Bytes(
            name, client, _gz(html.content), js, css, other, len(forms),
            sum(1 for f in forms if "action=" not in f), [urlsplit(u).path for u in seen],
        ))  # fmt: skip
    return results


# --- argon2 in Chromium ---------------------------------------------------------------

UNLOCK_JS = """
async ([wrapped, passphrase, publicKey]) => {
  const s = await import("/static/js/sealing.js");
  const times = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await s.unwrapSecretKey(s.fromBase64(wrapped), passphrase, s.fromBase64(publicKey));
    times.push(performance.now() - started);
  }
  return times;
}
"""


def measure_unlock(base: str, prepared: dataset.Prepared) -> list[float] | str:
    import base64

    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        return "skipped: /usr/bin/chromium is missing"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    args = [
        base64.b64encode(prepared.wrapped_key).decode(),
        dataset.PASSPHRASE,
        base64.b64encode(prepared.public_key).decode(),
    ]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True)
            try:
                page = browser.new_page()
                page.goto(base + "/login")
                times: list[float] = page.evaluate(UNLOCK_JS, args)
            finally:
                browser.close()
    except Exception as exc:  # a benchmark extra: report, don't crash the run
        return f"skipped: {type(exc).__name__}: {exc}"[:200]
    return times


# --- databases ------------------------------------------------------------------------


def migrate(env: dict[str, str], work: Path) -> None:
    subprocess.run([str(BIN / "portal"), "migrate"], env=env, cwd=work, check=True,
                   capture_output=True)  # fmt: skip


def bench_database_name(url: str) -> str:
    """The database the benchmark may create and drop: only one named bench*."""
    name = urlsplit(url).path.lstrip("/")
    if not re.fullmatch(r"bench\w*", name):
        raise SystemExit(f"--postgres: the database name must start with 'bench' (got {name!r})")
    return name


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """(Re)create the database named in ``url``, yield its URL, drop it afterwards."""
    import psycopg

    parts = urlsplit(url)
    name = bench_database_name(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))

    def run(sql: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(backend: str, postgres_url: str, work: Path, size: int) -> Iterator[str]:
    if backend == "sqlite":
        path = work / f"bench-{size}.sqlite3"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with postgres_database(postgres_url) as url:
            yield url


# --- report ---------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    mem = next(
        line.split(":", 1)[1].strip()
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    import starlette
    import uvicorn

    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
        "starlette": starlette.__version__,
        "wrk": wrk_version.split("\n")[0].strip(),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def print_table(rows: list[Row]) -> None:
    print()
    print("Throughput (wrk -t2 -c32), ratio to bare Starlette measured just before each page;")
    print("the round with the median ratio, and the lowest and highest of the rounds;")
    print("app/render/db: mean ms per request with the app called in-process (no server)")
    header = (f"{'backend':<10} {'size':>7} {'page':<13} {'req/s':>7} {'p50 ms':>7}"
              f" {'p99 ms':>7} {'% hello':>8} {'rounds':>11} {'budget':>9}  {'app ms':>6}"
              f" {'render':>6} {'db ms':>6} {'stmts':>5}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in rows:
        budget = BUDGET[r.backend] if r.page in BUDGETED_PAGES else None
        verdict = "" if budget is None else ("ok" if r.ratio >= budget else "OVER")
        mark = f"{budget:>3.0f}% {verdict}" if budget is not None else ""
        errors = f"  ({r.errors} errors)" if r.errors else ""
        spread = f"{r.ratio_low:.1f}-{r.ratio_high:.1f}"
        print(f"{r.backend:<10} {r.size:>7} {r.page:<13} {r.rps:>7.0f} {r.p50_ms:>7.1f}"
              f" {r.p99_ms:>7.1f} {r.ratio:>7.1f}% {spread:>11} {mark:>9}  {r.app_ms:>6.2f}"
              f" {r.render_ms:>6.2f} {r.db_ms:>6.2f} {r.statements:>5.0f}{errors}")  # fmt: skip


def print_flood(f: Flood) -> None:
    quiet, during = f.meeting_quiet, f.meeting_during
    assert quiet is not None and during is not None
    print(f"\nFlood ({f.backend}, {f.size} consultations): 200 wrong codes + 200 wrong passwords"
          f" at once, in {f.flood_seconds:.1f} s")  # fmt: skip
    for label, statuses in (("POST /code", f.codes), ("POST /login", f.logins)):
        refused = statuses.get(429, 0) + statuses.get(503, 0)
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        print(f"  {label:<12} {shown}  -> {refused} refused before hashing"
              f" (429/503), {sum(statuses.values()) - refused} hashed")  # fmt: skip
    print(f"  meeting page under wrk: quiet p50 {quiet.p50_ms:.1f} / p99 {quiet.p99_ms:.1f} ms,"
          f" {quiet.rps:.0f} req/s; during the flood p50 {during.p50_ms:.1f} / p99"
          f" {during.p99_ms:.1f} ms, max {during.max_ms:.0f} ms, {during.rps:.0f} req/s;"
          f" single-view probe max {f.probe_max_ms:.0f} ms")  # fmt: skip
    print(f"  server memory: RSS {f.rss_before_kib / 1024:.0f} MiB before, peak (VmHWM)"
          f" {f.peak_before_kib / 1024:.0f} MiB before -> {f.peak_after_kib / 1024:.0f} MiB"
          " after")  # fmt: skip


def measure_slow_link() -> None:
    """The client's journey over a Tor-like link, printed by bench/slow_link.py itself."""
    print("\nThe client's first journey over a Tor-like link (bench/slow_link.py)", flush=True)
    if not Path("/usr/bin/chromium").exists():
        print("  skipped: /usr/bin/chromium is missing")
        return
    subprocess.run([sys.executable, str(HERE / "slow_link.py")], check=False)


def print_bytes(results: list[Bytes]) -> None:
    print("\nBytes per page, gzip -6 (first load, empty cache; static JS imports followed)")
    print(f"{'page':<18} {'HTML':>7} {'JS':>7} {'CSS':>7} {'other':>7} {'total':>7}  budget")
    for b in results:
        verdict = ""
        if b.client:
            ok = b.js_gz <= JS_BUDGET and b.total_gz <= TOTAL_BUDGET and not b.forms_without_action
            verdict = ("ok" if ok else "OVER") + (
                f" (JS <= 30 KB, total <= 60 KB; {b.forms} forms, "
                f"{b.forms_without_action} without action)"
            )
        print(f"{b.page:<18} {b.html_gz:>7} {b.js_gz:>7} {b.css_gz:>7} {b.other_gz:>7}"
              f" {b.total_gz:>7}  {verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s per measurement, not 5 s")
    parser.add_argument(
        "--rounds", type=int, default=3, help="hello then page, this many times (the median)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run on PostgreSQL; the database (bench*) is created and dropped",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="consultations per dataset, comma-separated",
    )
    parser.add_argument(
        "--flood-size",
        type=int,
        default=10_000,
        help="the dataset size the flood runs on (one of --sizes)",
    )
    parser.add_argument(
        "--pages",
        help="only these pages, comma-separated (meeting,ngo_search,investigator,login);"
        " skips the flood, bytes and unlock",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    args = parser.parse_args()  # fmt: skip

    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing. Install it first (Debian/Ubuntu: apt-get install wrk);"
                 " the benchmark installs nothing itself.")  # fmt: skip
    seconds = 2 if args.quick else 5  # per round and page
    flood_seconds = 3 if args.quick else 10  # the meeting page under wrk while the flood runs
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = [] if args.no_sqlite else ["sqlite"]
    if args.postgres:
        bench_database_name(args.postgres)
        backends.append("postgresql")
    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)

    hashed = dataset.password_hash()
    key = dataset.bench_key()
    rows: list[Row] = []
    floods: list[Flood] = []
    byte_results: list[Bytes] = []
    unlock: list[float] | str = "not run"
    fills: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        work = Path(tmp)
        hello = start_hello(work)
        try:
            for backend in backends:
                for size in sizes:
                    with database(backend, args.postgres, work, size) as url:
                        env = portal_env(url, work, secrets.token_urlsafe(48))
                        migrate(env, work)
                        prepared = dataset.fill(url, size, hashed, key)
                        fills.append({"backend": backend, "size": size,
                                      "seconds": round(prepared.seconds, 1)})  # fmt: skip
                        print(f"{backend}: {size} consultations filled in"
                              f" {prepared.seconds:.1f} s", flush=True)  # fmt: skip
                        portal = start_portal(env, work)
                        try:
                            measured, pages = measure_pages(
                                backend,
                                prepared,
                                portal,
                                hello,
                                work,
                                seconds,
                                args.rounds,
                                args.pages,
                            )
                            if not byte_results and not args.pages:
                                byte_results = measure_bytes(portal.base, prepared)
                                unlock = measure_unlock(portal.base, prepared)
                        finally:
                            portal.stop()
                        breakdown(measured, pages, env, work)
                        rows += measured
                        if not args.pages and (
                            size == args.flood_size
                            or (args.flood_size not in sizes and size == sizes[-1])
                        ):
                            floods.append(
                                measure_flood(backend, prepared, env, work, flood_seconds)
                            )
                            print_flood(floods[-1])
        finally:
            hello.stop()

    print_table(rows)
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} CPUs (a busy machine makes every figure worse)")  # fmt: skip
    for flood in floods:
        print_flood(flood)
    print_bytes(byte_results)
    if isinstance(unlock, str):
        print(f"\nargon2 unlock in headless Chromium: {unlock}")
    else:
        print("\nargon2 unlock in headless Chromium (opslimit 3, 64 MiB; sealing.js"
              " unwrapSecretKey): " + ", ".join(f"{t / 1000:.2f} s" for t in unlock))  # fmt: skip
    print("\nIn-process time to open a 20-message conversation (bench/envelopes.py):", flush=True)
    subprocess.run([sys.executable, str(HERE / "envelopes.py")], check=False)
    if not args.pages:
        measure_slow_link()
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": info, "seconds": seconds, "fills": fills,
            "pages": [asdict(r) for r in rows], "floods": [asdict(f) for f in floods],
            "bytes": [{**asdict(b), "total_gz": b.total_gz} for b in byte_results],
            "unlock_ms": unlock,
        }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
