"""The interpreter of each meeting: needed -> requested -> confirmed.

Threat: a client told "an interpreter will be there" when nobody has confirmed one, or an
interpreter from the client's own community (who may know the trafficker) turning up
against the client's wish. Each meeting carries its own state (meetings.interpreter_*):
a new meeting starts ``needed`` if the consultation needs an interpreter, otherwise
``not_needed``; the investigator holding the meeting or a coordinator moves it along the
table ``TRANSITIONS`` only, with one conditional update (two people changing it at once:
one wins, the other is told). Confirming needs the interpreter's language and, if the
client wished for an interpreter's gender or one not from their community, the
statement that the interpreter meets those wishes. The client's page says an
interpreter will be there only once confirmed ("we are arranging one" before). Every
change is audited (detail "<from>-<to>") in the same transaction; no name of an
interpreter is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.clock import Clock
from portal.domain import audit
from portal.domain.errors import InputRejected, Problems
from portal.domain.needs import LANGUAGES
from portal.i18n import N_
from portal.storage import interpreters as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database

NOT_NEEDED, NEEDED, REQUESTED, CONFIRMED = "not_needed", "needed", "requested", "confirmed"

# Where each state may go: forward as it is arranged, back to "needed" when it falls
# through, and between "not needed" and "needed" while nothing is requested.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    NOT_NEEDED: (NEEDED,),
    NEEDED: (REQUESTED, NOT_NEEDED),
    REQUESTED: (CONFIRMED, NEEDED),
    CONFIRMED: (NEEDED,),
}
# What choosing each state means, as the options of the change form.
CHOICES = {
    NOT_NEEDED: N_("Not needed"),
    NEEDED: N_("Needed: not requested yet, or it fell through"),
    REQUESTED: N_("Requested: waiting for the interpreter service"),
    CONFIRMED: N_("Confirmed: an interpreter will be there"),
}

NOT_ALLOWED = N_("Choose one of the changes offered.")
CHOOSE_LANGUAGE = N_("Choose the interpreter's language.")
WISHES_NOT_MET = N_(
    "Confirm only an interpreter who meets the client's wishes. "
    "If none can be found, keep it requested and talk with the client."
)
CLOSED = N_("This meeting is cancelled or over: its interpreter can no longer change.")
CHANGED = N_("Someone else changed the interpreter meanwhile. Check it and choose again.")


def initial_status(needs_interpreter: bool) -> str:
    """The state a new meeting starts in (booking, rebooking, follow-up)."""
    return NEEDED if needs_interpreter else NOT_NEEDED


def wishes(needs: Mapping[str, Any]) -> list[str]:
    """The client's wishes about the interpreter (msgids), from the consultation's needs;
    empty if they have none."""
    found = []
    gender = needs.get("interpreter_gender", "any")
    if gender in ("female", "male"):
        found.append(N_("a woman interpreter") if gender == "female" else N_("a man interpreter"))
    if needs.get("interpreter_other_community"):
        found.append(N_("not from the client's community"))
    return found


def allowed(current: str) -> tuple[str, ...]:
    return TRANSITIONS.get(current, ())


async def change(
    db: Database,
    clock: Clock,
    meeting: Meeting,
    consultation: Consultation,
    *,
    actor: Account,
    status: str,
    language: str,
    wishes_met: bool,
) -> None:
    """Move the meeting's interpreter to ``status`` (the caller found the meeting through
    visibility.interpreter_meeting). Raises ``InputRejected`` naming every problem."""
    if not meeting.is_open:
        raise InputRejected("status", CLOSED)
    problems = Problems()
    if status not in allowed(meeting.interpreter_status):
        problems.add("status", NOT_ALLOWED)
    if status == CONFIRMED:
        if language not in LANGUAGES:
            problems.add("language", CHOOSE_LANGUAGE)
        if wishes(consultation.needs) and not wishes_met:
            problems.add("wishes_met", WISHES_NOT_MET)
    problems.check()
    confirmed = status == CONFIRMED
    async with db.transaction() as tx:
        if not await store.set_interpreter(
            tx,
            meeting.id,
            before=meeting.interpreter_status,
            status=status,
            language=language if confirmed else None,
            wishes_met=True if confirmed else None,
            now=clock.now(),
        ):
            raise InputRejected("status", CHANGED)
        await audit.record(
            tx,
            clock,
            "interpreter_changed",
            consultation,
            actor=actor,
            detail=f"{meeting.interpreter_status}-{status}",
            subject_id=meeting.id,
        )
