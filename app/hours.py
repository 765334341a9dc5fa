"""Opening hours: the weekly hours and dated exceptions, parsed, checked and evaluated (pure).

Every time here is a local wall-clock time in the service's time zone (Europe/Stockholm):
"08:00-16:00" means eight to four on the clock on the wall, whatever the UTC offset that
day. `is_open` is given a local, time-zone aware moment, so on the spring-forward Sunday an
interval 01:00-04:00 lasts two real hours, and on the fall-back Sunday 02:00-03:00 is open
both times the clock shows it. An interval never crosses midnight (the supervisor writes
22:00-24:00 and 00:00-02:00 on the next day instead), so one day's rules never depend on
the day before.

Errors are `HoursError`: an English message id with parameters, translated where shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.i18n import N_

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time.max
"""Stands for 24:00, the end of the day."""
CLOSED_WORDS = ("closed", "stängt", "stangt")
"""How a supervisor writes that a day is closed (empty also means closed)."""
NOTE_MAX_CHARS = 80
LONGEST_EXCEPTION_DAYS = 366
LOOKAHEAD_DAYS = 400
"""How far `next_opening` searches: past any exception, at least a year."""

_CLOCK = r"\d{1,2}[:.]\d{2}"
_INTERVAL = re.compile(rf"^\s*({_CLOCK})\s*[-–—]\s*({_CLOCK})\s*$")
_TIMES = re.compile(rf"^(?P<times>{_CLOCK}\s*[-–—]\s*{_CLOCK}(?:\s*,\s*{_CLOCK}\s*[-–—]\s*{_CLOCK})*)"
                    rf"(?:\s+(?P<note>.*))?$")
_DATE = r"\d{4}-\d{2}-\d{2}"
_EXCEPTION = re.compile(rf"^(?P<first>{_DATE})(?:\s*(?:\.\.|–|—|-|to|till)\s*(?P<last>{_DATE}))?"
                        rf"\s+(?P<rest>.+)$", re.IGNORECASE)
_RULE = re.compile(r"^(?P<days>[a-z,\-]+)\s+(?P<times>\S.*)$")


class HoursError(ValueError):
    """Input that is not valid opening hours; `message` is a message id, `params` fill it in."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params


@dataclass(frozen=True, order=True)
class Interval:
    """Open from `start` to `end` (local wall-clock); END_OF_DAY stands for 24:00."""

    start: time
    end: time

    def covers(self, clock: time) -> bool:
        return self.start <= clock < self.end

    def text(self, dash: str = "-") -> str:
        end = "24:00" if self.end == END_OF_DAY else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}{dash}{end}"


WHOLE_DAY = (Interval(time(0), END_OF_DAY),)


@dataclass(frozen=True)
class DateException:
    """Dates `first`..`last` (inclusive) follow `intervals` instead of the weekly hours;
    no intervals means closed. `note` is for staff only and never shown to visitors."""

    first: date
    last: date
    intervals: tuple[Interval, ...]
    note: str = ""

    @property
    def closed(self) -> bool:
        return not self.intervals

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class OpeningHours:
    """Seven days of intervals (Monday first) and the exceptions, sorted by date."""

    week: tuple[tuple[Interval, ...], ...]
    exceptions: tuple[DateException, ...] = ()

    @property
    def always(self) -> bool:
        """Open every hour of every week day (exceptions may still close a date)."""
        return all(day == WHOLE_DAY for day in self.week)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        for exception in self.exceptions:
            if exception.covers(day):
                return exception.intervals
        return self.week[day.weekday()]

    def is_open(self, moment: datetime) -> bool:
        """Whether the chat is open at a local (time-zone aware) moment."""
        clock = moment.time()
        return any(interval.covers(clock) for interval in self.intervals_on(moment.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """When the chat next opens after being closed at `moment` (local wall-clock, in
        moment's time zone); None when it is open now or never opens within LOOKAHEAD_DAYS."""
        if self.is_open(moment):
            return None
        for offset in range(LOOKAHEAD_DAYS):
            day = moment.date() + timedelta(days=offset)
            for interval in self.intervals_on(day):
                if offset or interval.start > moment.time():
                    return datetime.combine(day, interval.start, tzinfo=moment.tzinfo)
        return None

    def upcoming(self, today: date, days: int) -> tuple[DateException, ...]:
        """Exceptions touching the `days` days from `today` on."""
        horizon = today + timedelta(days=days)
        return tuple(e for e in self.exceptions if e.last >= today and e.first < horizon)

    def without_past(self, today: date) -> OpeningHours:
        return OpeningHours(self.week, tuple(e for e in self.exceptions if e.last >= today))

    def weekly_groups(self) -> list[tuple[tuple[int, ...], tuple[Interval, ...]]]:
        """Open days grouped by identical hours, in week order: [((0, 1, 2, 3, 4), (08:00-16:00,)), ...]."""
        groups: dict[tuple[Interval, ...], list[int]] = {}
        for weekday, intervals in enumerate(self.week):
            if intervals:
                groups.setdefault(intervals, []).append(weekday)
        return sorted(((tuple(days), intervals) for intervals, days in groups.items()), key=lambda g: g[0])


def _clock(text: str, end: bool) -> time:
    hours, minutes = (int(part) for part in re.split(r"[:.]", text))
    if end and (hours, minutes) == (24, 0):
        return END_OF_DAY
    if hours > 23 or minutes > 59:
        raise HoursError(N_("{time} is not a time of day."), time=text)
    return time(hours, minutes)


def parse_day(text: str) -> tuple[Interval, ...]:
    """One day's intervals: "08:00-12:00, 13:00-16:00", or empty / "closed" for closed."""
    text = text.strip()
    if not text or text.lower() in CLOSED_WORDS:
        return ()
    intervals = []
    for part in text.split(","):
        match = _INTERVAL.match(part)
        if not match:
            raise HoursError(N_("Write the hours like 08:00-16:00, not {text}."), text=part.strip())
        start, end = _clock(match[1], end=False), _clock(match[2], end=True)
        if end <= start:
            raise HoursError(N_("{text} ends before it starts. Hours cannot run past midnight: "
                                "write 22:00-24:00 on one day and 00:00-02:00 on the next."),
                             text=part.strip())
        intervals.append(Interval(start, end))
    intervals.sort()
    for before, after in zip(intervals, intervals[1:], strict=False):
        if after.start < before.end:
            raise HoursError(N_("{first} and {second} overlap."), first=before.text(), second=after.text())
    return tuple(intervals)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HoursError(N_("{date} is not a date (write it like 2026-12-24)."), date=text) from None


def parse_exception(line: str) -> DateException:
    """One exception: "2026-12-24 closed Christmas Eve", "2026-12-24..2026-12-26 closed",
    "2026-12-31 10:00-14:00 New Year's Eve"."""
    match = _EXCEPTION.match(line.strip())
    if not match:
        raise HoursError(N_("Start with a date, then “closed” or the hours, e.g. 2026-12-24 closed."))
    first = _date(match["first"])
    last = _date(match["last"]) if match["last"] else first
    if last < first:
        raise HoursError(N_("The dates run backwards."))
    if (last - first).days >= LONGEST_EXCEPTION_DAYS:
        raise HoursError(N_("An exception can be at most a year long."))
    rest = match["rest"].strip()
    word, _, note = rest.partition(" ")
    if word.lower() in CLOSED_WORDS:
        intervals: tuple[Interval, ...] = ()
    else:
        times = _TIMES.match(rest)
        if not times:
            raise HoursError(N_("After the date, write “closed” or the hours, e.g. 10:00-14:00."))
        intervals, note = parse_day(times["times"]), times["note"] or ""
    note = " ".join(note.split())
    if len(note) > NOTE_MAX_CHARS:
        raise HoursError(N_("The note can be at most {count} characters."), count=NOTE_MAX_CHARS)
    return DateException(first, last, intervals, note)


class LineError(HoursError):
    """An error on one line of the exceptions."""

    def __init__(self, line: int, error: HoursError) -> None:
        super().__init__(error.message, **error.params)
        self.line = line


def parse_exceptions(lines: list[str]) -> tuple[DateException, ...]:
    """Exceptions one per line (blank lines skipped); "Line 3: …" says which one is wrong."""
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(parse_exception(line))
        except HoursError as error:
            raise LineError(number, error) from None
    found.sort(key=lambda e: e.first)
    for before, after in zip(found, found[1:], strict=False):
        if after.first <= before.last:
            raise HoursError(N_("Two exceptions both cover {date}."), date=after.first.isoformat())
    return tuple(found)


def build(week: list[str], exceptions: list[str]) -> OpeningHours:
    """Opening hours from the editor's (or the store's) texts: seven days, then exception lines."""
    if len(week) != len(DAYS):
        raise HoursError(N_("There must be hours for all seven days."))
    return OpeningHours(tuple(parse_day(day) for day in week), parse_exceptions(exceptions))


def week_texts(hours: OpeningHours, closed: str = "") -> list[str]:
    """Each day's intervals as text, the inverse of `parse_day`."""
    return [", ".join(i.text() for i in day) or closed for day in hours.week]


def exception_text(exception: DateException, closed: str = "closed") -> str:
    """One exception as a line, the inverse of `parse_exception`."""
    dates = exception.first.isoformat()
    if exception.last != exception.first:
        dates += f"..{exception.last.isoformat()}"
    hours = ", ".join(i.text() for i in exception.intervals) or closed
    return " ".join(filter(None, (dates, hours, exception.note)))


def parse(text: str) -> OpeningHours:
    """The OPENING_HOURS setting: e.g. `mon-fri 08:00-16:00; sat 10:00-14:00`, or `always`."""
    text = text.strip().lower()
    if text == "always":
        return OpeningHours(week=(WHOLE_DAY,) * len(DAYS))
    week: list[list[str]] = [[] for _ in DAYS]
    chunks = [c.strip() for c in text.split(";") if c.strip()]
    if not chunks:
        raise ValueError("OPENING_HOURS is empty")
    for chunk in chunks:
        match = _RULE.match(chunk)
        if not match:
            raise ValueError(f"OPENING_HOURS rule {chunk!r} is not like 'mon-fri 08:00-16:00'")
        for day in _days(match["days"]):
            week[day].append(match["times"])
    try:
        return build([", ".join(times) for times in week], [])
    except HoursError as error:
        raise ValueError(f"OPENING_HOURS: {error}") from None


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"OPENING_HOURS has an unknown day in {text!r}")
        start, stop = DAYS.index(first), DAYS.index(last or first)
        if stop < start:
            raise ValueError(f"OPENING_HOURS day range {part!r} runs backwards")
        days.extend(range(start, stop + 1))
    return days
