"""The schema, as SQLAlchemy Core metadata: the source of truth for Alembic migrations.

Times are integer seconds since the epoch (portable, no time-zone surprises). Public
object ids are random text, so ids in URLs reveal nothing about how many exist.
Identity (name, birth date, contact) of clients never appears here before a decision to
report; staff names are fine.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)

organisations = Table(
    "organisations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("kind IN ('police', 'ngo', 'assistance', 'municipal')", name="kind"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    # Only used to match a client's wish for a woman or a man investigator.
    Column("gender", String(16), nullable=False, server_default="unspecified"),
    Column("password_hash", String(200), nullable=False),
    Column("totp_secret", String(64), nullable=False),
    Column("totp_last_step", BigInteger, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("disabled_at", BigInteger),
    # Key and password changes not yet dismissed by the owner, each with its time and a
    # tag of the session that made it (storage/accounts.py): every other session of the
    # account shows them, so a change made from a stolen session reaches the owner.
    Column("security_notices", String(400), nullable=False, server_default=""),
    # Optional, for content-free alerts ("there is something new for you"): set by the
    # owner on their account page, used only once the link sent to it was opened.
    Column("email", String(254)),
    Column("email_verified_at", BigInteger),
    CheckConstraint(
        "role IN ('coordinator', 'investigator', 'ngo_worker', 'adviser')", name="role"
    ),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("gender", String(16), nullable=False, server_default="unspecified"),
    Column("nonce_hash", LargeBinary(32), nullable=False),
    Column("created_by", ID, ForeignKey("accounts.id")),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Column("revoked_at", BigInteger),
    CheckConstraint(
        "role IN ('coordinator', 'investigator', 'ngo_worker', 'adviser')", name="role"
    ),
)

sessions = Table(
    "sessions",
    metadata,
    # sha256 of the cookie value: a stolen database holds no usable session id.
    Column("id_hash", LargeBinary(32), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE")),
    # A client's session names the consultation its client code opened.
    Column("consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE")),
    Column("locale", String(8)),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    # When this session last proved password and second factor (a sign-in counts):
    # sensitive actions (key and password changes) need it within the last 5 minutes.
    Column("reauth_at", BigInteger),
    # A signed-in client's secret key, sealed under a key derived from the cookie value
    # (client key v1, docs/crypto.md): the database alone cannot open it, and it goes
    # with the row when the session ends.
    Column("sealed_client_key", LargeBinary(72)),
    Index("ix_sessions_account_id", "account_id"),
    Index("ix_sessions_consultation_id", "consultation_id"),
    Index("ix_sessions_last_seen_at", "last_seen_at"),
)

# --- Anonymous booking ---------------------------------------------------------------
# Needs are structured choices (short codes), never free text: before a decision to
# report, nothing here can hold a name, a story or a contact detail.

places = Table(
    "places",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("address", String(300), nullable=False),
    Column("directions", String(1000), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("archived_at", BigInteger),
    CheckConstraint("kind IN ('police_station', 'ngo_premises', 'other')", name="kind"),
)

# A place's name and directions in a client language (the place row holds the default
# language's): shown to clients in their language, the default's marked as such.
place_translations = Table(
    "place_translations",
    metadata,
    Column("place_id", ID, ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
    Column("locale", String(8), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("directions", String(1000), nullable=False),
)

slots = Table(
    "slots",
    metadata,
    Column("id", ID, primary_key=True),
    Column("investigator_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("place_id", ID, ForeignKey("places.id"), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    # Comma-framed language codes (",fi,en,"), so a LIKE ',fi,' test matches one code.
    Column("languages", String(200), nullable=False),
    Column("interpreter_available", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("status IN ('free', 'booked', 'withdrawn')", name="status"),
    Index("ix_slots_status_starts_at_id", "status", "starts_at", "id"),
    Index("ix_slots_investigator_id_starts_at", "investigator_id", "starts_at"),
    Index("ix_slots_starts_at", "starts_at"),
)

consultations = Table(
    "consultations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("pseudonym", String(64), nullable=False),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("booked_by", ID, ForeignKey("accounts.id"), nullable=False),
    # Continuity: who held the first meeting, and who is assigned now.
    Column("first_investigator_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("investigator_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("client_locale", String(8), nullable=False),
    Column("language", String(16), nullable=False),
    Column("interpreter_needed", Integer, nullable=False),
    Column("interpreter_gender", String(16), nullable=False),
    Column("interpreter_other_community", Integer, nullable=False),
    Column("investigator_gender", String(16), nullable=False),
    Column("support_person", Integer, nullable=False),
    Column("accessibility", String(24), nullable=False),
    Column("childcare", Integer, nullable=False),
    Column("venue_preference", String(24), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("minor", Integer, nullable=False),
    Column("reflection_period", String(16), nullable=False),
    Column("safe_contact", String(24), nullable=False),
    # The client code: a keyed hash for O(1) lookup and an argon2id hash to verify.
    Column("client_code_lookup", LargeBinary(32), unique=True),
    # Legacy clients (redeemed before client key v1): an argon2id hash to verify. Both
    # are replaced at the client's next sign-in by the client key v1 columns below.
    Column("client_code_hash", String(200)),
    # Client key v1 (docs/crypto.md): one argon2id derivation of the client code gives
    # the sign-in verifier and the client's X25519 key pair. Stored: the salt and cost,
    # the verifier and the public key; never the derived key or the secret key. The key
    # id names the client's key in message envelopes (a new client code: a new key).
    Column("client_key_id", ID),
    Column("client_public_key", LargeBinary(32)),
    Column("client_key_salt", LargeBinary(16)),
    Column("client_key_opslimit", Integer),
    Column("client_key_memlimit_kib", Integer),
    Column("client_verifier", LargeBinary(32)),
    Column("created_at", BigInteger, nullable=False),
    Column("last_activity_at", BigInteger, nullable=False),
    # After meetings: the outcome, the reflection period, and the decision to report.
    Column("outcome", String(24)),
    Column("outcome_at", BigInteger),
    Column("reflection_status", String(16)),  # NULL until the investigator records it
    Column("reflection_ends_on", BigInteger),
    Column("reported_at", BigInteger),
    Column("case_reference", String(64)),
    Column("first_interview_at", BigInteger),
    Column("first_interview_investigator_id", ID, ForeignKey("accounts.id")),
    Column("first_interview_place_id", ID, ForeignKey("places.id")),
    # Why the first interview is not with the investigator the client has met (a code).
    Column("first_interview_change_reason", String(24)),
    # Retention (domain/retention.py): purged this long after the last activity, unless
    # a coordinator extended it (for a reason from a fixed list, never free text).
    Column("retention_extended_until", BigInteger),
    Column("retention_extension_reason", String(32)),
    Index("ix_consultations_organisation_id_created_at", "organisation_id", "created_at"),
    Index("ix_consultations_reported_at_last_activity_at", "reported_at", "last_activity_at"),
    Index(
        "ix_consultations_reflection_status_reflection_ends_on",
        "reflection_status",
        "reflection_ends_on",
    ),
    # An investigator's consultations, and their running reflection periods by end date
    # (the dashboard; on PostgreSQL the unit-wide index above was 2 ms at 100,000).
    Index(
        "ix_consultations_investigator_reflection",
        "investigator_id",
        "reflection_status",
        "reflection_ends_on",
    ),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("slot_id", ID, ForeignKey("slots.id"), nullable=False),
    Column("investigator_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("place_id", ID, ForeignKey("places.id"), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("change_reason", String(24)),
    Column("is_follow_up", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The interpreter for this meeting (domain/interpreters.py): needed -> requested ->
    # confirmed, with the language and whether the client's wishes (gender, not from the
    # client's community) are met. The client is told one will be there only once
    # confirmed.
    Column("interpreter_status", String(16), nullable=False, server_default="not_needed"),
    Column("interpreter_language", String(16)),
    Column("interpreter_wishes_met", Integer),
    Column("interpreter_updated_at", BigInteger),
    CheckConstraint(
        "status IN ('booked', 'confirmed', 'change_requested', 'cancelled', 'held', 'no_show')",
        name="status",
    ),
    CheckConstraint(
        "interpreter_status IN ('not_needed', 'needed', 'requested', 'confirmed')",
        name="interpreter_status",
    ),
    Index("ix_meetings_consultation_id", "consultation_id"),
    Index("ix_meetings_investigator_id_starts_at", "investigator_id", "starts_at"),
    Index("ix_meetings_slot_id", "slot_id"),
    Index("ix_meetings_starts_at", "starts_at"),
)

one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id",
        ID,
        ForeignKey("consultations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("lookup", LargeBinary(32), nullable=False, unique=True),
    Column("code_hash", String(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Column("revoked_at", BigInteger),
)

# --- Sealed notes ---------------------------------------------------------------------
# Note text exists here only inside envelopes sealed to an investigator's public key.

# Every staff member's key pair (investigators, NGO workers): the table kept the name it
# had when only investigators had keys (renaming it would rename its indexes and the
# foreign keys that point at it, on two databases, for no change in behaviour).
investigator_keys = Table(
    "investigator_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("public_key", LargeBinary(32), nullable=False),
    # Wrapped-key v1 (docs/crypto.md): the private key sealed under the passphrase, and
    # again under the recovery key. The server cannot open either.
    Column("wrapped_key", LargeBinary(200), nullable=False),
    Column("recovery_wrapped_key", LargeBinary(200), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("retired_at", BigInteger),
)

notes = Table(
    "notes",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(24), nullable=False),
    Column("author_role", String(16), nullable=False),
    Column("author_account_id", ID, ForeignKey("accounts.id")),
    Column("key_id", ID, ForeignKey("investigator_keys.id"), nullable=False),
    Column("envelope", LargeBinary(70000), nullable=False),
    Column("sealed_in", String(8), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("sealed_in IN ('browser', 'server')", name="sealed_in"),
    CheckConstraint("author_role IN ('ngo_worker', 'client', 'investigator')", name="author"),
    Index("ix_notes_consultation_id_created_at", "consultation_id", "created_at"),
    Index("ix_notes_key_id", "key_id"),
)

# --- Conversation and alerts ---------------------------------------------------------
# A consultation's conversation: each message is one row, sealed separately to every
# participant's key (envelope v1, docs/crypto.md): the author's own included. Message
# text exists only inside envelopes; the row says who wrote (a role) and when.

messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("author_role", String(16), nullable=False),
    Column("author_account_id", ID, ForeignKey("accounts.id")),
    Column("sealed_in", String(8), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # 1, 2, 3, ... in the order the messages arrived (times are whole seconds).
    Column("number", Integer, nullable=False),
    CheckConstraint("sealed_in IN ('browser', 'server')", name="sealed_in"),
    CheckConstraint(
        "author_role IN ('investigator', 'ngo_worker', 'client', 'adviser')", name="author"
    ),
    Index("ix_messages_consultation_id_number", "consultation_id", "number", unique=True),
)

message_envelopes = Table(
    "message_envelopes",
    metadata,
    Column(
        "message_id",
        ID,
        ForeignKey("messages.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # A staff key's id (investigator_keys.id) or a client key's id
    # (consultations.client_key_id): no foreign key, since it names either.
    Column("recipient_key_id", ID, primary_key=True),
    Column("envelope", LargeBinary(70000), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_message_envelopes_recipient_key_id", "recipient_key_id"),
)

# What needs a staff member's attention: one row per item and person, content-free (a
# kind and a fixed detail code, the consultation, the object it is about). Marked done
# explicitly by its owner. ``dedupe`` names an item that must exist at most once (an
# unconfirmed meeting within 24 h, a reflection period ending): unique per account.
attention_items = Table(
    "attention_items",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE")),
    Column("kind", String(32), nullable=False),
    Column("detail", String(32)),
    Column("subject_id", ID),
    Column("urgent", Integer, nullable=False, server_default="0"),
    Column("dedupe", String(80)),
    Column("created_at", BigInteger, nullable=False),
    Column("done_at", BigInteger),
    UniqueConstraint("account_id", "dedupe"),
    Index(
        "ix_attention_items_account_id_done_at_created_at", "account_id", "done_at", "created_at"
    ),
    Index("ix_attention_items_consultation_id", "consultation_id"),
)

# Content-free e-mail waiting to go out (domain/mail.py): which account, which kind of
# mail; the address is read from the account when sending, the text is fixed. Kept
# after sending (sent_at) to space alerts 15 minutes apart per person.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("not_before", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("sent_at", BigInteger),
    Column("given_up_at", BigInteger),
    CheckConstraint("kind IN ('alert', 'verify')", name="kind"),
    Index("ix_mail_outbox_sent_at_given_up_at_not_before", "sent_at", "given_up_at", "not_before"),
    Index("ix_mail_outbox_account_id_created_at", "account_id", "created_at"),
)

# --- Partners: advisers, referrals, safety plans ---------------------------------------
# Advisers are staff of the assistance system or municipal services (organisation kinds
# 'assistance' and 'municipal'). What they receive is structured (the consultation's
# language and needs) or sealed to their keys; never the notes, outcome or identity.

# An investigator or NGO worker asks an organisation's advisers to talk with the client.
adviser_requests = Table(
    "adviser_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("requested_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("answered_by", ID, ForeignKey("accounts.id")),
    Column("answered_at", BigInteger),
    CheckConstraint("status IN ('open', 'answered', 'withdrawn')", name="status"),
    Index("ix_adviser_requests_organisation_id_status", "organisation_id", "status"),
    Index("ix_adviser_requests_consultation_id", "consultation_id"),
)

# An adviser taking part: at one of the consultation's meetings (meeting_id), or at a
# time and place of their own. While not cancelled, the adviser is a participant of the
# conversation.
adviser_meetings = Table(
    "adviser_meetings",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("request_id", ID, ForeignKey("adviser_requests.id", ondelete="SET NULL")),
    Column("adviser_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("meeting_id", ID, ForeignKey("meetings.id", ondelete="CASCADE")),
    Column("place_id", ID, ForeignKey("places.id")),
    Column("starts_at", BigInteger),
    Column("duration_minutes", Integer),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    CheckConstraint("status IN ('planned', 'held', 'cancelled')", name="status"),
    CheckConstraint(
        "meeting_id IS NOT NULL OR (place_id IS NOT NULL AND starts_at IS NOT NULL"
        " AND duration_minutes IS NOT NULL)",
        name="when",
    ),
    Index("ix_adviser_meetings_consultation_id", "consultation_id"),
    Index("ix_adviser_meetings_adviser_id_starts_at", "adviser_id", "starts_at"),
    Index("ix_adviser_meetings_meeting_id", "meeting_id"),
)

# A referral, sent with the client's recorded consent. The status is plain (police and
# the booking NGO see it); the referral note is sealed only to the receiving
# organisation's advisers' keys (referral_envelopes), never to police.
referrals = Table(
    "referrals",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id", ID, ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("organisation_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("consent_id", ID, ForeignKey("referral_consents.id"), nullable=False),
    Column("sent_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("sent_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_by", ID, ForeignKey("accounts.id")),
    Column("status_at", BigInteger, nullable=False),
    CheckConstraint(
        "status IN ('sent', 'received', 'accepted', 'declined', 'closed')", name="status"
    ),
    Index("ix_referrals_organisation_id_status", "organisation_id", "status"),
    Index("ix_referrals_consultation_id", "consultation_id"),
)

referral_envelopes = Table(
    "referral_envelopes",
    metadata,
    Column("referral_id", ID, ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True),
    Column("recipient_key_id", ID, ForeignKey("investigator_keys.id"), primary_key=True),
    Column("envelope", LargeBinary(70000), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_referral_envelopes_recipient_key_id", "recipient_key_id"),
)

# One safety plan per consultation: plain codes for dashboards and queues, the details
# sealed to the staff participants' keys (safety_plan_envelopes, replaced on each save).
safety_plans = Table(
    "safety_plans",
    metadata,
    Column(
        "consultation_id",
        ID,
        ForeignKey("consultations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("housing", String(24), nullable=False),
    Column("urgent_risk", Integer, nullable=False),
    Column("safe_contact_agreed", Integer, nullable=False),
    Column("updated_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    CheckConstraint(
        "housing IN ('not_needed', 'needed', 'assistance_system', 'shelter', 'municipal', 'other')",
        name="housing",
    ),
    Index("ix_safety_plans_urgent_risk", "urgent_risk"),
)

safety_plan_envelopes = Table(
    "safety_plan_envelopes",
    metadata,
    Column(
        "consultation_id",
        ID,
        ForeignKey("safety_plans.consultation_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("recipient_key_id", ID, ForeignKey("investigator_keys.id"), primary_key=True),
    Column("envelope", LargeBinary(70000), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# --- After the meetings: consent, audit, jobs ------------------------------------------

consent_texts = Table(
    "consent_texts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    # The text read to the client about the assistance system (not about the client).
    Column("text", String(5000), nullable=False),
    Column("created_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

referral_consents = Table(
    "referral_consents",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "consultation_id",
        ID,
        ForeignKey("consultations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("consent_text_id", ID, ForeignKey("consent_texts.id"), nullable=False),
    Column("explained", Integer, nullable=False),
    Column("consents", Integer, nullable=False),
    Column("recorded_by", ID, ForeignKey("accounts.id"), nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
)

# Append-only and content-free: who did what to which consultation, and every security
# event. It keeps ids and the pseudonym as plain values (no foreign key), so it outlives
# a purge. No address, no code, no text: ``action`` and ``detail`` are fixed codes.
# Triggers (migration 0007, not expressible here) refuse UPDATE, DELETE and TRUNCATE.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor_account_id", ID),
    Column("actor_role", String(16), nullable=False),
    Column("action", String(40), nullable=False),
    Column("consultation_id", ID),
    Column("pseudonym", String(64)),
    Column("detail", String(40)),
    # The account a security event concerns (disabled, signed in to, created), and the
    # id of another object it concerns (an invitation, organisation, place, consent text).
    Column("subject_account_id", ID),
    Column("subject_id", ID),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_consultation_id", "consultation_id"),
)

# One row per periodic job: a conditional update on it elects the one process (of
# several) that runs the job this time.
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("last_run_at", BigInteger, nullable=False),
)

# --- Passkeys (WebAuthn) ---------------------------------------------------------------
# A staff member's passkeys: the public key and the sign counter the authenticator
# keeps, never a secret. The name is the owner's own label for the device.
passkeys = Table(
    "passkeys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("credential_id", LargeBinary(1023), nullable=False, unique=True),
    Column("public_key", LargeBinary(2048), nullable=False),
    Column("sign_count", BigInteger, nullable=False, server_default="0"),
    Column("name", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_used_at", BigInteger),
    Index("ix_passkeys_account_id", "account_id"),
)

# One outstanding challenge per session (sha256 of its cookie value) and purpose: taken
# by a conditional delete, so it is used once at most, and only within its lifetime.
passkey_challenges = Table(
    "passkey_challenges",
    metadata,
    Column("session_hash", LargeBinary(32), primary_key=True),
    Column("purpose", String(16), primary_key=True),
    Column("challenge", LargeBinary(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("purpose IN ('register', 'sign_in', 'confirm')", name="purpose"),
    Index("ix_passkey_challenges_created_at", "created_at"),
)

# The roles a coordinator requires passkeys of.
passkey_requirements = Table(
    "passkey_requirements",
    metadata,
    Column("role", String(16), primary_key=True),
    Column("required_by", ID, nullable=False),
    Column("required_at", BigInteger, nullable=False),
    CheckConstraint("role IN ('investigator', 'ngo_worker', 'adviser')", name="role"),
)

# A coordinator's link for someone who lost their passkeys: one sign-in with password
# and code, which removes the lost passkeys; only the sha256 of the token is kept.
passkey_recoveries = Table(
    "passkey_recoveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column("created_by", ID, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("used_at", BigInteger),
    Index("ix_passkey_recoveries_account_id", "account_id"),
)
