"""The conversation of a consultation: sealed messages among the investigator, the
booking organisation's NGO workers, the advisers taking part and the client (contract
"Messages", docs/crypto.md).

Threats: a stolen database or backup, a curious coordinator or other organisation, a
participant trying to slip a message past someone, a stored envelope moved to another
message or consultation. Every message is sealed (envelope v1) once per recipient key:
the current key of each participant, the author's own included. The server stores only
envelopes and content-free metadata (who wrote, when, where it was sealed). Staff seal
and open in their browser; a client without JavaScript posts the text and the server
seals it in the request (the plaintext lives only in that request's memory). Clients
read through the server: their envelopes are opened in the request with the secret key
their session holds (never stored in clear), and nothing is kept. The context (version,
consultation, message, author role, recipient key) is sealed inside and checked on
opening, because anyone holding a public key can seal. Plaintexts are padded to a
multiple of 256 bytes so envelope sizes do not reveal message lengths.

The server refuses a message unless it carries exactly one envelope per current
recipient, each well formed, under an unused message id, from a participant with a
current key: nobody is left out of a conversation silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from portal.clock import Clock
from portal.crypto.envelopes import OVERHEAD as OVERHEAD
from portal.crypto.envelopes import PAD_TO as PAD_TO
from portal.crypto.envelopes import EnvelopeError, open_json, padded_envelope, seal
from portal.crypto.envelopes import padded_json as padded
from portal.crypto.tokens import random_id
from portal.domain import attention, audit
from portal.domain.errors import InputRejected
from portal.i18n import N_
from portal.storage import messages as store
from portal.storage.accounts import Account
from portal.storage.consultations import Consultation
from portal.storage.database import Database, Queryable
from portal.storage.keys import StaffKey
from portal.storage.messages import Message as Message
from portal.storage.messages import Readable as Readable
from portal.storage.messages import RecipientKey as RecipientKey

VERSION = 1
MAX_TEXT = 4000  # characters (code points)
MAX_PLAINTEXT = 32 * 1024  # 4000 characters of 4 bytes, escapes and the context fit
AUTHORS = ("investigator", "ngo_worker", "adviser", "client")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")

TOO_LONG = N_("The message is too long. Shorten it a little: at most 4000 characters.")
EMPTY = N_("Write a message first.")
UNREADABLE = N_("The message could not be read. Try again.")
RECIPIENTS_CHANGED = N_(
    "The people in this conversation changed while you were writing. "
    "Your message is still here: send it again."
)
USED_ID = N_("This message was sent already. Reload the page to write another.")
NOT_SHARED = N_("Those messages could not be shared. Reload the page and try again.")


class NotParticipant(Exception):
    """The author takes no part in this conversation, or has no current key."""


class RecipientsChanged(InputRejected):
    """The envelopes do not match the current recipients (someone joined, left or
    replaced their key meanwhile); ``recipients`` is the set now."""

    def __init__(self, recipients: Sequence[RecipientKey]) -> None:
        super().__init__("message", RECIPIENTS_CHANGED)
        self.recipients = list(recipients)


def new_message_id() -> str:
    return random_id()


def context(
    consultation_id: str, message_id: str, author_role: str, recipient_key_id: str
) -> dict[str, Any]:
    """What opening checks (besides the text): the same fields the sealer put in."""
    return {
        "v": VERSION,
        "consultation": consultation_id,
        "message": message_id,
        "author": author_role,
        "recipient": recipient_key_id,
    }


def seal_message(
    recipient: RecipientKey,
    *,
    consultation_id: str,
    message_id: str,
    author_role: str,
    at: int,
    text: str,
) -> bytes:
    fields = {
        **context(consultation_id, message_id, author_role, recipient.key_id),
        "time": at,
        "text": text,
    }
    return seal(recipient.public_key, padded(fields))


def open_message(
    secret_key: bytes,
    envelope: bytes,
    *,
    consultation_id: str,
    message_id: str,
    author_role: str,
    recipient_key_id: str,
) -> str:
    """The text, or ``EnvelopeError`` (wrong key, altered, or another context)."""
    opened = open_json(
        secret_key,
        envelope,
        context(consultation_id, message_id, author_role, recipient_key_id),
    )
    text = opened.get("text")
    if not isinstance(text, str):
        raise EnvelopeError("the message has no text")
    return text


def checked_text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InputRejected("text", EMPTY)
    if len(cleaned) > MAX_TEXT:
        raise InputRejected("text", TOO_LONG)
    return cleaned


def _envelope(value: str) -> bytes:
    envelope = padded_envelope(value, MAX_PLAINTEXT)
    if envelope is None:
        raise InputRejected("message", UNREADABLE)
    return envelope


def _checked_id(message_id: str) -> str:
    if not MESSAGE_ID.match(message_id):
        raise InputRejected("message", UNREADABLE)
    return message_id


def _author_key(
    recipients: Iterable[RecipientKey], role: str, account: Account | None
) -> RecipientKey | None:
    for key in recipients:
        if key.role != role:
            continue
        if account is None:
            if role == "client":
                return key
        elif key.account_id == account.id:
            return key
    return None


async def recipients(db: Queryable, consultation: Consultation) -> list[RecipientKey]:
    """The current key of each participant (docs/crypto.md, "Messages")."""
    return await store.recipient_keys(db, consultation.id)


async def _store(
    tx: Queryable,
    clock: Clock,
    consultation: Consultation,
    *,
    role: str,
    account: Account | None,
    message_id: str,
    envelopes: dict[str, bytes],
    sealed_in: str,
    now: int,
) -> None:
    if not await store.insert_message(
        tx,
        message_id=message_id,
        consultation_id=consultation.id,
        author_role=role,
        author_account_id=account.id if account else None,
        sealed_in=sealed_in,
        now=now,
    ):
        raise InputRejected("message", USED_ID)
    for key_id, envelope in envelopes.items():
        await store.insert_envelope(tx, message_id, key_id, envelope, now)
    await audit.record(
        tx,
        clock,
        "message_written",
        consultation,
        actor=account,
        actor_role=None if account else role,
        detail=f"author-{role}",
    )
    await attention.message_written(
        tx,
        clock,
        consultation,
        author_account_id=account.id if account else None,
        message_id=message_id,
    )


async def post_sealed(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    role: str,
    account: Account | None,
    message_id: str,
    envelopes: dict[str, str],
) -> None:
    """Store a message sealed in the author's browser: ``envelopes`` maps each recipient
    key id to its envelope (base64). Raises ``NotParticipant``, ``RecipientsChanged`` or
    ``InputRejected``; audited as ``message_written`` in the same transaction."""
    message_id = _checked_id(message_id)
    async with db.transaction() as tx:
        current = await store.recipient_keys(tx, consultation.id)
        if role not in AUTHORS or _author_key(current, role, account) is None:
            raise NotParticipant
        if set(envelopes) != {key.key_id for key in current}:
            raise RecipientsChanged(current)
        decoded = {key_id: _envelope(value) for key_id, value in envelopes.items()}
        await _store(
            tx,
            clock,
            consultation,
            role=role,
            account=account,
            message_id=message_id,
            envelopes=decoded,
            sealed_in="browser",
            now=clock.now(),
        )


async def post_from_client_text(
    db: Database, clock: Clock, consultation: Consultation, *, message_id: str, text: str
) -> None:
    """A client without JavaScript: the server seals ``text`` to every current recipient
    in this request. The plaintext is in no table and no log; nothing keeps it."""
    message_id = _checked_id(message_id)
    cleaned = checked_text(text)
    now = clock.now()
    async with db.transaction() as tx:
        current = await store.recipient_keys(tx, consultation.id)
        if _author_key(current, "client", None) is None:
            raise NotParticipant
        envelopes = {
            key.key_id: seal_message(
                key,
                consultation_id=consultation.id,
                message_id=message_id,
                author_role="client",
                at=now,
                text=cleaned,
            )
            for key in current
        }
        await _store(
            tx,
            clock,
            consultation,
            role="client",
            account=None,
            message_id=message_id,
            envelopes=envelopes,
            sealed_in="server",
            now=now,
        )


async def client_text(
    db: Queryable,
    consultation_id: str,
    *,
    message_id: str,
    envelopes: dict[str, str],
    secret_key: bytes | None,
) -> str:
    """What the client wrote in a message sealed in their browser, opened from the
    envelope to their own current key, so that a refused message goes back into its box
    ("" when there is none to open). Nothing is kept."""
    own = _author_key(await store.recipient_keys(db, consultation_id), "client", None)
    value = envelopes.get(own.key_id) if own is not None else None
    if own is None or value is None or secret_key is None:
        return ""
    try:
        return open_message(
            secret_key,
            _envelope(value),
            consultation_id=consultation_id,
            message_id=message_id,
            author_role="client",
            recipient_key_id=own.key_id,
        )
    except (EnvelopeError, InputRejected, ValueError):
        return ""


async def share_earlier(
    db: Database,
    clock: Clock,
    consultation: Consultation,
    *,
    account: Account,
    role: str,
    envelopes: Sequence[tuple[str, str, str]],
) -> int:
    """Store envelopes a participant re-sealed in their browser for participants who
    have none for earlier messages: (message id, recipient key id, envelope base64).
    Only for messages of this consultation that the sharer could read themselves (their
    current key has an envelope of it), and current recipients that lack one; anything
    else refuses the whole request. Audited as ``messages_shared``.

    What the server cannot check: that a shared envelope says what the message said. A
    participant who could read a message can give a newcomer a different text under the
    same author, as any author can seal different texts to different recipients
    (docs/crypto.md, "What a participant can forge")."""
    if not envelopes:
        raise InputRejected("share", NOT_SHARED)
    now = clock.now()
    async with db.transaction() as tx:
        current = await store.recipient_keys(tx, consultation.id)
        own = _author_key(current, role, account)
        if own is None:
            raise NotParticipant
        current_ids = {key.key_id for key in current}
        existing = await store.envelope_keys(tx, consultation.id)
        seen: set[tuple[str, str]] = set()
        checked = []
        for message_id, key_id, value in envelopes:
            has = existing.get(message_id)
            if has is None or own.key_id not in has or key_id not in current_ids or key_id in has:
                raise InputRejected("share", NOT_SHARED)
            if (message_id, key_id) in seen:
                raise InputRejected("share", NOT_SHARED)
            seen.add((message_id, key_id))
            checked.append((message_id, key_id, _envelope(value)))
        for message_id, key_id, envelope in checked:
            await store.insert_envelope(tx, message_id, key_id, envelope, now)
        await audit.record(
            tx,
            clock,
            "messages_shared",
            consultation,
            actor=account,
            detail=f"count-{len(checked)}",
        )
    return len(checked)


# --- what each participant's page shows -------------------------------------------------


@dataclass(frozen=True)
class Entry:
    message: Message
    envelope: bytes | None  # sealed to the reader's current key (None: not to them)
    missing: tuple[str, ...]  # current recipients' key ids without an envelope


@dataclass(frozen=True)
class StaffConversation:
    key: StaffKey | None  # the reader's current key (None: they cannot read or write)
    recipients: list[RecipientKey]
    entries: list[Entry]
    message_id: str  # a fresh id for the next message

    @property
    def share_with(self) -> list[RecipientKey]:
        """Current recipients without an envelope for a message this reader can open."""
        wanted = {k for e in self.entries if e.envelope is not None for k in e.missing}
        return [k for k in self.recipients if k.key_id in wanted]


async def staff_conversation(
    db: Queryable,
    key: StaffKey | None,
    consultation: Consultation,
    readable: Sequence[Readable],
) -> StaffConversation:
    """``key``: the reader's current key; ``readable``: the messages with the envelopes
    for it, from visibility.consultation_messages (which decided the reader may see them)."""
    current = await store.recipient_keys(db, consultation.id)
    current_ids = [k.key_id for k in current]
    has = await store.envelope_keys(db, consultation.id) if readable else {}
    entries = [
        Entry(
            r.message,
            r.envelope if key is not None else None,
            tuple(k for k in current_ids if k not in has.get(r.message.id, set())),
        )
        for r in readable
    ]
    return StaffConversation(key, current, entries, new_message_id())


@dataclass(frozen=True)
class ClientEntry:
    author_role: str
    created_at: int
    text: str | None  # None: not sealed to the client's current key, or cannot open
    author_kind: str = ""  # an adviser's organisation's kind (said in plain words)


@dataclass(frozen=True)
class ClientConversation:
    recipients: list[RecipientKey]  # empty: the client cannot take part (no client key)
    entries: list[ClientEntry]  # oldest first: all of them, or the latest few
    message_id: str
    total: int = 0  # messages in the conversation, shown or not

    @property
    def can_write(self) -> bool:
        return any(k.role == "client" for k in self.recipients)

    @property
    def adviser_kinds(self) -> list[str]:
        """The organisation kinds of the advisers who take part, each once."""
        return sorted({k.organisation_kind for k in self.recipients if k.role == "adviser"})

    @property
    def more(self) -> bool:
        """Older messages than those shown exist (the meeting page shows the latest)."""
        return self.total > len(self.entries)


async def client_conversation(
    db: Queryable, consultation_id: str, secret_key: bytes | None
) -> ClientConversation:
    """All the client's messages, opened here with the secret key from their session (one
    query for the messages and the client's envelopes; no argon2). Nothing is kept. The
    meeting page reads only the latest few (domain/client_access.py ``meeting_page``): each
    envelope opened is an X25519 multiplication on the event loop (docs/benchmarks.md)."""
    recipients = await store.recipient_keys(db, consultation_id)
    own = _author_key(recipients, "client", None)
    readable = [] if own is None else await store.readable_by(db, consultation_id, own.key_id)
    return client_conversation_of(consultation_id, recipients, readable, len(readable), secret_key)


def client_conversation_of(
    consultation_id: str,
    recipients: list[RecipientKey],
    readable: Sequence[Readable],
    total: int,
    secret_key: bytes | None,
) -> ClientConversation:
    """``readable`` (messages with the envelopes sealed to the client's current key, oldest
    first; ``total`` messages in all) opened with the client's secret key."""
    own = _author_key(recipients, "client", None)
    if own is None:
        return ClientConversation([], [], new_message_id())
    entries = []
    for r in readable:
        text = None
        if r.envelope is not None and secret_key is not None:
            try:
                text = open_message(
                    secret_key,
                    r.envelope,
                    consultation_id=consultation_id,
                    message_id=r.message.id,
                    author_role=r.message.author_role,
                    recipient_key_id=own.key_id,
                )
            except (EnvelopeError, ValueError):
                text = None
        entries.append(
            ClientEntry(r.message.author_role, r.message.created_at, text, r.message.author_kind)
        )
    return ClientConversation(recipients, entries, new_message_id(), total)
