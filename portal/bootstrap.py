"""``portal init``: the database, the first police unit and the first coordinator's link."""

from __future__ import annotations

from portal.clock import SystemClock
from portal.crypto.tokens import Keys
from portal.domain.invitations import invite
from portal.domain.organisations import create_organisation
from portal.domain.roles import COORDINATOR
from portal.settings import Settings
from portal.storage.database import connect
from portal.storage.migrate import upgrade


async def initialise(settings: Settings, organisation: str, name: str) -> str:
    """Returns the first coordinator's enrolment link."""
    upgrade(settings.database_url)
    db = await connect(settings.database_url, settings.database_pool_mode)
    clock = SystemClock()
    try:
        org = await create_organisation(db, clock, organisation, "police")
        token = await invite(
            db,
            Keys(settings.secret_key),
            clock,
            organisation_id=org.id,
            role=COORDINATOR,
            display_name=name,
            actor=None,
            ttl=settings.enrolment_link_ttl,
        )
    finally:
        await db.close()
    return f"{settings.public_url.rstrip('/')}/enrol/{token}"
