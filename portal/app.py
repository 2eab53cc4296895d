"""The application factory: routes, middleware and lifespan, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from starlette.applications import Starlette
from starlette.middleware import Middleware

from portal.clock import Clock, SystemClock
from portal.crypto.tokens import Keys
from portal.domain import jobs, mail
from portal.metrics import Metrics
from portal.security.bodylimit import BodyLimitMiddleware
from portal.security.csrf import CrossOriginMiddleware
from portal.security.headers import SecurityHeadersMiddleware
from portal.security.senders import SenderMiddleware
from portal.security.sessions import SessionMiddleware
from portal.services import build_services
from portal.settings import Settings
from portal.web import (
    adviser,
    attention,
    calendar,
    client,
    client_info,
    client_messages,
    conversation,
    coordinator,
    coordinator_records,
    email,
    errors,
    first_interview,
    interpreters,
    investigator,
    investigator_case,
    investigator_notes,
    ngo,
    place_languages,
    public,
    safety,
    second_factor,
    staff,
)
from portal.web import keys as key_pages
from portal.web import passkeys as passkey_pages
from portal.web import referrals as referral_pages
from portal.web.metrics import MetricsMiddleware
from portal.web.rendering import STATIC, Templates
from portal.web.router import PathRouter
from portal.web.static import StaticMount


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    clock = clock or SystemClock()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = app.state.services = await build_services(settings, clock, metrics)
        app.state.templates = Templates(svc.catalogues, settings.timezone)
        # Every process runs the loop; jobs.claim lets one of them purge each day.
        purging = (
            asyncio.create_task(jobs.purge_daily(svc.db, svc.clock, settings))
            if settings.purge_interval_seconds > 0
            else None
        )
        # Mail (optional): every process sends; a claim per row sends each mail once.
        mailing = (
            asyncio.create_task(mail.mail_loop(svc.db, svc.clock, settings, svc.keys))
            if settings.mail_enabled and settings.mail_interval_seconds > 0
            else None
        )
        # Likewise the "needs attention" sweep, one process per period.
        sweeping = (
            asyncio.create_task(jobs.attention_sweep_loop(svc.db, svc.clock, settings))
            if settings.attention_sweep_seconds > 0
            else None
        )
        try:
            yield
        finally:
            for task in (purging, mailing, sweeping):
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
            await svc.close()

    keys = Keys(settings.secret_key, settings.previous_secrets)
    app = Starlette(
        middleware=[
            Middleware(SecurityHeadersMiddleware, force_tls=settings.uses_tls),
            # Outside the sender middleware: /metrics answers the host only (web/metrics.py).
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(
                SenderMiddleware,
                secret=keys.derive("rate-limit-source"),
                clock=clock,
            ),
            Middleware(SessionMiddleware),
            Middleware(
                CrossOriginMiddleware, refuse=errors.refused, public_url=settings.public_url
            ),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                timeout_seconds=settings.body_timeout_seconds,
            ),
        ],
        exception_handlers=errors.HANDLERS,
    )
    # Starlette's router, but a request for a fixed path tries only the routes that can
    # match it (web/router.py: kept while a budget needs it); the middleware stack is
    # built on the first request.
    app.router = PathRouter(
        routes=[
            *public.ROUTES,
            *second_factor.ROUTES,
            *client.ROUTES,
            *client_info.ROUTES,
            *client_messages.ROUTES,
            *first_interview.ROUTES,
            *conversation.ROUTES,
            *staff.ROUTES,
            *email.ROUTES,
            *attention.ROUTES,
            *ngo.ROUTES,
            *investigator.ROUTES,
            *investigator_notes.ROUTES,
            *key_pages.ROUTES,
            *passkey_pages.ROUTES,
            *investigator_case.ROUTES,
            *coordinator.ROUTES,
            *place_languages.ROUTES,
            *calendar.ROUTES,
            *coordinator_records.ROUTES,
            *referral_pages.ROUTES,
            *adviser.ROUTES,
            *safety.ROUTES,
            *interpreters.ROUTES,
            StaticMount("/static", str(STATIC)),
        ],
        lifespan=lifespan,
    )
    return app
