"""The intake document: checking what the visitor chose to give, and building the document from it.

This is the contract with delivery (app/intake/delivery.py reads it with
`IntakeRecords.document(id)`). Every intake document has this shape (JSON):

    {
      "intake_id":  str,                       the record's id (made when the record is, so not sealed
                                               inside: `IntakeRecords` readers add it)
      "created_at": str,                       ISO 8601, UTC, when the visitor consented
      "language":   "sv" | "en",               the visitor's language
      "kind":       {"code": "assessment" | "protected_housing" | "other",
                     "text": str},              the kind in plain words (the counselor's text for "other")
      "person":     {"address_as": str,         how the visitor wants to be addressed, or their name
                     "personnummer": str|null}, 12 digits (YYYYMMDDNNNN), Luhn-checked, when given
      "contact":    {"method": "phone" | "office",
                     "phone": str|null,         E.164 (+46...), only with "phone"
                     "safe_times": str|null},   when it is safe to call, in the visitor's words
      "transcript": [{"from": "visitor" | "counselor", "text": str, "at": str (ISO 8601 UTC)}],
                                               only the messages the visitor chose, in order
      "counselor":  {"username", "name", "note", "summary", "risk_notes"},
                                               who proposed it, the note shown to the visitor, and the
                                               staff-only summary and initial risk notes
      "consent":    {"at": str (ISO 8601 UTC), "text_id": str, "text_sha256": str, "language": str}
                                               the consent record: the exact text shown, by id and hash
    }
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from app import phone
from app.chat.protocol import STREAM_ID
from app.chat.store import Entry
from app.errors import Malformed
from moderation.scrub import luhn_ok, scrub

KINDS = ("assessment", "protected_housing", "other")
CONTACT_METHODS = ("phone", "office")
MAX_NAME = 100
MAX_SAFE_TIMES = 300
MAX_CHOSEN = 1000
PERSONNUMMER = re.compile(r"^(\d{2})?(\d{6})([-+]?)(\d{4})$")


def personnummer(value: str, today: date | None = None) -> str:
    """A Swedish personal identity number normalised to 12 digits, or `Malformed`.

    Accepts YYMMDD-NNNN, YYMMDD+NNNN (100 or older), YYMMDDNNNN and the same with the
    century; coordination numbers (day + 60) pass too.
    """
    match = PERSONNUMMER.match(value.strip().replace(" ", ""))
    if not match:
        raise Malformed("personnummer is not valid")
    century, birth, sign, tail = match.groups()
    if not luhn_ok(birth + tail):
        raise Malformed("personnummer is not valid")
    today = today or datetime.now(UTC).date()
    if century is None:
        year = 2000 + int(birth[:2])
        if year > today.year:
            year -= 100
        if sign == "+":
            year -= 100
        century = str(year // 100)
    day = int(birth[4:6])
    try:
        date(int(century + birth[:2]), int(birth[2:4]), day - 60 if day > 60 else day)
    except ValueError:
        raise Malformed("personnummer is not valid") from None
    return century + birth + tail


def safe_phone(value: str) -> str:
    """A phone number valid in Sweden (or with a country code), in E.164, or `Malformed`."""
    number = phone.normalise(value)
    if number is None:
        raise Malformed("phone is not valid")
    return number


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str) or len(value) > limit:
        raise Malformed(f"{name} is not valid")
    return value.strip()


@dataclass(frozen=True)
class VisitorFields:
    """What the visitor chose to give with a consent, checked."""

    address_as: str
    personnummer: str | None
    method: str
    phone: str | None
    safe_times: str | None
    messages: str | tuple[str, ...]
    """"all", "none", or the chosen stream ids."""
    mask: bool = False
    """The visitor asked that numbers, addresses and the like in those messages be masked."""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> VisitorFields:
        """Check a consent frame's fields, or raise `Malformed` (nothing is stored then)."""
        if data.get("confirmed") is not True:
            raise Malformed("consent must be confirmed")
        address_as = _text(data, "address_as", MAX_NAME)
        if not address_as:
            raise Malformed("address_as is required")
        given = _text(data, "personnummer", 20)
        method = data.get("contact")
        if method not in CONTACT_METHODS:
            raise Malformed("contact is not valid")
        phone = safe_phone(_text(data, "phone", 40)) if method == "phone" else None
        safe_times = _text(data, "safe_times", MAX_SAFE_TIMES) if method == "phone" else ""
        return cls(address_as=address_as, personnummer=personnummer(given) if given else None,
                   method=str(method), phone=phone, safe_times=safe_times or None,
                   messages=_chosen(data.get("messages")), mask=data.get("mask") is True)


def _chosen(value: Any) -> str | tuple[str, ...]:
    if value in ("all", "none"):
        return str(value)
    if not isinstance(value, list) or not value or len(value) > MAX_CHOSEN or \
            not all(isinstance(v, str) and STREAM_ID.match(v) for v in value):
        raise Malformed("messages is not valid")
    return tuple(dict.fromkeys(value))


def transcript(entries: list[Entry], chosen: str | tuple[str, ...],
               mask: bool = False) -> list[dict[str, str]]:
    """The chosen messages of this conversation, in order, with identifiers scrubbed when `mask`;
    `Malformed` if any chosen id is not one."""
    messages = [e for e in entries if e.kind == "msg"]
    if chosen == "none":
        return []
    if chosen != "all":
        wanted = set(chosen)
        if not wanted <= {e.id for e in messages}:
            raise Malformed("messages is not valid")  # an id of another conversation, or not a message
        messages = [e for e in messages if e.id in wanted]
    return [{"from": e.sender, "text": scrub(e.text) if mask else e.text, "at": iso(e.ts)} for e in messages]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
