"""Statistics counters: what a day of chats, letters, callbacks and intakes adds up to, and nothing more."""

from __future__ import annotations

import ast
import asyncio
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis

from app.keys import HOUR_KEEP_DAYS, Keys
from app.staff.presence import Presence
from app.stats.counters import HOURLY, Counters, duration_bucket, staffed_minute, wait_bucket
from tests.callbacks import book, booking, change, free_slots, open_times, shown_codes
from tests.clients import (
    counselor,
    first_waiting,
    is_entry,
    post_json,
    return_with,
    start_chat,
    visitor_socket,
)
from tests.redis_scan import dump, ttls
from tests.servers import ServerProcess
from tests.test_intake_consent import FIELDS, chat_with_proposal, consent, intake_ids

pytestmark = pytest.mark.anyio

ZONE = ZoneInfo("Europe/Stockholm")
RISK_TEXT = "han är på väg hem nu och han sa att han ska döda mig"
LETTER_TEXT = "jag vill prata men kan inte nu"
FIELD = re.compile(r"^[a-z0-9_.-]{1,40}(\|[a-z0-9_.-]{1,40}=[a-z0-9_.-]{1,40})?$")

EXPECTED = {
    "letter.left": 1,
    "chat.returned": 1,
    "chat.started": 3, "chat.started|lang=sv": 2, "chat.started|lang=ar": 1,
    "chat.taken": 2, "chat.taken|wait=0-1m": 2,
    "risk.signal": 1, "risk.signal|label=imminent_danger": 1,
    "chat.ended": 1, "chat.ended|duration=0-5m": 1,
    "chat.abandoned": 1, "chat.abandoned|wait=0-1m": 1,
    "intake.proposed": 1, "intake.consented": 1,
    "callback.booked": 1, "callback.cancelled": 1,
}
"""The scripted day below: a letter and its return; chat A taken, a risk message, ended by the counselor;
chat B (Arabic) ended by its visitor while waiting; chat C taken with an intake proposed and consented;
a callback booked and cancelled."""


@dataclass
class Traces:
    """Everything identifying the scripted day produced: none of it may be in a counter."""

    ids: set[str] = field(default_factory=set)
    """Conversation ids, visitor tokens, return and callback codes."""
    texts: set[str] = field(default_factory=set)


def counted(server: ServerProcess) -> tuple[dict[str, int], dict[str, int]]:
    """Every counter field summed over the daily hashes, and over the hourly ones (a day or an hour may
    turn while the test runs: the sums do not depend on it)."""
    prefix = server.env["KEY_PREFIX"]
    days: Counter[str] = Counter()
    hours: Counter[str] = Counter()
    for key, text in dump(server.env["REDIS_URL"], prefix + "stats:").items():
        into = days if key.startswith(prefix + "stats:d:") else hours if key.startswith(prefix + "stats:h:") \
            else None
        if into is not None:
            into.update({name: int(n) for name, n in ast.literal_eval(text).items()})
    return dict(days), dict(hours)


def without_staffing(counts: dict[str, int]) -> dict[str, int]:
    """The counts but the staffed minutes, which depend on whether a minute turned with a console open."""
    return {name: n for name, n in counts.items() if name != "staffed.minutes"}


async def scripted_day(server: ServerProcess) -> Traces:
    traces = Traces()
    # A letter while nobody is on duty, and the visitor back with its code.
    left = await post_json(server, "/api/letter", {"text": LETTER_TEXT})
    assert left.status_code == 201, left.text
    code = left.json()["code"]
    back = await return_with(server, code)
    assert back.status_code == 200 and back.json()["state"] == "letter"
    traces.ids |= {left.json()["token"], code, code.replace(" ", ""), back.json()["token"]}
    traces.texts.add(LETTER_TEXT)

    # Chat A: taken, a risk message, ended by the counselor.
    token_a = await start_chat(server, lang="sv")
    visitor_a = await visitor_socket(server, token_a)
    staff, _ = await counselor(server)
    conv_a = await first_waiting(staff)
    await staff.send({"type": "take", "conv": conv_a})
    await staff.until(lambda f: f["type"] == "taken")
    await visitor_a.until(lambda f: f["type"] == "state" and f["state"] == "active")
    await visitor_a.send({"type": "msg", "text": RISK_TEXT, "client_id": "a1"})
    await visitor_a.until(lambda f: f["type"] == "urgent")
    await staff.send({"type": "end", "conv": conv_a})
    await visitor_a.until(is_entry("end"))

    # Chat B: its visitor gives up while waiting.
    token_b = await start_chat(server, lang="ar")
    visitor_b = await visitor_socket(server, token_b)
    conv_b = await first_waiting(staff, exclude={conv_a})
    await visitor_b.until(lambda f: f["type"] == "state" and f["state"] == "waiting")
    await visitor_b.send({"type": "end"})
    await visitor_b.until(is_entry("end"))
    for socket in (visitor_a, visitor_b, staff):
        await socket.close()

    # Chat C: an intake proposed and consented.
    visitor_c, counselor_c, conv_c, card = await chat_with_proposal(server)
    assert (await consent(visitor_c, card))["status"] == "consented"
    for socket in (visitor_c, counselor_c):
        await socket.close()
    traces.ids |= {token_a, token_b, conv_a, conv_b, conv_c, card["id"],
                   *await intake_ids(server, server.env["REDIS_URL"])}
    traces.texts |= {RISK_TEXT, "Han slår mig.", "Tack för att du berättar.", FIELDS["address_as"],
                     FIELDS["personnummer"], FIELDS["phone"], FIELDS["safe_times"]}

    # A callback booked, then cancelled with its code.
    await open_times(server, "10:00", "11:00", places=1)
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "en"}) as http:
        slot = free_slots((await http.get("/callback")).text)[0]
    booked = await book(server, booking(slot))
    assert booked.status_code == 201
    reference, callback_code = shown_codes(booked.text)
    cancelled = await change(server, {"reference": reference, "code": callback_code, "action": "cancel"})
    assert cancelled.status_code == 200
    traces.ids |= {reference, reference.replace("-", ""), callback_code, callback_code.replace(" ", "")}
    form = booking(slot)
    traces.texts |= {form["phone"], form["safe_word"], form["call_name"], form["topic"]}
    return traces


async def test_a_day_adds_up_to_exactly_its_counters_per_day_and_per_hour(server):
    await scripted_day(server)
    days, hours = counted(server)
    assert without_staffing(days) == EXPECTED
    # Per hour only the load figures, with no breakdown: small hourly counts side by side could
    # describe one person (app/stats/counters.py HOURLY).
    assert without_staffing(hours) == {field: n for field, n in EXPECTED.items() if field in HOURLY}
    assert days.get("staffed.minutes", 0) == hours.get("staffed.minutes", 0)
    prefix = server.env["KEY_PREFIX"]
    today = datetime.now(ZONE).date().isoformat()
    kept = ttls(server.env["REDIS_URL"], prefix + "stats:")
    assert kept[f"{prefix}stats:d:{today}"] == -1, "daily counters are kept"
    hourly = [ttl for key, ttl in kept.items() if key.startswith(prefix + "stats:h:")]
    assert hourly and all(0 < ttl <= HOUR_KEEP_DAYS * 86_400 for ttl in hourly), "hourly ones expire"


async def test_nothing_in_redis_links_a_counter_to_a_conversation(server, redis_url):
    traces = await scripted_day(server)
    prefix = server.env["KEY_PREFIX"]
    stats = dump(server.env["REDIS_URL"], prefix + "stats:")
    assert any(key.startswith(prefix + "stats:d:") for key in stats)
    for key, text in stats.items():
        for needle in traces.ids | traces.texts:
            assert needle not in key and needle not in text, f"{needle!r} is in {key}"
        if key.startswith((prefix + "stats:d:", prefix + "stats:h:")):
            names = ast.literal_eval(text)
            assert all(FIELD.match(name) for name in names), names

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    keys = some_keys()
    counters = Counters(client, keys, ZONE)
    try:
        for value in ("Storgatan 5", "a" * 41, "", "abc/def", "a:b", "x|y=z", "Sara", "blåbär",
                      *(token for token in traces.ids if len(token) > 40)):
            with pytest.raises(ValueError):
                await counters.add("chat.started", lang=value)
        with pytest.raises(ValueError):
            await counters.add("chat started")
        with pytest.raises(ValueError):
            await counters.add("chat.started", **{"Lang": "sv"})
        assert not [key async for key in client.scan_iter(keys.prefix + "*")], "nothing refused was written"
    finally:
        await client.aclose()


@pytest.mark.parametrize(("seconds", "wait", "duration"), [
    (-5, "0-1m", "0-5m"),
    (0, "0-1m", "0-5m"),
    (59.9, "0-1m", "0-5m"),
    (60, "1-5m", "0-5m"),
    (299, "1-5m", "0-5m"),
    (300, "5-15m", "5-15m"),
    (899, "5-15m", "5-15m"),
    (900, "15-30m", "15-30m"),
    (1799, "15-30m", "15-30m"),
    (1800, "30m+", "30-60m"),
    (3599, "30m+", "30-60m"),
    (3600, "30m+", "60m+"),
    (86_400, "30m+", "60m+"),
])
def test_waits_and_lengths_fall_in_their_buckets(seconds, wait, duration):
    assert wait_bucket(seconds) == wait
    assert duration_bucket(seconds) == duration


def some_keys() -> Keys:
    """Keys under a prefix of their own, for counting straight into Redis."""
    return Keys(prefix=f"t{secrets.token_hex(4)}:", idle_seconds=60, retention_seconds=60,
                rate_window_seconds=60, return_seconds=60)


async def test_a_staffed_minute_is_counted_once_across_processes_and_only_with_someone_on_duty(redis_url):
    clients = [aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    try:
        nobody = some_keys()
        assert not await staffed_minute(Counters(clients[0], nobody, ZONE), Presence(clients[0], nobody))
        assert not [key async for key in clients[0].scan_iter(nobody.prefix + "stats:[dh]:*")]
        # Two processes at once. Should the minute turn in between, each would count its own: try again.
        for _ in range(3):
            keys = some_keys()
            await Presence(clients[0], keys).heartbeat("anna", "busy")  # on duty, not offered chats
            minute = datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M")
            results = await asyncio.gather(*(staffed_minute(Counters(c, keys, ZONE), Presence(c, keys))
                                             for c in clients))
            if datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M") == minute:
                break
        assert sorted(results) == [False, True]
        day = await clients[0].hgetall(keys.stats_day(minute[:10]))
        assert day == {"staffed.minutes": "1"}
        assert 0 < await clients[0].ttl(keys.stats_staffed(minute)) <= 120
    finally:
        for c in clients:
            await c.aclose()
