"""Schema migrations with Alembic, driven from code (no alembic.ini to keep in step)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from portal.storage.database import sqlalchemy_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to date; safe to run on every start."""
    command.upgrade(alembic_config(database_url), revision)


def check(database_url: str) -> None:
    """Raise if the tables in ``tables.py`` differ from what the migrations build."""
    command.check(alembic_config(database_url))
