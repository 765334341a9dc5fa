"""A conversation link in this process: what a message's sender hands to the other party's socket here."""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.chat.link import ConversationLink
from app.chat.protocol import Frame
from app.chat.relay import Relay
from app.metrics import Metrics
from app.stats.counters import Counters

pytestmark = pytest.mark.anyio


class Socket:
    """What a link sends, kept."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)

    def messages(self) -> list[str]:
        return [frame["text"] for frame in self.frames if frame.get("kind") == "msg"]


async def test_the_other_party_here_gets_a_message_without_waiting_for_redis_and_once(store):
    _, cid = await store.create("sv", queue_max=10)
    assert await store.take(cid, "anna", "Anna")
    # Never started: no copy of any event comes back from Redis, so what arrives was handed over here.
    relay = Relay(store.redis, store.keys.queue_channel)
    metrics = Metrics("", ())
    counters = Counters(store.redis, store.keys, ZoneInfo("Europe/Stockholm"))
    visitor_socket, counselor_socket = Socket(), Socket()
    visitor = ConversationLink(store, relay, cid, "visitor", visitor_socket.send, metrics, counters=counters)
    counselor = ConversationLink(store, relay, cid, "counselor", counselor_socket.send, metrics,
                                 staff_id="anna", counters=counters)
    await visitor.catch_up()  # the join
    await counselor.catch_up()
    async with relay.subscription(counselor.channel) as subscription:

        async def pump() -> dict[str, Any]:  # as the console's: the next event, acted on
            _, event = await subscription.next()
            await counselor.on_event(event)
            return event

        pumping = asyncio.create_task(pump())
        await asyncio.sleep(0)  # waiting for an event
        appended = await visitor.message(Frame(type="msg", text="hej", client_id="v1"))
        assert appended.new
        assert visitor_socket.messages() == ["hej"]  # its own entry: stored
        # Sent before the sender's task went on (to screen the message, for a visitor's).
        assert counselor_socket.messages() == ["hej"]
        await counselor.on_event(await pumping)  # the same event again: nothing sent twice
        assert counselor_socket.messages() == ["hej"]
        assert counselor.cursor == appended.id
