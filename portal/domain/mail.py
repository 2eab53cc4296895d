"""Content-free e-mail to staff: "there is something new for you", and address checks.

Threats: mail is read on phones, in shared inboxes and by providers, and is kept for
years. So a mail never says what is new, for whom, when or where: only that there is
something, and the portal's address, in the staff languages (English, Finnish,
Swedish) at once, whoever reads it. Never a pseudonym, time, place, name, organisation
or code. Clients have no address at all (mail goes only to accounts).

A burst of items must not become a burst of mail (a phone lighting up every minute is
noticed by people nearby): at most one alert per person per 15 minutes.

Sending never happens in a request: mail is queued in ``mail_outbox`` and sent by a
background loop in every process (``mail_loop``). A row is claimed with one conditional
update before it is sent, so with several processes each mail goes once; a failed
attempt is tried again later with exponential backoff, and given up after
``MAX_ATTEMPTS``. A relay that refuses or hangs holds up only this loop (each attempt is
bounded by smtp.TIMEOUT), never a page. Logs give counts only, never an address.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage

from portal import smtp
from portal.clock import Clock
from portal.crypto.tokens import Keys, random_id
from portal.settings import Settings
from portal.storage import jobs
from portal.storage import mail as store
from portal.storage.database import Database, Queryable

ALERT, VERIFY = "alert", "verify"
ALERT_SPACING = 15 * 60
# Attempts before a mail is given up, and the wait after the first failure (doubling
# each time, at most an hour): 1, 2, 4, 8, 16, 32, 60 minutes, about two hours in all.
MAX_ATTEMPTS = 8
FIRST_RETRY = 60
LONGEST_RETRY = 60 * 60
BATCH = 50
ALERT_SCAN_LOCK = "mail-alerts"
PRUNE_JOB = "mail-prune"
# Finished mail is kept this long, then deleted (each person's latest alert stays).
KEEP_FINISHED = 7 * 24 * 60 * 60
DAY = 24 * 60 * 60

logger = logging.getLogger("portal.mail")

ALERT_SUBJECT = "Portal / Portaali / Portalen"
ALERT_BODY = """\
There is something new for you in the portal:
{url}

Portaalissa on sinulle jotain uutta:
{url}

Det finns något nytt för dig i portalen:
{url}
"""
VERIFY_SUBJECT = (
    "Confirm your e-mail address / Vahvista sähköpostiosoitteesi / Bekräfta din e-postadress"
)
VERIFY_BODY = """\
Confirm this e-mail address for the portal's alerts: open the link below while signed in
to the portal, and press the button on the page. The link works for 48 hours. If you did
not ask for this, ignore this message and tell your coordinator.

Vahvista tämä sähköpostiosoite portaalin ilmoituksia varten: avaa alla oleva linkki
portaaliin kirjautuneena ja paina sivulla olevaa painiketta. Linkki toimii 48 tuntia.
Jos et pyytänyt tätä, jätä viesti huomiotta ja kerro asiasta koordinaattorillesi.

Bekräfta den här e-postadressen för portalens aviseringar: öppna länken nedan medan du
är inloggad i portalen och tryck på knappen på sidan. Länken gäller i 48 timmar. Om du
inte bad om detta, bry dig inte om meddelandet och berätta det för din koordinator.

{link}
"""
VERIFY_PURPOSE = "email-verify"
VERIFY_ADDRESS_PURPOSE = "email-verify-address"
VERIFY_TTL = 48 * 60 * 60
VERIFY_PATH = "/staff/email/verify"


@dataclass(frozen=True)
class Round:
    """What one pass of the loop did (counts only: this is what is logged)."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    given_up: int = 0


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return int(min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY))


def verification_token(keys: Keys, account_id: str, email: str, now: int) -> str:
    """Signed and expiring (``VERIFY_TTL`` on the portal's clock); binds the account and
    the address (as a MAC: the link, which may end up in a proxy's log, does not carry
    the address itself)."""
    address_mac = keys.mac(VERIFY_ADDRESS_PURPOSE, email)
    return keys.sign(VERIFY_PURPOSE, {"a": account_id, "h": address_mac, "t": now})


def base_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/"


def alert_mail(settings: Settings, recipient: str) -> EmailMessage:
    body = ALERT_BODY.format(url=base_url(settings))
    return smtp.message(settings.mail_from, recipient, ALERT_SUBJECT, body)


def verify_mail(
    settings: Settings, keys: Keys, account_id: str, recipient: str, now: int
) -> EmailMessage:
    token = verification_token(keys, account_id, recipient, now)
    link = f"{settings.public_url.rstrip('/')}{VERIFY_PATH}?t={token}"
    return smtp.message(
        settings.mail_from, recipient, VERIFY_SUBJECT, VERIFY_BODY.format(link=link)
    )


async def queue_verification(tx: Queryable, account_id: str, now: int) -> None:
    """Call inside the transaction that sets the address: an earlier, unsent verification
    (for the previous address) is dropped."""
    await store.cancel_pending(tx, account_id, VERIFY, now)
    await store.enqueue(tx, random_id(), account_id, VERIFY, now)


async def queue_alerts(db: Database, clock: Clock) -> int:
    """One alert for each account that has something new and had none for 15 minutes.

    The job_runs row of ``ALERT_SCAN_LOCK`` is claimed first in the same transaction: it
    serves as a lock (PostgreSQL holds the row until commit, SQLite has one writer), so
    two processes scanning at once cannot both queue an alert for the same person.
    """
    now = clock.now()
    async with db.transaction() as tx:
        if not await jobs.claim(tx, ALERT_SCAN_LOCK, now, 0):
            return 0
        accounts = await store.accounts_to_alert(tx, now, ALERT_SPACING)
        for account_id in accounts:
            await store.enqueue(tx, random_id(), account_id, ALERT, now)
    return len(accounts)


async def send_due(db: Database, clock: Clock, settings: Settings, keys: Keys) -> Round:
    target = smtp.parse_url(settings.smtp_url)
    sent = failed = given_up = 0
    now = clock.now()
    for mail in await store.due(db, now, BATCH):
        attempt = mail.attempts + 1
        if not await store.claim(db, mail, now, now + retry_delay(attempt)):
            continue  # another process has it
        recipient = await store.recipient(db, mail.account_id, verified=mail.kind == ALERT)
        if recipient is None:  # removed, replaced before verification, or disabled
            await store.mark_given_up(db, mail.id, clock.now())
            given_up += 1
            continue
        message = (
            alert_mail(settings, recipient)
            if mail.kind == ALERT
            else verify_mail(settings, keys, mail.account_id, recipient, clock.now())
        )
        try:
            await smtp.send(target, message)
        except smtp.SendFailed as exc:
            failed += 1
            logger.warning("a mail was not taken by the relay (%s), attempt %d", exc, attempt)
            if attempt >= MAX_ATTEMPTS:
                await store.mark_given_up(db, mail.id, clock.now())
                given_up += 1
            continue
        await store.mark_sent(db, mail.id, clock.now())
        sent += 1
    return Round(sent=sent, failed=failed, given_up=given_up)


async def prune_if_due(db: Database, clock: Clock) -> int | None:
    """Once a day (one process): delete finished mail older than ``KEEP_FINISHED``."""
    now = clock.now()
    if not await jobs.claim(db, PRUNE_JOB, now, DAY):
        return None
    return await store.prune(db, now - KEEP_FINISHED)


async def run_once(db: Database, clock: Clock, settings: Settings, keys: Keys) -> Round:
    queued = await queue_alerts(db, clock)
    done = await send_due(db, clock, settings, keys)
    await prune_if_due(db, clock)
    result = Round(queued, done.sent, done.failed, done.given_up)
    if result != Round():
        logger.info(
            "mail: %d alerts queued, %d sent, %d failed, %d given up",
            result.queued,
            result.sent,
            result.failed,
            result.given_up,
        )
    return result


async def mail_loop(db: Database, clock: Clock, settings: Settings, keys: Keys) -> None:
    """The background loop started in the app's lifespan when mail is configured
    (cancelled at shutdown). Mail queued before a restart is sent by the next process."""
    while True:
        await asyncio.sleep(settings.mail_interval_seconds)
        try:
            await run_once(db, clock, settings, keys)
        except Exception:
            # Keep the loop alive; the redacting formatter writes the frames only.
            logger.exception("the mail job failed; it will be tried again")
