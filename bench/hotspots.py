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


if __name__ == "__main__":
    main()
