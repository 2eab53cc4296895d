"""Whether this process can serve: its database answers at the latest schema revision.

Used by /readyz (web/public.py), which adds the Redis check and the time limit.
"""

from __future__ import annotations

from portal.storage.database import Database
from portal.storage.migrate import schema_is_current


async def database_problem(db: Database) -> str:
    """ "" when ready; else a fixed, content-free word: "database" or "schema"."""
    try:
        await db.fetch_value("SELECT 1")
    except Exception:
        return "database"
    return "" if await schema_is_current(db) else "schema"
