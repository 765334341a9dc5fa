"""The process's pub/sub relay keeps every local subscription through Redis's hiccups.

Each test runs its own redis-server (tests/redis_servers.py), as they freeze it or cut its clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.chat.relay import QUEUE_SIZE, RESYNC, Relay, Subscription
from app.redis import connect
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.anyio

EVENT_SECONDS = 10.0
SUBSCRIBE_IN_FLIGHT_SECONDS = 0.3
"""Long enough for the listener to have sent its SUBSCRIBE to the frozen server."""


@pytest.fixture
async def client(ephemeral: RedisServer) -> AsyncIterator[aioredis.Redis]:
    redis = connect(ephemeral.url, max_connections=10)
    yield redis
    await redis.aclose()


async def next_event(subscription: Subscription) -> tuple[str, dict[str, Any]]:
    return await asyncio.wait_for(subscription.events.get(), EVENT_SECONDS)


async def test_a_channel_attached_while_the_listener_subscribes_is_not_left_out(
        ephemeral: RedisServer, client: aioredis.Redis):
    # The race CI found: a socket opened just as Redis came back joined a channel while the
    # listener's SUBSCRIBE (for the channels known before) was on its way; nobody subscribed it.
    relay = Relay(client, "sentinel")
    with ephemeral.paused():
        starting = asyncio.create_task(relay.start())
        await asyncio.sleep(SUBSCRIBE_IN_FLIGHT_SECONDS)
        late = Subscription(relay)
        await late.add("conversation")
    try:
        await starting
        await relay.publish("conversation", {"kind": "entry"})
        assert await next_event(late) == ("conversation", {"kind": "entry"})
    finally:
        await late.remove("conversation")
        await relay.stop()


async def test_when_redis_py_reconnects_by_itself_every_subscriber_is_told_to_re_read(
        ephemeral: RedisServer, client: aioredis.Redis):
    relay = Relay(client, "sentinel")
    await relay.start()
    try:
        async with relay.subscription("conversation") as subscription:
            # Redis drops the pub/sub connection; redis-py's retry reconnects and resubscribes
            # within the same read, so the listener itself sees no error. Whatever was published
            # in between is lost to this process: the subscribers must re-read their streams.
            with ephemeral.client() as admin:
                assert admin.client_kill_filter(_type="pubsub") == 1
            assert await next_event(subscription) == ("conversation", RESYNC)
            await relay.publish("conversation", {"kind": "entry"})
            assert await next_event(subscription) == ("conversation", {"kind": "entry"})
    finally:
        await relay.stop()


async def test_a_subscriber_that_fell_behind_is_told_to_re_read_what_it_missed(client: aioredis.Redis):
    # An entry's event can carry the entry, which a socket then sends on without reading the stream:
    # had the events of the last entries been dropped silently, it would never send those.
    subscription = Subscription(Relay(client, "sentinel"))
    for n in range(QUEUE_SIZE + 5):
        subscription.deliver("conversation", {"kind": "entry", "id": f"1-{n}"})
    taken = [await subscription.next() for _ in range(QUEUE_SIZE)]
    assert taken[-1] == ("conversation", {"kind": "entry", "id": f"1-{QUEUE_SIZE - 1}"})
    assert await subscription.next() == ("conversation", RESYNC)
    assert subscription.events.empty() and not subscription.missed  # told once


@pytest.fixture
async def relay(client: aioredis.Redis) -> AsyncIterator[Relay]:
    relay = Relay(client, "sentinel")
    await relay.start()
    yield relay
    await relay.stop()


async def test_an_entry_handed_over_here_is_not_given_again_when_redis_brings_it(relay: Relay):
    async with relay.subscription("conversation") as subscription:
        entry = {"kind": "entry", "id": "1-1", "prev": "0-0"}
        relay.deliver_here("conversation", entry)
        await relay.publish("conversation", entry)  # the copy the store's script publishes
        await relay.publish("conversation", {"kind": "typing"})  # events without an id still come
        await relay.publish("conversation", {"kind": "entry", "id": "1-2", "prev": "1-1"})
        assert await next_event(subscription) == ("conversation", entry)
        assert await next_event(subscription) == ("conversation", {"kind": "typing"})
        assert (await next_event(subscription))[1]["id"] == "1-2"
        assert subscription.events.empty()


async def test_when_redis_brings_an_entry_first_the_hand_over_is_not_given_again(relay: Relay):
    # The script's reply and its PUBLISH race: the listener may read the copy before the sender's link
    # hands the entry over. Then the acknowledgement of that entry (which names its id) must still come.
    async with relay.subscription("conversation") as subscription:
        entry = {"kind": "entry", "id": "1-1", "prev": "0-0"}
        await relay.publish("conversation", entry)
        assert await next_event(subscription) == ("conversation", entry)
        relay.deliver_here("conversation", entry)
        assert subscription.events.empty()
        ack = {"kind": "ack", "party": "counselor", "id": "1-1"}
        await relay.publish("conversation", ack)
        await relay.publish("conversation", {"kind": "entry"})  # re-read: names no entry
        assert await next_event(subscription) == ("conversation", ack)
        assert await next_event(subscription) == ("conversation", {"kind": "entry"})


async def test_an_acknowledgement_is_never_taken_for_a_copy_of_the_entry_it_names(relay: Relay):
    async with relay.subscription("conversation") as subscription:
        entry = {"kind": "entry", "id": "1-1", "prev": "0-0"}
        relay.deliver_here("conversation", entry)
        assert await next_event(subscription) == ("conversation", entry)
        ack = {"kind": "ack", "party": "visitor", "id": "1-1"}
        await relay.publish("conversation", ack)  # before Redis's copy of the entry has come
        await relay.publish("conversation", entry)
        assert await next_event(subscription) == ("conversation", ack)
        await relay.publish("conversation", {"kind": "typing"})
        assert await next_event(subscription) == ("conversation", {"kind": "typing"})
        assert subscription.events.empty()
