"""re-authentication time on sessions, security notices on accounts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # When this session last proved password and second factor (a sign-in counts):
    # sensitive actions need it within the last 5 minutes. Existing sessions have none.
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reauth_at", sa.BigInteger(), nullable=True))
    # Key and password changes the owner has not yet dismissed, shown on every staff page.
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("security_notices", sa.String(length=400), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("security_notices")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("reauth_at")
