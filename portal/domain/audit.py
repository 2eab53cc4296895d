"""The audit log: who did what to which consultation, and nothing more.

Threat: a curious insider, and the need to show afterwards who touched a consultation,
without the log itself becoming a store of sensitive data. Events carry the actor, a
fixed action code, the consultation's internal id and pseudonym, and at most a fixed
detail code. Never an address, a code, a name of a client, or any text a person wrote.
Events survive the purge of their consultation.
"""

from __future__ import annotations

from portal.clock import Clock
from portal.i18n import N_
from portal.storage import audit as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation
from portal.storage.database import Queryable

ACTIONS = {
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
    "meeting_outcome": N_("Meeting outcome recorded"),
    "consultation_outcome": N_("Consultation outcome recorded"),
    "consent_recorded": N_("Referral consent recorded"),
    "reflection_recorded": N_("Reflection period recorded"),
    "reported": N_("Decision to report recorded"),
    "identity_sealed": N_("Identity record added (sealed)"),
    "case_exported": N_("Case bundle downloaded"),
    "retention_extended": N_("Retention extended"),
    "purged": N_("Consultation purged"),
    "key_created": N_("Key for sealed notes created"),
    "key_replaced": N_("Key for sealed notes replaced"),
    "key_rewrapped": N_("Decryption passphrase of the key changed"),
    "password_changed": N_("Password changed"),
    "reauth_failed": N_("Confirmation with password and code failed"),
}


class UnknownAction(ValueError):
    """An audit action that is not in ``ACTIONS`` (a programming error, not input)."""


async def record(
    db: Queryable,
    clock: Clock,
    action: str,
    consultation: Consultation | None,
    *,
    actor: Account | None = None,
    actor_role: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one event. ``actor`` is a staff account; a client or the system passes
    ``actor_role`` ("client", "system") instead."""
    if action not in ACTIONS:
        raise UnknownAction(action)
    await store.insert_event(
        db,
        at=clock.now(),
        actor_account_id=actor.id if actor else None,
        actor_role=actor.role if actor else (actor_role or "system"),
        action=action,
        consultation_id=consultation.id if consultation else None,
        pseudonym=consultation.pseudonym if consultation else None,
        detail=detail,
    )
