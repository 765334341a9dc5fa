"""Two server processes on one Redis: messages cross processes, reconnects lose nothing."""

import asyncio
import itertools

import pytest

from tests.clients import (
    ResumingClient,
    Socket,
    add_staff,
    first_waiting,
    is_entry,
    staff_login,
    staff_socket,
    start_chat,
    visitor_message,
    visitor_socket,
)

pytestmark = pytest.mark.anyio

MESSAGES = 1000
RECONNECT_EVERY = 100


@pytest.fixture
def two_servers(start_server):
    first = start_server(RATE_LIMIT_MESSAGES="100000")
    return first, start_server(env=first.env)


class FlakyVisitor(ResumingClient):
    """A visitor client like the browser's, connecting to the processes in turn."""

    def __init__(self, servers, token: str) -> None:
        turns = itertools.cycle(servers)
        super().__init__("visitor", lambda last_id: visitor_socket(next(turns), token, last_id),
                         visitor_message)

    async def drop(self) -> None:
        """Cut the connection abruptly (frames still in the buffer are lost), then reconnect."""
        self.socket.connection.transport.abort()
        await self.socket.connection.wait_closed()
        self.reconnects += 1
        await self.connect()

    async def read_available(self, timeout: float = 0.0) -> None:
        """Process frames already here; confirmations clear the resend list."""
        while True:
            try:
                frame = await self.socket.receive(timeout=timeout or 0.001)
            except TimeoutError:
                return
            self.handle(frame)


async def counselor_on(server) -> Socket:
    username, password = add_staff(server.env)
    return await staff_socket(server, await staff_login(server, username, password))


async def test_a_thousand_messages_cross_processes_through_reconnects(two_servers):
    a, b = two_servers
    token = await start_chat(a)
    visitor = FlakyVisitor((a, b), token)
    await visitor.connect()
    counselor = await counselor_on(b)
    conv = await first_waiting(counselor)
    await counselor.send({"type": "take", "conv": conv})
    await counselor.until(lambda f: f["type"] == "taken")

    # Visitor -> counselor, the visitor's connection cut every 100 messages.
    for n in range(MESSAGES):
        await visitor.send(n)
        await visitor.read_available()
        if n % RECONNECT_EVERY == RECONNECT_EVERY - 1:
            await visitor.drop()
    received: list[str] = []
    while len(received) < MESSAGES:
        frame = await counselor.until(is_entry("msg", "visitor"), timeout=30)
        received.append(frame["text"])
        await visitor.read_available()  # lets resends of cut-off messages go out
        if visitor.unconfirmed and len(received) % 50 == 0:
            await visitor.read_available(timeout=0.05)
    assert received == [f"visitor {n}" for n in range(MESSAGES)]
    assert visitor.reconnects == MESSAGES // RECONNECT_EVERY

    # Counselor -> visitor, the visitor reconnecting (to the other process) every 100 received.
    async def counselor_sends() -> None:
        for n in range(MESSAGES):
            await counselor.send({"type": "msg", "conv": conv, "text": f"counselor {n}",
                                  "client_id": f"c{n}"})

    sending = asyncio.create_task(counselor_sends())
    async with asyncio.timeout(60):
        while len(visitor.received) < MESSAGES:
            before = len(visitor.received)
            await visitor.read_available(timeout=0.05)
            if len(visitor.received) // RECONNECT_EVERY > before // RECONNECT_EVERY:
                await visitor.drop()
    await sending
    await visitor.read_available(timeout=0.5)  # anything duplicated would arrive now
    assert visitor.received == [f"counselor {n}" for n in range(MESSAGES)]
    # Nothing was duplicated in the stream either: the counselor sees no repeats.
    await visitor.socket.close()
    await counselor.close()


async def test_two_counselors_on_two_processes_race_and_exactly_one_wins(two_servers):
    a, b = two_servers
    counselors = [await counselor_on(a), await counselor_on(b)]
    for _ in range(20):
        await start_chat(a)
        conv = await first_waiting(counselors[0])
        await asyncio.gather(*(c.send({"type": "take", "conv": conv}) for c in counselors))
        results = [
            (await c.until(lambda f, conv=conv: f["type"] in ("taken", "take_failed")
                           and f["conv"] == conv))["type"]
            for c in counselors
        ]
        assert sorted(results) == ["take_failed", "taken"]
    for counselor in counselors:
        await counselor.close()


async def test_a_visitor_on_one_process_hears_a_counselor_on_the_other(two_servers):
    a, b = two_servers
    visitor = await visitor_socket(a, await start_chat(a))
    counselor = await counselor_on(b)
    conv = await first_waiting(counselor)
    await counselor.send({"type": "take", "conv": conv})
    assert (await visitor.until(is_entry("join")))["name"] == "Anna"
    await counselor.send({"type": "typing", "conv": conv})
    await visitor.until(lambda f: f["type"] == "typing")
    await counselor.send({"type": "msg", "conv": conv, "text": "hej från B", "client_id": "1"})
    assert (await visitor.until(is_entry("msg", "counselor")))["text"] == "hej från B"
    await visitor.close()
    await counselor.close()
