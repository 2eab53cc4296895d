"""Alembic environment: runs migrations online against the configured URL.

On PostgreSQL the migrations run under a session advisory lock: two ``portal migrate``
(or ``portal serve``) starting at once on one database take turns, and the second finds
the schema already up to date, instead of both creating the same tables and one failing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from portal.storage.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
# Any fixed 64-bit number, the same in every version of the portal.
MIGRATION_LOCK = 7_105_931_465_822_781_489
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()  # the lock is the session's: it outlives this transaction
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if postgres:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
engine.dispose()
