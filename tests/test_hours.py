"""Opening hours (pure): the setting, the editor's texts, exceptions, daylight saving, next opening."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.hours import (
    HoursError,
    LineError,
    build,
    exception_text,
    parse,
    parse_day,
    parse_exception,
    parse_exceptions,
    week_texts,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UTC = ZoneInfo("UTC")
WEEKDAYS = ["08:00-16:00"] * 5 + ["", ""]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def utc(text: str) -> datetime:
    """A UTC instant as the local moment the service evaluates."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).astimezone(STOCKHOLM)


def test_always_is_always_open():
    assert parse("always").is_open(at("2026-12-24T03:00"))
    assert parse("always").always


def test_weekday_rules():
    hours = parse("mon-fri 08:00-16:00; sat 10:00-14:00")
    assert hours.is_open(at("2026-11-23T08:00"))  # Monday, opening minute
    assert not hours.is_open(at("2026-11-23T16:00"))  # closing minute is closed
    assert hours.is_open(at("2026-11-28T11:00"))  # Saturday
    assert not hours.is_open(at("2026-11-29T11:00"))  # Sunday
    assert not hours.always


def test_day_lists_and_midnight():
    hours = parse("mon,wed 20:00-24:00")
    assert hours.is_open(at("2026-11-25T23:59"))
    assert not hours.is_open(at("2026-11-24T21:00"))


@pytest.mark.parametrize("text", ["", "mon 9-5", "xyz 08:00-09:00", "fri-mon 08:00-09:00",
                                  "mon 10:00-09:00", "mon 25:00-26:00", "mon 08:00-12:00; mon 11:00-13:00"])
def test_malformed_hours_are_refused(text):
    with pytest.raises(ValueError, match="OPENING_HOURS"):
        parse(text)


def test_a_day_takes_several_intervals_in_any_order_and_common_spellings():
    assert parse_day("13:00-16:00, 8.00–12:00") == parse_day("08:00-12:00,13:00-16:00")
    assert [i.text() for i in parse_day("08:00-12:00, 13:00-24:00")] == ["08:00-12:00", "13:00-24:00"]
    assert parse_day("") == parse_day("closed") == parse_day("Stängt") == ()


@pytest.mark.parametrize(("text", "says"), [
    ("22:00-02:00", "midnight"),
    ("08:00-12:00, 11:00-13:00", "overlap"),
    ("9-17", "like 08:00-16:00"),
    ("08:00-25:00", "not a time of day"),
    ("24:00-24:00", "not a time of day"),
])
def test_a_wrong_day_says_what_is_wrong(text, says):
    with pytest.raises(HoursError, match=says):
        parse_day(text)


def test_spring_forward_sunday_is_evaluated_on_the_local_clock():
    # 2026-03-29: clocks go from 02:00 to 03:00 (01:00 UTC). 01:00-04:00 local lasts two real hours.
    hours = build(["", "", "", "", "", "", "01:00-04:00"], [])
    assert not hours.is_open(utc("2026-03-28T23:59"))  # 00:59 CET
    assert hours.is_open(utc("2026-03-29T00:00"))  # 01:00 CET
    assert hours.is_open(utc("2026-03-29T00:59"))  # 01:59 CET
    assert hours.is_open(utc("2026-03-29T01:00"))  # 03:00 CEST: the clock skipped 02:00-03:00
    assert hours.is_open(utc("2026-03-29T01:59"))  # 03:59 CEST
    assert not hours.is_open(utc("2026-03-29T02:00"))  # 04:00 CEST
    morning = build(["", "", "", "", "", "", "08:00-09:00"], [])
    assert morning.is_open(utc("2026-03-29T06:30"))  # 08:30 CEST, not 07:30
    assert not morning.is_open(utc("2026-03-29T07:30"))


def test_fall_back_sunday_is_open_both_times_the_clock_shows_the_hour():
    # 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET (01:00 UTC); 02:00-03:00 happens twice.
    hours = build(["", "", "", "", "", "", "02:00-03:00"], [])
    assert not hours.is_open(utc("2026-10-24T23:59"))  # 01:59 CEST
    assert hours.is_open(utc("2026-10-25T00:00"))  # 02:00 CEST
    assert hours.is_open(utc("2026-10-25T01:30"))  # 02:30 CET, the second time
    assert not hours.is_open(utc("2026-10-25T02:00"))  # 03:00 CET
    evening = build(["", "", "", "", "", "", "16:00-17:00"], [])
    assert evening.is_open(utc("2026-10-25T15:30"))  # 16:30 CET
    assert not evening.is_open(utc("2026-10-25T14:30"))  # 15:30 CET


def test_exceptions_close_dates_and_set_special_hours():
    hours = build(WEEKDAYS, ["2026-12-24 closed Julafton", "2026-12-28..2026-12-30 10:00-14:00 mellandagar",
                             "2026-12-27 11:00-12:00"])
    assert not hours.is_open(at("2026-12-24T10:00"))  # a Thursday, closed
    assert hours.is_open(at("2026-12-23T10:00"))
    assert hours.is_open(at("2026-12-29T13:59")) and not hours.is_open(at("2026-12-29T14:00"))
    assert not hours.is_open(at("2026-12-29T09:00"))  # special hours replace the weekday's
    assert hours.is_open(at("2026-12-27T11:30"))  # a Sunday, opened specially
    assert hours.is_open(at("2026-12-31T09:00"))  # back to the weekly hours


def test_exception_lines_round_trip():
    for line in ("2026-12-24 closed Julafton", "2026-12-25..2026-12-26 closed",
                 "2026-12-31 10:00-12:00, 13:00-14:00 Nyårsafton"):
        assert exception_text(parse_exception(line)) == line
    same = parse_exception("2026-12-25..2026-12-26 closed")
    assert parse_exception("2026-12-25 - 2026-12-26 stängt") == same
    assert parse_exception("2026-12-24   closed   two   spaces").note == "two spaces"
    hours = build(WEEKDAYS, [])
    assert week_texts(hours, "closed") == ["08:00-16:00"] * 5 + ["closed", "closed"]


@pytest.mark.parametrize(("line", "says"), [
    ("24/12 closed", "Start with a date"),
    ("2026-13-01 closed", "not a date"),
    ("2026-12-26..2026-12-24 closed", "backwards"),
    ("2026-01-01..2027-06-01 closed", "at most a year"),
    ("2026-12-24 shut", "write “closed” or the hours"),
    ("2026-12-24 22:00-01:00", "midnight"),
    ("2026-12-24 closed " + "x" * 81, "at most 80"),
])
def test_a_wrong_exception_says_what_is_wrong(line, says):
    with pytest.raises(HoursError, match=says):
        parse_exception(line)


def test_exceptions_name_the_wrong_line_and_refuse_overlaps():
    with pytest.raises(LineError) as caught:
        parse_exceptions(["2026-12-24 closed", "", "2026-12-31 nope"])
    assert caught.value.line == 3
    with pytest.raises(HoursError, match="2026-12-25"):
        parse_exceptions(["2026-12-24..2026-12-26 closed", "2026-12-25 10:00-12:00"])


def test_next_opening_skips_closed_days_and_exceptions():
    hours = build(WEEKDAYS, ["2026-12-24..2026-12-25 closed"])
    assert hours.next_opening(at("2026-12-23T10:00")) is None  # open now
    assert hours.next_opening(at("2026-12-23T07:00")) == at("2026-12-23T08:00")
    # Past Christmas and a weekend:
    assert hours.next_opening(at("2026-12-23T17:00")) == at("2026-12-28T08:00")
    assert build([""] * 7, []).next_opening(at("2026-12-23T17:00")) is None


def test_upcoming_exceptions_and_dropping_past_ones():
    hours = build(WEEKDAYS, ["2026-11-30 closed", "2026-12-24 closed", "2027-03-01 closed"])
    today = date(2026, 12, 1)
    assert [e.first.isoformat() for e in hours.upcoming(today, 30)] == ["2026-12-24"]
    assert [e.first.isoformat() for e in hours.without_past(today).exceptions] == ["2026-12-24", "2027-03-01"]


def test_weekly_groups_join_days_with_the_same_hours():
    hours = build(["08:00-16:00"] * 4 + ["08:00-12:00", "", "08:00-16:00"], [])
    assert [(days, [i.text() for i in intervals]) for days, intervals in hours.weekly_groups()] == [
        ((0, 1, 2, 3, 6), ["08:00-16:00"]), ((4,), ["08:00-12:00"])]
