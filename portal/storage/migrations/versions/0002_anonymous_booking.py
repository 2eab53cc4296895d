"""anonymous booking

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("directions", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('police_station', 'ngo_premises', 'other')", name=op.f("ck_places_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
    )
    op.create_table(
        "consultations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=32), nullable=False),
        sa.Column("booked_by", sa.String(length=32), nullable=False),
        sa.Column("first_investigator_id", sa.String(length=32), nullable=False),
        sa.Column("investigator_id", sa.String(length=32), nullable=False),
        sa.Column("client_locale", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("interpreter_needed", sa.Integer(), nullable=False),
        sa.Column("interpreter_gender", sa.String(length=16), nullable=False),
        sa.Column("interpreter_other_community", sa.Integer(), nullable=False),
        sa.Column("investigator_gender", sa.String(length=16), nullable=False),
        sa.Column("support_person", sa.Integer(), nullable=False),
        sa.Column("accessibility", sa.String(length=24), nullable=False),
        sa.Column("childcare", sa.Integer(), nullable=False),
        sa.Column("venue_preference", sa.String(length=24), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("minor", sa.Integer(), nullable=False),
        sa.Column("reflection_period", sa.String(length=16), nullable=False),
        sa.Column("safe_contact", sa.String(length=24), nullable=False),
        sa.Column("client_code_lookup", sa.LargeBinary(length=32), nullable=True),
        sa.Column("client_code_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_activity_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booked_by"], ["accounts.id"], name=op.f("fk_consultations_booked_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["first_investigator_id"],
            ["accounts.id"],
            name=op.f("fk_consultations_first_investigator_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["investigator_id"],
            ["accounts.id"],
            name=op.f("fk_consultations_investigator_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_consultations_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultations")),
        sa.UniqueConstraint("client_code_lookup", name=op.f("uq_consultations_client_code_lookup")),
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.create_index("ix_consultations_investigator_id", ["investigator_id"], unique=False)
        batch_op.create_index(
            "ix_consultations_organisation_id_created_at",
            ["organisation_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "slots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("investigator_id", sa.String(length=32), nullable=False),
        sa.Column("place_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("interpreter_available", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('free', 'booked', 'withdrawn')", name=op.f("ck_slots_status")
        ),
        sa.ForeignKeyConstraint(
            ["investigator_id"], ["accounts.id"], name=op.f("fk_slots_investigator_id_accounts")
        ),
        sa.ForeignKeyConstraint(["place_id"], ["places.id"], name=op.f("fk_slots_place_id_places")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_slots_investigator_id_starts_at", ["investigator_id", "starts_at"], unique=False
        )
        batch_op.create_index("ix_slots_status_starts_at", ["status", "starts_at"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("slot_id", sa.String(length=32), nullable=False),
        sa.Column("investigator_id", sa.String(length=32), nullable=False),
        sa.Column("place_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("change_reason", sa.String(length=24), nullable=True),
        sa.Column("is_follow_up", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('booked', 'confirmed', 'change_requested', 'cancelled', 'held', 'no_show')",
            name=op.f("ck_meetings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_meetings_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["investigator_id"], ["accounts.id"], name=op.f("fk_meetings_investigator_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_meetings_place_id_places")
        ),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], name=op.f("fk_meetings_slot_id_slots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index("ix_meetings_consultation_id", ["consultation_id"], unique=False)
        batch_op.create_index(
            "ix_meetings_investigator_id_starts_at", ["investigator_id", "starts_at"], unique=False
        )
        batch_op.create_index("ix_meetings_slot_id", ["slot_id"], unique=False)

    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("lookup", sa.LargeBinary(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_one_time_codes_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
        sa.UniqueConstraint("lookup", name=op.f("uq_one_time_codes_lookup")),
    )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_one_time_codes_consultation_id"), ["consultation_id"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gender", sa.String(length=16), server_default="unspecified", nullable=False)
        )

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gender", sa.String(length=16), server_default="unspecified", nullable=False)
        )

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consultation_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_sessions_consultation_id_consultations"),
            "consultations",
            ["consultation_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_sessions_consultation_id_consultations"), type_="foreignkey"
        )
        batch_op.drop_column("consultation_id")

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("gender")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("gender")

    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_codes_consultation_id"))

    op.drop_table("one_time_codes")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_slot_id")
        batch_op.drop_index("ix_meetings_investigator_id_starts_at")
        batch_op.drop_index("ix_meetings_consultation_id")

    op.drop_table("meetings")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index("ix_slots_status_starts_at")
        batch_op.drop_index("ix_slots_investigator_id_starts_at")

    op.drop_table("slots")
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_index("ix_consultations_organisation_id_created_at")
        batch_op.drop_index("ix_consultations_investigator_id")

    op.drop_table("consultations")
    op.drop_table("places")
