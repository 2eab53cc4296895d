"""The audit log: who did what to which consultation, and every security event.

Threat: a curious insider, and the need to show afterwards who touched a consultation
or an account, without the log itself becoming a store of sensitive data. Events carry
the actor, a fixed action code, the consultation's internal id and pseudonym, the id of
the account or object the event concerns, and at most a fixed detail code. Never an
address, a code, a name of a client, a typed username or password, or any text a person
wrote. Events survive the purge of their consultation, and the table is append-only in
the database itself (migration 0007).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from portal.clock import Clock
from portal.i18n import N_
from portal.storage import audit as store
from portal.storage.accounts import Account
from portal.storage.audit import FOREVER as FOREVER
from portal.storage.audit import AuditEvent as AuditEvent
from portal.storage.audit import AuditFilter as AuditFilter
from portal.storage.database import Queryable

CONSULTATION = "consultation"
SECURITY = "security"
KINDS = {CONSULTATION: N_("Consultation events"), SECURITY: N_("Security events")}

CONSULTATION_ACTIONS = {
    "booked": N_("Meeting booked"),
    "code_reissued": N_("New slip made"),
    "code_redeemed": N_("Slip used by the client"),
    "client_answered": N_("Client answered the meeting"),
    "meeting_cancelled": N_("Meeting cancelled"),
    "meeting_rebooked": N_("Meeting moved to another time"),
    "follow_up_booked": N_("Follow-up meeting booked"),
    "meeting_reassigned": N_("Meeting given to another investigator"),
    "note_added": N_("Note added (sealed)"),
    "notes_resealed": N_("Notes sealed to a new investigator"),
    "notes_exported": N_("Sealed notes downloaded"),
    "message_written": N_("Message written (sealed)"),
    "messages_shared": N_("Earlier messages shared with a participant (sealed)"),
    "safety_plan_saved": N_("Safety plan saved (details sealed)"),
    "interpreter_changed": N_("Interpreter of a meeting changed"),
    "meeting_outcome": N_("Meeting outcome recorded"),
    "consultation_outcome": N_("Consultation outcome recorded"),
    "consent_recorded": N_("Referral consent recorded"),
    "reflection_recorded": N_("Reflection period recorded"),
    "reported": N_("Decision to report recorded"),
    "identity_sealed": N_("Identity record added (sealed)"),
    "first_interview_planned": N_("First interview planned again"),
    "interview_wishes_added": N_("Wishes for the first interview added (sealed)"),
    "case_exported": N_("Case bundle downloaded"),
    "referral_sent": N_("Referral sent (its note sealed to the advisers)"),
    "referral_status": N_("Referral status changed"),
    "referral_shared": N_("Referral note shared with an adviser (sealed)"),
    "retention_extended": N_("Retention extended"),
    "purged": N_("Consultation purged"),
    "adviser_requested": N_("Adviser asked to talk with the client"),
    "adviser_request_withdrawn": N_("Request for an adviser withdrawn"),
    "adviser_joined_meeting": N_("Adviser joins a meeting"),
    "adviser_offered_time": N_("Adviser offered a time of their own"),
    "adviser_cancelled": N_("Adviser cancelled their part"),
    "key_created": N_("Key for sealed messages and notes created"),
    "key_replaced": N_("Key for sealed messages and notes replaced"),
    "key_rewrapped": N_("Decryption passphrase of the key changed"),
    "password_changed": N_("Password changed"),
    "reauth_failed": N_("Confirmation with password and code failed"),
}
# Every action not about one consultation is a security event (kind_of): an action added
# to ACTIONS alone is filed under security.
SECURITY_ACTIONS = {
    "signed_in": N_("Signed in"),
    "sign_in_failed": N_("Sign-in failed"),
    "sign_in_locked": N_("Sign-in refused: too many failures for the account"),
    "sign_in_throttled": N_("Sign-in refused: too many attempts from one sender"),
    "code_throttled": N_("Client code refused: too many tries from one sender"),
    "code_busy": N_("Client code refused: the portal was busy"),
    "enrolled": N_("Account set up from an enrolment link"),
    "invitation_issued": N_("Enrolment link made"),
    "invitation_revoked": N_("Enrolment link withdrawn"),
    "invitation_used": N_("Enrolment link used"),
    "account_disabled": N_("Account disabled"),
    "second_factor_reset": N_("Authenticator app reset on the server (portal reset-second-factor)"),
    "second_factor_set_up": N_("Authenticator app set up again after a reset"),
    "account_enabled": N_("Account enabled"),
    "organisation_created": N_("Organisation added"),
    "place_created": N_("Meeting place added"),
    "place_changed": N_("Meeting place changed"),
    "place_archived": N_("Meeting place archived"),
    "place_restored": N_("Meeting place taken back into use"),
    "place_translated": N_("Meeting place's names and directions per language changed"),
    "consent_text_published": N_("Consent text published"),
    "email_set": N_("E-mail address for alerts set"),
    "email_verified": N_("E-mail address for alerts confirmed"),
    "email_removed": N_("E-mail address for alerts removed"),
    "passkey_registered": N_("Passkey added"),
    "passkey_removed": N_("Passkey removed"),
    "passkey_sign_in": N_("Signed in with a passkey"),
    "passkey_failed": N_("Passkey refused"),
    "passkey_requirement_set": N_("Passkeys required for a role"),
    "passkey_requirement_lifted": N_("Passkeys no longer required for a role"),
    "passkey_recovery_issued": N_("Passkey recovery link made"),
    "passkey_recovered": N_("Passkeys reset with a recovery link"),
}
ACTIONS = {**CONSULTATION_ACTIONS, **SECURITY_ACTIONS}

# Fixed detail codes of security events (other details: the role of an invitation, the
# kind of an organisation, the version of a consent text, a retention reason).
DETAILS = {
    "password": N_("Wrong password"),
    "second_factor": N_("Right password, wrong or reused authenticator code"),
    "disabled": N_("The account is disabled"),
    "passkey_required": N_("Right password and code, but the account signs in with a passkey"),
    # Where a passkey was refused (passkey_failed): wrong origin, relying party,
    # challenge, signature or counter, or a passkey of another account.
    "sign_in": N_("At sign-in"),
    "confirm": N_("Confirming a sensitive action"),
    "register": N_("Adding a passkey"),
}

# Who acts when no staff account does: a client with their code, the portal itself, or
# a visitor who is not signed in (a failed sign-in, a refused attempt).
CLIENT_ROLE, SYSTEM_ROLE, VISITOR_ROLE = "client", "system", "visitor"


class AboutConsultation(Protocol):
    """What an event keeps of its consultation: the internal id and the pseudonym."""

    @property
    def id(self) -> str: ...

    @property
    def pseudonym(self) -> str: ...


@dataclass(frozen=True)
class Ref:
    """A consultation known by id and pseudonym only (one just created, in the same
    transaction: no need to read it back to audit it)."""

    id: str
    pseudonym: str


class UnknownAction(ValueError):
    """An audit action that is not in ``ACTIONS`` (a programming error, not input)."""


def kind_of(action: str) -> str:
    return CONSULTATION if action in CONSULTATION_ACTIONS else SECURITY


async def record(
    db: Queryable,
    clock: Clock,
    action: str,
    consultation: AboutConsultation | None,
    *,
    actor: Account | None = None,
    actor_role: str | None = None,
    detail: str | None = None,
    subject_account_id: str | None = None,
    subject_id: str | None = None,
) -> None:
    """Append one event. ``actor`` is a staff account; a client, the system or a visitor
    passes ``actor_role`` ("client", "system", "visitor") instead.

    ``subject_account_id`` names the account the event concerns (disabled, signed in to,
    created); ``subject_id`` names another object by id (an invitation, organisation,
    place or consent text). Pass ``db`` as the transaction that makes the change, so
    the event and the change are committed together or not at all.
    """
    if action not in ACTIONS:
        raise UnknownAction(action)
    await store.insert_event(
        db,
        at=clock.now(),
        actor_account_id=actor.id if actor else None,
        actor_role=actor.role if actor else (actor_role or SYSTEM_ROLE),
        action=action,
        consultation_id=consultation.id if consultation else None,
        pseudonym=consultation.pseudonym if consultation else None,
        detail=detail,
        subject_account_id=subject_account_id,
        subject_id=subject_id,
    )


async def list_events(
    db: Queryable, chosen: AuditFilter, *, limit: int, offset: int
) -> Sequence[AuditEvent]:
    return await store.list_events(db, chosen, limit=limit, offset=offset)
