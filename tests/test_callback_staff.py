"""Staff side of callbacks: opening times, claiming, revealing a number (audited), recording outcomes."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime

import pytest

from tests.callbacks import ZONE, book, book_store, booking, free_slots, open_times, shown_codes, tomorrow
from tests.clients import staff_http
from tests.redis_scan import audit_log, dump

pytestmark = pytest.mark.anyio


async def booked(server, phone: str = "070-555 12 34", **fields: str) -> str:
    """One booking tomorrow at 10:00; returns its stored reference (no dash)."""
    await open_times(server, "10:00", "10:00", places=3)
    async with staff_http(server, role="counselor") as (http, _, _):
        page = (await http.get("/callback")).text
    response = await book(server, booking(free_slots(page)[0], phone=phone, **fields))
    assert response.status_code == 201
    return shown_codes(response.text)[0].replace("-", "")


def day_of_tomorrow() -> str:
    return tomorrow().date().isoformat()


async def act(http, csrf: str, action: str, ref: str, **fields: str):
    return await http.post(
        f"/staff/callbacks/{action}", data={"csrf": csrf, "ref": ref, "day": day_of_tomorrow(), **fields}
    )


def notice(response) -> str:
    return re.search(r"notice=(\w+)", response.headers.get("location", ""))[1]


async def test_only_one_counselor_gets_a_callback_and_only_they_see_the_answers(server):
    ref = await booked(server, safe_word="Kanelbulle", call_name="Mira")
    async with (
        staff_http(server, "counselor") as (anna, anna_name, anna_csrf),
        staff_http(server, "counselor") as (ben, _, ben_csrf),
    ):
        before = (await anna.get(f"/staff/callbacks?day={day_of_tomorrow()}")).text
        assert "10:00–10:30" in before and "Min sambo kontrollerar allt" in before  # topic, to choose
        assert "Kanelbulle" not in before and "Mira" not in before
        claims = await asyncio.gather(act(anna, anna_csrf, "claim", ref), act(ben, ben_csrf, "claim", ref))
        assert sorted(notice(r) for r in claims) == ["claimed", "taken"]
        winner, loser = (anna, ben) if notice(claims[0]) == "claimed" else (ben, anna)
        mine = (await winner.get(f"/staff/callbacks?day={day_of_tomorrow()}")).text
        theirs = (await loser.get(f"/staff/callbacks?day={day_of_tomorrow()}")).text
        assert "Kanelbulle" in mine and "Mira" in mine and "lämna INTE något" in mine
        assert "Kanelbulle" not in theirs and "tagen av" in theirs
        assert "555 12 34" not in mine and "5551234" not in mine  # the number is never in the page
    claims = [
        e
        for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
        if e["action"] == "callback_claim"
    ]
    assert len(claims) == 1 and claims[0]["target"] == ref


async def test_revealing_the_number_is_for_the_claimant_only_and_always_audited(server):
    ref = await booked(server)
    async with (
        staff_http(server, "counselor") as (anna, anna_name, anna_csrf),
        staff_http(server, "counselor") as (ben, ben_name, ben_csrf),
        staff_http(server, "admin") as (admin, _, admin_csrf),
    ):
        unclaimed = await act(anna, anna_csrf, "reveal", ref)
        assert unclaimed.status_code == 403
        await act(anna, anna_csrf, "claim", ref)
        shown = await anna.post(
            "/staff/callbacks/reveal", data={"ref": ref}, headers={"x-csrf-token": anna_csrf}
        )
        assert shown.status_code == 200 and shown.json() == {"number": "070-555 12 34", "tel": "+46705551234"}
        assert shown.headers["cache-control"] == "no-store"
        refused = await act(ben, ben_csrf, "reveal", ref)
        assert refused.status_code == 403 and "555" not in refused.text
        no_right = await act(admin, admin_csrf, "reveal", ref)
        assert no_right.status_code == 403 and "555" not in no_right.text
        no_csrf = await anna.post("/staff/callbacks/reveal", data={"ref": ref})
        assert no_csrf.status_code == 403
    log = audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
    reveals = [(e["actor"], e["target"]) for e in log if e["action"] == "callback_reveal"]
    assert reveals == [(anna_name, ref)]
    denied = [(e["actor"], e["target"], e.get("other", "")) for e in log if e["action"] == "denied"]
    assert (anna_name, ref, "callback_reveal") in denied and (ben_name, ref, "callback_reveal") in denied
    assert any(actor != anna_name and target == "callbacks" for actor, target, _ in denied)  # the admin
    # The number in any form (an entry's id and time are digits too, so not just "555").
    assert not [e for e in log if any(form in repr(e) for form in ("5551234", "555 12 34", "555-12"))]


async def test_outcomes_delete_the_number_at_once_and_survive_only_as_counters(server):
    ref = await booked(server)
    prefix = server.env["KEY_PREFIX"]
    async with staff_http(server, "counselor") as (anna, _, csrf):
        await act(anna, csrf, "claim", ref)
        assert notice(await act(anna, csrf, "outcome", ref, outcome="retry", retry_minutes="15")) == "retry"
        page = (await anna.get(f"/staff/callbacks?day={day_of_tomorrow()}")).text
        assert "andra försök kl." in page
        again = await act(anna, csrf, "outcome", ref, outcome="retry", retry_minutes="15")
        assert notice(again) == "no_more_tries"
        assert notice(await act(anna, csrf, "outcome", ref, outcome="maybe")) == "bad_input"
        assert notice(await act(anna, csrf, "outcome", ref, outcome="reached")) == "recorded"
        gone = await anna.post("/staff/callbacks/reveal", data={"ref": ref}, headers={"x-csrf-token": csrf})
        assert gone.status_code == 404
    stored = dump(server.env["REDIS_URL"], prefix)
    assert (
        "sealed" not in stored[f"{prefix}cb:b:{ref}"]
        and "'outcome': 'reached'" in stored[f"{prefix}cb:b:{ref}"]
    )
    today = datetime.now(ZONE).date().isoformat()
    assert stored[f"{prefix}stats:d:{today}"] == repr(
        {"callback.booked": "1", "callback.retried": "1", "callback.reached": "1"})


async def test_a_second_try_must_fit_before_the_booking_is_deleted(start_server):
    server = start_server(CALLBACK_GRACE_SECONDS="1200", CALLBACK_BOOKING_CLOSES_MINUTES="0")
    store, client = book_store(server)
    start = int(time.time() * 1000) + 2_000
    await store.open_slots([(start, start + 1_000)], 1)
    await client.aclose()
    response = await book(server, booking(str(start)))
    ref = shown_codes(response.text)[0].replace("-", "")
    async with staff_http(server, "counselor") as (anna, _, csrf):
        await act(anna, csrf, "claim", ref)
        # Deleted 20 minutes after the slot: half an hour from now is too late, ten minutes is not.
        assert (
            notice(await act(anna, csrf, "outcome", ref, outcome="retry", retry_minutes="30")) == "too_late"
        )
        assert notice(await act(anna, csrf, "outcome", ref, outcome="retry", retry_minutes="10")) == "retry"


async def test_supervisors_open_and_change_times_and_counselors_cannot(server):
    response = await open_times(server, "09:00", "10:00", minutes=20, places=2)
    assert response.status_code == 303 and "notice=opened&count=4" in response.headers["location"]
    async with staff_http(server, "supervisor") as (boss, _, csrf):
        page = (await boss.get("/staff/callbacks/slots")).text
        slots = re.findall(r'data-slot="(\d+)"', page)
        assert len(slots) == 4 and "09:20–09:40" in page
        changed = await boss.post(
            "/staff/callbacks/slots/change", data={"csrf": csrf, "slot": slots[0], "places": "5"}
        )
        assert "notice=saved" in changed.headers["location"]
        removed = await boss.post(
            "/staff/callbacks/slots/change", data={"csrf": csrf, "slot": slots[3], "action": "remove"}
        )
        assert "notice=removed" in removed.headers["location"]
        wrong = await boss.post(
            "/staff/callbacks/slots",
            data={
                "csrf": csrf,
                "first": "2020-01-01",
                "last": "2020-01-02",
                "weekday": "0",
                "from": "10:00",
                "to": "11:00",
                "minutes": "30",
                "places": "2",
            },
        )
        assert wrong.status_code == 400 and "Välj en första och en sista dag" in wrong.text
        page = (await boss.get("/staff/callbacks/slots")).text
        assert len(re.findall(r'data-slot="(\d+)"', page)) == 3 and "0 av 5 platser bokade" in page
    await book(server, booking(slots[1]))
    async with staff_http(server, "supervisor") as (boss, _, csrf):
        refused = await boss.post(
            "/staff/callbacks/slots/change", data={"csrf": csrf, "slot": slots[1], "action": "remove"}
        )
        assert "notice=booked" in refused.headers["location"]
    async with staff_http(server, "counselor") as (counselor, _, csrf):
        assert (await counselor.get("/staff/callbacks/slots")).status_code == 403
        denied = await counselor.post(
            "/staff/callbacks/slots/change", data={"csrf": csrf, "slot": slots[1], "places": "9"}
        )
        assert denied.status_code == 403
    log = audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
    assert [e["other"] for e in log if e["action"] == "callback_slots"] == ["open:4", "places:5", "remove"]
