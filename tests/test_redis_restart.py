"""The ephemeral Redis stops and comes back: visitors are told calmly, and the service recovers by itself.

Each test runs its own redis-server on a loopback port (tests/redis_servers.py), never a shared one;
the durable role stays on the test run's Redis, as it is a separate server in production.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    Socket,
    add_staff,
    history,
    is_entry,
    is_stored,
    staff_login,
    staff_socket,
    start_chat,
    taken_chat,
    visitor_socket,
)
from tests.redis_servers import RedisServer
from tests.servers import ServerProcess

pytestmark = pytest.mark.anyio

TOKEN = "m" * 40
RECOVER_SECONDS = 20.0
CLOSE_SECONDS = 20.0
"""Bounds: redis-py retries a failing command for a few seconds before giving up."""


@pytest.fixture
def app_server(start_server, redis_url: str, ephemeral: RedisServer) -> ServerProcess:
    server: ServerProcess = start_server(REDIS_URL=ephemeral.url, REDIS_DURABLE_URL=redis_url,
                                         METRICS_TOKEN=TOKEN)
    return server


async def readyz(server: ServerProcess) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        return await http.get("/readyz")


async def until_ready(server: ServerProcess, status: int) -> dict[str, Any]:
    """Poll /readyz until it answers `status` (bounded); return its body."""
    deadline = time.monotonic() + RECOVER_SECONDS
    while (response := await readyz(server)).status_code != status:
        assert time.monotonic() < deadline, f"/readyz never answered {status}"
        await asyncio.sleep(0.2)
    body: dict[str, Any] = response.json()
    return body


async def close_code(socket: Socket) -> int:
    """Read until the server closes the socket; the code it closed with."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            while True:
                await socket.connection.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else 1006


async def post_chat(server: ServerProcess) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "sv"}, timeout=20) as http:
        return await http.post("/api/chat", json={}, headers={"Origin": server.url})


async def talk(visitor: Socket, counselor: Socket, conv: str, word: str) -> str:
    """A message each way, each seen arriving on the other side; the id of the last."""
    tag = secrets.token_hex(4)
    await visitor.send({"type": "msg", "text": f"{word} från besökaren", "client_id": f"v{tag}"})
    assert (await counselor.until(is_entry("msg", "visitor")))["text"] == f"{word} från besökaren"
    await counselor.send({"type": "msg", "conv": conv, "text": f"{word} från rådgivaren",
                          "client_id": f"c{tag}"})
    entry = await visitor.until(is_entry("msg", "counselor"))
    assert entry["text"] == f"{word} från rådgivaren"
    last: str = entry["id"]
    return last


async def test_while_redis_is_away_visitors_are_told_and_after_a_cold_restart_new_chats_work(
        app_server: ServerProcess, ephemeral: RedisServer):
    server = app_server
    token = await start_chat(server)
    visitor, counselor, conv = await taken_chat(server, token=token)
    try:
        await talk(visitor, counselor, conv, "före")

        ephemeral.stop()
        assert await until_ready(server, 503) == {"ready": False, "reason": "redis is not answering"}
        # What the visitor writes now cannot be stored: the socket says "try again later" (1013),
        # not a server failure, and so does every reconnect until Redis is back.
        await visitor.send({"type": "msg", "text": "under avbrottet", "client_id": "vunder"})
        assert await close_code(visitor) == 1013
        again = await visitor_socket(server, token)
        assert await close_code(again) == 1013
        # A new visitor gets a clear refusal with somewhere else to turn, not a 500.
        response = await post_chat(server)
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "unavailable" and not body["letter"]
        assert "020-50 50 50" in body["message"] and "tekniskt avbrott" in body["message"]
        async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "sv"}, timeout=20) as http:
            # A page that needs Redis answers the same in a few words, not "Internal Server Error".
            page = await http.get("/")
            assert page.status_code == 503 and "020-50 50 50" in page.text
            # The process's own figures still answer.
            metrics = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200 and "nexus_sockets_connected" in metrics.text

        ephemeral.start()  # empty: nothing of the ephemeral role is ever on disk
        assert await until_ready(server, 200) == {"ready": True}
        # The old conversation is gone with the restart: its token opens nothing any more.
        old = await visitor_socket(server, token)
        assert await close_code(old) == 4401
        # A new chat works end to end: queue, taking, relay and messages both ways recovered by
        # themselves (the counselor logs in again: staff sessions are ephemeral too).
        visitor2, counselor2, conv2 = await taken_chat(server, name="Bo")
        try:
            await talk(visitor2, counselor2, conv2, "efter")
        finally:
            await visitor2.close()
            await counselor2.close()
        log = server.log_text()
        assert '"socket.redis_unavailable"' in log and '"relay.reconnected"' in log
        assert '"socket.failed"' not in log, [line for line in log.splitlines() if "socket.failed" in line]
    finally:
        await visitor.close()
        await counselor.close()


async def test_when_redis_comes_back_with_its_data_the_conversation_resumes(
        app_server: ServerProcess, ephemeral: RedisServer):
    server = app_server
    token = await start_chat(server)
    username, password = add_staff(server.env)
    cookie = await staff_login(server, username, password)
    visitor, counselor, conv = await taken_chat(server, token=token, cookie=cookie)
    try:
        last_id = await talk(visitor, counselor, conv, "före")

        # A restart that keeps the data, as a failover to the replica does (here: saved to a file in
        # the test's own directory and loaded again).
        ephemeral.stop(save=True)
        await until_ready(server, 503)
        await visitor.send({"type": "msg", "text": "skrivet under avbrottet", "client_id": "vunder"})
        assert await close_code(visitor) == 1013
        ephemeral.start()
        await until_ready(server, 200)

        # The console reconnects with the chats it shows (as staff.js does) and writes first.
        await counselor.close()
        counselor = await staff_socket(server, cookie, chats={conv: last_id})
        await counselor.send({"type": "msg", "conv": conv, "text": "är du kvar?", "client_id": "cefter"})
        await counselor.until(is_stored("counselor", "cefter"))
        # The visitor reconnects with its token and last id, and resends what was not stored.
        visitor = await visitor_socket(server, token, last_id=last_id)
        await visitor.send({"type": "msg", "text": "skrivet under avbrottet", "client_id": "vunder"})
        assert (await visitor.until(is_entry("msg", "counselor")))["text"] == "är du kvar?"
        assert (await counselor.until(is_entry("msg", "visitor")))["text"] == "skrivet under avbrottet"

        # Nothing lost, nothing twice: the whole conversation, read from the start.
        reader = await visitor_socket(server, token)
        try:
            entries = await history(reader, _text("skrivet under avbrottet"))
        finally:
            await reader.close()
        assert [e["text"] for e in entries if e["kind"] == "msg"] == [
            "före från besökaren", "före från rådgivaren", "är du kvar?", "skrivet under avbrottet"]
    finally:
        await visitor.close()
        await counselor.close()


def _text(text: str):
    return lambda entry: entry["kind"] == "msg" and entry["text"] == text
