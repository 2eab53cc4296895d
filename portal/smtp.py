"""Talking to the mail relay: the PORTAL_SMTP_URL, and one message sent over it.

Threats: a relay password or a recipient address in a log line or an error report, and
mail sent in clear text over a network. The URL is checked once at start; an error names
what is wrong, never the URL itself. ``smtp://`` to another host must upgrade with
STARTTLS (aiosmtplib refuses to go on if the server does not offer it, and verifies the
certificate); ``smtps://`` speaks TLS from the start; only a relay on this very machine
(a loopback address or ``localhost``) may be spoken to in plain text, as nothing crosses
a network. Errors are reduced to their class name by the caller: the server's reply can
repeat the recipient's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# Seconds for connecting and for each SMTP reply: a stuck relay holds one mail, never a page.
TIMEOUT = 10
# A deliberately narrow, ASCII-only address: nothing in it can end a header line or add a
# recipient (no spaces, commas, angle brackets, quotes or line breaks).
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_ADDRESS = 254


class SendFailed(Exception):
    """The relay did not take the mail; the text is the error's class name only."""


class BadSmtpUrl(ValueError):
    """The URL cannot be used; the message says why without repeating the URL."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    use_tls: bool  # TLS from the first byte (smtps://)
    start_tls: bool  # STARTTLS required (smtp:// to another host)
    username: str = ""
    password: str = field(default="", repr=False)


def plausible_address(address: str) -> bool:
    return len(address) <= MAX_ADDRESS and _ADDRESS.fullmatch(address) is not None


def parse_url(url: str) -> SmtpTarget:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadSmtpUrl("not a valid URL (is the port a number?)") from None
    if parts.scheme not in {"smtp", "smtps"}:
        raise BadSmtpUrl("the scheme must be smtp:// (STARTTLS) or smtps:// (TLS)")
    host = parts.hostname or ""
    if not host:
        raise BadSmtpUrl("the host is missing")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise BadSmtpUrl("only smtp[s]://[user:password@]host[:port] is understood")
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if bool(username) != bool(password):
        raise BadSmtpUrl("give both a user name and a password, or neither")
    smtps = parts.scheme == "smtps"
    local = host in LOOPBACK_HOSTS
    return SmtpTarget(
        host=host,
        port=port or (465 if smtps else 25 if local else 587),
        use_tls=smtps,
        start_tls=not smtps and not local,
        username=username,
        password=password,
    )


def message(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body)
    return mail


async def send(target: SmtpTarget, mail: EmailMessage) -> None:
    """Raises ``SendFailed`` (naming the kind of error only) when the relay does not take it."""
    try:
        await aiosmtplib.send(
            mail,
            hostname=target.host,
            port=target.port,
            username=target.username or None,
            password=target.password or None,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=TIMEOUT,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # The server's reply, kept in the exception, may repeat the recipient's address.
        raise SendFailed(type(exc).__name__) from None
