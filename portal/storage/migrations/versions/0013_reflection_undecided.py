"""a reflection period nobody has decided on yet is NULL, not "not needed"

The column used to default to 'none' ("not needed"), so the investigator's form showed
"Not needed" as if decided before anyone chose. A 'none' the investigator saved left an
audit event (reflection_recorded); every other 'none' was the default and becomes NULL.
Where audit events were purged before the consultation, that asks once more.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.alter_column(
            "reflection_status",
            existing_type=sa.String(length=16),
            nullable=True,
            server_default=None,
        )
    op.execute(
        "UPDATE consultations SET reflection_status = NULL WHERE reflection_status = 'none'"
        " AND NOT EXISTS (SELECT 1 FROM audit_events WHERE audit_events.consultation_id"
        " = consultations.id AND audit_events.action = 'reflection_recorded')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE consultations SET reflection_status = 'none' WHERE reflection_status IS NULL"
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.alter_column(
            "reflection_status",
            existing_type=sa.String(length=16),
            nullable=False,
            server_default="none",
        )
