"""One watcher per process keeps the waiting queue's and the letters' snapshot and wakes the local sockets.

Without it every counselor console and every waiting visitor would re-read the whole
queue on every change: O(sockets x queue) Redis work per change. The watcher reads it
once per burst of changes (debounced) and hands the same snapshot to every socket.
Changes to the letters are announced on the queue's channel too, so one watcher serves both.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from typing import Any, cast

from redis.exceptions import RedisError

from app import log
from app.chat.relay import Relay, Subscription
from app.chat.store import ConversationStore, now_ms
from app.shutdown import cancel_and_wait
from app.staff.presence import Presence

DEBOUNCE_SECONDS = 0.1
REFRESH_SECONDS = 10.0
"""Also refresh this often without changes: waiting times grow, counselors come and go."""

PREFER_SECONDS = 120
"""For this long after a returning visitor is back in the queue, the counselor they had (when
on duty) sees it first, marked for them, and the others see whom it waits for. Nobody is
stopped from taking it: a counselor who is on duty but busy must never keep the visitor waiting."""


def evidence_of(stored: str | None) -> tuple[str, ...]:
    """The distinct phrases of a conversation's `risk_evidence` ({label: [phrase, ...]} as JSON)."""
    found = json.loads(stored) if stored else {}
    return tuple(dict.fromkeys(phrase for phrases in found.values() for phrase in phrases))


@dataclass(frozen=True)
class Waiting:
    conv: str
    lang: str
    queued_at: int
    returning: bool = False
    prefer: str = ""
    """Username of the counselor a returning visitor had, if any."""
    prefer_name: str = ""
    risk: tuple[str, ...] = ()
    """Risk labels screening put on the conversation (comma-separated in its `risk` field), if any."""
    evidence: tuple[str, ...] = ()
    """The words that set them off, for the counselor (app/chat/screening.py)."""


@dataclass(frozen=True)
class Letter:
    """A message left for the counselors, as their list shows it (never its text)."""

    conv: str
    lang: str
    waiting_since: int
    replied: bool
    counselor: str
    """Who answered it last, if anyone: the visitor's follow-up is best answered by them."""
    opened_by: str
    """Who has it open now, if anyone."""


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue and the letters at one moment, with what visitors and counselors are shown."""

    items: tuple[Waiting, ...] = ()
    online: frozenset[str] = frozenset()
    """Counselors on duty (available or busy)."""
    available: frozenset[str] = frozenset()
    """Counselors offered new chats: what visitors are told is "available"."""
    recent_chat_minutes: tuple[float, ...] = ()
    taken_at: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    letters: tuple[Letter, ...] = ()

    @property
    def counselors_online(self) -> int:
        return len(self.available)

    def staff_frame(self, username: str) -> dict[str, object]:
        """The queue as one counselor's console shows it: theirs first."""
        now = now_ms()
        items: list[dict[str, Any]] = []
        for w in self.items:
            item: dict[str, Any] = {"conv": w.conv, "lang": w.lang,
                                    "waiting_seconds": max(0, (now - w.queued_at) // 1000)}
            if w.risk:
                item["risk"] = list(w.risk)
                item["evidence"] = list(w.evidence)
            if w.returning:
                item["returning"] = True
                if w.prefer in self.online and now - w.queued_at < PREFER_SECONDS * 1000:
                    if w.prefer == username:
                        item["for_you"] = True
                    else:
                        item["for_name"] = w.prefer_name
            items.append(item)
        items.sort(key=lambda item: not item.get("for_you"))  # stable: otherwise by arrival
        return {"type": "queue", "items": items}

    def letters_frame(self) -> dict[str, object]:
        now = now_ms()
        items = []
        for letter in self.letters:
            item: dict[str, Any] = {"conv": letter.conv, "lang": letter.lang, "replied": letter.replied,
                                    "waiting_seconds": max(0, (now - letter.waiting_since) // 1000)}
            if letter.counselor:
                item["counselor"] = letter.counselor
            if letter.opened_by:
                item["opened_by"] = letter.opened_by
            items.append(item)
        return {"type": "letters", "items": items}


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
            await cancel_and_wait(self._task)

    async def refresh(self) -> None:
        store = self.store
        keys = store.keys
        scored = list[tuple[str, float]]
        entries = cast(scored, await store.redis.zrange(keys.queue, 0, -1, withscores=True))
        letters = cast(scored, await store.redis.zrange(keys.letters, 0, -1, withscores=True))
        async with store.redis.pipeline(transaction=False) as pipe:
            for cid, _ in entries:
                pipe.hmget(keys.conversation(cid), "lang", "returning", "prefer", "prefer_name", "risk",
                           "risk_evidence", "queued_at")
            for cid, _ in letters:
                pipe.hmget(keys.conversation(cid), "state", "lang", "replied", "staff_name",
                           "holder_name", "held_until")
            rows = await pipe.execute()
        queue_rows, letter_rows = rows[:len(entries)], rows[len(entries):]
        # In queue order; the score is the arrival time, moved ahead for a risk signal, so the
        # time shown is the arrival kept in the hash.
        items = tuple(
            Waiting(cid, lang, int(queued_at or score), returning == "1", prefer or "", prefer_name or "",
                    tuple(label for label in (risk or "").split(",") if label), evidence_of(evidence))
            for (cid, score), (lang, returning, prefer, prefer_name, risk, evidence, queued_at)
            in zip(entries, queue_rows, strict=True)
            if lang is not None
        )
        snapshot = QueueSnapshot(
            items=items,
            online=await self.presence.online(),
            available=await self.presence.available(),
            recent_chat_minutes=tuple(await store.recent_chat_minutes()),
            taken_at=now_ms(),
            positions={w.conv: index for index, w in enumerate(items, start=1)},
            letters=self._letters(letters, letter_rows),
        )
        previous, self.snapshot = self.snapshot, snapshot
        # Waiting times move while anyone waits or a letter is listed; otherwise a refresh that
        # changed nothing wakes nobody (it would wake every console at once, every REFRESH_SECONDS).
        if snapshot.items or snapshot.letters or replace(previous, taken_at=snapshot.taken_at) != snapshot:
            channel = keys.queue_channel
            for subscription in list(self._watchers):
                subscription.deliver(channel, {"kind": "queue"})

    @staticmethod
    def _letters(entries: list[tuple[str, float]], rows: list[list[str | None]]) -> tuple[Letter, ...]:
        """Letters still waiting for an answer first, longest waiting first; then answered ones."""
        now = now_ms()
        letters = [
            Letter(cid, lang or "sv", int(score), replied == "1", staff_name or "",
                   holder_name if holder_name and int(held_until or 0) > now else "")
            for (cid, score), (state, lang, replied, staff_name, holder_name, held_until)
            in zip(entries, rows, strict=True)
            if state == "letter"
        ]
        return tuple(sorted(letters, key=lambda letter: (letter.replied, letter.waiting_since)))

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
