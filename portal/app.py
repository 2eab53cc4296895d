"""The application factory: routes, middleware and lifespan, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from portal.clock import Clock, SystemClock
from portal.security.bodylimit import BodyLimitMiddleware
from portal.security.headers import SecurityHeadersMiddleware
from portal.services import build_services
from portal.settings import Settings
from portal.web import (
    client,
    coordinator,
    errors,
    investigator,
    investigator_notes,
    ngo,
    public,
    staff,
)
from portal.web.rendering import STATIC
from portal.web.routing import StaticMount


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = await build_services(settings, clock or SystemClock())
        try:
            yield
        finally:
            await app.state.services.close()

    return Starlette(
        routes=[
            *public.ROUTES,
            *client.ROUTES,
            *staff.ROUTES,
            *ngo.ROUTES,
            *investigator.ROUTES,
            *investigator_notes.ROUTES,
            *coordinator.ROUTES,
            StaticMount("/static", str(STATIC)),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware, force_tls=settings.uses_tls),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers=errors.HANDLERS,
        lifespan=lifespan,
    )
