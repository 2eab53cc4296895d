"""The schema, as SQLAlchemy Core metadata: the source of truth for Alembic migrations.

Times are integer seconds since the epoch (portable, no time-zone surprises). Public
object ids are random text, so ids in URLs reveal nothing about how many exist.
Identity (name, birth date, contact) of clients never appears here before a decision to
report; staff names are fine.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)

organisations = Table(
    "organisations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("kind IN ('police', 'ngo')", name="kind"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("totp_secret", String(64), nullable=False),
    Column("totp_last_step", BigInteger, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger),
    CheckConstraint("role IN ('coordinator', 'investigator', 'ngo_worker')", name="role"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("nonce_hash", LargeBinary(32), nullable=False),
    Column("created_by", ID, ForeignKey("accounts.id")),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Column("revoked_at", BigInteger),
    CheckConstraint("role IN ('coordinator', 'investigator', 'ngo_worker')", name="role"),
)

sessions = Table(
    "sessions",
    metadata,
    # sha256 of the cookie value: a stolen database holds no usable session id.
    Column("id_hash", LargeBinary(32), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("locale", String(8)),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Index("ix_sessions_account_id", "account_id"),
    Index("ix_sessions_last_seen_at", "last_seen_at"),
)
