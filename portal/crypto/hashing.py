"""A small, bounded pool for argon2 work.

Threat: a flood of wrong passwords or codes. Each argon2 call takes tens of MiB and
tens of milliseconds; run unbounded on the default thread pool (40 threads) they would
exhaust memory and starve every other page. Here at most ``threads`` hashes run at once
and at most ``queue`` more wait; anything beyond is refused at once with ``Overloaded``
(the web layer answers 503) before any hashing happens.

Fairness: half of the places are kept for senders (the sender of the request being
served, set by security/senders.py) holding fewer than ``per_sender`` of them. A sender
may take more only while less than half of the places are taken, so a flood from one
address or Tor circuit can never fill the queue and make another visitor's valid code
or password fail; its excess is refused with ``SenderBusy`` (429) instead. A busy
office behind one address still gets several hashes at once while the portal is quiet.

Waiting work is not served first come, first served: when a thread frees, it goes to
the waiting work whose sender has the least work admitted, so a visitor's code waits
for at most the hash already running, not for a flooder's whole backlog
(bench/fairness.py measures it).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


current_sender: ContextVar[str] = ContextVar("current_sender", default="")


class Overloaded(Exception):
    """Too much hashing already running or waiting; try again shortly."""


class SenderBusy(Exception):
    """This sender already has as much hashing running or waiting as it may have."""


@dataclass
class _Waiting:
    sender: str
    order: int
    turn: anyio.Event = field(default_factory=anyio.Event)


class HashingPool:
    def __init__(self, threads: int, queue: int, per_sender: int = 2) -> None:
        self._threads = anyio.CapacityLimiter(threads)
        self._capacity = threads + queue
        self._admitted = 0
        self._running = 0
        self._per_sender = per_sender
        self._by_sender: Counter[str] = Counter()
        self._waiting: list[_Waiting] = []
        self._arrivals = itertools.count()

    @property
    def admitted(self) -> int:
        return self._admitted

    async def run(self, work: Callable[[], T]) -> T:
        sender = current_sender.get()
        if self._admitted >= self._capacity:
            raise Overloaded
        if (
            sender
            and self._by_sender[sender] >= self._per_sender
            and self._admitted >= self._capacity // 2
        ):
            raise SenderBusy
        self._admitted += 1
        self._by_sender[sender] += 1
        try:
            await self._take_turn(sender)
            try:
                return await anyio.to_thread.run_sync(work, limiter=self._threads)
            finally:
                self._pass_turn()
        finally:
            self._admitted -= 1
            self._by_sender[sender] -= 1
            if not self._by_sender[sender]:
                del self._by_sender[sender]

    async def _take_turn(self, sender: str) -> None:
        if self._running < self._threads.total_tokens and not self._waiting:
            self._running += 1
            return
        waiting = _Waiting(sender, next(self._arrivals))
        self._waiting.append(waiting)
        try:
            await waiting.turn.wait()
        except BaseException:  # cancelled while waiting (the visitor went away)
            if waiting.turn.is_set():
                self._pass_turn()  # the turn was already ours: hand it on
            else:
                self._waiting.remove(waiting)
            raise

    def _pass_turn(self) -> None:
        """A thread is free: give it to the waiting work of the least busy sender."""
        self._running -= 1
        if self._waiting:
            chosen = min(self._waiting, key=lambda w: (self._by_sender[w.sender], w.order))
            self._waiting.remove(chosen)
            self._running += 1
            chosen.turn.set()
