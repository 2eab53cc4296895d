"""Languages: Babel catalogues (``portal/locale/<lang>/LC_MESSAGES/messages.po``).

Catalogues are compiled in memory at start-up from the ``.po`` files, so there is no
build step and no binary ``.mo`` file to keep in step with its source.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
STAFF_LOCALES = ("fi", "sv", "en")
# Clients pick from these on the first page, each shown by its own name.
CLIENT_LOCALES = ("fi", "sv", "en", "ru", "uk", "ro", "th", "vi", "ar", "es", "zh")
LOCALE_NAMES = {
    "fi": "Suomi",
    "sv": "Svenska",
    "en": "English",
    "ru": "Русский",
    "uk": "Українська",
    "ro": "Română",
    "th": "ไทย",
    "vi": "Tiếng Việt",
    "ar": "العربية",
    "es": "Español",
    "zh": "中文",
}
RIGHT_TO_LEFT = frozenset({"ar"})


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


class Catalogues:
    def __init__(self, locales: Iterable[str]) -> None:
        self._translations: dict[str, NullTranslations] = {}
        for locale in locales:
            path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
            if not path.exists():
                self._translations[locale] = NullTranslations()
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._translations[locale] = Translations(fp=buffer)

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self._translations)

    def get(self, locale: str) -> NullTranslations:
        return self._translations.get(locale) or NullTranslations()


def negotiate(accept_language: str | None, available: Iterable[str], default: str) -> str:
    """The first language in the Accept-Language header we have, else the default."""
    options = set(available)
    if accept_language:
        weighted = []
        for part in accept_language.split(",")[:20]:
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    continue
            weighted.append((quality, tag.strip().lower().split("-")[0]))
        for _quality, language in sorted(weighted, key=lambda item: -item[0]):
            if language in options:
                return language
    return default
