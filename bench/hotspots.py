"""Where one page spends its time, function by function (cProfile), on a fresh dataset.

    .venv/bin/python bench/hotspots.py [--size 100] [--page meeting] [--postgres URL]

Builds the same dataset as bench/run.py (SQLite unless --postgres names a bench*
database), asks a running portal for the pages' CSRF tokens, then runs
bench/inprocess.py with the profiler on for the chosen page and prints the functions
that took the most time. A tool for finding what to make faster; not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import run
from run import BIN, HERE, database, dataset, migrate, pages_for, portal_env, start_portal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100, help="stored consultations")
    parser.add_argument(
        "--page", default="meeting", help="meeting, ngo_search, investigator, login or all"
    )
    parser.add_argument("--postgres", metavar="URL", help="profile on PostgreSQL (bench* database)")
    parser.add_argument(
        "--top", type=int, default=40, help="how many functions to print (0: no profiler)"
    )
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (valgrind), no timing"
    )
    parser.add_argument(
        "--server",
        action="store_true",
        help="with --instructions: the whole uvicorn process, and the bare Starlette app's",
    )
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else "sqlite"
    if args.postgres:
        run.bench_database_name(args.postgres)
    with tempfile.TemporaryDirectory(prefix="portal-profile-") as tmp:
        work = Path(tmp)
        with database(backend, args.postgres, work, args.size) as url:
            env = portal_env(url, work, secrets.token_urlsafe(48))
            migrate(env, work)
            prepared = dataset.fill(url, args.size, dataset.password_hash(), dataset.bench_key())
            if args.instructions and args.server:
                whole_server(args.page, env, prepared, work)
                return
            portal = start_portal(env, work)
            try:
                pages = pages_for(portal.base, prepared)
            finally:
                portal.stop()
            chosen = [[p.name, p.method, p.path, p.cookie, p.body] for p in pages
                      if args.page in (p.name, "all")]  # fmt: skip
            if not chosen:
                sys.exit(f"no page {args.page!r}: " + ", ".join(p.name for p in pages))
            command = [str(BIN / "python"), str(HERE / "inprocess.py"), url,
                       env["PORTAL_SECRET_KEY"], json.dumps(chosen)]  # fmt: skip
            if args.instructions:
                for name, *request in chosen:
                    print(f"{name}: {instructions(command[:-1], [name, *request], env, work)}")
                return
            if args.top:
                command += ["--profile", str(args.top)]
            subprocess.run(command, env=env, cwd=work, check=True)


def instructions(command: list[str], request: list[str], env: dict[str, str], work: Path) -> str:
    """Instructions per request, counted by callgrind: 1 and 101 requests, the difference
    over 100. Repeatable whatever else the machine is doing (wall time here is not)."""
    counts = []
    for rounds in (1, 101):
        out = work / f"callgrind.{rounds}"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command,
             json.dumps([request])],
            env={**env, "BENCH_ROUNDS": str(rounds), "BENCH_REPEATS": "1", "PYTHONHASHSEED": "0"},
            cwd=work, check=True, capture_output=True,
        )  # fmt: skip
        summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
        counts.append(int(summary.split()[1]))
    return f"{(counts[1] - counts[0]) / 100 / 1e6:.3f} M instructions per request"


def whole_server(
    page: str, env: dict[str, str], prepared: dataset.Prepared, work: Path, requests: int = 200
) -> None:
    """Instructions per request of the whole server process (uvicorn, h11, asyncio and the
    app; not the kernel), for the bare Starlette app and for the pages, each process under
    callgrind with counting switched on only around ``requests`` keep-alive requests in a
    row. The ratio follows the wrk ratio of bench/run.py (a little above it: the kernel's
    share, not counted here, is larger for the hello app) and gives the same figure twice."""
    hello = _under_callgrind("hello", run.hello_argv(), dict(os.environ), "/", work)
    try:
        baseline = _count(hello, run.Page("hello", "/"), requests)
    finally:
        hello.stop()
    print(f"hello: {baseline / 1e6:.3f} M instructions per request (whole server)")
    portal = _under_callgrind("portal", run.portal_argv(), env, "/healthz", work)
    try:
        for chosen in pages_for(portal.base, prepared):
            if page in (chosen.name, "all"):
                count = _count(portal, chosen, requests)
                print(
                    f"{chosen.name}: {count / 1e6:.3f} M instructions per request (whole server),"
                    f" {100 * baseline / count:.1f} % of hello"
                )
    finally:
        portal.stop()


def _under_callgrind(
    name: str, argv: list[str], env: dict[str, str], probe: str, work: Path
) -> run.Server:
    port = run.free_port()
    out = f"--callgrind-out-file={work / name}.callgrind"
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", out, *argv, *run.address(port)]
    return run.start(name, command, {**env, "PYTHONHASHSEED": "0"}, port, probe, work)


def _count(server: run.Server, page: run.Page, requests: int) -> float:
    headers = {"Cookie": f"{run.COOKIE}={page.cookie}"} if page.cookie else {}
    if page.body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    pid = str(server.process.pid)
    with run.httpx.Client(base_url=server.base, timeout=60) as client:

        def fetch() -> None:
            response = client.request(page.method, page.path, headers=headers,
                                      content=page.body or None)  # fmt: skip
            if response.status_code != 200:
                sys.exit(f"{page.name}: {page.method} {page.path} answered {response.status_code}")

        for _ in range(30):  # warm: compiled templates, cached fragments, prepared statements
            fetch()
        subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True)
        for _ in range(requests):
            fetch()
        subprocess.run(["callgrind_control", "--instr=off", pid], check=True, capture_output=True)
    subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True)
    counted = 0
    for path in server.log.parent.glob(f"{server.name}.callgrind*"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                counted = max(counted, int(line.split()[1]))
        path.unlink()
    return counted / requests


if __name__ == "__main__":
    main()
