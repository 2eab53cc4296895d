"""Where a page's time goes: the app called in-process, render and database timed apart.

    .venv/bin/python bench/inprocess.py DATABASE_URL SECRET REQUESTS_JSON [--profile TOP]

Run by bench/run.py as a child process on a prepared database (the app is imported here,
never in the benchmark's own process). Each request of REQUESTS_JSON (a list of
``[name, method, path, cookie, body]``) is sent straight to the ASGI app, without a
server or a socket, 5 runs of 300 times after a warm-up; prints JSON with, per page, the
mean wall time per request of the fastest run, the part spent in ``Templates.render``
and the part spent in database statements (and how many statements). Single-threaded,
so less disturbed by other work on the machine than the wrk figures. With
``--profile TOP`` (bench/hotspots.py), the rounds also run once under cProfile and the
TOP functions by own time go to stderr.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
REPEATS = int(
    os.environ.get("BENCH_REPEATS", "5")
)  # the fastest of 5 runs: other work on the machine only ever adds time
SPENT = {"render": 0.0, "db": 0.0, "statements": 0}


def instrument() -> None:
    import portal.storage.database as database
    import portal.web.rendering as rendering

    original = rendering.Templates.render

    def render(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            SPENT["render"] += time.perf_counter() - started

    rendering.Templates.render = render  # type: ignore[method-assign]
    for cls in (database._SQLiteStatements, database._PostgresStatements):
        for name in ("fetch_one", "fetch_all", "fetch_value", "execute"):
            setattr(cls, name, _timed(getattr(cls, name)))


def _timed(fn: Any) -> Any:
    async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(self, *args, **kwargs)
        finally:
            SPENT["db"] += time.perf_counter() - started
            SPENT["statements"] += 1

    return timed


async def call(app: Any, method: str, path: str, cookie: str, body: bytes) -> int:
    headers = [(b"host", b"127.0.0.1")]
    if cookie:
        headers.append((b"cookie", f"__Host-sid={cookie}".encode()))
    if body:
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    status = 0
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def main() -> None:
    url, secret, requests = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    top = int(sys.argv[5]) if sys.argv[4:5] == ["--profile"] else 0
    os.environ.update(
        PORTAL_DATABASE_URL=url, PORTAL_SECRET_KEY=secret, PORTAL_PURGE_INTERVAL_SECONDS="0"
    )
    instrument()
    from portal.app import create_app
    from portal.settings import Settings

    app = create_app(Settings.from_env())
    events: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await events.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, events.get,
            lifespan_send)
    )  # fmt: skip
    await started.wait()
    results = {}
    for name, method, path, cookie, body in requests:
        args = (app, method, path, cookie, body.encode())
        status = await call(*args)
        if status != 200:
            raise SystemExit(f"{name}: {method} {path} answered {status}")
        for _ in range(30):
            await call(*args)
        if top:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(ROUNDS):
                await call(*args)
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(top)
            stats.sort_stats("cumulative").print_stats(top)
        runs = []
        for _ in range(REPEATS):
            SPENT.update(render=0.0, db=0.0, statements=0)
            begun = time.perf_counter()
            for _ in range(ROUNDS):
                await call(*args)
            total = time.perf_counter() - begun
            runs.append({
                "ms": 1000 * total / ROUNDS,
                "render_ms": 1000 * SPENT["render"] / ROUNDS,
                "db_ms": 1000 * SPENT["db"] / ROUNDS,
                "statements": SPENT["statements"] / ROUNDS,
            })  # fmt: skip
        print(name, [round(r["ms"], 3) for r in runs], file=sys.stderr)
        results[name] = min(runs, key=lambda run: run["ms"])
    await events.put({"type": "lifespan.shutdown"})
    await lifespan
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
