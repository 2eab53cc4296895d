"""partners: advisers and their organisations, referrals, safety plans, interpreters per
meeting, the first interview's place, place names per language

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


# (table, constraint, old condition, new condition): the kinds and roles partners add.
CHECKS = [
    (
        "organisations",
        "kind",
        "kind IN ('police', 'ngo')",
        "kind IN ('police', 'ngo', 'assistance', 'municipal')",
    ),
    (
        "accounts",
        "role",
        "role IN ('coordinator', 'investigator', 'ngo_worker')",
        "role IN ('coordinator', 'investigator', 'ngo_worker', 'adviser')",
    ),
    (
        "invitations",
        "role",
        "role IN ('coordinator', 'investigator', 'ngo_worker')",
        "role IN ('coordinator', 'investigator', 'ngo_worker', 'adviser')",
    ),
    (
        "passkey_requirements",
        "role",
        "role IN ('investigator', 'ngo_worker')",
        "role IN ('investigator', 'ngo_worker', 'adviser')",
    ),
]


def _replace_checks(new: bool) -> None:
    for table, name, old_condition, new_condition in CHECKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"ck_{table}_{name}"), type_="check")
            batch_op.create_check_constraint(
                batch_op.f(f"ck_{table}_{name}"), new_condition if new else old_condition
            )


def upgrade() -> None:
    _replace_checks(new=True)
    op.create_table(
        "place_translations",
        sa.Column("place_id", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("directions", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_place_translations_place_id_places"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("place_id", "locale", name=op.f("pk_place_translations")),
    )
    op.create_table(
        "adviser_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'answered', 'withdrawn')", name=op.f("ck_adviser_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["accounts.id"], name=op.f("fk_adviser_requests_answered_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_adviser_requests_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_adviser_requests_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["accounts.id"],
            name=op.f("fk_adviser_requests_requested_by_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adviser_requests")),
    )
    with op.batch_alter_table("adviser_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_adviser_requests_consultation_id", ["consultation_id"], unique=False
        )
        batch_op.create_index(
            "ix_adviser_requests_organisation_id_status",
            ["organisation_id", "status"],
            unique=False,
        )

    op.create_table(
        "safety_plans",
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("housing", sa.String(length=24), nullable=False),
        sa.Column("urgent_risk", sa.Integer(), nullable=False),
        sa.Column("safe_contact_agreed", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "housing IN ('not_needed', 'needed', 'assistance_system', 'shelter', 'municipal',"
            " 'other')",
            name=op.f("ck_safety_plans_housing"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_safety_plans_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["accounts.id"], name=op.f("fk_safety_plans_updated_by_accounts")
        ),
        sa.PrimaryKeyConstraint("consultation_id", name=op.f("pk_safety_plans")),
    )
    with op.batch_alter_table("safety_plans", schema=None) as batch_op:
        batch_op.create_index("ix_safety_plans_urgent_risk", ["urgent_risk"], unique=False)

    op.create_table(
        "adviser_meetings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("adviser_id", sa.String(length=32), nullable=False),
        sa.Column("meeting_id", sa.String(length=32), nullable=True),
        sa.Column("place_id", sa.String(length=32), nullable=True),
        sa.Column("starts_at", sa.BigInteger(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('planned', 'held', 'cancelled')", name=op.f("ck_adviser_meetings_status")
        ),
        sa.CheckConstraint(
            "meeting_id IS NOT NULL OR (place_id IS NOT NULL AND starts_at IS NOT NULL"
            " AND duration_minutes IS NOT NULL)",
            name=op.f("ck_adviser_meetings_when"),
        ),
        sa.ForeignKeyConstraint(
            ["adviser_id"], ["accounts.id"], name=op.f("fk_adviser_meetings_adviser_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_adviser_meetings_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_adviser_meetings_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_adviser_meetings_place_id_places")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["adviser_requests.id"],
            name=op.f("fk_adviser_meetings_request_id_adviser_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adviser_meetings")),
    )
    with op.batch_alter_table("adviser_meetings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_adviser_meetings_adviser_id_starts_at", ["adviser_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_adviser_meetings_consultation_id", ["consultation_id"], unique=False
        )
        batch_op.create_index("ix_adviser_meetings_meeting_id", ["meeting_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("consent_id", sa.String(length=32), nullable=False),
        sa.Column("sent_by", sa.String(length=32), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_by", sa.String(length=32), nullable=True),
        sa.Column("status_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('sent', 'received', 'accepted', 'declined', 'closed')",
            name=op.f("ck_referrals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["referral_consents.id"],
            name=op.f("fk_referrals_consent_id_referral_consents"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_referrals_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_referrals_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["sent_by"], ["accounts.id"], name=op.f("fk_referrals_sent_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["status_by"], ["accounts.id"], name=op.f("fk_referrals_status_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_consultation_id", ["consultation_id"], unique=False)
        batch_op.create_index(
            "ix_referrals_organisation_id_status", ["organisation_id", "status"], unique=False
        )

    op.create_table(
        "safety_plan_envelopes",
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_key_id", sa.String(length=32), nullable=False),
        sa.Column("envelope", sa.LargeBinary(length=70000), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["safety_plans.consultation_id"],
            name=op.f("fk_safety_plan_envelopes_consultation_id_safety_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_key_id"],
            ["investigator_keys.id"],
            name=op.f("fk_safety_plan_envelopes_recipient_key_id_investigator_keys"),
        ),
        sa.PrimaryKeyConstraint(
            "consultation_id", "recipient_key_id", name=op.f("pk_safety_plan_envelopes")
        ),
    )
    op.create_table(
        "referral_envelopes",
        sa.Column("referral_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_key_id", sa.String(length=32), nullable=False),
        sa.Column("envelope", sa.LargeBinary(length=70000), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_key_id"],
            ["investigator_keys.id"],
            name=op.f("fk_referral_envelopes_recipient_key_id_investigator_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_envelopes_referral_id_referrals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "referral_id", "recipient_key_id", name=op.f("pk_referral_envelopes")
        ),
    )
    with op.batch_alter_table("referral_envelopes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_referral_envelopes_recipient_key_id", ["recipient_key_id"], unique=False
        )

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_interview_place_id", sa.String(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("first_interview_change_reason", sa.String(length=24), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_first_interview_place_id_places"),
            "places",
            ["first_interview_place_id"],
            ["id"],
        )

    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "interpreter_status",
                sa.String(length=16),
                server_default="not_needed",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("interpreter_language", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("interpreter_wishes_met", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("interpreter_updated_at", sa.BigInteger(), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_meetings_interpreter_status"),
            "interpreter_status IN ('not_needed', 'needed', 'requested', 'confirmed')",
        )
    # Meetings booked before this revision: an interpreter is needed where the booking
    # said so (nobody has requested or confirmed one through the portal yet).
    op.execute(
        "UPDATE meetings SET interpreter_status = 'needed' WHERE consultation_id IN"
        " (SELECT id FROM consultations WHERE interpreter_needed = 1)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM passkey_requirements WHERE role = 'adviser'")
    _replace_checks(new=False)
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_meetings_interpreter_status"), type_="check")
        batch_op.drop_column("interpreter_updated_at")
        batch_op.drop_column("interpreter_wishes_met")
        batch_op.drop_column("interpreter_language")
        batch_op.drop_column("interpreter_status")

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_first_interview_place_id_places"), type_="foreignkey"
        )
        batch_op.drop_column("first_interview_change_reason")
        batch_op.drop_column("first_interview_place_id")

    with op.batch_alter_table("referral_envelopes", schema=None) as batch_op:
        batch_op.drop_index("ix_referral_envelopes_recipient_key_id")

    op.drop_table("referral_envelopes")
    op.drop_table("safety_plan_envelopes")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_organisation_id_status")
        batch_op.drop_index("ix_referrals_consultation_id")

    op.drop_table("referrals")
    with op.batch_alter_table("adviser_meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_adviser_meetings_meeting_id")
        batch_op.drop_index("ix_adviser_meetings_consultation_id")
        batch_op.drop_index("ix_adviser_meetings_adviser_id_starts_at")

    op.drop_table("adviser_meetings")
    with op.batch_alter_table("safety_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_safety_plans_urgent_risk")

    op.drop_table("safety_plans")
    with op.batch_alter_table("adviser_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_adviser_requests_organisation_id_status")
        batch_op.drop_index("ix_adviser_requests_consultation_id")

    op.drop_table("adviser_requests")
    op.drop_table("place_translations")
