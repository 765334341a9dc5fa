"""Conversations in Redis: creating, queueing, taking, appending, reading and ending them.

Handlers never speak raw Redis: they call these functions. Each change that must be
atomic across processes (enqueue under a cap, take, append without duplicates, end) is
one Lua script, so two processes racing see one winner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from app.errors import Gone, QueueFull
from app.keys import STATS_SECONDS, Keys

STATS_SAMPLES = 20
"""How many recent chat lengths feed the wait estimate."""

# Every per-conversation key derives from the conversation hash's name, so the
# scripts can reach them all; the visitor key's name is stored in the hash.
_EXPIRE_ALL = """
local function expire_all(conv, ttl)
  redis.call('EXPIRE', conv, ttl)
  redis.call('EXPIRE', conv .. ':m', ttl)
  redis.call('EXPIRE', conv .. ':s', ttl)
  local vkey = redis.call('HGET', conv, 'vkey')
  if vkey then redis.call('EXPIRE', vkey, ttl) end
end
-- A waiting conversation keeps the queue alive; a running one its counselor's set of chats.
local function keep_queue(conv, queue, ttl)
  if redis.call('HGET', conv, 'state') == 'waiting' then redis.call('EXPIRE', queue, ttl) end
end
local function keep_staff_set(conv, staff_prefix, ttl)
  local staff = redis.call('HGET', conv, 'staff')
  if staff then redis.call('EXPIRE', staff_prefix .. staff .. ':chats', ttl) end
end
"""

_CREATE = """
-- KEYS: queue, conv, vkey; ARGV: max, cid, now_ms, lang, ttl
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'state', 'waiting', 'lang', ARGV[4], 'created', ARGV[3],
           'queued_at', ARGV[3], 'vkey', KEYS[3])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_TAKE = _EXPIRE_ALL + """
-- KEYS: queue, conv, staff_chats; ARGV: cid, staff_id, staff_name, now_ms, ttl
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], 'state') ~= 'waiting' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'active', 'staff', ARGV[2], 'staff_name', ARGV[3],
           'taken_at', ARGV[4])
redis.call('XADD', KEYS[2] .. ':m', '*', 'k', 'join', 'f', 'counselor', 'n', ARGV[3],
           'ts', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[5])
expire_all(KEYS[2], ARGV[5])
return 1
"""

_APPEND = _EXPIRE_ALL + """
-- KEYS: conv, queue; ARGV: client_id, from, text, now_ms, ttl, staff_prefix
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'gone', ''} end
if state == 'ended' then return {'ended', ''} end
local existing = redis.call('HGET', KEYS[1] .. ':s', ARGV[1])
if existing then return {'duplicate', existing} end
local id = redis.call('XADD', KEYS[1] .. ':m', '*', 'k', 'msg', 'f', ARGV[2], 't', ARGV[3],
                      'ts', ARGV[4], 'c', ARGV[1])
redis.call('HSET', KEYS[1] .. ':s', ARGV[1], id)
expire_all(KEYS[1], ARGV[5])
keep_queue(KEYS[1], KEYS[2], ARGV[5])
keep_staff_set(KEYS[1], ARGV[6], ARGV[5])
return {'ok', id}
"""

_END = _EXPIRE_ALL + """
-- KEYS: queue, conv, stats; ARGV: cid, by, now_ms, retention_ttl, staff_chats_prefix,
--       stats_samples, stats_ttl, reason
local state = redis.call('HGET', KEYS[2], 'state')
if not state or state == 'ended' then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
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
redis.call('XADD', KEYS[2] .. ':m', '*', 'k', 'end', 'f', ARGV[2], 'ts', ARGV[3], 'r', ARGV[8])
expire_all(KEYS[2], ARGV[4])
return 1
"""

_COUNT = """
-- KEYS: conv; ARGV: window. The counter lives in the conversation hash, so it goes with it.
if redis.call('HGET', KEYS[1], 'rate_window') ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'rate_window', ARGV[1], 'rate_count', 1)
  return 1
end
return redis.call('HINCRBY', KEYS[1], 'rate_count', 1)
"""

_TOUCH = _EXPIRE_ALL + """
-- KEYS: conv, queue; ARGV: ttl, staff_prefix. An ended conversation keeps its retention TTL.
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'ended' then return 0 end
expire_all(KEYS[1], ARGV[1])
keep_queue(KEYS[1], KEYS[2], ARGV[1])
keep_staff_set(KEYS[1], ARGV[2], ARGV[1])
return 1
"""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Entry:
    """One entry of a conversation's stream: a message or an event (join, end)."""

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
        )


def stream_id_key(entry_id: str) -> tuple[int, int]:
    """Order of stream ids ("ms-seq"), for comparing acknowledgements."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class ConversationStore:
    """The narrow interface between the chat handlers and Redis."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, secret_key: str) -> None:
        self.redis = redis
        self.keys = keys
        self._secret = secret_key.encode()
        # staff_chats(id) == _staff_prefix + id + ":chats"; the scripts build it the same way.
        self._staff_prefix = keys.staff_chats("\0").split("\0")[0]
        self._create = redis.register_script(_CREATE)
        self._take = redis.register_script(_TAKE)
        self._append = redis.register_script(_APPEND)
        self._end = redis.register_script(_END)
        self._touch = redis.register_script(_TOUCH)
        self._count = redis.register_script(_COUNT)

    def token_hash(self, token: str) -> str:
        """Keyed hash of a session token, so a copy of Redis holds no usable token."""
        return hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()[:40]

    async def create(self, lang: str, queue_max: int) -> tuple[str, str]:
        """Start a conversation in the queue; return (visitor token, conversation id)."""
        token = secrets.token_urlsafe(32)  # 256 bits; the visitor's only credential
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

    async def append(self, cid: str, sender: str, text: str, client_id: str) -> tuple[str, bool]:
        """Append a message once per client id; return (entry id, whether it is new)."""
        status, entry_id = await self._append(
            keys=[self.keys.conversation(cid), self.keys.queue],
            args=[client_id, sender, text, now_ms(), self.keys.idle_seconds, self._staff_prefix],
        )
        if status in ("gone", "ended"):
            raise Gone(status)
        return entry_id, status == "ok"

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
            keys=[k.queue, k.conversation(cid), k.staff_chats(staff_id)],
            args=[cid, staff_id, staff_name, now_ms(), k.idle_seconds],
        )
        return bool(taken)

    async def end(self, cid: str, by: str, reason: str = "") -> bool:
        """End a conversation; its keys expire after the retention time.

        `reason` is empty for an ordinary end, or "left" when the visitor used the quick exit.
        """
        k = self.keys
        ended = await self._end(
            keys=[k.queue, k.conversation(cid), k.chat_minutes],
            args=[cid, by, now_ms(), k.retention_seconds, self._staff_prefix,
                  STATS_SAMPLES, STATS_SECONDS, reason],
        )
        return bool(ended)

    async def touch(self, cid: str) -> None:
        """Keep a running conversation alive while someone is connected."""
        await self._touch(keys=[self.keys.conversation(cid), self.keys.queue],
                          args=[self.keys.idle_seconds, self._staff_prefix])

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

    async def count_message(self, cid: str, window_seconds: int) -> int:
        """Count one message in the current rate window; return the window's count."""
        window = int(time.time()) // window_seconds
        return int(await self._count(keys=[self.keys.conversation(cid)], args=[window]))

    # The queue.
    async def position(self, cid: str) -> int | None:
        rank = cast(int | None, await self.redis.zrank(self.keys.queue, cid))
        return None if rank is None else rank + 1

    async def recent_chat_minutes(self) -> list[float]:
        return [float(v) for v in await self.redis.lrange(self.keys.chat_minutes, 0, -1)]

    async def staff_chats(self, staff_id: str) -> list[Conversation]:
        cids = cast(set[str], await self.redis.smembers(self.keys.staff_chats(staff_id)))
        conversations = [await self.get(cid) for cid in sorted(cids)]
        return [c for c in conversations if c is not None and c.state == "active"]
