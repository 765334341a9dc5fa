"""Which counselors are on duty and which are offered new chats: a heartbeat from each open console.

Each counselor sets their own status. `available`: on duty and offered new chats (what the
visitor's "a counselor is available" counts); `busy`: on duty (can be handed a chat, sees the
queue) but not counted as available; `away`: not on duty at all.
"""

from __future__ import annotations

import time
from typing import cast

import redis.asyncio as aioredis

from app.keys import PRESENCE_SECONDS, Keys

STATUSES = ("available", "busy", "away")
DEFAULT_STATUS = "available"

_HEARTBEAT = """
-- KEYS: status, online, available; ARGV: username, status ('' for the one last chosen), default
-- status, now, until, presence seconds. Renews the counselor's presence under the status, in one
-- round trip (a console beats every few seconds), and drops everyone whose presence ran out.
local status = ARGV[2]
if status == '' then status = redis.call('GET', KEYS[1]) or ARGV[3] end
redis.call('SET', KEYS[1], status, 'EX', ARGV[6])
local function belong(key, member)
  if member then
    redis.call('ZADD', key, ARGV[5], ARGV[1])
    redis.call('EXPIRE', key, ARGV[6])
  else
    redis.call('ZREM', key, ARGV[1])
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[4])
end
belong(KEYS[2], status ~= 'away')
belong(KEYS[3], status == 'available')
return status
"""


class Presence:
    """Counselors count as on duty while their console keeps sending heartbeats."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._heartbeat = redis.register_script(_HEARTBEAT)

    async def heartbeat(self, username: str, status: str | None = None) -> str:
        """Renew the counselor's presence under their status (or a new one); return the status."""
        assert status is None or status in STATUSES
        now = time.time()
        k = self.keys
        return cast(str, await self._heartbeat(
            keys=[k.staff_status(username), k.staff_online, k.staff_available],
            args=[username, status or "", DEFAULT_STATUS, now, now + PRESENCE_SECONDS, PRESENCE_SECONDS]))

    async def leave(self, username: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.staff_online, username)
            pipe.zrem(self.keys.staff_available, username)
            await pipe.execute()

    async def count(self) -> int:
        """How many counselors are available for a new chat now."""
        return int(await self.redis.zcount(self.keys.staff_available, time.time(), "+inf"))

    async def online(self) -> frozenset[str]:
        """The usernames of the counselors on duty now (available or busy)."""
        names = await self.redis.zrangebyscore(self.keys.staff_online, time.time(), "+inf")
        return frozenset(cast(list[str], names))

    async def available(self) -> frozenset[str]:
        """The usernames of the counselors offered new chats now."""
        names = await self.redis.zrangebyscore(self.keys.staff_available, time.time(), "+inf")
        return frozenset(cast(list[str], names))
