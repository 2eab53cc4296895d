"""A small, bounded pool for argon2 work.

Threat: a flood of wrong passwords or codes. Each argon2 call takes tens of MiB and
tens of milliseconds; run unbounded on the default thread pool (40 threads) they would
exhaust memory and starve every other page. Here at most ``threads`` hashes run at once
and at most ``queue`` more wait; anything beyond is refused at once with ``Overloaded``
(the web layer answers 503) before any hashing happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class Overloaded(Exception):
    """Too much hashing already running or waiting; try again shortly."""


class HashingPool:
    def __init__(self, threads: int, queue: int) -> None:
        self._limiter = anyio.CapacityLimiter(threads)
        self._capacity = threads + queue
        self._admitted = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    async def run(self, work: Callable[[], T]) -> T:
        if self._admitted >= self._capacity:
            raise Overloaded
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._limiter)
        finally:
            self._admitted -= 1
