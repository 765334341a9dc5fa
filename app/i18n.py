"""Languages: the gettext catalogues in frontend/translations, read with Babel at start-up.

Message ids are English; each other language has a `messages.po`. The catalogues are
compiled in memory when the process starts, so there is no build step to forget.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "frontend" / "translations"

DEFAULT_LANGUAGE = "sv"


@dataclass(frozen=True)
class Language:
    """A language the visitor can choose, named in itself."""

    code: str
    name: str
    direction: str = "ltr"


LANGUAGES = {
    "sv": Language("sv", "Svenska"),
    "en": Language("en", "English"),
}


def load_catalogue(code: str) -> NullTranslations:
    """The compiled catalogue of one language (English, the source language, has none)."""
    path = TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def load_all() -> dict[str, NullTranslations]:
    return {code: load_catalogue(code) for code in LANGUAGES}


def choose(requested: str | None) -> str:
    """The supported language for a requested code, else the default (Swedish)."""
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; translate it where it is shown."""
    return message
