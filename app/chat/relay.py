"""Cross-process wake-ups: one pub/sub connection per process, fanned out to local sockets.

Pub/sub wakes (a new message's event also carries the message, a shortcut for a party that
has everything before it); the conversation's stream stays the record. Whatever is published
while this process is not listening (Redis restarted, network blip) is recovered by a
`resync` event sent to every local subscriber after the connection comes back, which
makes each socket re-read its stream and state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app import log
from app.shutdown import cancel_and_wait

QUEUE_SIZE = 256
"""Events buffered per local subscriber. Past this they are dropped, and once the subscriber has
taken the rest it gets a `resync` for each channel that lost one: the event of a new entry may
carry the entry itself (sent on without reading the stream), so a lost one must make it re-read."""

RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

RESYNC: dict[str, Any] = {"kind": "resync"}


class Subscription:
    """The events of a changing set of channels, for one local socket."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self.channels: set[str] = set()
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUE_SIZE)
        self.missed: set[str] = set()
        """Channels with an event dropped since the queue was last empty."""

    async def add(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            await self._relay._attach(channel, self)

    async def remove(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            await self._relay._detach(channel, self)

    def deliver(self, channel: str, event: dict[str, Any]) -> None:
        try:
            self.events.put_nowait((channel, event))
        except asyncio.QueueFull:
            self.missed.add(channel)

    async def next(self) -> tuple[str, dict[str, Any]]:
        """The next event; after the queue overflowed and was emptied, a `resync` for each channel
        that lost an event."""
        if self.events.empty() and self.missed:
            return self.missed.pop(), RESYNC
        return await self.events.get()


class Relay:
    """Publish events to channels, and deliver them to this process's subscribers."""

    def __init__(self, redis: aioredis.Redis, sentinel_channel: str) -> None:
        self.redis = redis
        self._sentinel = sentinel_channel
        self._local: dict[str, set[Subscription]] = {}
        self._one_way: dict[str, str] = {}
        """Channel -> id of the entry whose event its subscribers here got one way (handed over in this
        process, or from Redis) and not yet the other: when it comes the other way, they are not
        given it again. Either may come first: the script's reply and its PUBLISH race."""
        self._pubsub: aioredis.client.PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self.redis.publish(channel, json.dumps(event))

    @asynccontextmanager
    async def subscription(self, *channels: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(self)
        try:
            for channel in channels:
                await subscription.add(channel)
            yield subscription
        finally:
            for channel in list(subscription.channels):
                await subscription.remove(channel)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="relay-listener")
        await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task:
            await cancel_and_wait(self._task)

    async def _attach(self, channel: str, subscription: Subscription) -> None:
        listeners = self._local.setdefault(channel, set())
        listeners.add(subscription)
        if len(listeners) == 1 and self._pubsub is not None and self.connected.is_set():
            # On failure the listener subscribes every local channel when it reconnects.
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.subscribe(channel)

    async def _detach(self, channel: str, subscription: Subscription) -> None:
        listeners = self._local.get(channel)
        if not listeners:
            return
        listeners.discard(subscription)
        if not listeners:
            del self._local[channel]
            self._one_way.pop(channel, None)
            if self._pubsub is not None and self.connected.is_set():
                with suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(channel)

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await self._subscribe_all(pubsub)
                self._pubsub = pubsub
                if attempt:
                    log.event("relay.reconnected", attempts=attempt)
                    self._broadcast(RESYNC)
                attempt = 0
                self.connected.set()
                # redis-py may reconnect this connection by itself (its retry), resubscribing
                # but unaware of what was published meanwhile: every local subscriber re-reads.
                if pubsub.connection is not None:
                    pubsub.connection.register_connect_callback(self._reconnected_quietly)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._dispatch(message["channel"], message["data"])
            except (RedisError, OSError):
                self.connected.clear()
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                if attempt == 1:
                    log.event("relay.disconnected")
                await asyncio.sleep(delay)
            finally:
                self._pubsub = None
                if pubsub.connection is not None:  # it goes back to the pool, for other commands
                    pubsub.connection.deregister_connect_callback(self._reconnected_quietly)
                with suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _subscribe_all(self, pubsub: aioredis.client.PubSub) -> None:
        """Subscribe to the sentinel and every local channel, including those attached or detached
        while a SUBSCRIBE was on its way (they found no connection to use and rely on this)."""
        subscribed: set[str] = set()
        while True:
            wanted = {self._sentinel, *self._local}
            missing, extra = wanted - subscribed, subscribed - wanted
            if not missing and not extra:
                return  # nothing awaited since `wanted` was read: the caller marks it connected now
            if missing:
                await pubsub.subscribe(*missing)
            if extra:
                await pubsub.unsubscribe(*extra)
            subscribed = (subscribed | missing) - extra

    async def _reconnected_quietly(self, connection: object) -> None:
        # redis-py has resubscribed what it knew; a channel whose SUBSCRIBE failed on the broken
        # connection (in `_attach`) it did not know.
        pubsub = self._pubsub
        if pubsub is not None and (missing := set(self._local) - set(pubsub.channels)):
            await pubsub.subscribe(*missing)
        log.event("relay.reconnected", attempts=0)
        self._broadcast(RESYNC)

    def deliver_here(self, channel: str, event: dict[str, Any]) -> None:
        """Give the event of an entry just published to this process's subscribers now, without waiting
        for Redis's copy, which is then not given to them again. (A subscriber that joins meanwhile
        reads the stream when it joins; one whose queue was full is told to re-read.)"""
        self._fan_out_once(channel, event["id"], event)

    def _dispatch(self, channel: str, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        # Only a new entry's event may be a second copy (an ack names an entry's id too; some entry
        # events name none, and only ask to re-read).
        if event.get("kind") == "entry" and isinstance(entry_id := event.get("id"), str):
            self._fan_out_once(channel, entry_id, event)
        else:
            self._fan_out(channel, event)

    def _fan_out_once(self, channel: str, entry_id: str, event: dict[str, Any]) -> None:
        """Fan out an entry's event unless it came the other way just before."""
        if channel not in self._local:
            return
        if self._one_way.get(channel) == entry_id:
            del self._one_way[channel]
            return
        self._one_way[channel] = entry_id
        self._fan_out(channel, event)

    def _fan_out(self, channel: str, event: dict[str, Any]) -> None:
        for subscription in list(self._local.get(channel, ())):
            subscription.deliver(channel, event)

    def _broadcast(self, event: dict[str, Any]) -> None:
        for channel, listeners in list(self._local.items()):
            for subscription in list(listeners):
                subscription.deliver(channel, event)
