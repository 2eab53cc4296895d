"""Schema migrations with Alembic, driven from code (no alembic.ini to keep in step)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from portal.storage.database import Queryable, sqlalchemy_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to date; safe to run on every start."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the schema back to ``revision`` (docs/operations.md, "Upgrading and rolling
    back": only together with the previous release's code, after a backup)."""
    command.downgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the tables in ``tables.py`` differ from what the migrations build."""
    command.check(alembic_config(database_url))


@lru_cache(maxsize=1)
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:  # the migrations directory ships with the code: a broken install
        raise MissingMigrations("no migrations found in portal/storage/migrations")
    return head


class MissingMigrations(RuntimeError):
    """The installed package has no migrations (a broken build or checkout)."""


def status(database_url: str) -> tuple[str | None, str, list[str]]:
    """(the database's revision, the latest, the revisions still to apply, oldest first);
    reads only."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    head = script.get_current_head() or ""
    pending = [rev.revision for rev in script.iterate_revisions(head, current)]
    return current, head, list(reversed(pending))


async def schema_is_current(db: Queryable) -> bool:
    """True when the running database is at the latest revision (for /readyz)."""
    try:
        rows = await db.fetch_all("SELECT version_num FROM alembic_version")
    except Exception:
        return False
    return [row["version_num"] for row in rows] == [head_revision()]
