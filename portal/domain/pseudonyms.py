"""Friendly, non-identifying labels for consultations ("Blue Heron")."""

from __future__ import annotations

import secrets

COLOURS = (
    "Amber",
    "Azure",
    "Blue",
    "Bronze",
    "Coral",
    "Crimson",
    "Golden",
    "Green",
    "Grey",
    "Indigo",
    "Ivory",
    "Jade",
    "Lilac",
    "Olive",
    "Orange",
    "Pearl",
    "Plum",
    "Rose",
    "Ruby",
    "Sage",
    "Silver",
    "Teal",
    "Violet",
    "White",
    "Yellow",
    "Copper",
    "Misty",
    "Sunny",
    "Snowy",
    "Sandy",
)
ANIMALS = (
    "Heron",
    "Swan",
    "Otter",
    "Lynx",
    "Hare",
    "Robin",
    "Finch",
    "Crane",
    "Seal",
    "Owl",
    "Fox",
    "Deer",
    "Wren",
    "Lark",
    "Dove",
    "Elk",
    "Beaver",
    "Badger",
    "Falcon",
    "Puffin",
    "Stork",
    "Marten",
    "Squirrel",
    "Salmon",
    "Tern",
    "Plover",
    "Moth",
    "Bee",
    "Gull",
    "Raven",
)


def new_pseudonym() -> str:
    """900 combinations, plus a number so labels stay distinct among many consultations."""
    return f"{secrets.choice(COLOURS)} {secrets.choice(ANIMALS)} {secrets.randbelow(90) + 10}"
