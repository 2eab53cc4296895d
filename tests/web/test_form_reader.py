"""A submitted form is read as browsers encode it, within the field limits (400 past them)."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message

from portal.web.form_reader import read_form
from tests.factories import Actor, on_own_loop

URL_ENCODED = "application/x-www-form-urlencoded"


def read(body: bytes, content_type: str = URL_ENCODED, **limits: int) -> FormData:
    """``read_form`` on a hand-built request, as the guard calls it."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [(b"content-type", content_type.encode())],
        "app": None,  # under an app, Starlette's multipart parser raises HTTPException
    }
    chunks: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0)

    limits = {"max_fields": 10, "max_field_bytes": 20, **limits}

    async def parse() -> FormData:
        return await read_form(Request(scope, receive), **limits)

    # Its own loop in a worker thread: Playwright's loop may own this thread.
    return on_own_loop(parse)


def refused(body: bytes, content_type: str = URL_ENCODED, **limits: int) -> int:
    with pytest.raises(HTTPException) as refusal:
        read(body, content_type, **limits)
    return refusal.value.status_code


def test_plus_is_a_space_and_percent_escapes_are_decoded() -> None:
    form = read(b"full+name=Ann+Lee&sign=%2B&percent=100%25&amp=a%26b%3Dc&word=%C3%A4%E2%82%AC")
    assert form.multi_items() == [
        ("full name", "Ann Lee"),
        ("sign", "+"),
        ("percent", "100%"),
        ("amp", "a&b=c"),
        ("word", "ä€"),
    ]


def test_a_repeated_field_keeps_every_value_in_order() -> None:
    form = read(b"needs=interpreter&other=1&needs=childcare&needs=")
    assert form.getlist("needs") == ["interpreter", "childcare", ""]
    assert form.multi_items()[1] == ("other", "1")


def test_blank_and_bare_fields_are_kept_empty_ones_dropped() -> None:
    assert read(b"a=&b&&c=3&").multi_items() == [("a", ""), ("b", ""), ("c", "3")]


def test_broken_escapes_do_not_fail() -> None:
    assert read(b"a=%ZZ&b=%FF&c=%").multi_items() == [("a", "%ZZ"), ("b", "\ufffd"), ("c", "%")]


def test_the_field_count_limit() -> None:
    ten = b"&".join(b"f%d=x" % i for i in range(10))
    assert len(read(ten).multi_items()) == 10
    assert refused(ten + b"&f10=x") == 400
    assert refused(b"&" * 10) == 400  # empty fields count: the limit bounds the work


def test_the_field_length_limit() -> None:
    assert read(b"a=" + b"x" * 20).get("a") == "x" * 20
    assert refused(b"a=" + b"x" * 21) == 400
    assert read(b"a=" + b"%C3%A4" * 20).get("a") == "ä" * 20  # characters, not bytes


def test_nul_in_a_value_is_refused() -> None:
    assert refused(b"a=x%00y") == 400
    assert refused(b"a=x\x00y") == 400


def test_multipart_fields_are_read_and_files_refused() -> None:
    boundary = "zz"
    text = b'--zz\r\nContent-Disposition: form-data; name="a"\r\n\r\nx+y%\r\n--zz--\r\n'
    form = read(text, f"multipart/form-data; boundary={boundary}")
    assert form.multi_items() == [("a", "x+y%")]
    upload = (
        b'--zz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--zz--\r\n"
    )
    assert refused(upload, f"multipart/form-data; boundary={boundary}") == 400


def test_the_app_reads_what_a_browser_sent(actor: Actor) -> None:
    """Through create_app()'s guard: a sign-in refused re-shows the username as typed."""
    token = actor.csrf_from("/login")
    response = actor.request(
        "POST",
        "/login",
        content=f"csrf_token={token}&username=ann+lee%2B1%25&password=wrong".encode(),
        headers={"content-type": URL_ENCODED},
    )
    assert response.status_code == 400
    assert 'value="ann lee+1%"' in response.text
