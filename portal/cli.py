"""The ``portal`` command: serve, init, migrate, demo, purge, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from portal.logs import configure_logging
from portal.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"portal: {exc}")


def cmd_serve(args: argparse.Namespace) -> None:
    import gc
    import logging

    import uvicorn

    from portal.app import create_app
    from portal.startup import StartupError, address_warning, check_database, describe

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.no_migrate:
            check_database(settings)
        else:
            _migrate(settings)  # checks the database first
    except StartupError as exc:
        sys.exit(f"portal: {exc}")
    logging.getLogger("portal").info("%s", describe(settings))
    if (mismatch := address_warning(settings, args.host, args.port)) is not None:
        logging.getLogger("portal").warning("%s", mismatch)
    app = create_app(settings)
    # Everything imported and built so far lives as long as the process: moved out of
    # the collector's view, a full collection no longer walks it while requests wait
    # (bench/: on PostgreSQL the meeting page's p99 went from 3.4 to 2.8 times its p50).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,  # an access log would record addresses and paths
        server_header=False,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_config=None,
    )


def _migrate(settings: Settings) -> None:
    """Upgrade the schema (under a lock on PostgreSQL: storage/migrations/env.py); a
    failure to reach the database is one line, not a traceback."""
    from portal.startup import StartupError, check_database, unreachable
    from portal.storage.migrate import upgrade

    check_database(settings)
    try:
        upgrade(settings.database_url)
    except Exception as exc:
        from portal.logs import infrastructure_cause

        if not infrastructure_cause(exc):
            raise
        raise StartupError(unreachable(settings, exc)) from None


def cmd_migrate(args: argparse.Namespace) -> None:
    from portal.startup import StartupError

    settings = _settings()
    try:
        if args.status:
            sys.exit(_migration_status(settings))
        if args.down_to:
            _migrate_down(settings, args.down_to, confirmed=args.yes)
            return
        _migrate(settings)
    except StartupError as exc:
        sys.exit(f"portal: {exc}")
    print("database schema is up to date")


def _migrate_down(settings: Settings, revision: str, *, confirmed: bool) -> None:
    """Take the schema back for a rollback (docs/operations.md, "Upgrading and rolling
    back"): it drops what later migrations added, so it runs only when confirmed."""
    from portal.startup import check_database
    from portal.storage.migrate import downgrade, status

    check_database(settings)
    current, _head, _pending = status(settings.database_url)
    if not confirmed:
        sys.exit(
            f"portal migrate: this drops every table and column added after {revision}, "
            f"with what they hold (schema now at {current}); back up first, then run it "
            "again with --yes"
        )
    try:
        downgrade(settings.database_url, revision)
    except Exception as exc:
        from alembic.util import CommandError

        if not isinstance(exc, CommandError):
            raise
        sys.exit(f"portal migrate: no revision {revision!r} to go back to")
    print(f"database schema taken back from {current} to {revision}")


def _migration_status(settings: Settings) -> int:
    """Print where the schema is; exit status 0 at the latest revision, else 1."""
    from portal.startup import check_database
    from portal.storage.migrate import status

    check_database(settings)
    current, head, pending = status(settings.database_url)
    print(f"schema revision: {current or 'none (empty database)'}")
    print(f"latest revision: {head}")
    if not pending:
        print("up to date")
        return 0
    print(f"{len(pending)} migration(s) to apply with `portal migrate`: {', '.join(pending)}")
    return 1


def cmd_init(args: argparse.Namespace) -> None:
    from portal.bootstrap import AlreadyInitialised, initialise
    from portal.domain.errors import InputRejected

    settings = _settings()
    try:
        link = asyncio.run(
            initialise(settings, args.organisation, args.name, another_unit=args.another_unit)
        )
    except AlreadyInitialised as exc:
        sys.exit(
            f"portal init: this database has a police unit already ('{exc}'). For a new "
            "coordinator link use `portal invite --role coordinator`; to really add a second "
            "police unit, add --another-unit"
        )
    except InputRejected as exc:
        sys.exit(f"portal init: {exc.message} (choose another --organisation name)")
    print(f"Created the police unit '{args.organisation}' and an enrolment link for the first")
    print("coordinator. Open it in a browser to set a password and an authenticator app.")
    print("It works once and expires; treat it like a password:\n")
    print(f"  {link}\n")


def confirm_on_terminal(command: str, what: str, word: str) -> None:
    """Break-glass commands run only for a person at a terminal who types ``word``: not
    from a script, a pipe or a cron job, and not by a slip of the fingers."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.exit(f"portal {command}: run this on a terminal: it asks for a typed confirmation")
    print(what)
    try:
        typed = input(f"Type {word} to go on: ")
    except EOFError:
        typed = ""
    if typed.strip() != word:
        sys.exit(f"portal {command}: not confirmed; nothing was changed")


def cmd_invite(args: argparse.Namespace) -> None:
    from portal.breakglass import BreakGlassRefused, coordinator_link, police_units
    from portal.domain.errors import InputRejected

    settings = _settings()
    try:
        units = asyncio.run(police_units(settings))
    except Exception as exc:  # no schema yet, or no database: say so in one line
        sys.exit(
            f"portal invite: cannot read the database ({type(exc).__name__}); "
            "run `portal init` first"
        )
    unit = args.organisation or (units[0] if len(units) == 1 else "")
    confirm_on_terminal(
        "invite",
        f"This makes an enrolment link for a new coordinator of '{unit or '?'}', who can then "
        "manage every staff account of the unit. The event is recorded in the audit log.",
        "coordinator",
    )
    try:
        link = asyncio.run(coordinator_link(settings, args.organisation, args.name))
    except (BreakGlassRefused, InputRejected) as exc:
        message = exc.message if isinstance(exc, InputRejected) else str(exc)
        sys.exit(f"portal invite: {message}")
    print("Enrolment link for a new coordinator. It works once and expires; treat it like")
    print("a password and give it to the person yourself:\n")
    print(f"  {link}\n")


def cmd_reset_second_factor(args: argparse.Namespace) -> None:
    from portal.breakglass import BreakGlassRefused, reset_second_factor

    settings = _settings()
    username = args.username.strip().lower()
    confirm_on_terminal(
        "reset-second-factor",
        f"This removes the authenticator app of the account '{username}' and ends its "
        "sessions. At the next sign-in, the right password leads to setting up an app "
        "again. Do this only after checking who asks (in person, or by a call back). The "
        "event is recorded in the audit log.",
        username,
    )
    try:
        name = asyncio.run(reset_second_factor(settings, username))
    except BreakGlassRefused as exc:
        sys.exit(f"portal reset-second-factor: {exc}")
    print(f"The authenticator app of '{username}' ({name}) was reset; their sessions ended.")
    print("They set up an app again at their next sign-in, with their password.")


def cmd_demo(args: argparse.Namespace) -> None:
    from portal.demo import DEMO_PASSWORD, DemoRefused, fill_demo_database

    settings = _settings()
    if settings.is_production:
        sys.exit("portal: refusing to put demo data into a production database")
    try:
        demo = asyncio.run(fill_demo_database(settings))
    except DemoRefused as exc:
        sys.exit(f"portal demo: {exc}")
    print("Demo data is ready. Sign in at /login with any of these accounts;")
    print(f"every password is: {DEMO_PASSWORD}")
    print("Add the TOTP key to an authenticator app, or get the current code with")
    print("`portal totp KEY`:\n")
    for username, role, organisation, secret in demo.people:
        print(f"  {username:<13} {role:<13} {organisation:<38} {secret}")
    print("\nTo try the client's side: open the front page, choose a language and enter")
    print(f"the code of a demo slip: {demo.one_time_code}")
    print(f"\nOpen http://127.0.0.1:{args.port}/ (or http://localhost:{args.port}/): signing in")
    print("needs one of these two names, or HTTPS (the session cookie is __Host-, Secure).")
    # Links and slips name PORTAL_PUBLIC_URL, by default port 8000's address.
    public = "" if args.port == 8000 else f"PORTAL_PUBLIC_URL=http://127.0.0.1:{args.port} "
    print(f"Start the portal with: {public}.venv/bin/portal serve --port {args.port}")


def cmd_decrypt(args: argparse.Namespace) -> None:
    import getpass
    from pathlib import Path
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from portal.crypto.wrapped_keys import WrappedKeyError
    from portal.decrypt import ExportError, as_html, as_text, open_notes, read_export, secret_key

    try:
        document = read_export(Path(args.export).read_text(encoding="utf-8"))
    except (OSError, ExportError) as exc:
        sys.exit(f"portal decrypt: {exc}")
    if args.secret_file:
        secret = Path(args.secret_file).read_text(encoding="utf-8").rstrip("\n")
    else:
        prompt = "Recovery key: " if args.recovery else "Decryption passphrase: "
        secret = getpass.getpass(prompt)
    try:
        key = secret_key(document, secret, recovery=args.recovery)
    except WrappedKeyError:
        sys.exit("portal decrypt: the passphrase or recovery key is wrong for this export")
    notes = open_notes(document, key)
    if args.html:
        try:
            zone = ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            sys.exit(f"portal decrypt: unknown time zone {args.timezone!r}")
        text = as_html(document, notes, zone)
    else:
        text = as_text(document, notes)
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


def cmd_purge(args: argparse.Namespace) -> None:
    from portal.clock import SystemClock
    from portal.domain.retention import purge
    from portal.storage.database import connect

    settings = _settings()

    async def run() -> list[tuple[str, str]]:
        db = await connect(settings.database_url, settings.database_pool_mode)
        try:
            return await purge(db, SystemClock(), settings, dry_run=args.dry_run)
        finally:
            await db.close()

    purged = asyncio.run(run())
    verb = "would be purged" if args.dry_run else "purged"
    print(f"{len(purged)} consultation(s) {verb}")
    for _consultation_id, pseudonym in purged:
        print(f"  {pseudonym}")


def cmd_backup(args: argparse.Namespace) -> None:
    import time

    from portal.backup import BackupError, backup, parse_recipients

    settings = _settings()
    if args.check_age is not None:
        _check_backup_age(settings, args.check_age)
        return
    if not args.file:
        sys.exit("portal backup: name the backup file to write (or use --check-age)")
    try:
        recipients = parse_recipients(",".join(args.recipient or [settings.backup_recipients]))
        kind = backup(settings.database_url, args.file, recipients)
    except BackupError as exc:
        sys.exit(f"portal backup: {exc}")
    print(f"encrypted {kind} backup written to {args.file}")
    for attempt in range(3):  # a busy SQLite database: try again in a moment
        try:
            _record_backup(settings)
            return
        except Exception as exc:
            failure = type(exc).__name__
            time.sleep(1 + attempt)
    # The backup file is good; only its time is missing. Exit 0 (the backup ran), and
    # say it: --check-age and the metrics will report an old backup, never a false "ok".
    print(
        f"portal backup: the backup is written, but its time could not be recorded in the "
        f"database ({failure}): --check-age and the metrics will not see it. The backup's "
        "database role needs INSERT and UPDATE on job_runs.",
        file=sys.stderr,
    )


def _backup_store(settings: Settings, work: str) -> int | None:
    """Record a successful backup now (``work="record"``), or read when the last one was
    (the ``backup`` row of ``job_runs``: the same on every host, read by /metrics)."""
    from portal.clock import SystemClock
    from portal.domain.monitoring import backup_succeeded, last_backup
    from portal.storage.database import connect

    async def run() -> int | None:
        db = await connect(settings.database_url, settings.database_pool_mode)
        try:
            if work == "record":
                await backup_succeeded(db, SystemClock())
                return None
            return await last_backup(db)
        finally:
            await db.close()

    return asyncio.run(run())


def _record_backup(settings: Settings) -> None:
    _backup_store(settings, "record")


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> int:
    """``26h``, ``90m``, ``2d`` or plain seconds, for --check-age."""
    text = text.strip().lower()
    unit = DURATION_UNITS.get(text[-1:], 0)
    number = text[:-1] if unit else text
    if not number.isdigit() or int(number) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 26h, 90m or 2d)")
    return int(number) * (unit or 1)


def _check_backup_age(settings: Settings, limit: int) -> None:
    """For monitoring: exit 0 when the last backup is younger than ``limit`` seconds,
    1 (with one line saying why) when it is older or there never was one."""
    import time

    try:
        last = _backup_store(settings, "read")
    except Exception as exc:  # the database is down: that is a failed check, said plainly
        sys.exit(f"portal backup: cannot read the last backup time ({type(exc).__name__})")
    if last is None:
        sys.exit("portal backup: CRITICAL: no successful backup is recorded")
    age = max(0, int(time.time()) - last)
    hours = age / 3600
    if age > limit:
        sys.exit(f"portal backup: CRITICAL: the last backup is {hours:.1f} hours old")
    print(f"portal backup: OK: the last backup is {hours:.1f} hours old")


def cmd_restore(args: argparse.Namespace) -> None:
    from portal.backup import BackupError, restore

    settings = _settings()
    try:
        kind = restore(
            settings.database_url,
            args.file,
            identity_file=args.identity,
            key_file=args.key_file or settings.backup_key_file,
            force=args.force,
        )
    except BackupError as exc:
        sys.exit(f"portal restore: {exc}")
    print(f"{kind} backup {args.file} restored; run `portal migrate` before starting the portal")


def cmd_backup_keygen(args: argparse.Namespace) -> None:
    from portal.backup import BackupError, generate_identity_file, recipient_id, recipient_text

    try:
        public = generate_identity_file(args.file)
    except BackupError as exc:
        sys.exit(f"portal backup-keygen: {exc}")
    print(f"private key written to {args.file} (mode 600): keep it offline, not on the server.")
    print(f"Key id {recipient_id(public).hex()}. Put the public key in the server's settings:\n")
    print(f"  PORTAL_BACKUP_RECIPIENTS={recipient_text(public)}")


def cmd_totp(args: argparse.Namespace) -> None:
    import time

    from portal.crypto.totp import code_at

    print(code_at(args.key, int(time.time())))


def main(argv: Sequence[str] | None = None) -> None:
    from portal.startup import version

    parser = argparse.ArgumentParser(prog="portal", description=__doc__)
    parser.add_argument("--version", action="version", version=f"portal {version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server (migrates first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-Proto from the reverse proxy",
    )
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate first (`portal migrate` ran before, e.g. ExecStartPre=)",
    )
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument(
        "--status",
        action="store_true",
        help="only show the schema's revision (exit status 1 if migrations are pending)",
    )
    migrate.add_argument(
        "--down-to",
        metavar="REVISION",
        help="take the schema back to REVISION for a rollback (drops what came later)",
    )
    migrate.add_argument("--yes", action="store_true", help="confirm --down-to")
    migrate.set_defaults(run=cmd_migrate)

    init = commands.add_parser("init", help="create the database and the first coordinator")
    init.add_argument("--organisation", default="Police unit")
    init.add_argument("--name", default="Coordinator")
    init.add_argument(
        "--another-unit",
        action="store_true",
        help="create a police unit although one exists (almost never what you want)",
    )
    init.set_defaults(run=cmd_init)

    invite_cmd = commands.add_parser(
        "invite", help="break glass: an enrolment link for a new coordinator (asks to confirm)"
    )
    invite_cmd.add_argument("--role", required=True, choices=["coordinator"])
    invite_cmd.add_argument("--organisation", default="", help="the police unit, if several")
    invite_cmd.add_argument("--name", default="Coordinator", help="the display name to show")
    invite_cmd.set_defaults(run=cmd_invite)

    reset = commands.add_parser(
        "reset-second-factor",
        help="break glass: make USER set up an authenticator app again (asks to confirm)",
    )
    reset.add_argument("username")
    reset.set_defaults(run=cmd_reset_second_factor)

    demo = commands.add_parser("demo", help="a fresh database with fake data to try the portal")
    demo.add_argument(
        "--port", type=int, default=8000, help="the port you will serve it on (for the hints)"
    )
    demo.set_defaults(run=cmd_demo)

    decrypt = commands.add_parser("decrypt", help="open an investigator's notes export offline")
    decrypt.add_argument("export", help="the JSON file downloaded from a consultation page")
    decrypt.add_argument(
        "--recovery",
        action="store_true",
        help="use the recovery key instead of the decryption passphrase",
    )
    decrypt.add_argument("--secret-file", help="read the passphrase or recovery key from a file")
    decrypt.add_argument("--out", help="write the notes to this file (mode 600)")
    decrypt.add_argument(
        "--html", action="store_true", help="one printable HTML page (a case bundle in words)"
    )
    decrypt.add_argument(
        "--timezone", default="Europe/Helsinki", help="local times in this zone (with --html)"
    )
    decrypt.set_defaults(run=cmd_decrypt)

    purge = commands.add_parser(
        "purge", help="delete consultations past their retention time (docs/design.md, journey 8)"
    )
    purge.add_argument("--dry-run", action="store_true", help="only list what would be purged")
    purge.set_defaults(run=cmd_purge)

    backup = commands.add_parser(
        "backup", help="write a backup of the database encrypted to public keys"
    )
    backup.add_argument("file", nargs="?", help="the encrypted backup file to write")
    backup.add_argument(
        "--check-age",
        type=duration,
        metavar="AGE",
        help="write nothing; exit 1 if the last successful backup is older than AGE "
        "(26h, 90m, 2d) or there is none (for monitoring)",
    )
    backup.add_argument(
        "--recipient",
        action="append",
        metavar="PUBLIC_KEY",
        help="a public key to encrypt to (repeatable; default: PORTAL_BACKUP_RECIPIENTS)",
    )
    backup.set_defaults(run=cmd_backup)

    restore = commands.add_parser("restore", help="restore an encrypted backup (empty database)")
    restore.add_argument("file", help="the encrypted backup file to read")
    restore.add_argument(
        "--identity",
        default="",
        metavar="FILE",
        help="the private key file from backup-keygen (version 2 backups)",
    )
    restore.add_argument(
        "--key-file",
        default="",
        metavar="FILE",
        help="the symmetric key of a version 1 backup (default: PORTAL_BACKUP_KEY_FILE)",
    )
    restore.add_argument(
        "--force", action="store_true", help="replace the contents of a non-empty database"
    )
    restore.set_defaults(run=cmd_restore)

    keygen = commands.add_parser(
        "backup-keygen", help="make a backup key pair: private key to a file, public key printed"
    )
    keygen.add_argument("file", help="the private key file to create (mode 600, never overwritten)")
    keygen.set_defaults(run=cmd_backup_keygen)

    totp = commands.add_parser("totp", help="print the current TOTP code for a key (demo use)")
    totp.add_argument("key")
    totp.set_defaults(run=cmd_totp)

    args = parser.parse_args(argv)
    if args.command in NEEDS_DATABASE:
        from portal.startup import StartupError, check_database

        try:
            check_database(_settings())
        except StartupError as exc:
            sys.exit(f"portal: {exc}")
    args.run(args)


# Commands that use the database at once: an unreachable one is one line, not a traceback
# (serve and migrate check it themselves).
NEEDS_DATABASE = frozenset({"init", "demo", "purge"})
