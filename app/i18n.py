"""Languages: the gettext catalogues in frontend/translations, read with Babel at start-up.

Message ids are English; each other language has a `messages.po`. The catalogues are
compiled in memory when the process starts, so there is no build step to forget.
"""

from __future__ import annotations

import io
import re
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
    locale: str = ""
    """The Babel locale for dates and plural forms, when it is not `code` (lättläst is Swedish)."""
    html_lang: str = ""
    """The page's `lang` attribute, when it is not `code`."""

    @property
    def babel_locale(self) -> str:
        return self.locale or self.code

    @property
    def tag(self) -> str:
        return self.html_lang or self.code


LANGUAGES = {
    "sv": Language("sv", "Svenska"),
    "lattlast": Language("lattlast", "Lättläst svenska", locale="sv", html_lang="sv"),
    "en": Language("en", "English"),
    "ar": Language("ar", "العربية", "rtl"),
    "fa": Language("fa", "فارسی", "rtl"),
    "so": Language("so", "Soomaali"),
    "ti": Language("ti", "ትግርኛ"),
    "uk": Language("uk", "Українська"),
}
"""Visitors' languages, Swedish first (the default). The visitor chooses on every page; the
browser's language is never used to choose for them (a shared phone says nothing about who holds it)."""

SOURCE_LANGUAGE = "en"
"""The language of the message ids: it needs no catalogue."""
REVIEW_HEADER = "X-Native-Review"
"""A catalogue's header field saying whether a native speaker has reviewed it (yes / no)."""


def babel_locale(code: str) -> str:
    """The Babel locale to format dates in for a language code."""
    return LANGUAGES[code].babel_locale if code in LANGUAGES else DEFAULT_LANGUAGE


def catalogue_path(code: str) -> Path:
    return TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po"


def load_catalogue(code: str) -> NullTranslations:
    """The compiled catalogue of one language (English, the source language, has none)."""
    path = catalogue_path(code)
    if code == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=babel_locale(code))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@dataclass(frozen=True)
class CatalogueStatus:
    """How far one language's catalogue is: translated messages, and whether a native speaker checked it."""

    code: str
    translated: int
    missing: tuple[str, ...]
    reviewed: bool


_REVIEWED = re.compile(rf'^"{REVIEW_HEADER}:\s*(yes|no)\\n"$', re.MULTILINE | re.IGNORECASE)


def status(code: str, source: frozenset[str]) -> CatalogueStatus:
    """The status of `code`'s catalogue against the source messages (the Swedish catalogue's ids)."""
    path = catalogue_path(code)
    if not path.exists():
        return CatalogueStatus(code, 0, tuple(sorted(source)), False)
    text = path.read_text(encoding="utf-8")
    catalog = read_po(io.BytesIO(text.encode()), locale=babel_locale(code))
    done = {m.id for m in catalog if isinstance(m.id, str) and m.id and m.string and not m.fuzzy}
    match = _REVIEWED.search(text)
    return CatalogueStatus(code, len(source & done), tuple(sorted(source - done)),
                           bool(match and match.group(1).lower() == "yes"))


def source_messages() -> frozenset[str]:
    """The message ids every language must translate: the default language's catalogue holds them all
    (tests/test_translations.py checks it against the templates and the code)."""
    with catalogue_path(DEFAULT_LANGUAGE).open("rb") as handle:
        catalog = read_po(handle, locale=DEFAULT_LANGUAGE)
    return frozenset(m.id for m in catalog if isinstance(m.id, str) and m.id)


def load_all() -> dict[str, NullTranslations]:
    return {code: load_catalogue(code) for code in LANGUAGES}


def choose(requested: str | None) -> str:
    """The supported language for a requested code, else the default (Swedish)."""
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; translate it where it is shown."""
    return message
