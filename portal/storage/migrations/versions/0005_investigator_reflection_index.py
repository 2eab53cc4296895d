"""an investigator's consultations indexed with their reflection periods

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The dashboard lists one investigator's running reflection periods by end date; the
    # composite index also serves every lookup by investigator_id alone (bench/).
    op.create_index(
        "ix_consultations_investigator_reflection",
        "consultations",
        ["investigator_id", "reflection_status", "reflection_ends_on"],
    )
    op.drop_index("ix_consultations_investigator_id", "consultations")


def downgrade() -> None:
    op.create_index("ix_consultations_investigator_id", "consultations", ["investigator_id"])
    op.drop_index("ix_consultations_investigator_reflection", "consultations")
