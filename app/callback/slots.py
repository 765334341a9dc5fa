"""Callback time slots in local time: DST-safe conversion and the series supervisors open at once.

A slot is stored by its start and end as Unix milliseconds (its id is the start), so it is one
unambiguous moment whatever the clocks do; people see and type it in TIMEZONE's wall-clock time.
A wall-clock time that does not exist (02:30 on the night the clocks go forward) opens no slot;
one that happens twice (the night they go back) means its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_MINUTES = (15, 20, 30, 45, 60, 90, 120)
"""The lengths a supervisor can choose: long enough for a call or two, short enough to promise."""
MAX_PLACES = 20
"""Calls one slot can promise; more would be more than a team can make in it."""
BOOKING_DAYS = 14
"""Visitors can book this far ahead."""
OPEN_AHEAD_DAYS = 90
"""Supervisors can open slots this far ahead."""
MAX_SERIES = 500
"""Slots one form may open (a quarter of weekdays with eight slots each fits)."""

_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


@dataclass(frozen=True)
class Slot:
    """A time slot with its places; `booked` counts bookings that still stand."""

    start_ms: int
    end_ms: int
    places: int
    booked: int

    @property
    def id(self) -> str:
        return str(self.start_ms)

    @property
    def free(self) -> int:
        return max(0, self.places - self.booked)


def parse_clock(text: str) -> time | None:
    """"09:30" (or "9.30") as a time, or None."""
    match = _CLOCK.match(text.strip())
    return time(int(match[1]), int(match[2])) if match else None


def local_start(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The moment `day` at `at` in `zone`; None when that wall-clock time does not exist there."""
    moment = datetime.combine(day, at, tzinfo=zone)  # fold=0: the first of a repeated hour
    back = moment.astimezone(UTC).astimezone(zone)
    return moment if (back.date(), back.time()) == (day, at) else None


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, zone)


def series(first: date, last: date, weekdays: frozenset[int], first_start: time, last_start: time,
           minutes: int, zone: ZoneInfo) -> list[tuple[int, int]]:
    """(start_ms, end_ms) of back-to-back slots of `minutes` from `first_start` to `last_start`
    (inclusive) on each of the `weekdays` (0 = Monday) from `first` to `last`."""
    found: list[tuple[int, int]] = []
    day = first
    while day <= last:
        if day.weekday() in weekdays:
            at = datetime.combine(day, first_start)
            while at.time() <= last_start and at.date() == day:
                start = local_start(day, at.time(), zone)
                if start is not None:
                    found.append((to_ms(start), to_ms(start + timedelta(minutes=minutes))))
                at += timedelta(minutes=minutes)
        day += timedelta(days=1)
    return found


def day_bounds_ms(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """The first and the last millisecond of a local day (23, 24 or 25 hours long)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return to_ms(start), to_ms(end) - 1


def nearest(slots: list[Slot], wanted_ms: int, count: int = 3) -> list[Slot]:
    """The free slots closest in time to the one wanted, in time order."""
    free = [slot for slot in slots if slot.free and slot.start_ms != wanted_ms]
    closest = sorted(free, key=lambda slot: abs(slot.start_ms - wanted_ms))[:count]
    return sorted(closest, key=lambda slot: slot.start_ms)
