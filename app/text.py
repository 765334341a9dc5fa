"""Free text a visitor types into a form (a callback's topic, a survey answer), made safe to keep and show."""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Direction overrides can make a text display as something else to staff; zero-width joiners, which
Persian, Arabic and emoji need, are kept."""


def clean(text: str) -> str:
    """Trimmed; line breaks as "\\n", tabs as spaces; control characters and direction overrides dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    kept = (char for char in text
            if char == "\n" or (unicodedata.category(char) != "Cc" and char not in BIDI_CONTROLS))
    return "".join(kept).strip()
