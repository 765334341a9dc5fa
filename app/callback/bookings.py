"""Callback slots and bookings in the durable Redis: atomic booking, moving, claiming and outcomes.

Every change that counts places or hands a booking to someone is one Lua script, so a slot
with three places takes exactly three bookings however many arrive at once, and a booking is
claimed by exactly one counselor. The phone number and the answers are one Fernet token
(CALLBACK_KEYS) in the booking's hash; the change code only as a keyed hash. Every key of a
booking expires at its slot's end + CALLBACK_GRACE_SECONDS, set when it is made or moved,
whatever happens in between; a recorded outcome also deletes the sealed answers at once.
What survives is a count of what happened (`callback.*` in app/stats/counters.py).

States: `booked` (waiting for its call; may be claimed), `retry` (no answer on the first try;
one more is planned, `retry_ms`), `done` (reached or not reached: nothing personal is left).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from cryptography.fernet import MultiFernet

from app.callback.form import Answers
from app.callback.slots import Slot
from app.keys import Keys

OUTCOMES = ("reached", "not_reached")
SLOT_FIELDS = ("start_ms", "end_ms", "places", "booked")
SLOTS_SCAN_BACK_MS = 6 * 3600 * 1000
"""Index entries of slots that started longer ago than this (plus the grace period) are dropped
unread: longer than the longest slot, so their hashes have expired."""

_OPEN = """
-- KEYS: slot, slots index. ARGV: start, end, places, expire_at. An existing slot keeps its
-- bookings and its length, and never gets fewer places than it has bookings. Returns 1 when it existed.
local existed = redis.call('EXISTS', KEYS[1])
local booked = tonumber(redis.call('HGET', KEYS[1], 'booked') or '0')
redis.call('HSET', KEYS[1], 'start_ms', ARGV[1], 'places', math.max(tonumber(ARGV[3]), booked),
           'booked', booked)
if existed == 0 then  -- its bookings expire with its end: an existing slot keeps both
  redis.call('HSET', KEYS[1], 'end_ms', ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return existed
"""

_SET_PLACES = """
-- KEYS: slot, slots index. ARGV: places (0: remove). Returns ok | unknown | booked (too few).
local booked = redis.call('HGET', KEYS[1], 'booked')
if not booked then return 'unknown' end
if tonumber(ARGV[1]) < tonumber(booked) then return 'booked' end
if tonumber(ARGV[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[1], 'places', ARGV[1])
end
return 'ok'
"""

_BOOK = """
-- KEYS: slot, slot's bookings, booking. ARGV: now, closes (ms before start), slot id, code hash,
-- sealed answers, grace (ms), reference. Returns ok | unknown | closed | full | taken (reference in use).
local s = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'places', 'booked')
if not s[1] then return 'unknown' end
if tonumber(s[1]) - tonumber(ARGV[2]) < tonumber(ARGV[1]) then return 'closed' end
if tonumber(s[4]) >= tonumber(s[3]) then return 'full' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'taken' end
local expire_at = tonumber(s[2]) + tonumber(ARGV[6])
redis.call('HINCRBY', KEYS[1], 'booked', 1)
redis.call('HSET', KEYS[3], 'slot', ARGV[3], 'state', 'booked', 'code', ARGV[4], 'sealed', ARGV[5],
           'tries', '0')
redis.call('PEXPIREAT', KEYS[3], expire_at)
redis.call('SADD', KEYS[2], ARGV[7])
redis.call('PEXPIREAT', KEYS[2], expire_at)
return 'ok'
"""

_CANCEL = """
-- KEYS: booking, its slot, the slot's bookings. ARGV: slot id, reference.
-- Returns ok | unknown | moved (the slot changed meanwhile: read again) | done.
local b = redis.call('HMGET', KEYS[1], 'slot', 'state')
if not b[1] then return 'unknown' end
if b[1] ~= ARGV[1] then return 'moved' end
if b[2] == 'done' then return 'done' end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'booked', -1) end
return 'ok'
"""

_MOVE = """
-- KEYS: booking, old slot, old slot's bookings, new slot, new slot's bookings.
-- ARGV: old slot id, new slot id, now, closes (ms), grace (ms), reference.
-- Returns ok | unknown | moved | done | same | unknown_slot | closed | full.
local b = redis.call('HMGET', KEYS[1], 'slot', 'state')
if not b[1] then return 'unknown' end
if b[1] ~= ARGV[1] then return 'moved' end
if b[2] ~= 'booked' then return 'done' end
if ARGV[1] == ARGV[2] then return 'same' end
local s = redis.call('HMGET', KEYS[4], 'start_ms', 'end_ms', 'places', 'booked')
if not s[1] then return 'unknown_slot' end
if tonumber(s[1]) - tonumber(ARGV[4]) < tonumber(ARGV[3]) then return 'closed' end
if tonumber(s[4]) >= tonumber(s[3]) then return 'full' end
local expire_at = tonumber(s[2]) + tonumber(ARGV[5])
redis.call('HINCRBY', KEYS[4], 'booked', 1)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], 'booked', -1) end
redis.call('SREM', KEYS[3], ARGV[6])
redis.call('SADD', KEYS[5], ARGV[6])
redis.call('PEXPIREAT', KEYS[5], expire_at)
redis.call('HSET', KEYS[1], 'slot', ARGV[2])
redis.call('HDEL', KEYS[1], 'claimed_by')
redis.call('PEXPIREAT', KEYS[1], expire_at)
return 'ok'
"""

_CLAIM = """
-- KEYS: booking. ARGV: staff id. Returns ok | unknown | done | the claimant's id.
local b = redis.call('HMGET', KEYS[1], 'state', 'claimed_by')
if not b[1] then return 'unknown' end
if b[1] == 'done' then return 'done' end
if b[2] and b[2] ~= ARGV[1] then return b[2] end
redis.call('HSET', KEYS[1], 'claimed_by', ARGV[1])
return 'ok'
"""

_RELEASE = """
-- KEYS: booking. ARGV: staff id, '1' when a supervisor may release anyone's claim.
-- Returns ok | unknown | not_claimed.
local b = redis.call('HMGET', KEYS[1], 'state', 'claimed_by')
if not b[1] then return 'unknown' end
if not b[2] or (b[2] ~= ARGV[1] and ARGV[2] ~= '1') then return 'not_claimed' end
redis.call('HDEL', KEYS[1], 'claimed_by')
return 'ok'
"""

_OUTCOME = """
-- KEYS: booking. ARGV: staff id, outcome (reached | not_reached | retry), now, retry at (ms).
-- Returns ok | unknown | done | not_claimed | no_more_tries | too_late.
local b = redis.call('HMGET', KEYS[1], 'state', 'claimed_by', 'tries')
if not b[1] then return 'unknown' end
if b[1] == 'done' then return 'done' end
if b[2] ~= ARGV[1] then return 'not_claimed' end
if ARGV[2] == 'retry' then
  if tonumber(b[3]) >= 1 then return 'no_more_tries' end
  if tonumber(ARGV[4]) >= tonumber(ARGV[3]) + redis.call('PTTL', KEYS[1]) then return 'too_late' end
  redis.call('HSET', KEYS[1], 'state', 'retry', 'tries', '1', 'retry_ms', ARGV[4])
  return 'ok'
end
redis.call('HSET', KEYS[1], 'state', 'done', 'outcome', ARGV[2])
redis.call('HDEL', KEYS[1], 'sealed', 'code', 'retry_ms')
return 'ok'
"""


def _slot(row: list[str | None]) -> Slot | None:
    start, end, places, booked = row
    if start is None or end is None or places is None or booked is None:
        return None
    return Slot(int(start), int(end), int(places), int(booked))


@dataclass(frozen=True)
class Booking:
    """A booking as stored; `answers` is None once an outcome is recorded (they are deleted)."""

    ref: str
    slot_id: str
    state: str
    claimed_by: str
    tries: int
    retry_ms: int
    outcome: str
    answers: Answers | None


class CallbackBook:
    """Slots and bookings; callers pass times in ms and day names for the counters."""

    def __init__(self, durable: aioredis.Redis, keys: Keys, sealing: MultiFernet, grace_seconds: int,
                 closes_minutes: int) -> None:
        self.redis = durable
        self.keys = keys
        self._sealing = sealing
        self.grace_ms = grace_seconds * 1000
        self.closes_ms = closes_minutes * 60_000
        self._open = durable.register_script(_OPEN)
        self._set_places = durable.register_script(_SET_PLACES)
        self._book = durable.register_script(_BOOK)
        self._cancel = durable.register_script(_CANCEL)
        self._move = durable.register_script(_MOVE)
        self._claim = durable.register_script(_CLAIM)
        self._release = durable.register_script(_RELEASE)
        self._outcome = durable.register_script(_OUTCOME)

    # Slots.
    async def open_slots(self, spans: list[tuple[int, int]], places: int) -> int:
        """Open (or give `places` to) a slot per (start, end); returns how many already existed."""
        existed = 0
        for start, end in spans:
            keys = [self.keys.callback_slot(str(start)), self.keys.callback_slots]
            existed += int(await self._open(keys=keys, args=[start, end, places, end + self.grace_ms]))
        return existed

    async def set_places(self, slot_id: str, places: int) -> str:
        """Change a slot's places (0 removes it); `booked` when it has more bookings than that."""
        return str(await self._set_places(keys=[self.keys.callback_slot(slot_id), self.keys.callback_slots],
                                          args=[places, slot_id]))

    async def slots(self, from_ms: int, to_ms: int) -> list[Slot]:
        """The slots starting within [from_ms, to_ms], in time order; the index forgets expired ones."""
        now = int(time.time() * 1000)
        past = now - SLOTS_SCAN_BACK_MS - self.grace_ms
        await self.redis.zremrangebyscore(self.keys.callback_slots, 0, past)
        ids = cast(list[str], await self.redis.zrangebyscore(self.keys.callback_slots, from_ms, to_ms))
        async with self.redis.pipeline(transaction=False) as pipe:
            for slot_id in ids:
                pipe.hmget(self.keys.callback_slot(slot_id), *SLOT_FIELDS)
            rows = cast(list[list[str | None]], await pipe.execute())
        slots = [_slot(row) for row in rows]
        expired = [slot_id for slot_id, slot in zip(ids, slots, strict=True) if slot is None]
        if expired:
            await self.redis.zrem(self.keys.callback_slots, *expired)
        return [slot for slot in slots if slot is not None]

    async def slot(self, slot_id: str) -> Slot | None:
        row = await self.redis.hmget(self.keys.callback_slot(slot_id), *SLOT_FIELDS)
        return _slot(cast(list[str | None], row))

    async def bookable(self, now_ms: int, until_ms: int) -> list[Slot]:
        """Slots a visitor may book now: not closing yet, up to `until_ms` (free or full)."""
        return await self.slots(now_ms + self.closes_ms, until_ms)

    # Bookings.
    async def book(self, ref: str, slot_id: str, answers: Answers, code_hash: str, now_ms: int) -> str:
        """ok | unknown | closed | full | taken (the reference is in use: make another)."""
        sealed = self._sealing.encrypt(json.dumps(answers.to_json(), ensure_ascii=False).encode()).decode()
        return str(await self._book(
            keys=[self.keys.callback_slot(slot_id), self.keys.callback_slot_bookings(slot_id),
                  self.keys.callback_booking(ref)],
            args=[now_ms, self.closes_ms, slot_id, code_hash, sealed, self.grace_ms, ref]))

    async def code_hash(self, ref: str) -> str:
        return str(await self.redis.hget(self.keys.callback_booking(ref), "code") or "")

    async def get(self, ref: str) -> Booking | None:
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.callback_booking(ref)))
        if not fields.get("slot"):
            return None
        sealed = fields.get("sealed")
        answers = Answers.from_json(json.loads(self._sealing.decrypt(sealed.encode()))) if sealed else None
        return Booking(ref=ref, slot_id=fields["slot"], state=fields.get("state", ""),
                       claimed_by=fields.get("claimed_by", ""), tries=int(fields.get("tries", "0")),
                       retry_ms=int(fields.get("retry_ms", "0")), outcome=fields.get("outcome", ""),
                       answers=answers)

    async def in_slot(self, slot_id: str) -> list[Booking]:
        refs = sorted(cast(set[str], await self.redis.smembers(self.keys.callback_slot_bookings(slot_id))))
        found = [await self.get(ref) for ref in refs]
        return [booking for booking in found if booking is not None]

    async def cancel(self, ref: str) -> str:
        """ok | unknown | done (already called)."""
        for _ in range(3):  # a move between the read and the script: read again
            booking = await self.get(ref)
            if booking is None:
                return "unknown"
            result = str(await self._cancel(
                keys=[self.keys.callback_booking(ref), self.keys.callback_slot(booking.slot_id),
                      self.keys.callback_slot_bookings(booking.slot_id)], args=[booking.slot_id, ref]))
            if result != "moved":
                return result
        return "unknown"

    async def move(self, ref: str, slot_id: str, now_ms: int) -> str:
        """ok | unknown | done | same | unknown_slot | closed | full."""
        for _ in range(3):
            booking = await self.get(ref)
            if booking is None:
                return "unknown"
            old = booking.slot_id
            result = str(await self._move(
                keys=[self.keys.callback_booking(ref), self.keys.callback_slot(old),
                      self.keys.callback_slot_bookings(old), self.keys.callback_slot(slot_id),
                      self.keys.callback_slot_bookings(slot_id)],
                args=[old, slot_id, now_ms, self.closes_ms, self.grace_ms, ref]))
            if result != "moved":
                return result
        return "unknown"

    async def claim(self, ref: str, staff_id: str) -> str:
        """ok | unknown | done | the id of the colleague who holds it."""
        return str(await self._claim(keys=[self.keys.callback_booking(ref)], args=[staff_id]))

    async def release(self, ref: str, staff_id: str, anyones: bool) -> str:
        return str(await self._release(keys=[self.keys.callback_booking(ref)], args=[staff_id, int(anyones)]))

    async def record(self, ref: str, staff_id: str, outcome: str, now_ms: int, retry_ms: int = 0) -> str:
        """reached | not_reached (final: the answers are deleted) or retry at `retry_ms`."""
        return str(await self._outcome(keys=[self.keys.callback_booking(ref)],
                                       args=[staff_id, outcome, now_ms, retry_ms]))

    async def expires_ms(self, ref: str, now_ms: int) -> int:
        """When the booking is deleted (ms), or 0 when it is gone."""
        left = int(await self.redis.pttl(self.keys.callback_booking(ref)))
        return now_ms + left if left > 0 else 0
