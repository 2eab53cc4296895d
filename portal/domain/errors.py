"""Errors shared by the domain modules."""

from __future__ import annotations

from collections.abc import Mapping


class InputRejected(ValueError):
    """Bad input in a form. ``errors`` maps each refused field to a msgid (every problem
    at once, so a form comes back with all of them); ``field`` and ``message`` are the
    first."""

    def __init__(self, field: str, message: str, *, more: Mapping[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors = {field: message, **{k: v for k, v in (more or {}).items() if k != field}}


class Problems:
    """Collects what is wrong with a form's fields, then refuses them together."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)  # a field's first problem is its message

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def check(self) -> None:
        """Raises InputRejected naming every problem found, if any."""
        if self.errors:
            (field, message), *_rest = self.errors.items()
            raise InputRejected(field, message, more=self.errors)
