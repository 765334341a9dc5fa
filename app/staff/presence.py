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


class Presence:
    """Counselors count as on duty while their console keeps sending heartbeats."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def status(self, username: str) -> str:
        """The status the counselor last chose (kept while their console is open), else available."""
        chosen = cast(str | None, await self.redis.get(self.keys.staff_status(username)))
        return chosen if chosen in STATUSES else "available"

    async def heartbeat(self, username: str, status: str | None = None) -> str:
        """Renew the counselor's presence under their status (or a new one); return the status."""
        assert status is None or status in STATUSES
        status = status or await self.status(username)
        now = time.time()
        until = {username: now + PRESENCE_SECONDS}
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(k.staff_status(username), status, ex=PRESENCE_SECONDS)
            memberships = ((k.staff_online, status != "away"), (k.staff_available, status == "available"))
            for key, member in memberships:
                if member:
                    pipe.zadd(key, until)
                    pipe.expire(key, PRESENCE_SECONDS)
                else:
                    pipe.zrem(key, username)
                pipe.zremrangebyscore(key, "-inf", now)
            await pipe.execute()
        return status

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
