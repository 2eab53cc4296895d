"""``/metrics`` for the host only, and the counting of 5xx answers on the way out.

Threat: the metrics tell when the portal is busy and how often it refuses; served to the
internet they would help someone time a flood or watch a unit's workload. So
``/metrics`` answers only a request that

- comes from 127.0.0.1 or ::1 (the connection's peer; behind a proxy with
  ``portal serve --proxy-headers``, the address the proxy reported). Not the rest of
  127.0.0.0/8: the tests play other hosts on 127.0.0.2 and 127.0.0.3, and a scraper on
  this host reaches the portal from 127.0.0.1 even when the portal listens on another
  local address (``curl --interface 127.0.0.1 http://10.0.0.2:8000/metrics``), and
- carries no forwarding header (``X-Forwarded-For``, ``Forwarded``, ``X-Real-IP``):
  a request relayed by a proxy on this host comes from loopback too, but it is not the
  host asking. This also covers a portal started without ``--proxy-headers`` behind
  nginx, where every request would look local.

Anything else gets the same plain 404 as a path that does not exist. The shipped proxies
answer 404 for ``/metrics`` themselves as well (deploy/nginx, deploy/caddy).

This middleware sits outside security/senders.py, which removes the address from the
request; it keeps nothing of it.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.domain.monitoring import snapshot
from portal.metrics import CONTENT_TYPE, Metrics

PATH = "/metrics"
THIS_HOST = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
FORWARDING = ("x-forwarded-for", "forwarded", "x-real-ip")


def from_this_host(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address not in THIS_HOST:
        return False
    headers = Headers(scope=scope)
    return not any(name in headers for name in FORWARDING)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH:
            await self._serve(scope, send)
            return
        metrics = self.metrics

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                metrics.responded(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            # Starlette's outermost error middleware answers it with the 500 page.
            metrics.responded(500)
            raise

    async def _serve(self, scope: Scope, send: Send) -> None:
        if not from_this_host(scope) or scope["method"] != "GET":
            await _plain(send, 404, b"not found\n", "text/plain; charset=utf-8")
            return
        svc = scope["app"].state.services
        body = self.metrics.render(await snapshot(svc.db, svc.clock), svc.hashing.admitted)
        await _plain(send, 200, body, CONTENT_TYPE)


async def _plain(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
