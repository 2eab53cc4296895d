"""Retention: a consultation without a decision to report does not outlive its purpose.

docs/design.md, journey 8. A consultation is purged ``retention_days`` after its last
activity: the latest of its last meeting's start, its last one-time code's expiry and
``last_activity_at``; or at the end of a coordinator's extension, if that is later. A
case (``reported_at`` set) is never purged here.

Threat: a stolen database or a curious insider finding traces of people who never
chose to report. The purge is a hard delete of the consultation row; ``ON DELETE
CASCADE`` takes its meetings, one-time codes, notes, referral consents and client
sessions with it, and SQLite runs with ``secure_delete`` so the bytes are overwritten.
Slots, places and accounts stay. The audit log keeps one content-free ``purged`` event.

Extensions carry a reason from ``REASONS`` (a fixed code, never free text).

Cost: candidates come from an index range scan on (reported_at, last_activity_at):
a consultation can only be due if ``last_activity_at`` is older than the retention
time, so the work grows with what is (nearly) due, not with everything stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from portal.clock import Clock
from portal.domain import audit
from portal.domain.errors import InputRejected
from portal.i18n import N_
from portal.settings import Settings
from portal.storage import consultations as consultation_store
from portal.storage import retention as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation
from portal.storage.database import Database, Queryable
from portal.storage.retention import DueForPurge

DAY = 24 * 60 * 60
# The coordinator's list shows what goes within this many days (and anything overdue).
DUE_WITHIN_DAYS = 30
MAX_EXTENSION_DAYS = 2 * 365
NO_LIMIT = 2**62

REASONS = {
    "client_asked_for_time": N_("The client asked for more time"),
    "reflection_period": N_("A reflection period is running"),
    "ongoing_contact": N_("Contact with the client goes on"),
    "safety_concern": N_("A safety concern"),
}


class NotSubjectToRetention(Exception):
    """A case (after the decision to report) has no purge date to extend."""


def _keep(settings: Settings) -> int:
    days: int = settings.retention_days
    return days * DAY


async def _due_by(
    db: Queryable, settings: Settings, horizon: int, limit: int, offset: int
) -> Sequence[DueForPurge]:
    return await store.due_rows(
        db, keep=_keep(settings), horizon=horizon, limit=limit, offset=offset
    )


async def due_for_purge(
    db: Queryable, clock: Clock, settings: Settings, limit: int, offset: int
) -> Sequence[DueForPurge]:
    """What a coordinator sees: purged within ``DUE_WITHIN_DAYS`` (or overdue), soonest
    first, one page at a time."""
    return await _due_by(db, settings, clock.now() + DUE_WITHIN_DAYS * DAY, limit, offset)


async def retention_of(
    db: Queryable, settings: Settings, consultation_id: str
) -> DueForPurge | None:
    """Last activity and purge date of one consultation; None for a case or no such id."""
    return await store.one_row(db, consultation_id, _keep(settings))


async def purge(
    db: Database, clock: Clock, settings: Settings, dry_run: bool
) -> list[tuple[str, str]]:
    """Hard-delete every consultation whose purge date has come: (id, pseudonym) each.

    With ``dry_run`` nothing changes and the answer is what would go. Each consultation
    goes in its own short transaction (SQLite holds one lock for the whole portal), which
    re-checks the purge date, so an extension or a decision to report made meanwhile wins.
    """
    now = clock.now()
    due = await _due_by(db, settings, now, NO_LIMIT, 0)
    if dry_run:
        return [(item.consultation_id, item.pseudonym) for item in due]
    purged: list[tuple[str, str]] = []
    for item in due:
        async with db.transaction() as tx:
            if await _purge_one(tx, clock, settings, item.consultation_id, now):
                purged.append((item.consultation_id, item.pseudonym))
    return purged


async def _purge_one(
    tx: Queryable, clock: Clock, settings: Settings, consultation_id: str, now: int
) -> bool:
    current = await retention_of(tx, settings, consultation_id)
    consultation = await consultation_store.consultation_by_id(tx, consultation_id)
    if current is None or consultation is None or current.purge_at > now:
        return False
    if not await store.delete_if_due(tx, consultation_id, cutoff=now - _keep(settings), now=now):
        return False
    await audit.record(tx, clock, "purged", consultation, actor_role="system")
    return True


async def extend(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    until: int,
    reason: str,
    actor: Account,
) -> None:
    """Keep ``consultation`` at least until ``until`` (seconds since the epoch).

    The purge date becomes the later of this and the usual one: an extension can
    replace an earlier extension but never cuts the usual retention short.

    Raises ``InputRejected`` for a reason not in ``REASONS`` or a date not in the next
    ``MAX_EXTENSION_DAYS``, ``NotSubjectToRetention`` for a case.
    """
    if consultation.is_case:
        raise NotSubjectToRetention
    if reason not in REASONS:
        raise InputRejected("reason", N_("Choose one of the options."))
    now = clock.now()
    if not now < until <= now + MAX_EXTENSION_DAYS * DAY:
        raise InputRejected("until", N_("Choose a date between tomorrow and two years from now."))
    async with db.transaction() as tx:
        if not await store.set_extension(tx, consultation.id, until, reason):
            raise NotSubjectToRetention
        await audit.record(
            tx, clock, "retention_extended", consultation, actor=actor, detail=reason
        )
