"""Who is sending a request: a keyed, rotating hash, and the address itself nowhere.

Threat: one person flooding wrong codes or passwords so that nobody else can use the
portal (a trafficker keeping every victim away from their meeting), and the opposite
threat, the portal keeping a record of who visited. Fairness needs to tell senders
apart; privacy forbids knowing them. So the sender is reduced, at the outermost layer,
to ``HMAC(HMAC(secret, day), address)``: a name that the rate limits can count against,
that changes every day, and that opens nothing without the secret. The address is then
removed from the request (``scope["client"] = None``): no handler, error page or log
line below this middleware can read it.

What "the address" is (docs/security.md, "Fairness"):
- served directly: the peer of the TCP connection;
- behind the shipped nginx or Caddy: the address the proxy puts in ``X-Forwarded-For``,
  which uvicorn (``portal serve --proxy-headers``) copies into the scope only when the
  connection comes from a trusted proxy (``--forwarded-allow-ips``, default 127.0.0.1);
- behind the onion service: Tor's circuit id, which Tor hands to nginx over the PROXY
  protocol as an address in ``fc00:dead:beef:4dad::/64`` (``HiddenServiceExportCircuitID
  haproxy``), and nginx passes on the same way.
An IPv6 sender counts by its /64 network (one subscriber usually holds a whole /64); a
Tor circuit counts by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from portal.clock import Clock
from portal.crypto.hashing import current_sender

SCOPE_KEY = "portal.sender"

TOR_CIRCUITS = ipaddress.IPv6Network("fc00:dead:beef:4dad::/64")
ROTATION_SECONDS = 86400


def sender_of(scope: Scope) -> str:
    sender: str = scope.get(SCOPE_KEY, "")
    return sender


def sender_key(address: str) -> str:
    """The part of an address that names one sender (see the module docstring)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP (a Unix socket, a test client's name): as it is
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if ip not in TOR_CIRCUITS:
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SenderMiddleware:
    """Puts the sender's rotating hash in the scope and takes the address out of it."""

    def __init__(self, app: ASGIApp, *, secret: bytes, clock: Clock) -> None:
        self.app = app
        self._secret = secret
        self._clock = clock
        self._day_key: tuple[int, bytes] = (-1, b"")

    def _key(self) -> bytes:
        day = self._clock.now() // ROTATION_SECONDS
        if self._day_key[0] != day:
            derived = hmac.new(self._secret, str(day).encode(), hashlib.sha256).digest()
            self._day_key = (day, derived)
        return self._day_key[1]

    def sender_hash(self, address: str) -> str:
        digest = hmac.new(self._key(), sender_key(address).encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        sender = self.sender_hash(client[0] if client else "")
        scope[SCOPE_KEY] = sender
        scope["client"] = None
        # For the life of the request, so that the bounded hashing pool can keep one
        # sender from filling its queue without every caller passing the sender along.
        token = current_sender.set(sender)
        try:
            await self.app(scope, receive, send)
        finally:
            current_sender.reset(token)
