"""``portal init``: the database, the first police unit and the first coordinator's link."""

from __future__ import annotations

from portal.clock import SystemClock
from portal.crypto.tokens import Keys
from portal.domain.invitations import invite
from portal.domain.organisations import create_organisation, list_organisations
from portal.domain.roles import COORDINATOR
from portal.settings import Settings
from portal.storage.database import connect
from portal.storage.migrate import upgrade


class AlreadyInitialised(Exception):
    """A police unit exists: ``portal init`` was run before (on this database)."""


async def initialise(
    settings: Settings, organisation: str, name: str, *, another_unit: bool = False
) -> str:
    """Returns the first coordinator's enrolment link. Refuses when a police unit exists
    already, unless ``another_unit``: a second ``portal init`` is nearly always a mistake
    (a lost link is replaced with ``portal invite --role coordinator``)."""
    upgrade(settings.database_url)
    db = await connect(settings.database_url, settings.database_pool_mode)
    clock = SystemClock()
    try:
        units = [org.name for org in await list_organisations(db) if org.kind == "police"]
        if units and not another_unit:
            raise AlreadyInitialised(units[0])
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
