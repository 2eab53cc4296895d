"""Queries on meeting places."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    kind: str
    address: str
    directions: str
    archived_at: int | None


def _place(row: Row) -> Place:
    return Place(
        row["id"], row["name"], row["kind"], row["address"], row["directions"], row["archived_at"]
    )


async def insert_place(db: Queryable, place: Place, now: int) -> None:
    await db.execute(
        "INSERT INTO places (id, name, kind, address, directions, created_at)"
        " VALUES (:id, :name, :kind, :address, :directions, :now)",
        id=place.id,
        name=place.name,
        kind=place.kind,
        address=place.address,
        directions=place.directions,
        now=now,
    )


async def update_place(db: Queryable, place: Place) -> None:
    await db.execute(
        "UPDATE places SET name = :name, kind = :kind, address = :address,"
        " directions = :directions WHERE id = :id",
        id=place.id,
        name=place.name,
        kind=place.kind,
        address=place.address,
        directions=place.directions,
    )


async def set_archived(db: Queryable, place_id: str, at: int | None) -> None:
    await db.execute("UPDATE places SET archived_at = :at WHERE id = :id", id=place_id, at=at)


async def place_by_id(db: Queryable, place_id: str) -> Place | None:
    row = await db.fetch_one("SELECT * FROM places WHERE id = :id", id=place_id)
    return None if row is None else _place(row)


async def list_places(db: Queryable, include_archived: bool = False) -> Sequence[Place]:
    where = "" if include_archived else "WHERE archived_at IS NULL "
    rows = await db.fetch_all(f"SELECT * FROM places {where}ORDER BY name")  # noqa: S608
    return [_place(row) for row in rows]
