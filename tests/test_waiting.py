from app.chat.waiting import DEFAULT_CHAT_MINUTES, estimate_wait_minutes


def test_no_estimate_when_nobody_is_on_duty():
    assert estimate_wait_minutes(1, 0, [10.0]) is None


def test_first_in_line_waits_about_a_minute():
    assert estimate_wait_minutes(1, 1, [30.0]) == 1


def test_people_ahead_are_served_in_parallel_rounds():
    assert estimate_wait_minutes(3, 1, [10.0, 20.0, 30.0]) == 40  # two ahead, median 20
    assert estimate_wait_minutes(3, 2, [10.0, 20.0, 30.0]) == 20  # one round ahead


def test_default_length_before_anything_is_measured():
    assert estimate_wait_minutes(2, 1, []) == DEFAULT_CHAT_MINUTES
