"""Statistics periods: weeks, months, half-years and years, and their codes (pure)."""

from datetime import date

import pytest

from app.stats.periods import after, before, containing, parse


@pytest.mark.parametrize(
    ("kind", "day", "code", "first", "last"),
    [
        ("week", date(2026, 12, 1), "2026-W49", date(2026, 11, 30), date(2026, 12, 6)),
        ("week", date(2027, 1, 1), "2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
        ("month", date(2026, 2, 14), "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        ("month", date(2026, 12, 31), "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("half", date(2026, 6, 30), "2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
        ("half", date(2026, 7, 1), "2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
        ("year", date(2026, 3, 3), "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_the_period_containing_a_day(kind, day, code, first, last):
    period = containing(kind, day)
    assert (period.code, period.first, period.last) == (code, first, last)
    assert parse(code) == period


def test_neighbours_and_bad_codes():
    assert before(containing("month", date(2026, 1, 15))).code == "2025-12"
    assert after(containing("half", date(2026, 12, 1))).code == "2027-H1"
    assert after(containing("week", date(2026, 12, 31))).code == "2027-W01"
    for wrong in ("2026-13", "2026-W54", "2025-W53", "2026-H3", "26", "2026-1", "x"):
        assert parse(wrong) is None, wrong
