"""Prometheus metrics: what the portal refuses and how busy it is, in numbers only.

Threat (privacy): a metric is a log that nobody reads line by line. A label holding a
sender, an account, a path with a token or a pseudonym would keep a record of who used
the portal, and metrics are scraped and stored for months. So every label value here
comes from a fixed list written in this file (``LIMITS``, ``CSRF_LAYERS``,
``SERVER_ERRORS``, ``MAIL_STATES``); anything else is counted as ``other``.

Threat (exposure): the numbers still tell an observer when the portal is busy. They are
served at ``/metrics`` to the host itself only (web/metrics.py), never through the
proxies; docs/operations.md, "Metrics".

Each process counts its own requests (scrape every process, or sum them); the gauges read
from the database (purge, mail, backup) are the same on every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
# The rate limits a 429 can come from (security/ratelimit.py keys; the hashing pool's
# per-sender share). Internal limits (the audit de-duplication) are not refusals.
LIMITS = (
    "login-source",
    "login-account-sender",
    "login-account",
    "code-source",
    "code-all",
    "enrol-source",
    "reauth-account",
    "hashing-sender",
)
CSRF_LAYERS = ("origin", "token")
SERVER_ERRORS = ("500", "502", "503", "504")
MAIL_STATES = ("queued", "sent", "failed")


@dataclass(frozen=True)
class Snapshot:
    """What the database says at scrape time (domain/monitoring.py)."""

    purge_last_run: int | None
    purge_last_count: int | None
    backup_last_success: int | None
    mail: dict[str, int]
    now: int


class Metrics:
    """One registry per app, so that tests can build many apps in one process."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._csrf = Counter(
            "portal_csrf_refusals",
            "Requests refused by the CSRF defence, by layer (origin header or token).",
            ["layer"],
            registry=registry,
        )
        self._limited = Counter(
            "portal_rate_limited",
            "Requests refused with 429, by the limit that refused them.",
            ["limit"],
            registry=registry,
        )
        self._overloaded = Counter(
            "portal_overloaded",
            "Requests refused with 503 because the hashing queue was full.",
            registry=registry,
        )
        self._server_errors = Counter(
            "portal_server_errors",
            "Responses with a 5xx status (including the 503 overloads), by status.",
            ["status"],
            registry=registry,
        )
        self.hashing_queue = Gauge(
            "portal_hashing_queue_depth",
            "Password and code hashes running or waiting in this process.",
            registry=registry,
        )
        self._purge_last_run = Gauge(
            "portal_purge_last_run_timestamp_seconds",
            "When the daily purge last ran (any process), Unix time; 0 if never.",
            registry=registry,
        )
        self._purge_last_count = Gauge(
            "portal_purge_last_count",
            "Consultations deleted by the last purge run.",
            registry=registry,
        )
        self._mail = Gauge(
            "portal_mail_outbox",
            "E-mails in the outbox: queued (not yet sent), sent, failed (given up).",
            ["state"],
            registry=registry,
        )
        self._backup_last = Gauge(
            "portal_backup_last_success_timestamp_seconds",
            "When `portal backup` last succeeded, Unix time; 0 if never.",
            registry=registry,
        )
        self._backup_age = Gauge(
            "portal_backup_age_seconds",
            "Seconds since the last successful backup; -1 if there never was one.",
            registry=registry,
        )
        for layer in CSRF_LAYERS:
            self._csrf.labels(layer)
        for limit in (*LIMITS, "other"):
            self._limited.labels(limit)
        for status in (*SERVER_ERRORS, "other"):
            self._server_errors.labels(status)

    def csrf_refused(self, layer: str) -> None:
        self._csrf.labels(layer if layer in CSRF_LAYERS else "other").inc()

    def rate_limited(self, limit: str) -> None:
        self._limited.labels(limit if limit in LIMITS else "other").inc()

    def responded(self, status: int) -> None:
        if status < 500:
            return
        if status == 503:
            self._overloaded.inc()
        name = str(status)
        self._server_errors.labels(name if name in SERVER_ERRORS else "other").inc()

    def render(self, snapshot: Snapshot, queue_depth: int) -> bytes:
        self.hashing_queue.set(queue_depth)
        self._purge_last_run.set(snapshot.purge_last_run or 0)
        self._purge_last_count.set(snapshot.purge_last_count or 0)
        for state in MAIL_STATES:
            self._mail.labels(state).set(snapshot.mail.get(state, 0))
        last = snapshot.backup_last_success
        self._backup_last.set(last or 0)
        self._backup_age.set(-1 if last is None else max(0, snapshot.now - last))
        return generate_latest(self.registry)
