"""The callback booking's pure rules: slot times across clock changes, the form's checks, codes."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.callback import codes, form
from app.callback.slots import Slot, day_bounds_ms, from_ms, local_start, nearest, parse_clock, series
from app.text import clean

ZONE = ZoneInfo("Europe/Stockholm")
SPRING_FORWARD = date(2027, 3, 28)  # 02:00 -> 03:00
FALL_BACK = date(2026, 10, 25)  # 03:00 -> 02:00
EVERY_DAY = frozenset(range(7))


def local(ms: int) -> str:
    return from_ms(ms, ZONE).strftime("%H:%M%z")


def test_slots_keep_their_wall_clock_times_across_the_clock_changes():
    before = series(
        SPRING_FORWARD - timedelta(days=1), SPRING_FORWARD, EVERY_DAY, time(10), time(10), 30, ZONE
    )
    assert [local(start) for start, _ in before] == ["10:00+0100", "10:00+0200"]
    assert before[1][0] - before[0][0] == 23 * 3600 * 1000  # that day is 23 hours long
    after = series(FALL_BACK, FALL_BACK + timedelta(days=1), EVERY_DAY, time(10), time(10), 30, ZONE)
    assert [local(start) for start, _ in after] == ["10:00+0100", "10:00+0100"]


def test_a_time_that_does_not_exist_opens_no_slot_and_a_repeated_one_means_the_first():
    assert local_start(SPRING_FORWARD, time(2, 30), ZONE) is None
    night = series(SPRING_FORWARD, SPRING_FORWARD, EVERY_DAY, time(1, 30), time(3, 0), 30, ZONE)
    assert [local(start) for start, _ in night] == ["01:30+0100", "03:00+0200"]
    assert night[0][1] - night[0][0] == 30 * 60 * 1000  # half an hour of real time, whatever the clock
    repeated = local_start(FALL_BACK, time(2, 30), ZONE)
    assert repeated is not None and repeated.utcoffset() == timedelta(hours=2)


def test_local_days_are_23_24_or_25_hours_long():
    lengths = {
        day: (lambda b: (b[1] + 1 - b[0]) // 3_600_000)(day_bounds_ms(day, ZONE))
        for day in (SPRING_FORWARD, FALL_BACK, date(2026, 12, 1))
    }
    assert lengths == {SPRING_FORWARD: 23, FALL_BACK: 25, date(2026, 12, 1): 24}


def test_a_series_covers_the_chosen_weekdays_and_times_only():
    monday = date(2026, 11, 30)
    found = series(monday, monday + timedelta(days=6), frozenset({0, 2}), time(9), time(10), 30, ZONE)
    starts = [from_ms(start, ZONE) for start, _ in found]
    assert [(s.strftime("%a"), s.strftime("%H:%M")) for s in starts] == [
        ("Mon", "09:00"),
        ("Mon", "09:30"),
        ("Mon", "10:00"),
        ("Wed", "09:00"),
        ("Wed", "09:30"),
        ("Wed", "10:00"),
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("9:30", time(9, 30)),
        ("09.05", time(9, 5)),
        ("23:59", time(23, 59)),
        ("24:00", None),
        ("9", None),
        ("nine", None),
        ("09:60", None),
    ],
)
def test_clock_times_are_read_as_typed(typed, expected):
    assert parse_clock(typed) == expected


def test_the_nearest_free_slots_are_offered_in_time_order():
    hour = 3_600_000
    slots = [Slot(n * hour, n * hour + hour // 2, 2, 2 if n in (4, 5) else 0) for n in range(10)]
    assert [s.start_ms // hour for s in nearest(slots, 5 * hour)] == [3, 6, 7]


GOOD = {
    "slot": "1790000000000",
    "phone": "070-123 45 67",
    "voicemail": "no",
    "say_where": "yes",
    "safe_word": "blåbär",
    "call_name": "Sam",
    "language": "ar",
    "topic": "Jag vill prata om min sambo",
}


def test_a_complete_form_gives_the_answers_with_the_number_in_e164():
    answers, slot, errors = form.read(GOOD)
    assert errors == {} and slot == GOOD["slot"]
    assert answers == form.Answers(
        phone="+46701234567",
        voicemail=False,
        say_where=True,
        safe_word="blåbär",
        call_name="Sam",
        language="ar",
        topic="Jag vill prata om min sambo",
    )
    assert form.Answers.from_json(answers.to_json()) == answers


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("phone", "12345", "phone"),
        ("phone", "0900-123 45 67", "phone"),
        ("phone", "112", "phone"),
        ("phone", "", "phone"),
        ("phone", "0" * 41, "too_long"),
        ("slot", "", "slot"),
        ("slot", "tomorrow", "slot"),
        ("voicemail", "maybe", "yes_no"),
        ("say_where", "", "yes_no"),
        ("language", "klingon", "language"),
        ("safe_word", "x" * 61, "too_long"),
        ("call_name", "n" * 41, "too_long"),
        ("topic", "t" * 301, "too_long"),
    ],
)
def test_each_wrong_field_is_named_and_nothing_is_accepted(field, value, error):
    answers, _, errors = form.read({**GOOD, field: value})
    assert answers is None and errors == {field: error}


def test_international_and_landline_numbers_are_accepted_and_control_characters_dropped():
    answers, _, _ = form.read({**GOOD, "phone": "+44 20 7946 0958", "call_name": "Sam\u202e\x00 "})
    assert answers is not None and answers.phone == "+442079460958" and answers.call_name == "Sam"
    answers, _, _ = form.read({**GOOD, "phone": "018-727 00 00"})
    assert answers is not None and answers.phone == "+46187270000"


def test_references_and_codes_read_back_as_people_type_them():
    reference, code = codes.new_reference(), codes.new_code()
    shown_ref, shown_code = codes.show_reference(reference), codes.show_code(code)
    assert codes.read_reference(f" {shown_ref.lower()} ") == reference
    assert codes.read_code(shown_code.replace(" ", "-")) == code
    assert (
        codes.read_reference("K7M2-Q9X") is None and codes.read_reference("K7M2-Q9X0") is None
    )  # 0 is not used
    assert codes.read_code("1234 5678 901") is None
    hasher = codes.CodeHasher("s" * 40)
    stored = hasher.hash(reference, code)
    assert code not in stored and hasher.matches(reference, code, stored)
    assert not hasher.matches(reference, codes.new_code(), stored) and not hasher.matches(reference, code, "")


def test_typed_text_keeps_joiners_but_loses_control_characters_and_direction_overrides():
    assert clean(" می\u200cخواهم\t\r\nhej\u202e\x07 ") == "می\u200cخواهم \nhej"
