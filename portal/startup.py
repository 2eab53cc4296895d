"""What the operator sees when the portal starts: one line saying what it runs with, or
one line saying why it cannot start.

Threat: a start-up line or a failure message that carries a password (database and Redis
URLs hold them) or a traceback full of internals. Only the kind, host, port and database
name of a URL are shown, and a failure's cause is one of the fixed phrases of
``logs.infrastructure_cause``.
"""

from __future__ import annotations

from importlib import metadata
from urllib.parse import urlsplit

from portal.logs import infrastructure_cause
from portal.settings import Settings

DATABASE_TIMEOUT_SECONDS = 5


class StartupError(Exception):
    """The portal cannot start; the message is one line for the operator."""


def version() -> str:
    try:
        return metadata.version("intake-portal")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def database_target(url: str) -> str:
    """``postgresql db.example:5432/portal`` or ``sqlite /var/lib/portal/portal.sqlite3``:
    where the database is, without user name or password."""
    if url.startswith("sqlite:"):
        return "sqlite " + url.removeprefix("sqlite:///")
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    return f"postgresql {host}:{port}{parts.path}"


def describe(settings: Settings) -> str:
    """The start-up line."""
    purge = (
        f"every {settings.purge_interval_seconds}s"
        if settings.purge_interval_seconds > 0
        else "off"
    )
    return (
        f"portal {version()} starting: environment={settings.environment} "
        f"database={database_target(settings.database_url)} "
        f"redis={'on' if settings.redis_url else 'off'} purge={purge} "
        f"timezone={settings.timezone} log={settings.log_level}/{settings.log_format}"
    )


LOOPBACK_NAMES = frozenset({"localhost", "::1"})


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.startswith("127.")


def address_warning(settings: Settings, host: str, port: int) -> str | None:
    """One line when PORTAL_PUBLIC_URL and the address served cannot both be right: the
    public URL names this machine (a loopback address) but another port, or the portal
    listens for other machines while its links name this one. Invitation links, slips
    and the cross-origin check use the public URL. A public URL with a real host name is
    left alone: a proxy in front legitimately serves it on another port."""
    public = urlsplit(settings.public_url)
    public_host = public.hostname or ""
    if not _is_loopback(public_host):
        return None
    try:
        public_port = public.port or (443 if public.scheme == "https" else 80)
    except ValueError:
        return None
    if public_port != port:
        return (
            f"PORTAL_PUBLIC_URL is {settings.public_url} but this portal serves port {port}: "
            "invitation links and slips name the wrong address and browsers' forms are "
            f"refused; set PORTAL_PUBLIC_URL=http://127.0.0.1:{port}"
        )
    if not _is_loopback(host):
        return (
            f"PORTAL_PUBLIC_URL is {settings.public_url}, an address of this machine only, "
            f"but the portal listens on {host}: links it prints do not work elsewhere; set "
            "PORTAL_PUBLIC_URL to the address people open"
        )
    return None


def check_database(settings: Settings) -> None:
    """Raise StartupError (host and port, the cause) if the database does not answer."""
    url = settings.database_url
    try:
        if url.startswith("sqlite:"):
            import sqlite3

            from portal.storage.database import sqlite_path

            sqlite3.connect(sqlite_path(url), timeout=DATABASE_TIMEOUT_SECONDS).close()
        else:
            import psycopg

            from portal.storage.database import asyncpg_dsn

            with psycopg.connect(asyncpg_dsn(url), connect_timeout=DATABASE_TIMEOUT_SECONDS):
                pass
    except Exception as exc:
        raise StartupError(unreachable(settings, exc)) from None


def unreachable(settings: Settings, exc: BaseException) -> str:
    cause = infrastructure_cause(exc) or type(exc).__name__
    return f"cannot use the database at {database_target(settings.database_url)} ({cause})"
