"""Booking, changing and cancelling callbacks over real HTTP against the real app and Redis."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from tests.callbacks import (
    all_slots,
    book,
    book_store,
    booking,
    change,
    free_slots,
    open_times,
    shown_codes,
)
from tests.redis_scan import dump

pytestmark = pytest.mark.anyio


def bookings_in(server) -> dict[str, str]:
    prefix = server.env["KEY_PREFIX"]
    return {k: v for k, v in dump(server.env["REDIS_URL"], prefix).items() if k.startswith(prefix + "cb:b:")}


async def booking_page(server) -> str:
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        response = await http.get("/callback")
    assert response.status_code == 200
    return response.text


async def test_a_hundred_people_at_once_get_exactly_the_three_places_and_the_rest_alternatives(start_server):
    server = start_server(CALLBACK_BOOKINGS_PER_CLIENT="1000")
    assert (await open_times(server, "10:00", "11:30", places=3)).status_code == 303
    slots = free_slots(await booking_page(server))
    assert len(slots) == 4
    wanted = slots[1]

    responses = await asyncio.gather(
        *(book(server, booking(wanted, phone=f"070-1{n:02d} 00 00"), timeout=60) for n in range(100))
    )

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 3 and statuses.count(409) == 97
    for refused in (r for r in responses if r.status_code == 409):
        assert "That time was just booked full" in refused.text
        alternatives = re.search(r'<ul class="alternatives" id="alternatives".*?</ul>', refused.text, re.S)
        assert alternatives and alternatives[0].count("<li>") == 3  # the three other times, nearest first
        assert "10:00" in alternatives[0] and "11:00" in alternatives[0]
        assert 'value="070-1' in refused.text  # what was typed comes back: nothing to type again
    assert len(bookings_in(server)) == 3
    page = await booking_page(server)
    assert wanted not in free_slots(page) and wanted in all_slots(page)  # shown as full, not choosable


@pytest.mark.parametrize(
    ("change_field", "status", "says"),
    [
        ({"phone": "12345"}, 400, "does not look like a number we can call"),
        ({"phone": "0900-123 45 67"}, 400, "does not look like a number we can call"),
        ({"topic": "x" * 301}, 400, "shorten this to 300 characters"),
        ({"safe_word": "ord " * 20}, 400, "shorten this to 60 characters"),
        ({"voicemail": "perhaps"}, 400, "Choose yes or no"),
        ({"language": "xx"}, 400, "Choose a language from the list"),
        ({"slot": "soon"}, 400, "Choose a time for the call"),
        ({"slot": "1000000000000"}, 409, "can no longer be booked"),  # 2001: past, and no such slot
        ({"slot": "4102444800000"}, 409, "can no longer be booked"),  # 2100: no such slot
    ],
)
async def test_wrong_answers_get_a_clear_error_and_nothing_is_stored(server, change_field, status, says):
    await open_times(server, "10:00", "10:00")
    slot = free_slots(await booking_page(server))[0]
    response = await book(server, {**booking(slot), **change_field})
    assert response.status_code == status and says in response.text
    assert bookings_in(server) == {}
    assert slot in free_slots(await booking_page(server))


async def test_a_stranger_origin_an_oversized_body_and_a_slot_about_to_start_are_refused(start_server):
    server = start_server(CALLBACK_BOOKING_CLOSES_MINUTES="15")
    await open_times(server, "10:00", "10:00")
    slot = free_slots(await booking_page(server))[0]
    async with httpx.AsyncClient(base_url=server.url) as http:
        foreign = await http.post("/callback", data=booking(slot), headers={"Origin": "https://evil.example"})
        huge = await http.post(
            "/callback", data={**booking(slot), "topic": "x" * 9000}, headers={"Origin": server.url}
        )
    assert foreign.status_code == 403 and huge.status_code == 413
    store, client = book_store(server)
    soon = int(time.time() * 1000) + 60_000  # starts in a minute: closed for booking 15 min before
    await store.open_slots([(soon, soon + 1_800_000)], 2)
    closing = await book(server, booking(str(soon)))
    await client.aclose()
    assert closing.status_code == 409 and "can no longer be booked" in closing.text
    assert bookings_in(server) == {}


async def test_a_client_and_a_number_can_book_only_a_few_times_and_the_refusal_reveals_nothing(server):
    await open_times(server, "10:00", "13:00", places=5)
    slots = free_slots(await booking_page(server))
    for n in range(5):
        assert (await book(server, booking(slots[n], phone=f"070-200 00 0{n}"))).status_code == 201
    sixth = await book(server, booking(slots[5], phone="070-200 00 09"))
    assert sixth.status_code == 429 and "Too many bookings have been tried from here" in sixth.text

    same_number = "070-300 00 00"
    for n, address in enumerate(("10.0.0.1", "10.0.0.2")):
        assert (await book(server, booking(slots[n], phone=same_number), address=address)).status_code == 201
    third = await book(server, booking(slots[2], phone=same_number), address="10.0.0.3")
    assert third.status_code == 429 and "Too many bookings have been tried from here" in third.text
    assert "number" not in re.sub(r"<[^>]+>", "", third.text).split("Too many bookings")[1][:200]


async def test_the_code_opens_the_booking_to_move_or_cancel_it_and_only_the_code(server):
    await open_times(server, "10:00", "11:00", places=1)
    first, second, third = free_slots(await booking_page(server))
    booked = await book(server, booking(first))
    assert booked.status_code == 201 and "Your call is booked" in booked.text
    assert "withheld number" in booked.text and "We do not send a confirmation" in booked.text
    reference, code = shown_codes(booked.text)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", reference) and re.fullmatch(r"\d{4} \d{4} \d{4}", code)

    wrong = await change(server, {"reference": reference, "code": "0000 0000 0000", "action": "cancel"})
    assert wrong.status_code == 404 and "do not match a booking" in wrong.text
    malformed = await change(server, {"reference": reference, "code": "12", "action": "show"})
    assert malformed.status_code == 400

    shown = await change(
        server, {"reference": reference.lower(), "code": code.replace(" ", ""), "action": "show"}
    )
    assert shown.status_code == 200 and "10:00–10:30" in shown.text
    assert first not in all_slots(shown.text) and second in free_slots(shown.text)

    moved = await change(server, {"reference": reference, "code": code, "action": "move", "slot": second})
    assert moved.status_code == 200 and "Your call is moved" in moved.text and "10:30–11:00" in moved.text
    page = await booking_page(server)
    assert first in free_slots(page) and second not in free_slots(page)
    other = await book(server, booking(third, phone="070-400 00 00"), address="10.1.0.1")
    taken = await change(server, {"reference": reference, "code": code, "action": "move", "slot": third})
    assert other.status_code == 201 and taken.status_code == 409 and "booked full" in taken.text

    cancelled = await change(server, {"reference": reference, "code": code, "action": "cancel"})
    assert cancelled.status_code == 200 and "Your call is cancelled" in cancelled.text
    assert second in free_slots(await booking_page(server))
    assert len(bookings_in(server)) == 1  # only the other visitor's
    again = await change(server, {"reference": reference, "code": code, "action": "show"})
    assert again.status_code == 404


async def test_guessing_codes_is_throttled(server):
    for n in range(10):
        response = await change(server, {"reference": "ABCD-EFGH", "code": f"1234 5678 90{n:02d}"})
        assert response.status_code == 404
    blocked = await change(server, {"reference": "ABCD-EFGH", "code": "1234 5678 9099"})
    assert blocked.status_code == 429 and "Too many tries" in blocked.text


async def test_the_number_and_answers_are_sealed_at_rest_and_never_logged(server):
    await open_times(server, "10:00", "10:00")
    slot = free_slots(await booking_page(server))[0]
    booked = await book(
        server, booking(slot, phone="070-765 43 21", safe_word="Tulpanlök", topic="Han läser mina sms")
    )
    reference, code = shown_codes(booked.text)
    everything = repr(dump(server.env["REDIS_URL"], server.env["KEY_PREFIX"]))
    for secret in ("765 43 21", "7654321", "Tulpanlök", "läser mina", "Sam", code.replace(" ", "")):
        assert secret not in everything, secret
    await change(server, {"reference": reference, "code": code, "action": "cancel"})
    log = server.log_text()
    assert '"callback.booked"' in log and '"callback.cancelled"' in log
    for secret in (
        "765",
        "Tulpanlök",
        "läser",
        reference,
        reference.replace("-", ""),
        code,
        code.replace(" ", ""),
    ):
        assert secret not in log, secret


async def test_after_the_grace_period_nothing_of_a_booking_is_left(start_server):
    server = start_server(CALLBACK_GRACE_SECONDS="1", CALLBACK_BOOKING_CLOSES_MINUTES="0")
    store, client = book_store(server)
    start = int(time.time() * 1000) + 3_000
    await store.open_slots([(start, start + 1_000)], 2)
    booked = await book(server, booking(str(start)))
    assert booked.status_code == 201 and bookings_in(server)
    await asyncio.sleep((start + 1_000 + 1_000) / 1000 - time.time() + 0.5)
    await store.slots(start - 1, start + 1)  # any later reading of the period forgets the slot
    await client.aclose()
    prefix = server.env["KEY_PREFIX"]
    left = dump(server.env["REDIS_URL"], prefix)
    assert not [key for key in left if key.startswith(prefix + "cb:")], left
    counters = [key for key in left if key.startswith(prefix + "stats:d:")]
    assert len(counters) == 1 and "'callback.booked': '1'" in left[counters[0]]
