"""Organisations: police units and partner NGOs."""

from __future__ import annotations

from collections.abc import Sequence

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain import audit
from portal.domain.errors import Problems
from portal.domain.roles import ROLES_BY_ORGANISATION_KIND
from portal.i18n import N_
from portal.storage import organisations as store
from portal.storage.accounts import Account
from portal.storage.database import Database, Queryable
from portal.storage.organisations import Organisation as Organisation


async def create_organisation(
    db: Database, clock: Clock, name: str, kind: str, *, actor: Account | None = None
) -> Organisation:
    name = " ".join(name.split())
    problems = Problems()
    if not 2 <= len(name) <= 200:
        problems.add("name", N_("Enter a name of 2 to 200 characters."))
    elif await store.organisation_name_taken(db, name):
        problems.add("name", N_("An organisation with this name exists already."))
    if kind not in ROLES_BY_ORGANISATION_KIND:
        problems.add("kind", N_("Choose the kind of organisation."))
    problems.check()
    org = Organisation(id=random_id(), name=name, kind=kind)
    async with db.transaction() as tx:
        await store.insert_organisation(tx, org, clock.now())
        await audit.record(
            tx, clock, "organisation_created", None, actor=actor, detail=kind, subject_id=org.id
        )
    return org


async def list_organisations(db: Queryable) -> Sequence[Organisation]:
    return await store.list_organisations(db)
