"""Periodic jobs run by exactly one process, however many app processes are running.

Several uvicorn workers (or hosts, on PostgreSQL) each start the same background loop.
Each loop wakes up now and then and asks ``claim``; the claim is one conditional
upsert on the job's ``job_runs`` row, so per period exactly one caller sees its write
succeed and runs the job. There is no lock to forget and nothing to clean up when a
process dies: the next period simply goes to whichever process asks first.

Threat (privacy): job logs give counts only, never a pseudonym or an id.
"""

from __future__ import annotations

import asyncio
import logging

from portal.clock import Clock
from portal.domain import attention, retention
from portal.settings import Settings
from portal.storage.database import Database
from portal.storage.jobs import claim
from portal.storage.sessions import delete_stale_sessions

DAY = 24 * 60 * 60
PURGE_JOB = "purge"
ATTENTION_JOB = "attention"

logger = logging.getLogger("portal.jobs")


async def run_purge_if_due(db: Database, clock: Clock, settings: Settings) -> int | None:
    """Purge if this process won today's run: the number purged, or None if not ours."""
    if not await claim(db, PURGE_JOB, clock.now(), DAY):
        return None
    purged = await retention.purge(db, clock, settings, dry_run=False)
    # Expired sessions too: their rows are already refused at login time, this only
    # stops the table from growing (anonymous language choices, abandoned clients).
    now = clock.now()
    stale = await delete_stale_sessions(
        db,
        idle_before=now - max(settings.staff_idle_timeout, settings.client_idle_timeout),
        created_before=now - max(settings.staff_absolute_timeout, settings.client_absolute_timeout),
    )
    logger.info("purged %d consultations and %d expired sessions", len(purged), stale)
    return len(purged)


async def purge_daily(db: Database, clock: Clock, settings: Settings) -> None:
    """The background loop started in the app's lifespan (cancelled at shutdown).

    It sleeps first, so a short-lived app (a test, a restart loop) never purges on
    start-up, then asks every ``purge_interval_seconds`` whether today's run is due.
    """
    while True:
        await asyncio.sleep(settings.purge_interval_seconds)
        try:
            await run_purge_if_due(db, clock, settings)
        except Exception:
            # Keep the loop alive; the redacting formatter writes the frames only.
            logger.exception("the purge job failed; it will be tried again")


async def run_attention_sweep_if_due(db: Database, clock: Clock, settings: Settings) -> int | None:
    """The attention sweep if this process won this period's run: the number of items
    it created, or None if not ours."""
    if not await claim(db, ATTENTION_JOB, clock.now(), settings.attention_sweep_seconds):
        return None
    return await attention.sweep(db, clock)


async def attention_sweep_loop(db: Database, clock: Clock, settings: Settings) -> None:
    """The background loop of the attention sweep (started in the app's lifespan like
    ``purge_daily``, and like it sleeping first): every ``attention_sweep_seconds`` each
    process asks, and one of them runs the sweep."""
    while True:
        await asyncio.sleep(settings.attention_sweep_seconds)
        try:
            await run_attention_sweep_if_due(db, clock, settings)
        except Exception:
            logger.exception("the attention sweep failed; it will be tried again")
