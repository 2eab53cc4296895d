"""The one form-error pattern: a page gets back what was typed and a message per field.

Handlers collect ``errors`` (field name -> msgid) and re-render the same template with
``values`` (what was typed) and a 400 status. Passwords are never echoed back into a
page; everything else is, so nothing the user typed is lost.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from portal.domain.errors import InputRejected
from portal.web.visit import Visit

SECRET_FIELDS = frozenset(
    {
        "password",
        "new_password",
        "confirm_password",
        "current_password",
        "csrf_token",
        # Answers of a passkey to a challenge that is used up: no use to send them back.
        "passkey_assertion",
        "passkey_attestation",
    }
)


@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def typed(cls, visit: Visit) -> FormState:
        values = {
            key: value
            for key, value in visit.form.multi_items()
            if isinstance(value, str) and key not in SECRET_FIELDS
        }
        return cls(values=values)

    def error(self, name: str, message: str) -> FormState:
        self.errors[name] = message
        return self

    def rejected(self, exc: InputRejected) -> FormState:
        """Every field the domain refused, each with its message."""
        self.errors.update(exc.errors)
        return self

    def select_state(self, selects: Mapping[str, Collection[str]]) -> tuple[tuple[str, str], ...]:
        """Per select field, what is validly chosen ("" if nothing) and its error: all that
        these fields' markup depends on, so a fragment-cache key for it."""
        return tuple(
            (value if (value := self.values.get(name, "")) in options else "",
             self.errors.get(name, ""))
            for name, options in selects.items()
        )  # fmt: skip

    @property
    def ok(self) -> bool:
        return not self.errors
