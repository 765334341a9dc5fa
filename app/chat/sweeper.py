"""Removes ids of conversations that expired unended from the queue and counselors' sets."""

from __future__ import annotations

import asyncio
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app import log
from app.keys import Keys

SWEEP_SECONDS = 30.0


async def sweep(redis: aioredis.Redis, keys: Keys) -> int:
    """One pass; returns how many stale ids it removed."""
    removed = 0
    for cid in cast(list[str], await redis.zrange(keys.queue, 0, -1)):
        if not await redis.exists(keys.conversation(cid)):
            removed += await redis.zrem(keys.queue, cid)
    async for set_key in redis.scan_iter(match=keys.staff_chats("*"), count=200):
        for cid in cast(set[str], await redis.smembers(set_key)):
            if not await redis.exists(keys.conversation(cid)):
                removed += await redis.srem(set_key, cid)
    return removed


async def run(redis: aioredis.Redis, keys: Keys, interval: float = SWEEP_SECONDS) -> None:
    """Sweep forever; an outage only delays the next pass."""
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await sweep(redis, keys)
            if removed:
                log.event("sweeper.removed", count=removed)
        except (RedisError, OSError):
            log.event("sweeper.redis_unavailable")
