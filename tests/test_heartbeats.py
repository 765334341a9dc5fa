"""Heartbeats keep beating on busy sockets: a counselor whose console is woken all the time stays
on duty, and a visitor waiting in a busy queue keeps their conversation."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from app.config import load_settings
from app.keys import Keys
from tests.clients import counselor, first_waiting, is_stored, start_chat, visitor_socket

pytestmark = pytest.mark.anyio

IDLE_SECONDS = 3
"""The conversations' idle time; sockets then beat every second (a third of it)."""


async def busy_queue(server, seconds: float) -> None:
    """Start a chat every 0.3 s for `seconds`: every console and waiting visitor is woken each time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await start_chat(server)
        await asyncio.sleep(0.3)


async def test_a_console_woken_all_the_time_still_keeps_its_counselor_on_duty(start_server, redis_url):
    server = start_server(CONVERSATION_IDLE_SECONDS=str(IDLE_SECONDS), QUEUE_MAX="500")
    staff, username = await counselor(server)
    await staff.until(lambda f: f["type"] == "queue")
    keys = Keys.from_settings(load_settings(server.env))
    async with aioredis.Redis.from_url(redis_url, decode_responses=True) as redis:
        first = await redis.zscore(keys.staff_online, username)
        await busy_queue(server, 3.0)  # three heartbeats' time, never a quiet second
        later = await redis.zscore(keys.staff_online, username)
    assert first is not None and later is not None
    assert later > first + 1  # renewed while the queue kept the console busy
    await staff.close()


async def test_a_visitor_waiting_in_a_busy_queue_keeps_the_conversation(start_server):
    server = start_server(CONVERSATION_IDLE_SECONDS=str(IDLE_SECONDS), QUEUE_MAX="500")
    visitor = await visitor_socket(server, await start_chat(server))
    await visitor.until(lambda f: f["type"] == "state")
    await busy_queue(server, 2 * IDLE_SECONDS)  # longer than the idle time, never a quiet second
    await visitor.send({"type": "msg", "text": "är jag kvar i kön?", "client_id": "w1"})
    assert (await visitor.until(is_stored("visitor", "w1")))["client_id"] == "w1"
    await visitor.close()


async def test_a_console_keeps_every_chat_it_holds_while_their_visitors_are_away(start_server):
    server = start_server(CONVERSATION_IDLE_SECONDS=str(IDLE_SECONDS))
    staff, _ = await counselor(server)
    held: dict[str, str] = {}  # conv -> the visitor's token
    for _ in range(3):
        token = await start_chat(server)
        conv = await first_waiting(staff, exclude=set(held))
        await staff.send({"type": "take", "conv": conv})
        await staff.until(lambda f: f["type"] == "taken")
        held[conv] = token
    await asyncio.sleep(2 * IDLE_SECONDS)  # no visitor connected: only the console's beats keep them
    for conv, token in held.items():
        visitor = await visitor_socket(server, token)
        assert (await visitor.until(lambda f: f["type"] == "state"))["state"] == "active", conv
        await visitor.close()
    await staff.close()
