"""Senders: told apart for fairness, known only as keyed hashes that change every day."""

from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from portal.security.senders import SenderMiddleware, sender_key, sender_of
from tests.factories import FakeClock, on_own_loop


@pytest.mark.parametrize(
    ("address", "sender"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        # One subscriber usually holds a whole /64: its addresses are one sender.
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        # Tor circuits (HiddenServiceExportCircuitID haproxy) are one sender each.
        ("fc00:dead:beef:4dad::1:1171", "fc00:dead:beef:4dad::1:1171"),
        ("fc00:dead:beef:4dad::1:1172", "fc00:dead:beef:4dad::1:1172"),
        ("testclient", "testclient"),
    ],
)
def test_what_counts_as_one_sender(address: str, sender: str) -> None:
    assert sender_key(address) == sender


def _seen_by_the_app(middleware: SenderMiddleware, address: str) -> Scope:
    seen: dict[str, Scope] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen["scope"] = dict(scope)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    middleware.app = app
    scope = {"type": "http", "client": (address, 50123), "headers": []}

    async def call() -> None:
        await middleware(scope, receive, send)

    on_own_loop(call)
    return seen["scope"]


def test_the_app_sees_a_daily_keyed_hash_and_never_the_address() -> None:
    clock = FakeClock()
    middleware = SenderMiddleware(None, secret=b"s" * 32, clock=clock)  # type: ignore[arg-type]
    first = _seen_by_the_app(middleware, "203.0.113.7")
    assert first["client"] is None
    assert "203.0.113.7" not in repr(first)
    sender = sender_of(first)
    assert len(sender) == 32
    assert sender_of(_seen_by_the_app(middleware, "203.0.113.7")) == sender
    assert sender_of(_seen_by_the_app(middleware, "203.0.113.8")) != sender
    clock.advance(86400)  # the next day, the same address is another name
    assert sender_of(_seen_by_the_app(middleware, "203.0.113.7")) != sender
    other_key = SenderMiddleware(None, secret=b"t" * 32, clock=FakeClock())  # type: ignore[arg-type]
    assert sender_of(_seen_by_the_app(other_key, "203.0.113.7")) != sender
