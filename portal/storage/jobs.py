"""The job_runs table: electing the one process that runs a periodic job."""

from __future__ import annotations

from portal.storage.database import Queryable


async def claim(db: Queryable, name: str, now: int, every_seconds: int) -> bool:
    """True for the one caller that may run job ``name`` now.

    The first run inserts the row; later runs move ``last_run_at`` forward only if the
    period has passed. PostgreSQL re-checks the ``WHERE`` on the locked row, and SQLite
    runs one writer at a time, so two callers can never both see a change.
    """
    changed = await db.execute(
        "INSERT INTO job_runs (name, last_run_at) VALUES (:name, :now)"
        " ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at"
        " WHERE job_runs.last_run_at <= :due",
        name=name,
        now=now,
        due=now - every_seconds,
    )
    return changed == 1


async def record_run(db: Queryable, name: str, now: int) -> None:
    """Note that job ``name`` finished now (the backup command: its age is monitored)."""
    await db.execute(
        "INSERT INTO job_runs (name, last_run_at) VALUES (:name, :now)"
        " ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at",
        name=name,
        now=now,
    )


async def last_run(db: Queryable, name: str) -> int | None:
    value = await db.fetch_value("SELECT last_run_at FROM job_runs WHERE name = :name", name=name)
    return None if value is None else int(value)
