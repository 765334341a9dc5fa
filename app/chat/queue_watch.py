"""One watcher per process keeps the waiting queue's snapshot and wakes the local sockets.

Without it every counselor console and every waiting visitor would re-read the whole
queue on every change: O(sockets x queue) Redis work per change. The watcher reads it
once per burst of changes (debounced) and hands the same snapshot to every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import cast

from redis.exceptions import RedisError

from app import log
from app.chat.relay import Relay, Subscription
from app.chat.store import ConversationStore, now_ms
from app.staff.presence import Presence

DEBOUNCE_SECONDS = 0.1
REFRESH_SECONDS = 10.0
"""Also refresh this often without changes: waiting times grow, counselors come and go."""


@dataclass(frozen=True)
class Waiting:
    conv: str
    lang: str
    queued_at: int


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue at one moment, with what visitors and counselors are shown about it."""

    items: tuple[Waiting, ...] = ()
    counselors_online: int = 0
    recent_chat_minutes: tuple[float, ...] = ()
    taken_at: int = 0
    positions: dict[str, int] = field(default_factory=dict)

    def staff_frame(self) -> dict[str, object]:
        now = now_ms()
        return {"type": "queue", "items": [
            {"conv": w.conv, "lang": w.lang, "waiting_seconds": max(0, (now - w.queued_at) // 1000)}
            for w in self.items
        ]}


class QueueWatch:
    """Keeps `snapshot` current and delivers a queue event to every watching subscription."""

    def __init__(self, store: ConversationStore, presence: Presence, relay: Relay) -> None:
        self.store = store
        self.presence = presence
        self.relay = relay
        self.snapshot = QueueSnapshot()
        self._watchers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, subscription: Subscription) -> None:
        self._watchers.add(subscription)

    def unwatch(self, subscription: Subscription) -> None:
        self._watchers.discard(subscription)

    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="queue-watch")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> None:
        store = self.store
        entries = cast(
            list[tuple[str, float]],
            await store.redis.zrange(store.keys.queue, 0, -1, withscores=True),
        )
        async with store.redis.pipeline(transaction=False) as pipe:
            for cid, _ in entries:
                pipe.hget(store.keys.conversation(cid), "lang")
            languages = await pipe.execute()
        items = tuple(
            Waiting(cid, lang, int(score))
            for (cid, score), lang in zip(entries, languages, strict=True) if lang is not None
        )
        self.snapshot = QueueSnapshot(
            items=items,
            counselors_online=await self.presence.count(),
            recent_chat_minutes=tuple(await store.recent_chat_minutes()),
            taken_at=now_ms(),
            positions={w.conv: index for index, w in enumerate(items, start=1)},
        )
        channel = store.keys.queue_channel
        for subscription in list(self._watchers):
            subscription.deliver(channel, {"kind": "queue"})

    async def _run(self) -> None:
        async with self.relay.subscription(self.store.keys.queue_channel) as changes:
            while True:
                try:
                    await asyncio.wait_for(changes.events.get(), REFRESH_SECONDS)
                    await asyncio.sleep(DEBOUNCE_SECONDS)  # let a burst of changes settle
                    while not changes.events.empty():
                        changes.events.get_nowait()
                except TimeoutError:
                    pass
                try:
                    await self.refresh()
                except (RedisError, OSError):
                    log.event("queue_watch.redis_unavailable")
                    await asyncio.sleep(1)
