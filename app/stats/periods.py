"""The periods statistics are shown for: weeks, months, half-years and years, in local dates (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("week", "month", "half", "year")
_CODE = re.compile(r"^(\d{4})(?:-W(\d{2})|-(\d{2})|-H([12]))?$")


@dataclass(frozen=True)
class Period:
    """A closed range of local days with a code people can read ("2026-W48", "2026-11", "2026-H2", "2026")."""

    kind: str
    first: date
    last: date
    code: str


def _week(year: int, week: int) -> Period:
    first = date.fromisocalendar(year, week, 1)
    return Period("week", first, first + timedelta(days=6), f"{year}-W{week:02d}")


def _month(year: int, month: int) -> Period:
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period("month", date(year, month, 1), following - timedelta(days=1), f"{year}-{month:02d}")


def _half(year: int, half: int) -> Period:
    first = date(year, 1 if half == 1 else 7, 1)
    last = date(year, 6, 30) if half == 1 else date(year, 12, 31)
    return Period("half", first, last, f"{year}-H{half}")


def _year(year: int) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31), str(year))


def containing(kind: str, day: date) -> Period:
    """The period of `kind` that `day` falls in."""
    if kind == "week":
        iso = day.isocalendar()
        return _week(iso.year, iso.week)
    if kind == "month":
        return _month(day.year, day.month)
    if kind == "half":
        return _half(day.year, 1 if day.month <= 6 else 2)
    if kind == "year":
        return _year(day.year)
    raise ValueError(f"unknown period kind {kind!r}")


def before(period: Period) -> Period:
    return containing(period.kind, period.first - timedelta(days=1))


def after(period: Period) -> Period:
    return containing(period.kind, period.last + timedelta(days=1))


def parse(code: str) -> Period | None:
    """The period a code names, or None."""
    match = _CODE.match(code.strip())
    if not match:
        return None
    year, week, month, half = match.groups()
    try:
        if week:
            return _week(int(year), int(week))
        if month:
            return _month(int(year), int(month)) if 1 <= int(month) <= 12 else None
        if half:
            return _half(int(year), int(half))
        return _year(int(year))
    except ValueError:  # week 53 of a year without one, year 0
        return None
