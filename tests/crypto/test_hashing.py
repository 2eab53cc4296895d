"""The argon2 pool: a flood is refused before any hashing, and the pool recovers."""

from __future__ import annotations

import threading

import anyio
from anyio.from_thread import start_blocking_portal

from portal.crypto.hashing import HashingPool, Overloaded, SenderBusy, current_sender
from portal.crypto.passwords import PasswordHasher


def test_excess_work_is_refused_before_it_runs() -> None:
    pool = HashingPool(threads=2, queue=3)
    release = threading.Event()
    started: list[int] = []
    outcomes: list[str] = []

    def work(i: int) -> int:
        started.append(i)
        release.wait(5)
        return i

    async def one(i: int) -> None:
        try:
            await pool.run(lambda: work(i))
            outcomes.append("done")
        except Overloaded:
            outcomes.append("refused")

    async def flood() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)
            await anyio.sleep(0.2)
            assert len(started) == 2  # only `threads` hashes at once
            release.set()

    # A portal runs the event loop in its own thread (the browser tests own this one's).
    with start_blocking_portal() as portal:
        portal.call(flood)
    assert outcomes.count("done") == 5 and outcomes.count("refused") == 15
    assert len(started) == 5  # refused work never ran
    assert pool.admitted == 0

    async def later() -> int:
        return await pool.run(lambda: 7)

    with start_blocking_portal() as portal:
        assert portal.call(later) == 7


def test_one_sender_cannot_fill_the_queue_for_everyone_else() -> None:
    """A flood from one sender takes at most half the places; another sender still gets
    in, next after the hash already running, and the flooder's excess is refused as its
    own (429), not as "busy" (503)."""
    pool = HashingPool(threads=1, queue=7, per_sender=1)  # 8 places, 4 kept for others
    release = threading.Event()
    outcomes: dict[str, list[str]] = {"flooder": [], "visitor": []}
    started: list[str] = []

    def work(sender: str) -> None:
        started.append(sender)
        release.wait(5)

    async def one(sender: str) -> None:
        current_sender.set(sender)  # what security/senders.py does for each request
        try:
            await pool.run(lambda: work(sender))
            outcomes[sender].append("done")
        except SenderBusy:
            outcomes[sender].append("slowed")
        except Overloaded:
            outcomes[sender].append("busy")

    async def flood_then_visit() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one, "flooder")
            await anyio.sleep(0.1)
            tg.start_soon(one, "visitor")
            await anyio.sleep(0.1)
            release.set()

    with start_blocking_portal() as portal:
        portal.call(flood_then_visit)
    assert outcomes["flooder"].count("done") == 4
    assert outcomes["flooder"].count("slowed") == 16
    assert outcomes["visitor"] == ["done"]
    assert started == ["flooder", "visitor", "flooder", "flooder", "flooder"]


def test_passwords_verify_and_rehash_when_parameters_change() -> None:
    old = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    new = PasswordHasher(time_cost=2, memory_kib=2048, parallelism=1)
    stored = old.hash("correct horse battery")
    assert new.verify(stored, "correct horse battery")
    assert not new.verify(stored, "wrong horse battery")
    assert new.needs_rehash(stored) and not old.needs_rehash(stored)
    assert not new.verify_or_dummy(None, "anything at all")


def test_password_is_normalised_before_hashing() -> None:
    hasher = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    composed, decomposed = "salasana-\u00e4\u00e4kk\u00f6set", "salasana-a\u0308a\u0308kko\u0308set"
    assert hasher.verify(hasher.hash(composed), decomposed)
