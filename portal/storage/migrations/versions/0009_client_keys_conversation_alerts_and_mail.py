"""client keys, conversation, alerts and mail

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("not_before", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("given_up_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("kind IN ('alert', 'verify')", name=op.f("ck_mail_outbox_kind")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_mail_outbox_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mail_outbox_account_id_created_at", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_mail_outbox_sent_at_given_up_at_not_before",
            ["sent_at", "given_up_at", "not_before"],
            unique=False,
        )

    op.create_table(
        "attention_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.String(length=32), nullable=True),
        sa.Column("urgent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("dedupe", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_attention_items_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_attention_items_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attention_items")),
        sa.UniqueConstraint(
            "account_id", "dedupe", name=op.f("uq_attention_items_account_id_dedupe")
        ),
    )
    with op.batch_alter_table("attention_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attention_items_account_id_done_at_created_at",
            ["account_id", "done_at", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_attention_items_consultation_id", ["consultation_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consultation_id", sa.String(length=32), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("author_account_id", sa.String(length=32), nullable=True),
        sa.Column("sealed_in", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "author_role IN ('investigator', 'ngo_worker', 'client', 'adviser')",
            name=op.f("ck_messages_author"),
        ),
        sa.CheckConstraint(
            "sealed_in IN ('browser', 'server')", name=op.f("ck_messages_sealed_in")
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_messages_author_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_messages_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_consultation_id_created_at",
            ["consultation_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "message_envelopes",
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_key_id", sa.String(length=32), nullable=False),
        sa.Column("envelope", sa.LargeBinary(length=70000), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_envelopes_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "message_id", "recipient_key_id", name=op.f("pk_message_envelopes")
        ),
    )
    with op.batch_alter_table("message_envelopes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_envelopes_recipient_key_id", ["recipient_key_id"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("email_verified_at", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("client_public_key", sa.LargeBinary(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("client_key_salt", sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column("client_key_opslimit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("client_key_memlimit_kib", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("client_verifier", sa.LargeBinary(length=32), nullable=True))

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sealed_client_key", sa.LargeBinary(length=72), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("sealed_client_key")

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("client_verifier")
        batch_op.drop_column("client_key_memlimit_kib")
        batch_op.drop_column("client_key_opslimit")
        batch_op.drop_column("client_key_salt")
        batch_op.drop_column("client_public_key")
        batch_op.drop_column("client_key_id")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
        batch_op.drop_column("email")

    with op.batch_alter_table("message_envelopes", schema=None) as batch_op:
        batch_op.drop_index("ix_message_envelopes_recipient_key_id")

    op.drop_table("message_envelopes")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_consultation_id_created_at")

    op.drop_table("messages")
    with op.batch_alter_table("attention_items", schema=None) as batch_op:
        batch_op.drop_index("ix_attention_items_consultation_id")
        batch_op.drop_index("ix_attention_items_account_id_done_at_created_at")

    op.drop_table("attention_items")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_outbox_sent_at_given_up_at_not_before")
        batch_op.drop_index("ix_mail_outbox_account_id_created_at")

    op.drop_table("mail_outbox")
