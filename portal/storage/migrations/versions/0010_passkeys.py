"""passkeys: credentials, single-use challenges, role requirements, recovery links

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passkey_challenges",
        sa.Column("session_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('register', 'sign_in', 'confirm')",
            name=op.f("ck_passkey_challenges_purpose"),
        ),
        sa.PrimaryKeyConstraint("session_hash", "purpose", name=op.f("pk_passkey_challenges")),
    )
    with op.batch_alter_table("passkey_challenges", schema=None) as batch_op:
        batch_op.create_index("ix_passkey_challenges_created_at", ["created_at"], unique=False)

    op.create_table(
        "passkey_requirements",
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("required_by", sa.String(length=32), nullable=False),
        sa.Column("required_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "role IN ('investigator', 'ngo_worker')", name=op.f("ck_passkey_requirements_role")
        ),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_passkey_requirements")),
    )
    op.create_table(
        "passkey_recoveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_passkey_recoveries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey_recoveries")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_passkey_recoveries_token_hash")),
    )
    with op.batch_alter_table("passkey_recoveries", schema=None) as batch_op:
        batch_op.create_index("ix_passkey_recoveries_account_id", ["account_id"], unique=False)

    op.create_table(
        "passkeys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=2048), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_passkeys_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkeys_credential_id")),
    )
    with op.batch_alter_table("passkeys", schema=None) as batch_op:
        batch_op.create_index("ix_passkeys_account_id", ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("passkeys", schema=None) as batch_op:
        batch_op.drop_index("ix_passkeys_account_id")

    op.drop_table("passkeys")
    with op.batch_alter_table("passkey_recoveries", schema=None) as batch_op:
        batch_op.drop_index("ix_passkey_recoveries_account_id")

    op.drop_table("passkey_recoveries")
    op.drop_table("passkey_requirements")
    with op.batch_alter_table("passkey_challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_passkey_challenges_created_at")

    op.drop_table("passkey_challenges")
