"""A client that stops reading: the server drops it after SEND_TIMEOUT_SECONDS, holds only bounded
buffers meanwhile, other conversations go on, and the client catches up from the stream."""

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    Socket,
    add_staff,
    first_waiting,
    is_entry,
    is_stored,
    staff_login,
    start_chat,
    taken_chat,
)
from tests.conftest import StartServer
from tests.servers import ServerProcess

pytestmark = pytest.mark.anyio

TOKEN = "s" * 40
FLOOD = 1500
TEXT_CHARS = 30_000
"""The flood is about 45 MB: far more than the kernel's socket buffers take, so the server's writes to
the stalled client block."""
MEMORY_GROWTH_MIB = 25
"""Generous for what a stalled socket may hold (a transport buffer, one batch read from the stream), and
well under the flood: a server that buffered it for the stalled client fails (tried: 41 MiB)."""
PAIRS = 3
WARM_UP = 300
PAIR_MESSAGES = 20


def rss_mib(server: ServerProcess) -> float:
    """The server process's resident memory, from /proc."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def settled_rss_mib(server: ServerProcess) -> float:
    """The lowest resident memory over a second: what the server keeps, not a passing peak (a batch of
    long messages just read from Redis)."""
    lowest = rss_mib(server)
    for _ in range(10):
        await asyncio.sleep(0.1)
        lowest = min(lowest, rss_mib(server))
    return lowest


async def stalled_count(server: ServerProcess) -> float:
    """How many visitor sockets the server dropped as stalled, from /metrics."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "nexus_sockets_stalled_total" and sample.labels == {"side": "visitor"}:
                return sample.value
    raise AssertionError("no nexus_sockets_stalled_total")


async def plain_socket(server: ServerProcess, path: str, hello: dict[str, Any],
                       headers: dict[str, str] | None = None, **options: Any) -> Socket:
    """A socket that does not even offer permessage-deflate: if the service ever took it, the flood's
    repetitive text would shrink to almost nothing on the wire and the buffers would never fill."""
    connection = await connect(server.ws_url + path, origin=server.url,  # type: ignore[arg-type]
                               additional_headers=headers or {}, compression=None, open_timeout=10,
                               **options)
    opened = Socket(connection)
    await opened.send(hello)
    return opened


async def stalling_visitor(server: ServerProcess, token: str) -> Socket:
    """A visitor socket that stops reading from the network as soon as the test stops calling recv:
    a tiny kernel receive buffer and a one-message queue in the client."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: no window autotuning
    raw.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", server.port))
    except OSError:
        raw.close()
        raise
    return await plain_socket(server, "/ws/chat", {"type": "hello", "token": token, "last_id": "0-0"},
                              sock=raw, max_queue=1, ping_interval=None)


async def plain_counselor(server: ServerProcess) -> Socket:
    username, password = add_staff(server.env)
    cookie = await staff_login(server, username, password)
    return await plain_socket(server, "/staff/ws", {"type": "hello", "chats": {}},
                              headers={"Cookie": f"nexus_staff={cookie}"})


async def flood(counselor: Socket, conv: str, count: int, prefix: str) -> None:
    """Send `count` long messages and read the counselor's own socket until the last is confirmed."""

    async def send_all() -> None:
        for n in range(count):
            text = f"{n:05d} " + "x" * TEXT_CHARS
            await counselor.send({"type": "msg", "conv": conv, "text": text, "client_id": f"{prefix}{n}"})

    sending = asyncio.create_task(send_all())
    try:
        await counselor.until(is_stored("counselor", f"{prefix}{count - 1}"), timeout=45)
    finally:
        await sending


async def chat_meanwhile(n: int, visitor: Socket, counselor: Socket, conv: str) -> list[str]:
    """A visitor and a counselor talking both ways; the texts both sides received, in order."""
    received: list[str] = []
    for i in range(PAIR_MESSAGES):
        await visitor.send({"type": "msg", "text": f"v{n}-{i}", "client_id": f"v{i}"})
        received.append((await counselor.until(is_entry("msg", "visitor"), timeout=30))["text"])
        await counselor.send({"type": "msg", "conv": conv, "text": f"c{n}-{i}", "client_id": f"c{i}"})
        received.append((await visitor.until(is_entry("msg", "counselor"), timeout=30))["text"])
    return received


async def until_closed(visitor: Socket) -> None:
    """Read whatever the server had buffered until the connection ends."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(30):
            while True:
                await visitor.connection.recv()


async def test_a_stalled_client_is_dropped_with_bounded_memory_and_others_go_on(
        start_server: StartServer) -> None:
    server = start_server(SEND_TIMEOUT_SECONDS="2", MESSAGE_MAX_CHARS=str(TEXT_CHARS + 100),
                          METRICS_TOKEN=TOKEN)
    sockets: list[Socket] = []
    try:
        token = await start_chat(server)
        stalled = await stalling_visitor(server, token)
        staff = await plain_counselor(server)
        sockets += [stalled, staff]
        conv = await first_waiting(staff)
        await staff.send({"type": "take", "conv": conv})
        await staff.until(lambda f: f["type"] == "taken")
        await stalled.until(lambda f: f["type"] == "state" and f["state"] == "active")
        # A warm-up the visitor still reads: the server has then held such messages once, so the
        # memory check sees what the stall adds, not the allocator's first growth.
        await flood(staff, conv, WARM_UP, "w")
        last = await stalled.until(lambda f: is_entry("msg", "counselor")(f) and f["text"].startswith(
            f"{WARM_UP - 1:05d} "), timeout=30)
        pairs = []
        for n in range(PAIRS):
            visitor, other, other_conv = await taken_chat(server, name=f"Pair{n}")
            sockets += [visitor, other]
            pairs.append((visitor, other, other_conv))

        # From here the stalled visitor reads nothing while its counselor floods it.
        before = rss_mib(server)
        _, *talks = await asyncio.gather(
            flood(staff, conv, FLOOD, "f"), *(chat_meanwhile(n, *pair) for n, pair in enumerate(pairs)))
        for n, received in enumerate(talks):
            assert received == [text for i in range(PAIR_MESSAGES) for text in (f"v{n}-{i}", f"c{n}-{i}")]
        growth = await settled_rss_mib(server) - before
        assert growth < MEMORY_GROWTH_MIB, f"the server kept {growth:.0f} MiB more than before the flood"
        async with asyncio.timeout(30):
            while await stalled_count(server) < 1:
                await asyncio.sleep(0.1)
        await until_closed(stalled)

        again = await plain_socket(server, "/ws/chat",
                                   {"type": "hello", "token": token, "last_id": last["id"]})
        sockets.append(again)
        seen: list[int] = []
        while len(seen) < FLOOD:
            entry = await again.until(is_entry("msg", "counselor"), timeout=30)
            seen.append(int(entry["text"][:5]))
        await staff.send({"type": "msg", "conv": conv, "text": "after", "client_id": "a"})
        assert (await again.until(is_entry("msg", "counselor")))["text"] == "after"  # nothing repeated
        assert seen == list(range(FLOOD))
        assert await stalled_count(server) == 1
    finally:
        for open_socket in sockets:
            await open_socket.close()
