"""Rate limits for guessing: login attempts, codes, enrolment links.

Threats: password and code guessing, and a flood meant to exhaust argon2. Limits are
checked before any hashing. Counters live in memory for one process, or in Redis when
several processes share the load (``PORTAL_REDIS_URL``).

Counters are keyed by the sender's rotating hash (security/senders.py), never by an
address: only that hash reaches the counter store.
"""

from __future__ import annotations

import redis.asyncio
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from portal.metrics import LIMITS, Metrics


class _MemoryStorage(MemoryStorage):
    """limits' in-memory storage, for one process. Its expiry task looks each key up
    again after an await and dies with a KeyError (asyncio logs the traceback, and the
    counters stop expiring until the next hit restarts it) when ``clear`` removed that
    key meanwhile (limits 5.8.0). Here a cleared key keeps an empty list of hits, which
    counts as none, and the expiry task removes it."""

    async def clear(self, key: str) -> None:
        await super().clear(key)
        self.events[key] = []


class RateLimits:
    def __init__(self, redis_url: str, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        storage: Storage
        self._pool: redis.asyncio.ConnectionPool | None = None
        if redis_url:
            self._pool = redis.asyncio.ConnectionPool.from_url(redis_url)
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to redis-py
            )
        else:
            storage = _MemoryStorage()
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    @staticmethod
    def per_minute(count: int) -> RateLimitItem:
        return RateLimitItemPerMinute(count)

    async def hit(self, item: RateLimitItem, *key: str) -> bool:
        """Count one attempt; False when the limit was already reached (refuse it)."""
        allowed = bool(await self._limiter.hit(item, *key))
        if not allowed and self._metrics is not None and key and key[0] in LIMITS:
            # The limit's name only; the rest of the key names a sender. Internal limits
            # (the audit de-duplication) refuse nobody and are not counted.
            self._metrics.rate_limited(key[0])
        return allowed

    async def clear(self, item: RateLimitItem, *key: str) -> None:
        await self._limiter.clear(item, *key)

    async def ping(self) -> None:
        """Raise if the shared counter store (Redis) does not answer; nothing to ask
        when the counters are in this process's memory."""
        if self._pool is not None:
            await redis.asyncio.Redis(connection_pool=self._pool).ping()  # type: ignore[misc]  # redis-py types sync and async alike

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
