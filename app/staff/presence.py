"""Which counselors are on duty: a heartbeat from each open console."""

from __future__ import annotations

import time
from typing import cast

import redis.asyncio as aioredis

from app.keys import PRESENCE_SECONDS, Keys


class Presence:
    """Counselors count as on duty while their console keeps sending heartbeats."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def heartbeat(self, username: str) -> None:
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.staff_online, {username: now + PRESENCE_SECONDS})
            pipe.zremrangebyscore(self.keys.staff_online, "-inf", now)
            pipe.expire(self.keys.staff_online, PRESENCE_SECONDS)
            await pipe.execute()

    async def leave(self, username: str) -> None:
        await self.redis.zrem(self.keys.staff_online, username)

    async def count(self) -> int:
        return int(await self.redis.zcount(self.keys.staff_online, time.time(), "+inf"))

    async def online(self) -> frozenset[str]:
        """The usernames of the counselors on duty now."""
        names = await self.redis.zrangebyscore(self.keys.staff_online, time.time(), "+inf")
        return frozenset(cast(list[str], names))
