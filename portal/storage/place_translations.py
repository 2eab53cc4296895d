"""Queries on a meeting place's name and directions per client language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from portal.storage.database import Queryable


@dataclass(frozen=True)
class PlaceTranslation:
    place_id: str
    locale: str
    name: str
    directions: str


async def translations_of(db: Queryable, place_id: str) -> dict[str, PlaceTranslation]:
    """locale -> the place's name and directions in it."""
    rows = await db.fetch_all("SELECT * FROM place_translations WHERE place_id = :id", id=place_id)
    return {
        row["locale"]: PlaceTranslation(
            row["place_id"], row["locale"], row["name"], row["directions"]
        )
        for row in rows
    }


async def translations_in(
    db: Queryable, place_ids: Iterable[str], locale: str
) -> dict[str, PlaceTranslation]:
    """place id -> its name and directions in ``locale`` (only the places that have one)."""
    found: dict[str, PlaceTranslation] = {}
    for place_id in sorted(set(place_ids)):
        row = await db.fetch_one(
            "SELECT * FROM place_translations WHERE place_id = :id AND locale = :locale",
            id=place_id,
            locale=locale,
        )
        if row is not None:
            found[place_id] = PlaceTranslation(place_id, locale, row["name"], row["directions"])
    return found


async def replace_translation(
    db: Queryable, place_id: str, locale: str, name: str, directions: str
) -> None:
    """Set a language's name and directions (an empty name removes the language)."""
    await db.execute(
        "DELETE FROM place_translations WHERE place_id = :id AND locale = :locale",
        id=place_id,
        locale=locale,
    )
    if name:
        await db.execute(
            "INSERT INTO place_translations (place_id, locale, name, directions)"
            " VALUES (:id, :locale, :name, :directions)",
            id=place_id,
            locale=locale,
            name=name,
            directions=directions,
        )
