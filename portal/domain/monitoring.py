"""What the metrics read from the database: job times and counts, never a row's content.

Threat (privacy): the metrics endpoint is a second way to look into the database. It
gets numbers (when the purge and the backup last ran, how many consultations the purge
deleted, how many mails wait), nothing that names a person or a consultation.
"""

from __future__ import annotations

from portal.clock import Clock
from portal.domain.jobs import PURGE_JOB
from portal.metrics import Snapshot
from portal.storage import audit as audit_store
from portal.storage import mail as mail_store
from portal.storage.database import Database
from portal.storage.jobs import last_run, record_run

BACKUP_JOB = "backup"  # `portal backup` records its last success under this name


async def snapshot(db: Database, clock: Clock) -> Snapshot:
    purge_at = await last_run(db, PURGE_JOB)
    purged = None if purge_at is None else await audit_store.count_since(db, "purged", purge_at)
    return Snapshot(
        purge_last_run=purge_at,
        purge_last_count=purged,
        backup_last_success=await last_run(db, BACKUP_JOB),
        mail=await mail_store.outbox_counts(db),
        now=clock.now(),
    )


async def backup_succeeded(db: Database, clock: Clock) -> None:
    await record_run(db, BACKUP_JOB, clock.now())


async def last_backup(db: Database) -> int | None:
    return await last_run(db, BACKUP_JOB)
