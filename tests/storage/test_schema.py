"""The schema cannot hold a client's identity or story outside sealed envelopes.

Every text column is listed here with why it is safe; a new text column fails this test
until someone decides, in review, that it cannot carry identity or free text about a
client. Identity is recorded only after a decision to report, and then only sealed.
"""

from __future__ import annotations

from sqlalchemy import LargeBinary, String

from portal.storage.tables import metadata

ALLOWED_TEXT = {
    # Staff, organisations and places: about staff and premises, never about clients.
    "organisations": {"id": "id", "name": "staff-entered organisation name", "kind": "code"},
    "accounts": {
        "id": "id",
        "organisation_id": "id",
        "username": "staff",
        "display_name": "staff",
        "role": "code",
        "gender": "code",
        "password_hash": "hash",
        "totp_secret": "staff second factor",
        # Fixed action codes with their times and session tags (storage/accounts.py).
        "security_notices": "codes",
        # A staff member's own work address, for content-free alerts only.
        "email": "staff",
    },
    "invitations": {
        "id": "id",
        "organisation_id": "id",
        "role": "code",
        "display_name": "staff",
        "gender": "code",
        "created_by": "id",
    },
    "sessions": {"account_id": "id", "consultation_id": "id", "locale": "code"},
    "places": {
        "id": "id",
        "name": "premises",
        "kind": "code",
        "address": "premises",
        "directions": "premises",
    },
    "slots": {
        "id": "id",
        "investigator_id": "id",
        "place_id": "id",
        "languages": "codes",
        "status": "code",
    },
    # Consultations: ids, codes from fixed lists, a generated pseudonym, and (only after
    # the decision to report) the police case reference.
    "consultations": {
        "id": "id",
        "pseudonym": "generated label",
        "organisation_id": "id",
        "booked_by": "id",
        "first_investigator_id": "id",
        "investigator_id": "id",
        "client_locale": "code",
        "language": "code",
        "interpreter_gender": "code",
        "investigator_gender": "code",
        "accessibility": "code",
        "venue_preference": "code",
        "urgency": "code",
        "reflection_period": "code",
        "safe_contact": "code",
        "client_code_hash": "hash",
        "client_key_id": "id",
        "outcome": "code",
        "reflection_status": "code",
        "case_reference": "after report",
        "first_interview_investigator_id": "id",
        "first_interview_place_id": "id",
        "first_interview_change_reason": "code",
        "retention_extension_reason": "code",
    },
    "meetings": {
        "id": "id",
        "consultation_id": "id",
        "slot_id": "id",
        "investigator_id": "id",
        "place_id": "id",
        "status": "code",
        "change_reason": "code",
        "interpreter_status": "code",
        "interpreter_language": "code",
    },
    "one_time_codes": {"id": "id", "consultation_id": "id", "code_hash": "hash"},
    "investigator_keys": {"id": "id", "account_id": "id"},
    "notes": {
        "id": "id",
        "consultation_id": "id",
        "kind": "code",
        "author_role": "code",
        "author_account_id": "id",
        "key_id": "id",
        "sealed_in": "code",
    },
    "consent_texts": {
        "id": "id",
        "text": "the consent text read to clients (not about one)",
        "created_by": "id",
    },
    "referral_consents": {
        "id": "id",
        "consultation_id": "id",
        "consent_text_id": "id",
        "recorded_by": "id",
    },
    "audit_events": {
        "actor_account_id": "id",
        "actor_role": "code",
        "action": "code",
        "consultation_id": "id",
        "pseudonym": "generated label",
        "detail": "code",
        "subject_account_id": "id",
        "subject_id": "id",
    },
    "job_runs": {"name": "code"},
    # Conversation: who wrote (a role) and when; the text only inside envelopes.
    "messages": {
        "id": "id",
        "consultation_id": "id",
        "author_role": "code",
        "author_account_id": "id",
        "sealed_in": "code",
    },
    "message_envelopes": {"message_id": "id", "recipient_key_id": "id"},
    "attention_items": {
        "id": "id",
        "account_id": "id",
        "consultation_id": "id",
        "kind": "code",
        "detail": "code",
        "subject_id": "id",
        "dedupe": "codes",  # a kind and ids
    },
    "mail_outbox": {"id": "id", "account_id": "id", "kind": "code"},
    # Passkeys: public keys and counters (binary); the name is the owner's own label for
    # their security key or device, shown only to them.
    "passkeys": {"id": "id", "account_id": "id", "name": "staff"},
    "passkey_challenges": {"purpose": "code"},
    "passkey_requirements": {"role": "code", "required_by": "id"},
    "passkey_recoveries": {"id": "id", "account_id": "id", "created_by": "id"},
    # A place's name and directions in another language: premises, as in places.
    "place_translations": {
        "place_id": "id",
        "locale": "code",
        "name": "premises",
        "directions": "premises",
    },
    # Partners: ids and codes; the referral note and safety details only in envelopes.
    "adviser_requests": {
        "id": "id",
        "consultation_id": "id",
        "organisation_id": "id",
        "requested_by": "id",
        "status": "code",
        "answered_by": "id",
    },
    "adviser_meetings": {
        "id": "id",
        "consultation_id": "id",
        "request_id": "id",
        "adviser_id": "id",
        "meeting_id": "id",
        "place_id": "id",
        "status": "code",
    },
    "referrals": {
        "id": "id",
        "consultation_id": "id",
        "organisation_id": "id",
        "consent_id": "id",
        "sent_by": "id",
        "status": "code",
        "status_by": "id",
    },
    "referral_envelopes": {"referral_id": "id", "recipient_key_id": "id"},
    "safety_plans": {"consultation_id": "id", "housing": "code", "updated_by": "id"},
    "safety_plan_envelopes": {"consultation_id": "id", "recipient_key_id": "id"},
}
IDENTITY_WORDS = ("name", "birth", "phone", "email", "address", "nationality", "passport")
CLIENT_TABLES = {
    "consultations",
    "meetings",
    "one_time_codes",
    "notes",
    "messages",
    "message_envelopes",
    "attention_items",
    "referral_consents",
    "adviser_requests",
    "adviser_meetings",
    "referrals",
    "referral_envelopes",
    "safety_plans",
    "safety_plan_envelopes",
    "sessions",
    "audit_events",
}


def test_every_text_column_is_accounted_for() -> None:
    unexplained = [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and column.name not in ALLOWED_TEXT.get(table.name, {})
    ]
    assert not unexplained, f"new text columns need a decision: {unexplained}"


def test_no_identity_column_in_any_table_about_clients() -> None:
    for table in metadata.sorted_tables:
        if table.name not in CLIENT_TABLES:
            continue
        for column in table.columns:
            assert not any(word in column.name for word in IDENTITY_WORDS) or (
                column.name == "pseudonym"
            ), f"{table.name}.{column.name} looks like identity"


def test_note_text_lives_only_in_envelopes() -> None:
    notes = metadata.tables["notes"]
    binary = [c.name for c in notes.columns if isinstance(c.type, LargeBinary)]
    assert binary == ["envelope"]
    # Nothing in the notes table can hold words: every text column is an id or a code.
    assert set(ALLOWED_TEXT["notes"].values()) <= {"id", "code"}


def test_message_text_lives_only_in_envelopes() -> None:
    envelopes = metadata.tables["message_envelopes"]
    assert [c.name for c in envelopes.columns if isinstance(c.type, LargeBinary)] == ["envelope"]
    assert not [c for c in metadata.tables["messages"].columns if isinstance(c.type, LargeBinary)]
    assert set(ALLOWED_TEXT["messages"].values()) <= {"id", "code"}


def test_referral_note_lives_only_in_envelopes_sealed_to_staff_keys() -> None:
    """The referral row is ids, codes and times; the note is only in referral_envelopes,
    each naming a staff key (domain/referrals.py seals to advisers' keys only, and
    tests/domain/test_referral_sealing.py checks the rows after real referrals)."""
    referrals = metadata.tables["referrals"]
    assert not [c for c in referrals.columns if isinstance(c.type, LargeBinary)]
    assert set(ALLOWED_TEXT["referrals"].values()) <= {"id", "code"}
    envelopes = metadata.tables["referral_envelopes"]
    assert [c.name for c in envelopes.columns if isinstance(c.type, LargeBinary)] == ["envelope"]
    assert set(ALLOWED_TEXT["referral_envelopes"].values()) <= {"id"}
    [key] = envelopes.c.recipient_key_id.foreign_keys
    assert key.column.table.name == "investigator_keys"


def test_free_text_columns_belong_to_staff_or_premises() -> None:
    free = {
        f"{table}.{column}"
        for table, columns in ALLOWED_TEXT.items()
        for column, why in columns.items()
        if why not in {"id", "code", "codes", "hash", "generated label"}
    }
    assert free == {
        "organisations.name",
        "accounts.username",
        "accounts.display_name",
        "accounts.totp_secret",
        "accounts.email",
        "passkeys.name",
        "invitations.display_name",
        "places.name",
        "places.address",
        "places.directions",
        "place_translations.name",
        "place_translations.directions",
        "consultations.case_reference",
        "consent_texts.text",
    }
