"""The "needs attention" queue: what happened that a staff member must see, once.

Threat: a client who says "it is not safe for me to come now" and nobody notices; and,
the other way, a queue that tells more than it should. Each event puts exactly one item
in the queue of exactly the people who work on the consultation (never a coordinator,
never another organisation or investigator), in the same transaction as the change, so
an answer is never recorded without its alert. Items are content-free: a kind, a fixed
detail code (a change reason), ids and times; never a message's text. Only the owner
marks an item done (domain/visibility.py ``own_attention_item``); nothing closes it by
itself, except an urgent risk the safety plan no longer says. Logs give counts only.

Events and who gets an item:

- the client confirmed, cancelled or asked for another time: the meeting's investigator
  and the NGO worker who booked (if that account is disabled: every active NGO worker of
  the booking organisation); reason "unsafe" makes both items urgent; an adviser who
  joins that meeting gets an item too, without the reason (advisers see times and
  places, not what the client said about their safety);
- a new message in the conversation (``message_written``): the consultation's
  investigator, the booking organisation's active NGO workers and the advisers taking
  part, each with a current key,
  never the author; one open item per person and conversation, re-opened by the next;
- a referral (domain/referrals.py): a new one for every active adviser of the receiving
  organisation (``advisers_asked``); each change of its status for the sender and the
  consultation's investigator;
- the safety plan says there is an urgent risk (``urgent_risk``): the investigator and
  the booking organisation's active NGO workers, urgent, one item per person and
  consultation; marked done for everyone when the plan says the risk is over;
- the periodic sweep (``sweep``, run by one process through domain/jobs.py): a meeting
  within 24 hours the client has not confirmed (investigator and booker, once per
  meeting), a granted reflection period ending within 7 days (the investigator, once per
  consultation and end date);
- an adviser request, answered or cancelled (domain/adviser_requests.py): the advisers
  of the organisation asked (``advisers_asked``), then the person who asked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.i18n import N_
from portal.storage import adviser_requests as adviser_store
from portal.storage import attention as store
from portal.storage.attention import AttentionItem
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database, Queryable

__all__ = ["AttentionItem", "message_written"]

DAY = 24 * 60 * 60
# How far ahead the sweep looks.
UNCONFIRMED_WITHIN = DAY
REFLECTION_WITHIN = 7 * DAY
# The change reason that makes an answer urgent.
UNSAFE = "unsafe"

# The client's answer (client_access.answer_meeting) -> the item's kind.
ANSWER_KINDS = {
    "confirm": "client_confirmed",
    "cancel": "client_cancelled",
    "change": "client_change_requested",
    "undo": "client_undid_cancel",
}

# What each kind of item says, in plain words.
KINDS = {
    "client_confirmed": N_("The client confirmed the meeting."),
    "client_cancelled": N_("The client cancelled the meeting."),
    "client_change_requested": N_("The client asks for another time."),
    "client_undid_cancel": N_("The client took back the cancellation: the meeting is on again."),
    "message": N_("There is a new message in the conversation."),
    "meeting_unconfirmed": N_(
        "The meeting is within 24 hours and the client has not confirmed it yet."
    ),
    "reflection_ending": N_("The reflection period ends within 7 days."),
    "adviser_request": N_("Your organisation is asked to talk with a client."),
    "adviser_answered": N_("An adviser will take part and talk with the client."),
    "adviser_cancelled": N_("The adviser cannot take part after all."),
    "reseal_needed": N_(
        "This consultation moved to another investigator: seal its notes again for them."
    ),
    # Referrals (domain/referrals.py): a new one for the receiving advisers; a change of
    # its status for the sender and the investigator.
    "referral_new": N_("A new referral arrived for your organisation."),
    "referral_received": N_("The referral was received."),
    "referral_accepted": N_("The referral was accepted."),
    "referral_declined": N_("The referral was declined."),
    "referral_closed": N_("The referral was closed."),
    "urgent_risk": N_("The safety plan says there is an urgent risk."),
}

logger = logging.getLogger("portal.attention")


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


async def _bookers(
    tx: Queryable, booked_by: str, organisation_id: str, *, active: bool | None = None
) -> list[str]:
    """The NGO worker who booked, or every active NGO worker of the booking organisation
    if that account is disabled (someone there must still hear of it)."""
    if active is None:
        active = await store.account_is_active(tx, booked_by)
    return [booked_by] if active else await store.active_ngo_workers(tx, organisation_id)


async def client_answered(
    tx: Queryable,
    clock: Clock,
    consultation: Consultation,
    meeting: Meeting,
    answer: str,
    reason: str | None,
) -> int:
    """The client's answer to a meeting, inside the transaction that records it: one item
    for the meeting's investigator, one for the booker and one for each adviser joining
    the meeting. The number of items."""
    kind = ANSWER_KINDS[answer]
    detail = reason if answer == "change" else None
    urgent = detail == UNSAFE
    now = clock.now()
    recipients = _unique(
        [
            meeting.investigator_id,
            *await _bookers(tx, consultation.booked_by, consultation.organisation_id),
        ]
    )
    advisers = [
        a for a in await adviser_store.meeting_advisers(tx, meeting.id) if a not in recipients
    ]
    for account_id in recipients + advisers:
        told = account_id in recipients  # the police and the booker hear the reason
        await store.insert_item(
            tx,
            item_id=random_id(),
            account_id=account_id,
            consultation_id=consultation.id,
            kind=kind,
            detail=detail if told else None,
            subject_id=meeting.id,
            urgent=urgent and told,
            now=now,
        )
    return len(recipients) + len(advisers)


async def message_written(
    tx: Queryable,
    clock: Clock,
    consultation: Consultation,
    *,
    author_account_id: str | None,
    message_id: str,
) -> None:
    """A new message in the consultation's conversation (call it in the transaction that
    stores the message). Its readers other than the author get the conversation's one
    item: created, or re-opened and moved to now if they had it already."""
    readers = _unique(
        [
            consultation.investigator_id,
            *await store.active_ngo_workers(tx, consultation.organisation_id, with_key=True),
            *await adviser_store.participant_advisers(tx, consultation.id, with_key=True),
        ]
    )
    now = clock.now()
    for account_id in readers:
        if account_id == author_account_id:
            continue
        await store.refresh_item(
            tx,
            item_id=random_id(),
            account_id=account_id,
            consultation_id=consultation.id,
            kind="message",
            subject_id=message_id,
            dedupe=f"message:{consultation.id}",
            now=now,
        )


async def advisers_asked(
    tx: Queryable, consultation_id: str, organisation_id: str, kind: str, subject_id: str, now: int
) -> None:
    """A request or referral to an adviser organisation (in the transaction that writes
    it): one item for each of its active advisers."""
    for adviser_id in await adviser_store.active_advisers(tx, organisation_id):
        await store.insert_item(
            tx,
            item_id=random_id(),
            account_id=adviser_id,
            consultation_id=consultation_id,
            kind=kind,
            detail=None,
            subject_id=subject_id,
            urgent=False,
            now=now,
        )


async def reseal_needed(
    tx: Queryable, clock: Clock, consultation: Consultation, new_investigator_id: str
) -> None:
    """The consultation moves from its investigator to ``new_investigator_id`` (in the
    transaction that moves it): the previous one, whose browser can open its notes and
    messages, gets one item to re-seal them (web: /investigator/reseal)."""
    await store.refresh_item(
        tx,
        item_id=random_id(),
        account_id=consultation.investigator_id,
        consultation_id=consultation.id,
        kind="reseal_needed",
        subject_id=new_investigator_id,
        dedupe=f"reseal:{consultation.id}",
        now=clock.now(),
    )


def _urgent_risk_name(consultation: Consultation) -> str:
    return f"urgent_risk:{consultation.id}"


async def urgent_risk(
    tx: Queryable, clock: Clock, consultation: Consultation, *, was_urgent: bool
) -> None:
    """The safety plan says there is an urgent risk (in the transaction that saves it):
    one urgent item for the investigator and each active NGO worker of the booking
    organisation. When the risk is new, their item is created or re-opened; saving the
    plan again while the risk stays adds nothing (only someone who has none yet, such as
    a new investigator, gets one)."""
    people = _unique(
        [
            consultation.investigator_id,
            *await store.active_ngo_workers(tx, consultation.organisation_id),
        ]
    )
    now = clock.now()
    for account_id in people:
        if was_urgent:
            await store.insert_item(
                tx,
                item_id=random_id(),
                account_id=account_id,
                consultation_id=consultation.id,
                kind="urgent_risk",
                detail=None,
                subject_id=None,
                urgent=True,
                now=now,
                dedupe=_urgent_risk_name(consultation),
            )
        else:
            await store.refresh_item(
                tx,
                item_id=random_id(),
                account_id=account_id,
                consultation_id=consultation.id,
                kind="urgent_risk",
                subject_id=consultation.id,
                dedupe=_urgent_risk_name(consultation),
                now=now,
                urgent=True,
            )


async def urgent_risk_over(tx: Queryable, clock: Clock, consultation: Consultation) -> int:
    """The safety plan no longer says there is an urgent risk: the open urgent-risk items
    of the consultation are marked done. The number closed."""
    return await store.close_named(
        tx, consultation.id, _urgent_risk_name(consultation), clock.now()
    )


async def sweep(db: Database, clock: Clock) -> int:
    """Items for what is due soon; each at most once (a second run adds nothing). The
    number of items created."""
    now = clock.now()
    created = 0
    async with db.transaction() as tx:
        for meeting in await store.unconfirmed_meetings(tx, now, now + UNCONFIRMED_WITHIN):
            bookers = await _bookers(
                tx, meeting.booked_by, meeting.organisation_id, active=meeting.booker_active
            )
            for account_id in _unique([meeting.investigator_id, *bookers]):
                created += await store.insert_item(
                    tx,
                    item_id=random_id(),
                    account_id=account_id,
                    consultation_id=meeting.consultation_id,
                    kind="meeting_unconfirmed",
                    detail=None,
                    subject_id=meeting.meeting_id,
                    urgent=False,
                    now=now,
                    dedupe=f"meeting_unconfirmed:{meeting.meeting_id}",
                )
        for ending in await store.ending_reflections(tx, now, now + REFLECTION_WITHIN):
            created += await store.insert_item(
                tx,
                item_id=random_id(),
                account_id=ending.investigator_id,
                consultation_id=ending.consultation_id,
                kind="reflection_ending",
                detail=None,
                subject_id=None,
                urgent=False,
                now=now,
                dedupe=f"reflection_ending:{ending.consultation_id}:{ending.ends_on}",
            )
    if created:
        logger.info("attention sweep: %d new items", created)
    return created


# --- the owner's queue ---------------------------------------------------------------


async def mark_done(db: Database, clock: Clock, item: AttentionItem) -> bool:
    """Close an item the caller owns (looked up with visibility.own_attention_item)."""
    async with db.transaction() as tx:
        return await store.mark_done(tx, item.id, item.account_id, clock.now())
