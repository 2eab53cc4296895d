"""Errors shared by the domain modules."""

from __future__ import annotations


class InputRejected(ValueError):
    """Bad input for one form field. ``field`` names it; ``message`` is a msgid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
