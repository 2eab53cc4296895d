"""Request body size and time limits, enforced before anything parses the body.

Threat: memory exhaustion and slow parsing from huge uploads. A body whose declared
length is over the limit is refused on the first read, before a byte is buffered; a
chunked body is counted as it streams and cut off at the limit. Both raise
``BodyTooLarge``, which the error handlers answer with a 413 page in the visitor's
language.

Threat: slow bodies ("slowloris"). uvicorn bounds only the idle time between requests
(``--timeout-keep-alive``); once a request's headers are in, it waits for the body for
ever, so a client that trickles a byte now and then holds a connection and a request
task indefinitely (measured in tests/reliability/test_slow_requests.py). The whole body
must therefore arrive within ``timeout_seconds`` of the request reaching the app: one
deadline for the whole body, not per chunk, so trickling cannot reset it. Past it,
``BodyTimeout`` is raised and answered with 408. Once the body is complete, later
reads (an app waiting for ``http.disconnect``) are not timed.

A GET or HEAD passes untouched: no handler here reads a body sent with one.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODILESS = frozenset({"GET", "HEAD"})  # the portal never reads a body sent with these


class BodyTooLarge(Exception):
    """The request body is larger than the configured limit."""


class BodyTimeout(Exception):
    """The request body did not arrive within the configured time."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_seconds: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODILESS:
            # Nothing reads the body of these; a streamed answer listens for the client
            # leaving and skips any body that arrives (Starlette's listen_for_disconnect).
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        oversize = not declared.isdigit() or int(declared) > self.max_bytes
        deadline = asyncio.get_running_loop().time() + self.timeout_seconds
        received = 0
        complete = False
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def refuse(error: Exception) -> Message:
            if not started:
                raise error
            # The answer is already on its way: too late for a 413 or 408 page, and the
            # app only waits for the client to leave (a streamed download). Drop what
            # else arrives of the body, unread, until then.
            while (message := await receive())["type"] == "http.request":
                pass
            return message

        async def counting_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            if oversize:
                return await refuse(BodyTooLarge())
            try:
                async with asyncio.timeout_at(None if started else deadline):
                    message = await receive()
            except TimeoutError:
                return await refuse(BodyTimeout())
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    return await refuse(BodyTooLarge())
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, counting_receive, tracking_send)
