"""Break-glass commands on the server: a new coordinator link, a second factor reset.

Threat: the last coordinator loses their phone or leaves, and nobody can manage staff
any more; and the opposite threat, the same commands used in a hurry, by a script or
against the wrong unit. So each one runs only after a confirmation typed on a terminal
(portal/cli.py), writes one audit event with a fixed code, and prints nothing secret
except the link the operator asked for.
"""

from __future__ import annotations

from portal.clock import SystemClock
from portal.crypto.tokens import Keys
from portal.domain.invitations import invite
from portal.domain.organisations import list_organisations
from portal.domain.roles import COORDINATOR
from portal.settings import Settings
from portal.storage.database import connect


class BreakGlassRefused(Exception):
    """The command cannot do what was asked; the message says why."""


async def police_units(settings: Settings) -> list[str]:
    db = await connect(settings.database_url, settings.database_pool_mode)
    try:
        return [org.name for org in await list_organisations(db) if org.kind == "police"]
    finally:
        await db.close()


async def coordinator_link(settings: Settings, organisation: str, name: str) -> str:
    """A new enrolment link for a coordinator of the police unit (the only one, or the
    one named); the invitation is audited as issued by nobody signed in."""
    db = await connect(settings.database_url, settings.database_pool_mode)
    clock = SystemClock()
    try:
        units = [org for org in await list_organisations(db) if org.kind == "police"]
        if organisation:
            units = [org for org in units if org.name == organisation]
        if not units:
            raise BreakGlassRefused(
                "there is no such police unit (run `portal init` on a new installation)"
            )
        if len(units) > 1:
            raise BreakGlassRefused("there are several police units: name one with --organisation")
        token = await invite(
            db,
            Keys(settings.secret_key),
            clock,
            organisation_id=units[0].id,
            role=COORDINATOR,
            display_name=name,
            actor=None,
            ttl=settings.enrolment_link_ttl,
        )
    finally:
        await db.close()
    return f"{settings.public_url.rstrip('/')}/enrol/{token}"


async def reset_second_factor(settings: Settings, username: str) -> str:
    """Empty the account's TOTP key and end its sessions; its display name."""
    from portal.domain import second_factor

    db = await connect(settings.database_url, settings.database_pool_mode)
    try:
        account = await second_factor.reset(db, SystemClock(), username)
    except second_factor.NoSuchAccount:
        raise BreakGlassRefused("there is no account with this username") from None
    finally:
        await db.close()
    return account.display_name
