"""sealed notes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "investigator_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(length=200), nullable=False),
        sa.Column("recovery_wrapped_key", sa.LargeBinary(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("retired_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_investigator_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investigator_keys")),
    )
    with op.batch_alter_table("investigator_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_investigator_keys_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "notes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("author_account_id", sa.String(length=32), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("envelope", sa.LargeBinary(length=70000), nullable=False),
        sa.Column("sealed_in", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "author_role IN ('ngo_worker', 'client', 'investigator')", name=op.f("ck_notes_author")
        ),
        sa.CheckConstraint("sealed_in IN ('browser', 'server')", name=op.f("ck_notes_sealed_in")),
        sa.ForeignKeyConstraint(
            ["author_account_id"], ["accounts.id"], name=op.f("fk_notes_author_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_notes_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["investigator_keys.id"], name=op.f("fk_notes_key_id_investigator_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notes_consultation_id_created_at", ["consultation_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_notes_key_id", ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index("ix_notes_key_id")
        batch_op.drop_index("ix_notes_consultation_id_created_at")

    op.drop_table("notes")
    with op.batch_alter_table("investigator_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_investigator_keys_account_id"))

    op.drop_table("investigator_keys")
