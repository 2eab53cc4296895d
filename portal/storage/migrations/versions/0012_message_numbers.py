"""messages numbered in the order they arrive in their conversation

Times are whole seconds, so two messages of one second had no order of their own: the
pages sorted them by their random ids, and the meeting page's latest three could be any
three of them. Messages stored so far are numbered in the order the pages showed them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE messages SET number = (SELECT COUNT(*) FROM messages earlier"
        " WHERE earlier.consultation_id = messages.consultation_id"
        " AND (earlier.created_at < messages.created_at"
        " OR (earlier.created_at = messages.created_at AND earlier.id <= messages.id)))"
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index("ix_messages_consultation_id_created_at")
        batch_op.create_index(
            "ix_messages_consultation_id_number", ["consultation_id", "number"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_consultation_id_number")
        batch_op.create_index(
            "ix_messages_consultation_id_created_at", ["consultation_id", "created_at"]
        )
        batch_op.drop_column("number")
