"""The safety plan of a consultation: plain codes for dashboards and queues, and details
sealed to the staff participants' keys.

Threat: a client in danger whose risk nobody sees in time, and the other way, where the
client sleeps and whom they trust written where a stolen database, a coordinator or
another organisation could read it. The plain part is three fixed choices (housing,
urgent risk, safe contact agreed), each chosen by a person: the form starts empty and
refuses a missing answer. The details are free text sealed in the editor's browser
(static/js/safety_plan.js, envelope v1 as in docs/crypto.md) once per current key of the
staff participants: the assigned investigator and the booking organisation's NGO
workers (storage/messages.py ``recipient_keys`` without the client and the advisers),
never the client, an adviser taking part (who sees the conversation, not the plan), a
coordinator or the server. Each save that carries details replaces them all; a save
without them (no key, no JavaScript, the key locked) keeps the stored ones. The server
accepts new details only as exactly one well-formed envelope per current participant
key, from an editor whose own key is among them. An urgent risk puts one urgent item in
the queues of the investigator and the booking organisation's workers
(domain/attention.py), in the same transaction as the save and its audit event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto.envelopes import open_json, padded_envelope, padded_json, seal
from portal.domain import attention, audit
from portal.domain.conversation import MAX_PLAINTEXT
from portal.domain.errors import InputRejected, Problems
from portal.domain.roles import INVESTIGATOR, NGO_WORKER
from portal.i18n import N_
from portal.storage import messages as message_store
from portal.storage import safety_plans as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation
from portal.storage.database import Database, Queryable
from portal.storage.messages import RecipientKey
from portal.storage.safety_plans import SafetyPlan as SafetyPlan

VERSION = 1
KIND = "safety_plan"
MAX_TEXT = 4000  # characters

HOUSING = {
    "not_needed": N_("Not needed"),
    "needed": N_("Needed, not arranged yet"),
    "assistance_system": N_("Arranged through the assistance system"),
    "shelter": N_("A shelter"),
    "municipal": N_("Municipal services"),
    "other": N_("Other"),
}
YES_NO = {"yes": N_("Yes"), "no": N_("No")}
FIELDS = ("housing", "urgent_risk", "safe_contact_agreed")

EDITORS = frozenset({INVESTIGATOR, NGO_WORKER})
CHOOSE_HOUSING = N_("Choose the client's housing situation.")
CHOOSE_RISK = N_("Say whether there is an urgent risk.")
CHOOSE_CONTACT = N_("Say whether a safe way of contact is agreed.")
UNREADABLE = N_("The sealed details could not be read. Unlock your key and save again.")
NEEDS_KEY = N_("Only someone with a key can change the sealed details.")
PARTICIPANTS_CHANGED = N_(
    "The people who can read the details changed while you were writing. "
    "Your details are still here: unlock your key if needed and save again."
)


class ParticipantsChanged(InputRejected):
    """The envelopes do not match the current participants' keys (someone got, lost or
    replaced a key meanwhile)."""

    def __init__(self, recipients: Sequence[RecipientKey]) -> None:
        super().__init__("details", PARTICIPANTS_CHANGED)
        self.recipients = list(recipients)


@dataclass(frozen=True)
class PlanChoices:
    housing: str
    urgent_risk: bool
    safe_contact_agreed: bool


def context(consultation_id: str, recipient_key_id: str) -> dict[str, object]:
    """What opening checks: an envelope belongs to this plan and this key only."""
    return {
        "v": VERSION,
        "consultation": consultation_id,
        "kind": KIND,
        "recipient": recipient_key_id,
    }


def seal_details(recipient: RecipientKey, *, consultation_id: str, text: str, at: int) -> bytes:
    """What static/js/safety_plan.js does, for tests and tools."""
    fields = {**context(consultation_id, recipient.key_id), "time": at, "text": text}
    return seal(recipient.public_key, padded_json(fields))


def open_details(
    secret_key: bytes, envelope: bytes, *, consultation_id: str, recipient_key_id: str
) -> str:
    opened = open_json(secret_key, envelope, context(consultation_id, recipient_key_id))
    text = opened.get("text")
    if not isinstance(text, str):
        raise ValueError("the details have no text")
    return text


def parse_choices(values: Mapping[str, str], problems: Problems) -> PlanChoices | None:
    """The three choices, each required (nothing is decided by default)."""
    housing = values.get("housing", "")
    risk = values.get("urgent_risk", "")
    contact = values.get("safe_contact_agreed", "")
    if housing not in HOUSING:
        problems.add("housing", CHOOSE_HOUSING)
    if risk not in YES_NO:
        problems.add("urgent_risk", CHOOSE_RISK)
    if contact not in YES_NO:
        problems.add("safe_contact_agreed", CHOOSE_CONTACT)
    if "housing" in problems or "urgent_risk" in problems or "safe_contact_agreed" in problems:
        return None
    return PlanChoices(housing, risk == "yes", contact == "yes")


async def participants(db: Queryable, consultation_id: str) -> list[RecipientKey]:
    """The current keys the details are sealed to: the investigator's and the booking
    organisation's NGO workers' (the conversation's participants but the client and the
    advisers, who do not see the plan: domain/visibility.py)."""
    return [k for k in await message_store.recipient_keys(db, consultation_id) if k.role in EDITORS]


async def save(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    actor: Account,
    values: Mapping[str, str],
    envelopes: Mapping[str, str] | None,
    clear_details: bool = False,
) -> None:
    """Save the plan (the caller found the consultation through
    visibility.team_consultation). ``envelopes``: recipient key id -> base64, the
    new sealed details (None: keep the stored ones); ``clear_details``: remove them.
    Raises ``InputRejected`` naming every problem (``ParticipantsChanged`` if the keys
    changed); audited as ``safety_plan_saved`` in the same transaction."""
    problems = Problems()
    choices = parse_choices(values, problems)
    decoded: dict[str, bytes] = {}
    for key_id, value in (envelopes or {}).items():
        envelope = padded_envelope(value, MAX_PLAINTEXT)
        if envelope is None:
            problems.add("details", UNREADABLE)
            break
        decoded[key_id] = envelope
    problems.check()
    if choices is None:  # a missing choice was named above
        raise InputRejected("housing", CHOOSE_HOUSING)
    now = clock.now()
    async with db.transaction() as tx:
        if envelopes is not None or clear_details:
            current = await participants(tx, consultation.id)
            if not any(k.account_id == actor.id for k in current):
                raise InputRejected("details", NEEDS_KEY)
            if envelopes is not None and set(decoded) != {k.key_id for k in current}:
                raise ParticipantsChanged(current)
        before = await store.plan_of(tx, consultation.id)
        await store.save_plan(
            tx,
            consultation.id,
            housing=choices.housing,
            urgent_risk=choices.urgent_risk,
            safe_contact_agreed=choices.safe_contact_agreed,
            updated_by=actor.id,
            now=now,
        )
        if envelopes is not None or clear_details:
            await store.delete_envelopes(tx, consultation.id)
        for key_id, envelope in decoded.items():
            await store.insert_envelope(tx, consultation.id, key_id, envelope, now)
        details = "replaced" if envelopes is not None else "removed" if clear_details else "kept"
        await audit.record(
            tx, clock, "safety_plan_saved", consultation, actor=actor, detail=f"details-{details}"
        )
        was_urgent = before is not None and before.urgent_risk
        if choices.urgent_risk:
            await attention.urgent_risk(tx, clock, consultation, was_urgent=was_urgent)
        elif was_urgent:
            await attention.urgent_risk_over(tx, clock, consultation)
