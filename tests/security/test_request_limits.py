"""Body size, field count and field length limits: 413 or 400, never 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from tests.factories import Actor, on_own_loop


def test_declared_oversize_body_gets_413(actor: Actor) -> None:
    token = actor.csrf_from("/login")
    response = actor.request(
        "POST", "/login", data={"csrf_token": token, "username": "u" * 300_000}
    )
    assert response.status_code == 413


def test_streamed_oversize_body_gets_413(actor: Actor) -> None:
    token = actor.csrf_from("/login")

    def chunks() -> Iterator[bytes]:
        yield f"csrf_token={token}&username=".encode()
        for _ in range(40):
            yield b"u" * 10_000

    response = actor.request(
        "POST",
        "/login",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_too_many_fields_get_400(actor: Actor) -> None:
    token = actor.csrf_from("/login")
    data = {f"f{i}": "x" for i in range(150)}
    response = actor.request("POST", "/login", data={"csrf_token": token, **data})
    assert response.status_code == 400


def test_file_uploads_are_refused(actor: Actor) -> None:
    token = actor.csrf_from("/login")
    response = actor.request(
        "POST",
        "/login",
        data={"csrf_token": token},
        files={"upload": ("a.txt", b"hello", "text/plain")},
    )
    assert response.status_code == 400


def test_garbage_body_is_a_clear_error_not_a_crash(actor: Actor) -> None:
    actor.csrf_from("/login")
    response = actor.request(
        "POST",
        "/login",
        content=b"\xff\xfe%%%&&==",
        headers={"content-type": "multipart/form-data; boundary=zz"},
    )
    assert response.status_code in {400, 403}


def test_overlong_field_gets_400(actor: Actor) -> None:
    token = actor.csrf_from("/login")
    response = actor.request(
        "POST", "/login", data={"csrf_token": token, "username": "u" * 100_000}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "listens_first"), [("GET", False), ("GET", True), ("POST", False)]
)
@pytest.mark.parametrize("declared", [False, True])
def test_a_big_body_during_a_streamed_answer_does_not_break_the_download(
    method: str, listens_first: bool, declared: bool
) -> None:
    """The fuzz found it (twice): a GET with an oversize body to a CSV download. Starlette's
    streaming response listens for the client leaving while it sends, in a task that may
    run before the answer starts; the limit must not raise into the answer, whichever
    runs first (a GET's body is never read; a POST's is cut off once the answer began)."""
    from portal.security.bodylimit import BodyLimitMiddleware

    async def download(scope: Scope, receive: Receive, send: Send) -> None:
        async def listen() -> None:  # as Starlette listens for the client leaving
            while (await receive())["type"] != "http.disconnect":
                pass

        if listens_first:
            await listen()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if not listens_first:
            await listen()
        await send({"type": "http.response.body", "body": b"a,b\n", "more_body": False})

    arriving = [
        {"type": "http.request", "body": b"x" * 600, "more_body": True},
        {"type": "http.request", "body": b"x" * 600, "more_body": False},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return arriving.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    app = BodyLimitMiddleware(download, max_bytes=1000)
    headers = [(b"content-length", b"1200")] if declared else []
    on_own_loop(app, {"type": "http", "method": method, "headers": headers}, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert not arriving
