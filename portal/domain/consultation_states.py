"""The states of a consultation and the changes allowed between them, in one table.

A consultation is *open* until the investigator records what the client wants: to report,
more time, or neither. That outcome follows the client as they change their mind, but a
decision to report (which unlocks recording identity) is possible only while the outcome
says the client wants to report, and a case never goes back: once it is a case, the
outcome stays. The storage updates are conditional on the state checked here, so a change
made meanwhile in another tab is refused instead of overwritten.
"""

from __future__ import annotations

from portal.domain.errors import InputRejected
from portal.i18n import N_
from portal.storage.consultations import Consultation

OPEN = "open"
WANTS_TO_REPORT = "wants_to_report"
NEEDS_TIME = "needs_time"
DECLINED = "declined"
CASE = "case"

# Recording the same outcome again is allowed (a new summary after another meeting).
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({WANTS_TO_REPORT, NEEDS_TIME, DECLINED}),
    NEEDS_TIME: frozenset({WANTS_TO_REPORT, NEEDS_TIME, DECLINED}),
    DECLINED: frozenset({WANTS_TO_REPORT, NEEDS_TIME, DECLINED}),
    WANTS_TO_REPORT: frozenset({WANTS_TO_REPORT, NEEDS_TIME, DECLINED, CASE}),
    CASE: frozenset(),
}

REFUSED = {
    CASE: N_("This consultation is a case now: its outcome no longer changes."),
    "not_wanting": N_(
        "A decision to report can be recorded only after the outcome says the client "
        "wants to report."
    ),
}
CHANGED_MEANWHILE = N_("This consultation was changed meanwhile. Reload the page and try again.")


def state_of(consultation: Consultation) -> str:
    if consultation.is_case:
        return CASE
    return consultation.outcome or OPEN


def stored_outcome(state: str) -> str | None:
    """The outcome column's value in ``state`` (None while open)."""
    return None if state == OPEN else state


def check(current: str, target: str, field: str) -> None:
    """Raise ``InputRejected`` on ``field`` unless ``current`` may become ``target``."""
    if target in TRANSITIONS[current]:
        return
    if current == CASE:
        raise InputRejected(field, REFUSED[CASE])
    raise InputRejected(field, REFUSED["not_wanting"])
