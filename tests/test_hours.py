from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.hours import parse

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def test_always_is_always_open():
    assert parse("always").is_open(at("2026-12-24T03:00"))


def test_weekday_rules():
    hours = parse("mon-fri 08:00-16:00; sat 10:00-14:00")
    assert hours.is_open(at("2026-11-23T08:00"))  # Monday, opening minute
    assert not hours.is_open(at("2026-11-23T16:00"))  # closing minute is closed
    assert hours.is_open(at("2026-11-28T11:00"))  # Saturday
    assert not hours.is_open(at("2026-11-29T11:00"))  # Sunday


def test_day_lists_and_midnight():
    hours = parse("mon,wed 20:00-24:00")
    assert hours.is_open(at("2026-11-25T23:59"))
    assert not hours.is_open(at("2026-11-24T21:00"))


def test_local_time_across_daylight_saving_change():
    hours = parse("sun 08:00-09:00")
    # 2026-03-29 is the spring-forward Sunday in Sweden; 08:30 local is still open.
    assert hours.is_open(datetime(2026, 3, 29, 6, 30, tzinfo=ZoneInfo("UTC")).astimezone(STOCKHOLM))


@pytest.mark.parametrize("text", ["", "mon 9-5", "xyz 08:00-09:00", "fri-mon 08:00-09:00",
                                  "mon 10:00-09:00", "mon 25:00-26:00"])
def test_malformed_hours_are_refused(text):
    with pytest.raises(ValueError):
        parse(text)
