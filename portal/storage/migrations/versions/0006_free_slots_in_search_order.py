"""free slots indexed in the order the slot search lists them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The search lists free slots by start time, then id: with the id in the index neither
    # database sorts the slots that start at the same time (bench/).
    op.create_index("ix_slots_status_starts_at_id", "slots", ["status", "starts_at", "id"])
    op.drop_index("ix_slots_status_starts_at", "slots")


def downgrade() -> None:
    op.create_index("ix_slots_status_starts_at", "slots", ["status", "starts_at"])
    op.drop_index("ix_slots_status_starts_at_id", "slots")
