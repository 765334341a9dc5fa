"""Conversations in Redis: creating, queueing, taking, appending, reading and ending them.

Handlers never speak raw Redis: they call these functions. Each change that must be
atomic across processes (enqueue under a cap, take, append without duplicates, end, give
a return code, leave a letter, restore with a code, hold a letter) is one Lua script, so
two processes racing see one winner.

States of a conversation: `waiting` (in the queue), `active` (a counselor has it),
`letter` (asynchronous: a message left for the counselors, answered later, read with the
return code), `ended`. Restoring an ended conversation with its code puts it back to
`waiting`, or makes it a `letter` when nobody can answer now.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from app.chat import return_codes
from app.chat.return_codes import CodeHasher
from app.errors import Gone, LettersFull, NotAllowed, QueueFull
from app.keys import STATS_SECONDS, Keys

STATS_SAMPLES = 20
"""How many recent chat lengths feed the wait estimate."""

CODE_ATTEMPTS = 3
"""New codes tried when one is already in use (one in 10**16 per kept conversation)."""

LETTER_HOLD_SECONDS = 120
"""A counselor's hold on an open letter; the console renews it on every heartbeat."""

# Every per-conversation key derives from the conversation hash's name, so the scripts
# can reach them all; the names of the visitor key and the return-code key are in the hash.
_COMMON = """
-- `vkey` and `rckey`: the hash's fields of those names (false when absent).
local function expire_keys(conv, ttl, vkey, rckey)
  redis.call('EXPIRE', conv, ttl)
  redis.call('EXPIRE', conv .. ':m', ttl)
  redis.call('EXPIRE', conv .. ':s', ttl)
  redis.call('EXPIRE', conv .. ':n', ttl)
  redis.call('EXPIRE', conv .. ':p', ttl)
  if vkey then redis.call('EXPIRE', vkey, ttl) end
  if rckey then redis.call('EXPIRE', rckey, ttl) end
end
local function expire_all(conv, ttl)
  local named = redis.call('HMGET', conv, 'vkey', 'rckey')
  expire_keys(conv, ttl, named[1], named[2])
end
-- A conversation with a return code keeps every key for the return TTL instead.
local function ttl_for(conv, ttl, keep)
  if redis.call('HEXISTS', conv, 'rckey') == 1 then return keep end
  return ttl
end
-- A shared key's TTL only grows: a coded conversation stays in the queue or its counselor's
-- set until the sweeper ends it, and an uncoded one must not cut that short (an emptied set
-- goes at once, and ids of expired conversations are swept).
local function extend(key, ttl)
  if redis.call('TTL', key) < tonumber(ttl) then redis.call('EXPIRE', key, ttl) end
end
-- A waiting conversation keeps the queue alive; a running one its counselor's set of chats.
local function keep_queue(conv, queue, ttl)
  if redis.call('HGET', conv, 'state') == 'waiting' then extend(queue, ttl) end
end
local function keep_staff_set(conv, staff_prefix, ttl)
  local staff = redis.call('HGET', conv, 'staff')
  if staff then extend(staff_prefix .. staff .. ':chats', ttl) end
end
-- A token bucket in the conversation hash (so it goes with it): full at the start, one token per
-- message, refilled steadily (`per_ms`). Returns the tokens left after this one as text: below 0
-- means refused. Refused messages still take one, down to `floor`, so a client that keeps flooding
-- is recognised.
-- `refill` works it out from the stored fields `tb_tokens` and `tb_at` (false when absent): the
-- caller stores the result in them.
local function refill(capacity, per_ms, now, floor, stored, stored_at)
  local tokens = tonumber(stored) or tonumber(capacity)
  local since = tonumber(now) - (tonumber(stored_at) or tonumber(now))
  tokens = math.min(tonumber(capacity), tokens + math.max(0, since) * tonumber(per_ms))
  return string.format('%.4f', math.max(tonumber(floor), tokens - 1))
end
local function take_token(conv, capacity, per_ms, now, floor)
  local b = redis.call('HMGET', conv, 'tb_tokens', 'tb_at')
  local tokens = refill(capacity, per_ms, now, floor, b[1], b[2])
  redis.call('HSET', conv, 'tb_tokens', tokens, 'tb_at', now)
  return tokens
end
-- A counselor acts in a conversation only while holding it: a chat they have (not one handed
-- on meanwhile), a letter they have open. An empty staff id is the visitor or the system.
local function holds(conv, state, staff_id)
  if staff_id == '' then return true end
  local field = (state == 'letter') and 'holder' or 'staff'
  return redis.call('HGET', conv, field) == staff_id
end
-- A running coded conversation never just expires: the sweeper ends it once unused this long.
local function mark_used(conv, cid, coded, now, keep)
  local state = redis.call('HGET', conv, 'state')
  if (state == 'waiting' or state == 'active') and redis.call('HEXISTS', conv, 'rckey') == 1 then
    redis.call('ZADD', coded, now, cid)
    redis.call('EXPIRE', coded, keep)
  end
end
"""

_CREATE = _COMMON + """
-- KEYS: queue, conv, vkey; ARGV: max, cid, now_ms, lang, ttl
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'state', 'waiting', 'lang', ARGV[4], 'created', ARGV[3],
           'queued_at', ARGV[3], 'vkey', KEYS[3])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
extend(KEYS[1], ARGV[5])
return 1
"""

_TAKE = _COMMON + """
-- KEYS: queue, conv, staff_chats, coded; ARGV: cid, staff_id, staff_name, now_ms, idle, keep
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'waiting' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'active', 'staff', ARGV[2], 'staff_name', ARGV[3],
           'taken_at', ARGV[4])
-- A returning visitor's chat is a new contact: it is classified again when it ends.
redis.call('HDEL', KEYS[2], 'returning', 'prefer', 'prefer_name', 'classified')
redis.call('XADD', KEYS[2] .. ':m', '*', 'k', 'join', 'f', 'counselor', 'n', ARGV[3],
           'ts', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
extend(KEYS[3], ttl_for(KEYS[2], ARGV[5], ARGV[6]))
expire_all(KEYS[2], ttl_for(KEYS[2], ARGV[5], ARGV[6]))
mark_used(KEYS[2], ARGV[1], KEYS[4], ARGV[4], ARGV[6])
return 1
"""

_APPEND = _COMMON + """
-- KEYS: conv, queue, coded, letters; ARGV: client_id, from, text, now_ms, idle, staff_prefix, cid, keep,
--       staff_id (a counselor's: who must hold it), channel, and for a visitor's message its admission
--       (or 6 x ''): capacity, tokens refilled per ms, floor, base, memory, repeat (see Admission)
-- It runs for every message, so it reads the hash once and works from what it read.
local conv = KEYS[1]
local h = redis.call('HMGET', conv, 'state', 'staff', 'holder', 'vkey', 'rckey', 'recent', 'tb_tokens',
                     'tb_at', 'replied', 'holder_name')
local state, staff, holder, vkey, rckey = h[1], h[2], h[3], h[4], h[5]
if not state then return {'gone', ''} end
if state == 'ended' then return {'ended', ''} end
if ARGV[9] ~= '' then  -- as holds(): a chat its counselor has, a letter they have open
  local who = staff
  if state == 'letter' then who = holder end
  if who ~= ARGV[9] then return {'not_yours', ''} end
end
local existing = redis.call('HGET', conv .. ':s', ARGV[1])
if existing then return {'duplicate', existing, state, ''} end
local tokens = ''
if ARGV[11] ~= '' then
  if (h[6] or '') ~= ARGV[14] then return {'stale', h[6] or ''} end
  tokens = refill(ARGV[11], ARGV[12], ARGV[4], ARGV[13], h[7], h[8])
  if tonumber(tokens) < 0 or ARGV[16] == '1' then
    redis.call('HSET', conv, 'tb_tokens', tokens, 'tb_at', ARGV[4])
    if tonumber(tokens) < 0 then return {'limited', tokens} end
    return {'repeated', tokens}
  end
  redis.call('HSET', conv, 'tb_tokens', tokens, 'tb_at', ARGV[4], 'recent', ARGV[15])
end
local last = redis.call('XREVRANGE', conv .. ':m', '+', '-', 'COUNT', 1)
local prev = '0-0'
if #last > 0 then prev = last[1][1] end
local id = redis.call('XADD', conv .. ':m', '*', 'k', 'msg', 'f', ARGV[2], 't', ARGV[3], 'ts', ARGV[4],
                      'c', ARGV[1])
redis.call('HSET', conv .. ':s', ARGV[1], id)
-- Announced in the same step, so a stored message is never left unannounced, and with the entry
-- itself: a party that has read up to `prev` sends it on without reading the stream.
redis.call('PUBLISH', ARGV[10], cjson.encode({kind = 'entry', id = id, prev = prev,
  fields = {k = 'msg', f = ARGV[2], t = ARGV[3], ts = ARGV[4], c = ARGV[1]}}))
if state == 'letter' then
  if ARGV[2] == 'visitor' then
    -- Counselors' list orders letters by how long the first unanswered message has waited.
    if h[9] ~= '0' then
      redis.call('HSET', conv, 'replied', '0')
      redis.call('ZADD', KEYS[4], ARGV[4], ARGV[7])
    end
  else
    redis.call('HSET', conv, 'replied', '1')
    if holder then
      redis.call('HSET', conv, 'staff', holder, 'staff_name', h[10])
      staff = holder
    end
  end
  redis.call('EXPIRE', KEYS[4], ARGV[8])
end
-- As ttl_for(), expire_all(), keep_queue(), keep_staff_set() and mark_used(), from what was read.
local ttl = ARGV[5]
if rckey then ttl = ARGV[8] end
expire_keys(conv, ttl, vkey, rckey)
if state == 'waiting' then extend(KEYS[2], ttl) end
if staff then extend(ARGV[6] .. staff .. ':chats', ttl) end
if rckey and (state == 'waiting' or state == 'active') then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[7])
  redis.call('EXPIRE', KEYS[3], ARGV[8])
end
return {'ok', id, state, tokens, prev}
"""

_END = _COMMON + """
-- KEYS: queue, conv, stats, coded, letters; ARGV: cid, by, now_ms, retention_ttl,
--       staff_chats_prefix, stats_samples, stats_ttl, reason, keep, unused_before_ms, staff_id
local state = redis.call('HGET', KEYS[2], 'state')
if not state or state == 'ended' then return 0 end
if not holds(KEYS[2], state, ARGV[11]) then return 0 end
if tonumber(ARGV[10]) > 0 then
  -- The sweeper ends an unused coded conversation only if nobody used it since it looked.
  local used = redis.call('ZSCORE', KEYS[4], ARGV[1])
  if not used or tonumber(used) >= tonumber(ARGV[10]) then return 0 end
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local staff = redis.call('HGET', KEYS[2], 'staff')
if staff then redis.call('SREM', ARGV[5] .. staff .. ':chats', ARGV[1]) end
local taken = redis.call('HGET', KEYS[2], 'taken_at')
if taken then
  local minutes = (tonumber(ARGV[3]) - tonumber(taken)) / 60000
  redis.call('LPUSH', KEYS[3], string.format('%.2f', minutes))
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
  redis.call('EXPIRE', KEYS[3], ARGV[7])
end
redis.call('HSET', KEYS[2], 'state', 'ended', 'ended_at', ARGV[3], 'ended_by', ARGV[2])
redis.call('HDEL', KEYS[2], 'holder', 'holder_name', 'held_until')
redis.call('XADD', KEYS[2] .. ':m', '*', 'k', 'end', 'f', ARGV[2], 'ts', ARGV[3], 'r', ARGV[8])
expire_all(KEYS[2], ttl_for(KEYS[2], ARGV[4], ARGV[9]))
return 1
"""

_TAKE_TOKEN = _COMMON + """
-- KEYS: conv; ARGV: capacity, tokens refilled per ms, now_ms, floor.
return take_token(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""

_TOUCH = _COMMON + """
-- KEYS: queue, coded, then one conv per conversation; ARGV: idle, staff_prefix, now_ms, keep, then
-- the conversations' ids in the same order. Keeps the running ones alive; an ended conversation
-- keeps its retention TTL, a letter the TTL from its last message.
for i = 3, #KEYS do
  local conv = KEYS[i]
  local state = redis.call('HGET', conv, 'state')
  if state == 'waiting' or state == 'active' then
    local ttl = ttl_for(conv, ARGV[1], ARGV[4])
    expire_all(conv, ttl)
    keep_queue(conv, KEYS[1], ttl)
    keep_staff_set(conv, ARGV[2], ttl)
    mark_used(conv, ARGV[i + 2], KEYS[2], ARGV[3], ARGV[4])
  end
end
return 1
"""

_SET_CODE = _COMMON + """
-- KEYS: conv, code_key, coded, queue; ARGV: cid, now_ms, keep. One code per conversation: a
-- new one replaces the old, whose key is deleted.
if not redis.call('HGET', KEYS[1], 'state') then return 'gone' end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[3]) then return 'taken' end
local old = redis.call('HGET', KEYS[1], 'rckey')
if old then redis.call('DEL', old) end
redis.call('HSET', KEYS[1], 'rckey', KEYS[2])
expire_all(KEYS[1], ARGV[3])
keep_queue(KEYS[1], KEYS[4], ARGV[3])
mark_used(KEYS[1], ARGV[1], KEYS[3], ARGV[2], ARGV[3])
return 'ok'
"""

_CREATE_LETTER = _COMMON + """
-- KEYS: letters, conv, vkey, code_key; ARGV: max, cid, now_ms, lang, keep, text, client_id
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 'full' end
if not redis.call('SET', KEYS[4], ARGV[2], 'NX', 'EX', ARGV[5]) then return 'taken' end
redis.call('HSET', KEYS[2], 'state', 'letter', 'lang', ARGV[4], 'created', ARGV[3],
           'replied', '0', 'vkey', KEYS[3], 'rckey', KEYS[4])
local id = redis.call('XADD', KEYS[2] .. ':m', '*', 'k', 'msg', 'f', 'visitor', 't', ARGV[6],
                      'ts', ARGV[3], 'c', ARGV[7])
redis.call('HSET', KEYS[2] .. ':s', ARGV[7], id)
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
expire_all(KEYS[2], ARGV[5])
return 'ok'
"""

_RESTORE = _COMMON + """
-- KEYS: code_key, queue, coded, letters, vkey; ARGV: conv_prefix, now_ms, keep, live, queue_max
local cid = redis.call('GET', KEYS[1])
if not cid then return {'unknown', ''} end
local conv = ARGV[1] .. cid
local state = redis.call('HGET', conv, 'state')
if not state or redis.call('HGET', conv, 'rckey') ~= KEYS[1] then return {'unknown', ''} end
-- A new visitor token; whoever held the old one (another tab, another phone) is locked out.
local old = redis.call('HGET', conv, 'vkey')
if old then redis.call('DEL', old) end
redis.call('HSET', conv, 'vkey', KEYS[5])
redis.call('SET', KEYS[5], cid, 'EX', ARGV[3])
if state == 'ended' then
  redis.call('HDEL', conv, 'ended_at', 'ended_by', 'taken_at')
  if ARGV[4] == '1' and redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[5]) then
    -- Back into the queue, offered first to the counselor it had, if any.
    redis.call('HSET', conv, 'state', 'waiting', 'queued_at', ARGV[2], 'returning', '1',
               'prefer', redis.call('HGET', conv, 'staff') or '',
               'prefer_name', redis.call('HGET', conv, 'staff_name') or '')
    redis.call('HDEL', conv, 'staff', 'staff_name')
    state = 'waiting'
  else
    -- Nobody can answer now: what the visitor writes goes to the counselors' letters.
    redis.call('HSET', conv, 'state', 'letter', 'replied', '1')
    state = 'letter'
  end
end
if state == 'waiting' then
  -- In the queue, at the place it already had (or, if it was just restored, at the back).
  redis.call('ZADD', KEYS[2], 'NX', redis.call('HGET', conv, 'queued_at'), cid)
  keep_queue(conv, KEYS[2], ARGV[3])
end
redis.call('XADD', conv .. ':m', '*', 'k', 'returned', 'f', 'visitor', 'ts', ARGV[2])
expire_all(conv, ARGV[3])
mark_used(conv, cid, KEYS[3], ARGV[2], ARGV[3])
return {state, cid}
"""

_NOTE = """
-- KEYS: conv; ARGV: staff_id, staff_name, text, now_ms. Only its counselor writes in a running
-- or ended chat's notes; they share the conversation's TTL, so they go with it.
local state = redis.call('HGET', KEYS[1], 'state')
if (state ~= 'active' and state ~= 'ended') or redis.call('HGET', KEYS[1], 'staff') ~= ARGV[1] then
  return ''
end
local id = redis.call('XADD', KEYS[1] .. ':n', '*', 'k', 'note', 'n', ARGV[2], 't', ARGV[3], 'ts', ARGV[4])
redis.call('EXPIRE', KEYS[1] .. ':n', redis.call('TTL', KEYS[1]))
return id
"""

_TRANSFER = _COMMON + """
-- KEYS: conv, from_chats, to_chats, online, coded; ARGV: cid, from_id, from_name, to_id, to_name,
--       note, now_ms, now_s, idle, keep. Only to a colleague on duty (presence not yet expired).
if redis.call('HGET', KEYS[1], 'state') ~= 'active' or redis.call('HGET', KEYS[1], 'staff') ~= ARGV[2] then
  return 'not_yours'
end
if ARGV[4] == ARGV[2] then return 'self' end
local on_duty = redis.call('ZSCORE', KEYS[4], ARGV[4])
if not on_duty or tonumber(on_duty) <= tonumber(ARGV[8]) then return 'not_on_duty' end
redis.call('HSET', KEYS[1], 'staff', ARGV[4], 'staff_name', ARGV[5])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
-- The visitor sees who they are chatting with now; the note goes only to the staff's notes.
redis.call('XADD', KEYS[1] .. ':m', '*', 'k', 'join', 'f', 'counselor', 'n', ARGV[5], 'ts', ARGV[7])
redis.call('XADD', KEYS[1] .. ':n', '*', 'k', 'transfer', 'n', ARGV[3], 'to', ARGV[5], 't', ARGV[6],
           'ts', ARGV[7])
local ttl = ttl_for(KEYS[1], ARGV[9], ARGV[10])
extend(KEYS[3], ttl)
expire_all(KEYS[1], ttl)
mark_used(KEYS[1], ARGV[1], KEYS[5], ARGV[7], ARGV[10])
return 'ok'
"""

_REQUEUE = _COMMON + """
-- KEYS: conv, from_chats, queue, coded; ARGV: cid, from_id, from_name, note, now_ms, idle, keep.
-- Back to the front of the queue: ahead of everyone waiting.
if redis.call('HGET', KEYS[1], 'state') ~= 'active' or redis.call('HGET', KEYS[1], 'staff') ~= ARGV[2] then
  return 'not_yours'
end
local score = tonumber(ARGV[5])
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if first[2] and tonumber(first[2]) <= score then score = tonumber(first[2]) - 1 end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'queued_at', string.format('%d', score))
redis.call('HDEL', KEYS[1], 'staff', 'staff_name', 'taken_at')
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], score, ARGV[1])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[1] .. ':n', '*', 'k', 'requeue', 'n', ARGV[3], 't', ARGV[4], 'ts', ARGV[5])
end
local ttl = ttl_for(KEYS[1], ARGV[6], ARGV[7])
expire_all(KEYS[1], ttl)
extend(KEYS[3], ttl)
mark_used(KEYS[1], ARGV[1], KEYS[4], ARGV[5], ARGV[7])
return 'ok'
"""

_SET_LANG = """
-- KEYS: conv; ARGV: lang. Only on a conversation that still exists (a new hash would never expire).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'lang', ARGV[1])
return 1
"""

_CLAIM_CLASSIFICATION = """
-- KEYS: conv; ARGV: staff_id. Once per ended chat, by the counselor who had it.
if redis.call('HGET', KEYS[1], 'state') ~= 'ended' then return 'not_ended' end
if redis.call('HGET', KEYS[1], 'staff') ~= ARGV[1] then return 'not_yours' end
if redis.call('HSETNX', KEYS[1], 'classified', '1') == 0 then return 'done' end
return 'ok'
"""

_OPEN_LETTER = """
-- KEYS: conv; ARGV: staff_id, staff_name, now_ms, held_until_ms. One counselor at a time; a
-- hold whose console stopped renewing it lapses.
if redis.call('HGET', KEYS[1], 'state') ~= 'letter' then return {'gone', ''} end
local holder = redis.call('HGET', KEYS[1], 'holder')
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'held_until') or '0')
if holder and holder ~= ARGV[1] and until_ms > tonumber(ARGV[3]) then
  return {'held', redis.call('HGET', KEYS[1], 'holder_name') or ''}
end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'holder_name', ARGV[2], 'held_until', ARGV[4])
return {'ok', ''}
"""

_CLOSE_LETTER = """
-- KEYS: conv; ARGV: staff_id
if redis.call('HGET', KEYS[1], 'holder') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'holder', 'holder_name', 'held_until')
return 1
"""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Entry:
    """One entry of a conversation's stream: a message or an event (join, end, returned)."""

    id: str
    kind: str
    sender: str
    text: str = ""
    name: str = ""
    ts: int = 0
    client_id: str = ""
    reason: str = ""

    @classmethod
    def from_stream(cls, entry_id: str, fields: dict[str, str]) -> Entry:
        return cls(
            id=entry_id,
            kind=fields.get("k", ""),
            sender=fields.get("f", ""),
            text=fields.get("t", ""),
            name=fields.get("n", ""),
            ts=int(fields.get("ts", "0")),
            client_id=fields.get("c", ""),
            reason=fields.get("r", ""),
        )

    def to_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "entry", "id": self.id, "kind": self.kind,
                                 "from": self.sender, "ts": self.ts}
        if self.kind == "msg":
            frame["text"] = self.text
            frame["client_id"] = self.client_id
        if self.name:
            frame["name"] = self.name
        if self.reason:
            frame["reason"] = self.reason
        return frame


@dataclass(frozen=True)
class Note:
    """A private staff note on a conversation (`kind` note), or the note of a hand-over (`transfer`,
    `requeue`). Never sent on the visitor's socket."""

    id: str
    kind: str
    name: str
    text: str
    ts: int
    to: str = ""

    def to_frame(self, cid: str) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "note", "conv": cid, "id": self.id, "kind": self.kind,
                                 "name": self.name, "text": self.text, "ts": self.ts}
        if self.to:
            frame["to"] = self.to
        return frame


@dataclass(frozen=True)
class Conversation:
    """What the service knows about one conversation (never who the visitor is)."""

    id: str
    state: str
    lang: str
    queued_at: int
    staff_id: str
    staff_name: str
    visitor_ack: str
    counselor_ack: str
    recent: str
    """The visitor's repeat memory (app/chat/screening.py)."""

    @classmethod
    def from_hash(cls, cid: str, fields: dict[str, str]) -> Conversation:
        return cls(
            id=cid,
            state=fields.get("state", ""),
            lang=fields.get("lang", "sv"),
            queued_at=int(fields.get("queued_at", "0")),
            staff_id=fields.get("staff", ""),
            staff_name=fields.get("staff_name", ""),
            visitor_ack=fields.get("ack_visitor", "0-0"),
            counselor_ack=fields.get("ack_counselor", "0-0"),
            recent=fields.get("recent", ""),
        )


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order of stream ids ("ms-seq"), for comparing acknowledgements."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Admission:
    """What a visitor's message must pass, checked in the same step as storing it (one round trip):
    the session's token bucket, and the repeat check the caller made from the session's memory."""

    capacity: int
    refill_per_ms: float
    floor: int
    """Refused messages still take a token down to this, so that a flood is recognised."""
    base: str
    """The repeat memory `repeat` and `memory` were worked out from. If the stored one is another
    (a second socket of the session wrote meanwhile), nothing happens: the answer is "stale", with
    the stored memory to work it out again."""
    memory: str
    """The memory to keep with the message."""
    repeat: bool
    """The message is one the session has just sent too often: refused, after taking its token."""


@dataclass(frozen=True)
class Appended:
    """The outcome of appending a message."""

    status: str
    """"ok" (stored now), "duplicate" (the same client id was stored before: a re-send after a
    reconnect), or, for an admission, "limited", "repeated" or "stale" (nothing stored)."""
    id: str = ""
    letter: bool = False
    """The conversation is a letter: the counselors' list of letters changed."""
    tokens: float = 0.0
    """An admission's tokens left after this message (below 0: over the rate limit)."""
    recent: str = ""
    """With "stale": the session's stored repeat memory."""
    entry: Entry | None = None
    """With "ok": the entry as stored."""
    prev: str = ""
    """With "ok": the id of the entry stored just before it."""

    @property
    def new(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Restored:
    """A conversation reopened with its return code, under a new visitor token."""

    token: str
    cid: str
    state: str


class ConversationStore:
    """The narrow interface between the chat handlers and Redis."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, secret_key: str) -> None:
        self.redis = redis
        self.keys = keys
        self._secret = secret_key.encode()
        self.codes = CodeHasher(secret_key)
        # staff_chats(id) == _staff_prefix + id + ":chats"; the scripts build it the same way.
        self._staff_prefix = keys.staff_chats("\0").split("\0")[0]
        self._conv_prefix = keys.conversation("")
        self._create = redis.register_script(_CREATE)
        self._take = redis.register_script(_TAKE)
        self._append = redis.register_script(_APPEND)
        self._end = redis.register_script(_END)
        self._touch = redis.register_script(_TOUCH)
        self._take_token = redis.register_script(_TAKE_TOKEN)
        self._set_lang = redis.register_script(_SET_LANG)
        self._set_code = redis.register_script(_SET_CODE)
        self._create_letter = redis.register_script(_CREATE_LETTER)
        self._restore = redis.register_script(_RESTORE)
        self._open_letter = redis.register_script(_OPEN_LETTER)
        self._close_letter = redis.register_script(_CLOSE_LETTER)
        self._note = redis.register_script(_NOTE)
        self._transfer = redis.register_script(_TRANSFER)
        self._requeue = redis.register_script(_REQUEUE)
        self._claim_classification = redis.register_script(_CLAIM_CLASSIFICATION)

    def token_hash(self, token: str) -> str:
        """Keyed hash of a session token, so a copy of Redis holds no usable token."""
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[:40]

    def keyed_hash(self, kind: str, value: str) -> str:
        """Keyed hash of a client's address or a phone number: a counter's name, never the value."""
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def client_hash(self, address: str) -> str:
        return self.keyed_hash("client", address)

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)  # 256 bits; the visitor's only credential

    async def create(self, lang: str, queue_max: int) -> tuple[str, str]:
        """Start a conversation in the queue; return (visitor token, conversation id)."""
        token = self.new_token()
        cid = secrets.token_urlsafe(16)
        k = self.keys
        created = await self._create(
            keys=[k.queue, k.conversation(cid), k.visitor(self.token_hash(token))],
            args=[queue_max, cid, now_ms(), lang, k.idle_seconds],
        )
        if not created:
            raise QueueFull()
        return token, cid

    async def resolve(self, token: str) -> str | None:
        """The conversation a visitor token belongs to, if it still exists."""
        if not token or len(token) > 100:
            return None
        cid = await self.redis.get(self.keys.visitor(self.token_hash(token)))
        return cast(str | None, cid)

    async def forget_visitor(self, token: str) -> None:
        """Invalidate a visitor token at once (the conversation stays for its retention)."""
        if token and len(token) <= 100:
            await self.redis.delete(self.keys.visitor(self.token_hash(token)))

    async def get(self, cid: str) -> Conversation | None:
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.conversation(cid)))
        return Conversation.from_hash(cid, fields) if fields else None

    async def append(self, cid: str, sender: str, text: str, client_id: str, staff_id: str = "",
                     admission: Admission | None = None) -> Appended:
        """Append a message once per client id, and announce it on the conversation's channel with
        the entry; a counselor's (`staff_id`) only while they hold it, a visitor's only if it passes
        its `admission` (a re-send of a stored one needs none)."""
        k = self.keys
        a = admission
        admitting = [a.capacity, a.refill_per_ms, a.floor, a.base, a.memory, int(a.repeat)] if a else [""] * 6
        now = now_ms()
        status, *rest = await self._append(
            keys=[k.conversation(cid), k.queue, k.coded, k.letters],
            args=[client_id, sender, text, now, k.idle_seconds, self._staff_prefix, cid,
                  k.return_seconds, staff_id, k.conversation_channel(cid), *admitting],
        )
        if status in ("gone", "ended"):
            raise Gone(status)
        if status == "not_yours":
            raise NotAllowed()
        if status == "stale":
            return Appended(status, recent=rest[0])
        if status in ("limited", "repeated"):
            return Appended(status, tokens=float(rest[0]))
        if status == "duplicate":
            return Appended(status, rest[0], rest[1] == "letter")
        entry_id, state, tokens, prev = rest
        entry = Entry(entry_id, "msg", sender, text, ts=now, client_id=client_id)
        return Appended(status, entry_id, state == "letter", float(tokens or 0), entry=entry, prev=prev)

    async def read_after(self, cid: str, last_id: str, count: int = 200) -> list[Entry]:
        """Entries after `last_id`, oldest first."""
        rows = cast(
            list[tuple[str, dict[str, str]]],
            await self.redis.xrange(self.keys.messages(cid), min=f"({last_id}", count=count),
        )
        return [Entry.from_stream(entry_id, fields) for entry_id, fields in rows]

    async def take(self, cid: str, staff_id: str, staff_name: str) -> bool:
        """Give a waiting conversation to one counselor; exactly one caller wins."""
        k = self.keys
        taken = await self._take(
            keys=[k.queue, k.conversation(cid), k.staff_chats(staff_id), k.coded],
            args=[cid, staff_id, staff_name, now_ms(), k.idle_seconds, k.return_seconds],
        )
        return bool(taken)

    async def end(self, cid: str, by: str, reason: str = "", unused_before: int = 0,
                  staff_id: str = "") -> bool:
        """End a conversation; its keys expire after the retention time.

        `reason` is empty for an ordinary end, "left" when the visitor used the quick exit,
        or "idle" when a coded conversation was left unused. With `unused_before` (ms), it
        ends only if it has not been used since then (the sweeper's check, made atomic). With
        `staff_id`, only while that counselor holds it.
        """
        k = self.keys
        ended = await self._end(
            keys=[k.queue, k.conversation(cid), k.chat_minutes, k.coded, k.letters],
            args=[cid, by, now_ms(), k.retention_seconds, self._staff_prefix,
                  STATS_SAMPLES, STATS_SECONDS, reason, k.return_seconds, unused_before, staff_id],
        )
        return bool(ended)

    async def touch(self, *cids: str) -> None:
        """Keep running conversations alive while someone is connected (all in one script: a pipeline
        of scripts would first ask SCRIPT EXISTS, a round trip more)."""
        if not cids:
            return
        k = self.keys
        await self._touch(keys=[k.queue, k.coded, *map(k.conversation, cids)],
                          args=[k.idle_seconds, self._staff_prefix, now_ms(), k.return_seconds, *cids])

    async def acknowledge(self, cid: str, party: str, entry_id: str) -> bool:
        """Record that `party` has received everything up to `entry_id`; True if it moved."""
        key = self.keys.conversation(cid)
        field = f"ack_{party}"
        current = cast(str | None, await self.redis.hget(key, field))
        if current and stream_id_key(current) >= stream_id_key(entry_id):
            return False
        # A late, smaller ack racing a larger one only delays a tick; the next ack fixes it.
        await self.redis.hset(key, field, entry_id)
        return True

    async def set_lang(self, cid: str, lang: str) -> bool:
        """The visitor switched language: counselors see the new one, and canned responses follow it."""
        return bool(await self._set_lang(keys=[self.keys.conversation(cid)], args=[lang]))

    async def take_token(self, cid: str, capacity: int, window_seconds: int, floor: int) -> float:
        """Take one message's token from the session's bucket (`capacity` per `window_seconds`,
        refilled steadily); the tokens left, below 0 when this message is over the limit."""
        left = await self._take_token(keys=[self.keys.conversation(cid)],
                                      args=[capacity, capacity / (window_seconds * 1000), now_ms(), floor])
        return float(left)

    # Return codes and letters.
    async def _unused_code(self) -> tuple[str, str]:
        """A fresh code and the key it would be stored under."""
        code = return_codes.new_code()
        return code, self.keys.return_code(await self.codes.hash(code))

    async def set_code(self, cid: str) -> str:
        """Give a conversation a (new) return code and the return retention; return the code."""
        k = self.keys
        for _ in range(CODE_ATTEMPTS):
            code, code_key = await self._unused_code()
            status = await self._set_code(keys=[k.conversation(cid), code_key, k.coded, k.queue],
                                          args=[cid, now_ms(), k.return_seconds])
            if status == "gone":
                raise Gone()
            if status == "ok":
                return code
        raise RuntimeError("no unused return code found")  # 10**16 codes: never in practice

    async def create_letter(self, lang: str, text: str, letters_max: int) -> tuple[str, str]:
        """Leave a message for the counselors; return (visitor token, return code)."""
        k = self.keys
        token, cid = self.new_token(), secrets.token_urlsafe(16)
        client_id = secrets.token_hex(12)
        for _ in range(CODE_ATTEMPTS):
            code, code_key = await self._unused_code()
            status = await self._create_letter(
                keys=[k.letters, k.conversation(cid), k.visitor(self.token_hash(token)), code_key],
                args=[letters_max, cid, now_ms(), lang, k.return_seconds, text, client_id],
            )
            if status == "full":
                raise LettersFull()
            if status == "ok":
                return token, code
        raise RuntimeError("no unused return code found")  # 10**16 codes: never in practice

    async def restore(self, code: str, live: bool, queue_max: int) -> Restored | None:
        """Reopen the conversation a code belongs to, under a new visitor token; None if none.

        An ended conversation goes back into the queue when `live` (someone can answer now)
        and the queue has room; otherwise it becomes a letter the visitor can write in.
        """
        k = self.keys
        token = self.new_token()
        code_key = k.return_code(await self.codes.hash(code))
        state, cid = await self._restore(
            keys=[code_key, k.queue, k.coded, k.letters, k.visitor(self.token_hash(token))],
            args=[self._conv_prefix, now_ms(), k.return_seconds, "1" if live else "0", queue_max],
        )
        return None if state == "unknown" else Restored(token, cid, state)

    async def open_letter(self, cid: str, staff_id: str, staff_name: str) -> tuple[str, str]:
        """Hold a letter for one counselor (or renew the hold): ("ok" | "held" | "gone", holder)."""
        status, holder = await self._open_letter(
            keys=[self.keys.conversation(cid)],
            args=[staff_id, staff_name, now_ms(), now_ms() + LETTER_HOLD_SECONDS * 1000],
        )
        return status, holder

    async def close_letter(self, cid: str, staff_id: str) -> bool:
        """Let go of a letter this counselor holds."""
        return bool(await self._close_letter(keys=[self.keys.conversation(cid)], args=[staff_id]))

    # Staff: notes, hand-overs, classification.
    async def add_note(self, cid: str, staff_id: str, staff_name: str, text: str) -> str:
        """Add a private note to a conversation its counselor holds; its id, or "" if refused."""
        return str(await self._note(keys=[self.keys.conversation(cid)],
                                    args=[staff_id, staff_name, text, now_ms()]))

    async def notes_after(self, cid: str, last_id: str = "0-0") -> list[Note]:
        rows = cast(list[tuple[str, dict[str, str]]],
                    await self.redis.xrange(self.keys.notes(cid), min=f"({last_id}"))
        return [Note(entry_id, f.get("k", ""), f.get("n", ""), f.get("t", ""), int(f.get("ts", "0")),
                     f.get("to", "")) for entry_id, f in rows]

    async def transfer(self, cid: str, staff_id: str, staff_name: str, to_id: str, to_name: str,
                       note: str) -> str:
        """Hand a running chat to a colleague on duty: "ok", "not_yours", "self" or "not_on_duty"."""
        k = self.keys
        now = time.time()
        return str(await self._transfer(
            keys=[k.conversation(cid), k.staff_chats(staff_id), k.staff_chats(to_id), k.staff_online,
                  k.coded],
            args=[cid, staff_id, staff_name, to_id, to_name, note, int(now * 1000), now,
                  k.idle_seconds, k.return_seconds],
        ))

    async def requeue(self, cid: str, staff_id: str, staff_name: str, note: str) -> bool:
        """Put a running chat back at the front of the queue; False if it is not this counselor's."""
        k = self.keys
        status = await self._requeue(
            keys=[k.conversation(cid), k.staff_chats(staff_id), k.queue, k.coded],
            args=[cid, staff_id, staff_name, note, now_ms(), k.idle_seconds, k.return_seconds],
        )
        return bool(status == "ok")

    async def claim_classification(self, cid: str, staff_id: str) -> str:
        """Allow one classification of an ended chat by its counselor: "ok", "not_ended",
        "not_yours" or "done"."""
        return str(await self._claim_classification(keys=[self.keys.conversation(cid)], args=[staff_id]))

    # The queue.
    async def position(self, cid: str) -> int | None:
        rank = cast(int | None, await self.redis.zrank(self.keys.queue, cid))
        return None if rank is None else rank + 1

    async def queue_length(self) -> int:
        return int(await self.redis.zcard(self.keys.queue))

    async def recent_chat_minutes(self) -> list[float]:
        return [float(v) for v in await self.redis.lrange(self.keys.chat_minutes, 0, -1)]

    async def staff_chats(self, staff_id: str) -> list[Conversation]:
        cids = cast(set[str], await self.redis.smembers(self.keys.staff_chats(staff_id)))
        conversations = [await self.get(cid) for cid in sorted(cids)]
        return [c for c in conversations if c is not None and c.state == "active"]
