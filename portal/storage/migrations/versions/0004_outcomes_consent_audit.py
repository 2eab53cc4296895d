"""outcomes, consent, audit and retention

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor_account_id", sa.String(length=32), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=True),
        sa.Column("pseudonym", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_events_consultation_id", ["consultation_id"], unique=False)

    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_run_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "consent_texts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=5000), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_consent_texts_created_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_texts")),
        sa.UniqueConstraint("version", name=op.f("uq_consent_texts_version")),
    )
    op.create_table(
        "referral_consents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("consent_text_id", sa.String(length=32), nullable=False),
        sa.Column("explained", sa.Integer(), nullable=False),
        sa.Column("consents", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_text_id"],
            ["consent_texts.id"],
            name=op.f("fk_referral_consents_consent_text_id_consent_texts"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_referral_consents_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["accounts.id"], name=op.f("fk_referral_consents_recorded_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_consents")),
    )
    with op.batch_alter_table("referral_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_referral_consents_consultation_id"), ["consultation_id"], unique=False
        )

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("outcome_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reflection_status", sa.String(length=16), server_default="none", nullable=False
            )
        )
        batch_op.add_column(sa.Column("reflection_ends_on", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("reported_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("case_reference", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("first_interview_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("first_interview_investigator_id", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("retention_extended_until", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("retention_extension_reason", sa.String(length=32), nullable=True)
        )
        batch_op.create_index(
            "ix_consultations_reported_at_last_activity_at",
            ["reported_at", "last_activity_at"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_first_interview_investigator_id_accounts"),
            "accounts",
            ["first_interview_investigator_id"],
            ["id"],
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_consultation_id", ["consultation_id"], unique=False)
    # Calendars and dashboards (measured in bench/: without these they scan).
    op.create_index(
        "ix_consultations_reflection_status_reflection_ends_on",
        "consultations",
        ["reflection_status", "reflection_ends_on"],
    )
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"])
    op.create_index("ix_slots_starts_at", "slots", ["starts_at"])


def downgrade() -> None:
    op.drop_index("ix_slots_starts_at", "slots")
    op.drop_index("ix_meetings_starts_at", "meetings")
    op.drop_index("ix_consultations_reflection_status_reflection_ends_on", "consultations")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_consultation_id")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_first_interview_investigator_id_accounts"),
            type_="foreignkey",
        )
        batch_op.drop_index("ix_consultations_reported_at_last_activity_at")
        batch_op.drop_column("retention_extension_reason")
        batch_op.drop_column("retention_extended_until")
        batch_op.drop_column("first_interview_investigator_id")
        batch_op.drop_column("first_interview_at")
        batch_op.drop_column("case_reference")
        batch_op.drop_column("reported_at")
        batch_op.drop_column("reflection_ends_on")
        batch_op.drop_column("reflection_status")
        batch_op.drop_column("outcome_at")
        batch_op.drop_column("outcome")

    with op.batch_alter_table("referral_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_consents_consultation_id"))

    op.drop_table("referral_consents")
    op.drop_table("consent_texts")
    op.drop_table("job_runs")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_consultation_id")
        batch_op.drop_index("ix_audit_events_at")

    op.drop_table("audit_events")
