"""The visitor's booking form checked field by field: what was asked, and what a person can be called on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from app import phone
from app.i18n import N_
from app.text import clean

LIMITS = {"phone": 40, "safe_word": 60, "call_name": 40, "topic": 300}
"""Longest answer per field, in characters: enough for what is asked, too short for a story."""
FORM_MAX_BYTES = 8192
"""The whole form URL-encoded: every field at its limit in a non-Latin script still fits."""
YES, NO = "yes", "no"
CALL_LANGUAGES: dict[str, str] = {
    "sv": "Svenska", "en": "English", "ar": "العربية", "fa": "فارسی", "so": "Soomaali",
    "ti": "ትግርኛ", "uk": "Українська", "other": "",
}
"""The languages a call can be in, by their own names; "other" is named in the visitor's language."""

ERRORS = {
    "slot": N_("Choose a time for the call."),
    "phone": N_("That does not look like a number we can call. Write it like 070-123 45 67, or with "
                "the country code, like +46 70 123 45 67."),
    "yes_no": N_("Choose yes or no."),
    "language": N_("Choose a language from the list."),
    "too_long": N_("Please shorten this to {max} characters."),
}


@dataclass(frozen=True)
class Answers:
    """What the visitor told us for the call: sealed at rest, shown to the counselor who calls."""

    phone: str
    """E.164."""
    voicemail: bool
    say_where: bool
    safe_word: str
    call_name: str
    language: str
    topic: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answers:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def read(form: Mapping[str, str]) -> tuple[Answers | None, str, dict[str, str]]:
    """(answers, slot id, errors): the answers when every field is right, else the error msgid per field."""
    errors: dict[str, str] = {}
    values = {name: clean(form.get(name, "")) for name in ("phone", "safe_word", "call_name", "topic")}
    for name, value in values.items():
        if len(value) > LIMITS[name]:
            errors[name] = "too_long"
    slot = form.get("slot", "").strip()
    if not slot.isdigit() or len(slot) > 16:
        errors["slot"] = "slot"
    number = phone.normalise(values["phone"]) if "phone" not in errors else None
    if number is None and "phone" not in errors:
        errors["phone"] = "phone"
    flags = {}
    for name in ("voicemail", "say_where"):
        choice = form.get(name, "")
        if choice not in (YES, NO):
            errors[name] = "yes_no"
        flags[name] = choice == YES
    language = form.get("language", "")
    if language not in CALL_LANGUAGES:
        errors["language"] = "language"
    if errors or number is None:
        return None, slot, errors
    return Answers(phone=number, voicemail=flags["voicemail"], say_where=flags["say_where"],
                   safe_word=values["safe_word"], call_name=values["call_name"], language=language,
                   topic=values["topic"]), slot, {}
