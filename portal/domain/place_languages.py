"""A meeting place's name and directions in each client language.

The place's own row holds them in the portal's default language; a coordinator adds the
others. A client sees their language's, or the default's marked as such (never a blank).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from portal.clock import Clock
from portal.domain import audit
from portal.domain.errors import Problems
from portal.i18n import CLIENT_LOCALES, N_
from portal.storage import place_translations as store
from portal.storage import places as place_store
from portal.storage.accounts import Account
from portal.storage.consultations import Meeting
from portal.storage.database import Database, Queryable
from portal.storage.place_translations import PlaceTranslation as PlaceTranslation
from portal.storage.places import Place

NAME_NEEDED = N_("Write the name too, or leave both boxes empty.")
NAME_LENGTH = N_("Enter a name of 2 to 200 characters.")
DIRECTIONS_LENGTH = N_("Use at most 1000 characters.")


@dataclass(frozen=True)
class LocalPlace:
    """What a client reads about a place: ``in_default`` when a part of it is shown in
    the default language because their language has none."""

    name: str
    address: str
    directions: str
    in_default: bool


def local_place(
    place: Place, translation: PlaceTranslation | None, locale: str, default: str
) -> LocalPlace:
    if locale == default or translation is None:
        return LocalPlace(place.name, place.address, place.directions, locale != default)
    directions = translation.directions or place.directions
    return LocalPlace(
        translation.name,
        place.address,
        directions,
        bool(place.directions) and not translation.directions,
    )


async def places_in(
    db: Queryable, place_ids: Iterable[str], locale: str, default: str
) -> dict[str, LocalPlace]:
    """place id -> the place as a client in ``locale`` reads it."""
    wanted = set(place_ids)
    translated = await store.translations_in(db, wanted, locale) if locale != default else {}
    found: dict[str, LocalPlace] = {}
    for place_id in wanted:
        place = await place_store.place_by_id(db, place_id)
        if place is not None:
            found[place_id] = local_place(place, translated.get(place_id), locale, default)
    return found


async def meeting_places(
    db: Queryable, meetings: Iterable[Meeting], locale: str, default: str
) -> dict[str, LocalPlace]:
    """place id -> the place of each meeting as a client in ``locale`` reads it. The
    meeting row carries the default language's name and directions already: only the
    translations are read (none in the default language)."""
    by_place = {m.place_id: m for m in meetings}
    translated = await store.translations_in(db, by_place, locale) if locale != default else {}
    return {
        place_id: local_place(
            Place(place_id, m.place_name, m.place_kind, m.place_address, m.place_directions, None),
            translated.get(place_id),
            locale,
            default,
        )
        for place_id, m in by_place.items()
    }


def other_languages(default: str) -> tuple[str, ...]:
    """The client languages a coordinator can add a place's name and directions in."""
    return tuple(code for code in CLIENT_LOCALES if code != default)


async def translations_of(db: Queryable, place: Place) -> dict[str, PlaceTranslation]:
    return await store.translations_of(db, place.id)


async def save_translations(
    db: Database,
    clock: Clock,
    place: Place,
    given: Mapping[str, tuple[str, str]],
    *,
    default: str,
    actor: Account,
) -> None:
    """Replace the place's names and directions: ``given`` is locale -> (name,
    directions); both empty removes a language. Every problem is refused at once."""
    problems = Problems()
    cleaned: dict[str, tuple[str, str]] = {}
    for locale in other_languages(default):
        name, directions = given.get(locale, ("", ""))
        name, directions = " ".join(name.split()), directions.strip()
        if directions and not name:
            problems.add(f"name_{locale}", NAME_NEEDED)
        elif name and not 2 <= len(name) <= 200:
            problems.add(f"name_{locale}", NAME_LENGTH)
        if len(directions) > 1000:
            problems.add(f"directions_{locale}", DIRECTIONS_LENGTH)
        cleaned[locale] = (name, directions)
    problems.check()
    async with db.transaction() as tx:
        for locale, (name, directions) in cleaned.items():
            await store.replace_translation(tx, place.id, locale, name, directions)
        await audit.record(tx, clock, "place_translated", None, actor=actor, subject_id=place.id)
