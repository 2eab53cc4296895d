"""The baseline: a bare Starlette "hello" app, served by the same uvicorn the same way."""

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request):  # type: ignore[no-untyped-def]
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/", hello)])
