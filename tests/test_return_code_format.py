"""Return codes as text: random 16 digits, shown in groups, typed back in many ways (pure)."""

import pytest

from app.chat.return_codes import CodeHasher, display, new_code, normalize

SECRET = "x" * 40


def test_codes_are_sixteen_random_digits_shown_in_four_groups():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 16 and c.isascii() and c.isdigit() for c in codes)
    assert display("0123456789012345") == "0123 4567 8901 2345"


@pytest.mark.parametrize("typed", [
    "0123 4567 8901 2345", "0123-4567-8901-2345", " 0123456789012345 ", "0123\u00a04567 8901 2345",
    "٠١٢٣ ٤٥٦٧ ٨٩٠١ ٢٣٤٥",  # Arabic-Indic digits, as a phone keyboard may type them
    "０１２３４５６７８９０１２３４５",  # full-width digits
])
def test_a_code_is_read_however_it_was_written_down(typed):
    assert normalize(typed) == "0123456789012345"


@pytest.mark.parametrize("typed", ["", "0123 4567 8901 234", "0123 4567 8901 23456", "0123 4567 8901 234x",
                                   "0123.4567.8901.2345", "²123 4567 8901 2345"])
def test_anything_else_is_not_a_code(typed):
    assert normalize(typed) is None


def test_the_lookup_hash_is_slow_peppered_and_never_the_code():
    hasher = CodeHasher(SECRET)
    digest = hasher.hash_now("0123456789012345")
    assert digest == hasher.hash_now("0123456789012345") and "0123456789012345" not in digest
    assert CodeHasher("y" * 40).hash_now("0123456789012345") != digest  # the secret is the pepper
