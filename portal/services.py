"""The services one running portal needs, built in the lifespan and reached per request."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from starlette.requests import HTTPConnection

from portal.clock import Clock
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import Keys
from portal.domain.bookings import CodeHashing
from portal.i18n import CLIENT_LOCALES, Catalogues
from portal.metrics import Metrics
from portal.security.ratelimit import RateLimits
from portal.security.sessions import SessionStore
from portal.settings import Settings
from portal.storage.database import Database, connect


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    keys: Keys
    hasher: PasswordHasher
    hashing: HashingPool
    limits: RateLimits
    sessions: SessionStore
    catalogues: Catalogues
    zone: ZoneInfo  # the portal's time zone: meeting times are shown and typed in it
    codes: CodeHashing
    metrics: Metrics

    async def close(self) -> None:
        await self.limits.close()
        await self.db.close()


async def build_services(
    settings: Settings, clock: Clock, metrics: Metrics | None = None
) -> Services:
    db = await connect(settings.database_url, settings.database_pool_mode)
    keys = Keys(settings.secret_key, settings.previous_secrets)
    catalogues = Catalogues(CLIENT_LOCALES)
    hasher = PasswordHasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
    hashing = HashingPool(
        settings.hashing_threads, settings.hashing_queue, settings.hashing_per_sender
    )
    metrics = metrics or Metrics()
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        keys=keys,
        hasher=hasher,
        hashing=hashing,
        limits=RateLimits(settings.redis_url, metrics),
        sessions=SessionStore(db, clock, settings),
        catalogues=catalogues,
        zone=ZoneInfo(settings.timezone),
        codes=CodeHashing(
            hasher, hashing, keys.derive("code-pepper"), keys.derive_previous("code-pepper")
        ),
        metrics=metrics,
    )


def services(conn: HTTPConnection) -> Services:
    """The running portal's services, from any request handler."""
    found: Services = conn.app.state.services
    return found
