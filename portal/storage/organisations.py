"""Queries on organisations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    kind: str  # "police", "ngo", "assistance" or "municipal" (domain/roles.py)


def _organisation(row: Row) -> Organisation:
    return Organisation(id=row["id"], name=row["name"], kind=row["kind"])


async def insert_organisation(db: Queryable, org: Organisation, now: int) -> None:
    await db.execute(
        "INSERT INTO organisations (id, name, kind, created_at) VALUES (:id, :name, :kind, :now)",
        id=org.id,
        name=org.name,
        kind=org.kind,
        now=now,
    )


async def organisation_by_id(db: Queryable, org_id: str) -> Organisation | None:
    row = await db.fetch_one("SELECT id, name, kind FROM organisations WHERE id = :id", id=org_id)
    return None if row is None else _organisation(row)


async def organisation_name_taken(db: Queryable, name: str) -> bool:
    found = await db.fetch_value(
        "SELECT 1 FROM organisations WHERE lower(name) = lower(:name)", name=name
    )
    return found is not None


async def list_organisations(db: Queryable) -> Sequence[Organisation]:
    rows = await db.fetch_all("SELECT id, name, kind FROM organisations ORDER BY kind, name")
    return [_organisation(row) for row in rows]
