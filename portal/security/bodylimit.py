"""Request body size limit, enforced before anything parses the body.

Threat: memory exhaustion and slow parsing from huge uploads. A body whose declared
length is over the limit is refused on the first read, before a byte is buffered; a
chunked body is counted as it streams and cut off at the limit. Both raise
``BodyTooLarge``, which the error handlers answer with a 413 page in the visitor's
language.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body is larger than the configured limit."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        oversize = not declared.isdigit() or int(declared) > self.max_bytes
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            if oversize:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        await self.app(scope, counting_receive, send)
