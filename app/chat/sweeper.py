"""Removes ids of expired conversations from shared sets, and ends coded ones left unused (counting both)."""

from __future__ import annotations

import asyncio
from typing import cast

from redis.exceptions import RedisError

from app import log
from app.chat.link import announce_change
from app.chat.relay import Relay
from app.chat.screening import RISK_LEAD_MS
from app.chat.store import ConversationStore, now_ms
from app.stats.counters import ChatPhase, Counters, wait_bucket

SWEEP_SECONDS = 30.0


async def sweep(store: ConversationStore, relay: Relay, counters: Counters) -> tuple[int, int]:
    """One pass; returns how many stale ids it removed and how many unused chats it ended."""
    redis, keys = store.redis, store.keys
    removed = 0
    for zset in (keys.queue, keys.coded, keys.letters):
        scored = cast(list[tuple[str, float]], await redis.zrange(zset, 0, -1, withscores=True))
        expired = await expired_of(store, [cid for cid, _ in scored])
        for cid, score in scored:
            if cid in expired:
                gone = await redis.zrem(zset, cid)  # 1 in one process only: it counts the chat
                removed += gone
                if gone and zset == keys.queue:
                    wait = wait_bucket(abandoned_wait(score, keys.idle_seconds))
                    await counters.add("chat.abandoned", wait=wait)
    async for set_key in redis.scan_iter(match=keys.staff_chats("*"), count=200):
        expired = await expired_of(store, list(cast(set[str], await redis.smembers(set_key))))
        if expired:
            removed += await redis.srem(set_key, *expired)
    # A conversation with a return code is not left to expire while it runs (its keys live
    # for the return TTL): once nobody has used it for the idle time, it is ended here, and
    # then kept for the return TTL so that the visitor can still come back to it.
    cutoff = now_ms() - keys.idle_seconds * 1000
    ended = 0
    for cid in cast(list[str], await redis.zrangebyscore(keys.coded, "-inf", f"({cutoff}")):
        before = await ChatPhase.read(store, cid)
        if await store.end(cid, "system", "idle", unused_before=cutoff):
            await counters.chat_end(before)
            await announce_change(store, relay, cid)
            ended += 1
    return removed, ended


async def expired_of(store: ConversationStore, cids: list[str]) -> set[str]:
    """Those of `cids` whose conversation has expired, asked in one round trip."""
    async with store.redis.pipeline(transaction=False) as pipe:
        for cid in cids:
            pipe.exists(store.keys.conversation(cid))
        found = await pipe.execute()
    return {cid for cid, exists in zip(cids, found, strict=True) if not exists}


def abandoned_wait(score: float, idle_seconds: int) -> float:
    """Seconds a chat that expired in the queue waited: from its arrival (its score, less the lead a risk
    signal gave it) until its visitor was last there, the idle time before it expired."""
    arrived = score + RISK_LEAD_MS if score < 0 else score
    return (now_ms() - arrived) / 1000 - idle_seconds


async def run(store: ConversationStore, relay: Relay, counters: Counters, interval: float = SWEEP_SECONDS
              ) -> None:
    """Sweep forever; an outage only delays the next pass."""
    while True:
        await asyncio.sleep(interval)
        try:
            removed, ended = await sweep(store, relay, counters)
            if removed:
                log.event("sweeper.removed", count=removed)
            if ended:
                log.event("sweeper.ended_unused", count=ended)
        except (RedisError, OSError):
            log.event("sweeper.redis_unavailable")
