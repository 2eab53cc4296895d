"""A submitted form, read once by the guard within the field limits (settings).

Every form of the portal is URL-encoded: read by the standard library's ``parse_qsl``
with its field limit. Anything else goes through Starlette's multipart parser with no
file allowed. A field too long, a file, too many fields or a NUL anywhere in a value is
a 400: the limits bound the memory one request can take (the body limit, in
security/bodylimit.py, bounds the bytes before this), and PostgreSQL text cannot hold NUL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

URL_ENCODED = "application/x-www-form-urlencoded"


async def read_form(request: Request, *, max_fields: int, max_field_bytes: int) -> FormData:
    """The form's fields, names and values in the order sent (a repeated name keeps every
    value), or HTTPException(400) when it breaks a limit."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == URL_ENCODED:
        # Browsers send ASCII here (anything else percent-encoded as UTF-8, which
        # parse_qsl decodes); latin-1 takes any bytes, so other input cannot fail here.
        text = (await request.body()).decode("latin-1")
        try:
            pairs: list[tuple[str, str | UploadFile]] = list(
                parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
            )
        except ValueError as exc:  # more fields than max_fields
            raise HTTPException(400) from exc
        form = FormData(pairs)
    else:
        form = await request.form(max_files=0, max_fields=max_fields, max_part_size=max_field_bytes)
    for _key, value in form.multi_items():
        if not isinstance(value, str) or len(value) > max_field_bytes or "\x00" in value:
            raise HTTPException(400)
    return form
