"""Time-bucketed counters (durable Redis): how often something happened, per local day and hour, not to whom.

Each `add` increments the field `metric` and, per dimension, `metric|name=value` in the day's hash
(`{p}stats:d:{YYYY-MM-DD}`, kept), in local time (TIMEZONE). Only the load figures in HOURLY (chats
started, answered, left waiting, staffed minutes), without any breakdown, are also kept per hour
(`{p}stats:h:{YYYY-MM-DDTHH}`, HOUR_KEEP_DAYS) for planning staff: in a quiet hour, two breakdowns side
by side (a referral visit, a language, a risk signal, an answer to the survey) could describe one
person, so those are only ever counted per day. Names and values must be short identifiers, so that
no conversation id, token, code, address or free text can ever become a counter. Also here: what a
chat's taking or end counts as (its wait or length, in coarse buckets), and the staffed minutes.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app import log
from app.chat.store import ConversationStore
from app.keys import HOUR_KEEP_DAYS, STAFFED_CLAIM_SECONDS, Keys
from app.staff.presence import Presence

IDENTIFIER = re.compile(r"^[a-z0-9_.-]{1,40}$")
WAITS = ((60, "0-1m"), (300, "1-5m"), (900, "5-15m"), (1800, "15-30m"))
WAIT_BEYOND = "30m+"
DURATIONS = ((300, "0-5m"), (900, "5-15m"), (1800, "15-30m"), (3600, "30-60m"))
DURATION_BEYOND = "60m+"
HOURLY = frozenset({"chat.started", "chat.taken", "chat.abandoned", "staffed.minutes"})


def bucket(seconds: float, edges: tuple[tuple[int, str], ...], beyond: str) -> str:
    """The label of the first edge `seconds` is below (a clock step backwards counts as 0)."""
    return next((label for edge, label in edges if seconds < edge), beyond)


def wait_bucket(seconds: float) -> str:
    """How long a chat waited in the queue: 0-1m | 1-5m | 5-15m | 15-30m | 30m+."""
    return bucket(seconds, WAITS, WAIT_BEYOND)


def duration_bucket(seconds: float) -> str:
    """How long a chat ran once taken: 0-5m | 5-15m | 15-30m | 30-60m | 60m+."""
    return bucket(seconds, DURATIONS, DURATION_BEYOND)


@dataclass(frozen=True)
class ChatPhase:
    """A conversation's state and times (ms) as read just before it is ended (or just after it is taken):
    all its end needs to be counted, read by whoever ends it (only one of them succeeds)."""

    state: str
    queued_at: int
    taken_at: int

    @classmethod
    async def read(cls, store: ConversationStore, cid: str) -> ChatPhase:
        state, queued, taken = cast(list[str | None], await store.redis.hmget(
            store.keys.conversation(cid), ["state", "queued_at", "taken_at"]))
        return cls(state or "", int(queued or 0), int(taken or 0))


class Counters:
    """Time-bucketed counters in the durable Redis: per day (kept) and per hour (kept HOUR_KEEP_DAYS)."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, zone: ZoneInfo) -> None:
        self.redis = durable
        self.keys = keys
        self.zone = zone

    async def add(self, metric: str, n: int = 1, **dims: str) -> None:
        """Count `n` of `metric` now, in total and under each dimension (e.g. "chat.started|lang=ar")."""
        for text in (metric, *dims, *dims.values()):
            if not IDENTIFIER.match(text):
                # The value itself is left out of the message: it may be what must not be kept.
                raise ValueError("a counter's name or dimension is not a short identifier")
        now = datetime.now(self.zone)
        day = self.keys.stats_day(now.strftime("%Y-%m-%d"))
        hour = self.keys.stats_hour(now.strftime("%Y-%m-%dT%H"))
        fields = [metric, *(f"{metric}|{name}={value}" for name, value in dims.items())]
        async with self.redis.pipeline(transaction=True) as pipe:
            for field in fields:
                pipe.hincrby(day, field, n)
            if metric in HOURLY:
                pipe.hincrby(hour, metric, n)
                pipe.expire(hour, HOUR_KEEP_DAYS * 86_400)
            await pipe.execute()

    async def totals(self, first: date, last: date) -> dict[str, int]:
        """field -> sum over the local days first..last (inclusive)."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self.keys.stats_day(day.isoformat()))
            per_day = cast(list[dict[str, str]], await pipe.execute())
        totals: dict[str, int] = {}
        for counts in per_day:
            for field, count in counts.items():
                totals[field] = totals.get(field, 0) + int(count)
        return totals

    async def hourly(self, first: date, last: date, metric: str) -> dict[str, int]:
        """"YYYY-MM-DDTHH" -> count of `metric` (one of HOURLY), for the hours still kept (hours without
        any are left out)."""
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        hours = [f"{day.isoformat()}T{h:02d}" for day in days for h in range(24)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for hour in hours:
                pipe.hget(self.keys.stats_hour(hour), metric)
            counts = cast(list[str | None], await pipe.execute())
        return {hour: int(count) for hour, count in zip(hours, counts, strict=True) if count}

    async def chat_taken(self, taken: ChatPhase) -> None:
        """A counselor took a chat (`taken`: read after taking it): how long it waited."""
        taken_at = taken.taken_at or int(time.time() * 1000)
        await self.add("chat.taken", wait=wait_bucket((taken_at - taken.queued_at) / 1000))

    async def chat_end(self, before: ChatPhase) -> None:
        """A chat ended (`before`: read just before): abandoned while waiting, or ended after being taken.
        Letters, and chats whose hash was gone, count as neither."""
        now = int(time.time() * 1000)
        if before.state == "waiting":
            await self.add("chat.abandoned", wait=wait_bucket((now - before.queued_at) / 1000))
        elif before.state == "active" and before.taken_at:
            await self.add("chat.ended", duration=duration_bucket((now - before.taken_at) / 1000))


async def staffed_minute(counters: Counters, presence: Presence) -> bool:
    """Count the current local minute as staffed if a counselor is on duty: once across all processes
    (the first to claim the minute counts it, or not). True if this call counted it."""
    minute = datetime.now(counters.zone).strftime("%Y-%m-%dT%H:%M")
    claim = counters.keys.stats_staffed(minute)
    if not await counters.redis.set(claim, 1, nx=True, ex=STAFFED_CLAIM_SECONDS):
        return False
    if not await presence.online():
        return False
    await counters.add("staffed.minutes")
    return True


async def count_staffed(counters: Counters, presence: Presence) -> None:
    """Forever, a second into each minute (every process wakes; one counts); an outage skips minutes."""
    while True:
        await asyncio.sleep(61 - time.time() % 60)
        try:
            await staffed_minute(counters, presence)
        except (RedisError, OSError):
            log.event("stats.redis_unavailable")
