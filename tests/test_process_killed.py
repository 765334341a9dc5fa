"""A server process killed mid-conversation: both sides reconnect, through a load balancer, to the
other process and go on; every message arrives exactly once, in order."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import ConnectionClosed, WebSocketException

from tests.balancer import Balancer
from tests.clients import (
    ResumingClient,
    Socket,
    add_staff,
    first_waiting,
    history,
    staff_login,
    staff_socket,
    start_chat,
    visitor_message,
    visitor_socket,
)

pytestmark = pytest.mark.anyio

MESSAGES = 200
KILL_AFTER = 80
"""The visitor's process is killed once the visitor has sent this many messages."""
PAUSE_SECONDS = 0.005
RECONNECT_TRIES = 50


class Party(ResumingClient):
    """A side of the chat behind the balancer: retries while no process answers, reconnects when cut off."""

    async def open(self) -> Socket:
        for _ in range(RECONNECT_TRIES):
            try:
                return await super().open()
            except (OSError, TimeoutError, WebSocketException):
                await asyncio.sleep(0.1)  # the balancer found no process yet
        raise AssertionError(f"the {self.side} could not reconnect")

    async def reconnect(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        self.reconnects += 1
        await self.connect()

    async def send(self, n: int) -> None:
        try:
            await super().send(n)
        except ConnectionClosed:
            await self.reconnect()  # sends it again with the rest

    async def read(self, seconds: float) -> None:
        """Handle the frames that come within `seconds`; reconnect if the connection is lost."""
        assert self.socket is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                frame = await self.socket.receive(timeout=left)
            except TimeoutError:
                return
            except ConnectionClosed:
                await self.reconnect()
                continue
            self.handle(frame)

    async def chat(self) -> None:
        """Send every message a few milliseconds apart, reading meanwhile."""
        for n in range(MESSAGES):
            await self.send(n)
            await self.read(PAUSE_SECONDS)

    async def until_done(self, other: str) -> None:
        """Read until everything of the other side has come and all of this side's is stored."""
        while len(self.received) < MESSAGES or self.unconfirmed:
            await self.read(0.05)
        assert self.received == [f"{other} {n}" for n in range(MESSAGES)]


@pytest.fixture
def two_servers(start_server):
    first = start_server(RATE_LIMIT_MESSAGES="100000")
    return first, start_server(env=first.env)


@pytest.fixture
def balancer(two_servers):
    front = Balancer([server.port for server in two_servers]).start()
    yield front
    front.close()


async def test_killed_process_loses_and_doubles_nothing(two_servers, balancer):
    servers = two_servers
    token = await start_chat(servers[0])
    username, password = add_staff(servers[0].env)
    cookie = await staff_login(servers[0], username, password)
    visitor = Party("visitor", lambda last_id: visitor_socket(balancer, token, last_id), visitor_message)
    await visitor.connect()
    conv = ""
    counselor = Party("counselor",
                      lambda last_id: staff_socket(balancer, cookie, {conv: last_id} if conv else {}),
                      lambda client_id, text: {"type": "msg", "conv": conv, "text": text,
                                               "client_id": client_id})
    await counselor.connect()
    assert counselor.socket is not None
    conv = await first_waiting(counselor.socket)
    await counselor.socket.send({"type": "take", "conv": conv})
    await counselor.socket.until(lambda f: f["type"] == "taken")
    doomed = servers[balancer.backend_of("GET /ws/chat")]
    assert balancer.backend_of("GET /staff/ws") != balancer.backend_of("GET /ws/chat"), \
        "the counselor is on the other process"

    async def kill_midway() -> None:
        while visitor.sent < KILL_AFTER:
            await asyncio.sleep(PAUSE_SECONDS)
        doomed.process.kill()
        await asyncio.to_thread(doomed.process.wait, 10)

    async with asyncio.timeout(45):
        await asyncio.gather(visitor.chat(), counselor.chat(), kill_midway())
        await asyncio.gather(visitor.until_done("counselor"), counselor.until_done("visitor"))
    assert visitor.reconnects >= 1
    survivor = servers[1 - servers.index(doomed)]
    assert servers[balancer.backend_of("GET /ws/chat")] is survivor

    # The stream itself: each message once, each side's in the order sent.
    await visitor.send(MESSAGES)
    async with asyncio.timeout(10):
        while visitor.unconfirmed:
            await visitor.read(0.05)
    reader = await visitor_socket(survivor, token)
    entries = await history(reader, lambda e: e.get("text") == f"visitor {MESSAGES}")
    for side in ("visitor", "counselor"):
        texts = [e["text"] for e in entries if e["kind"] == "msg" and e["from"] == side]
        assert texts == [f"{side} {n}" for n in range(MESSAGES + (side == "visitor"))]
    for socket in (reader, visitor.socket, counselor.socket):
        assert socket is not None
        await socket.close()
