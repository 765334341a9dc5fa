"""Opening hours: parsing the weekly rules and deciding whether the chat is open (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})$")


@dataclass(frozen=True)
class Rule:
    """Open from `start` to `end` (local time) on the given weekdays (0 = Monday)."""

    days: tuple[int, ...]
    start: time
    end: time  # time.max stands for 24:00

    def covers(self, moment: datetime) -> bool:
        return moment.weekday() in self.days and self.start <= moment.time() < self.end


@dataclass(frozen=True)
class OpeningHours:
    """The weekly rules; `always` means no closing time."""

    always: bool
    rules: tuple[Rule, ...]

    def is_open(self, moment: datetime) -> bool:
        """Whether the chat is open at a local (time-zone aware) moment."""
        return self.always or any(rule.covers(moment) for rule in self.rules)


def _clock(text: str) -> time:
    if text == "24:00":
        return time.max
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"OPENING_HOURS has an impossible time {text!r}")
    return time(hours, minutes)


def _days(text: str) -> tuple[int, ...]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"OPENING_HOURS has an unknown day in {text!r}")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        if stop < start:
            raise ValueError(f"OPENING_HOURS day range {part!r} runs backwards")
        days.extend(range(start, stop + 1))
    return tuple(sorted(set(days)))


def parse(text: str) -> OpeningHours:
    """Parse e.g. `mon-fri 08:00-16:00; sat 10:00-14:00`, or `always`."""
    text = text.strip().lower()
    if text == "always":
        return OpeningHours(always=True, rules=())
    rules = []
    for chunk in filter(None, (c.strip() for c in text.split(";"))):
        match = _RULE.match(chunk)
        if not match:
            raise ValueError(f"OPENING_HOURS rule {chunk!r} is not like 'mon-fri 08:00-16:00'")
        start, end = _clock(match["start"]), _clock(match["end"])
        if end <= start:
            raise ValueError(f"OPENING_HOURS rule {chunk!r} ends before it starts")
        rules.append(Rule(days=_days(match["days"]), start=start, end=end))
    if not rules:
        raise ValueError("OPENING_HOURS is empty")
    return OpeningHours(always=False, rules=tuple(rules))
