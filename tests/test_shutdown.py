"""Graceful shutdown: on SIGTERM a process stops accepting, closes its sockets with 1012 once what
it is storing is stored and announced, and exits (status 0) in bounded time; nothing is lost or
stored twice, and a process beside it on the same Redis carries on."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from app.config import load_settings
from app.main import create_app
from tests.clients import (
    Socket,
    add_staff,
    history,
    is_entry,
    is_stored,
    open_socket,
    staff_login,
    staff_socket,
    start_chat,
    taken_chat,
    visitor_socket,
)

pytestmark = pytest.mark.anyio

SHUTDOWN_SECONDS = 5
BURST = 100
"""Messages the visitor sends right before the signal: some are stored, one may be in the middle
of being stored, the rest still on their way when the socket closes."""


async def confirmations_until_closed(socket: Socket, side: str) -> tuple[set[str], int | None]:
    """The client ids confirmed stored until the server closed the socket, and its close code."""
    confirmed: set[str] = set()
    confirms = is_stored(side)
    try:
        async with asyncio.timeout(SHUTDOWN_SECONDS + 5):
            while True:
                frame = await socket.receive()
                if confirms(frame):
                    confirmed.add(frame["client_id"])
    except ConnectionClosed:
        pass
    return confirmed, socket.connection.close_code


@pytest.fixture
def two_servers(start_server):
    first = start_server(RATE_LIMIT_MESSAGES="100000", SHUTDOWN_SECONDS=str(SHUTDOWN_SECONDS))
    return first, start_server(env=first.env)


async def test_sigterm_closes_sockets_with_1012_and_loses_nothing(two_servers):
    a, b = two_servers
    token = await start_chat(a)
    username, password = add_staff(a.env)
    cookie = await staff_login(a, username, password)
    visitor, counselor_a, conv = await taken_chat(a, token=token, cookie=cookie)
    counselor_b = await staff_socket(b, cookie)  # the same counselor's console on the other process
    await counselor_b.until(is_entry("join"))

    texts = {f"v{n}": f"visitor {n}" for n in range(BURST)}
    await asyncio.gather(*(visitor.connection.send(json.dumps(
        {"type": "msg", "text": text, "client_id": client_id})) for client_id, text in texts.items()))
    a.process.send_signal(signal.SIGTERM)

    (confirmed, visitor_code), (_, counselor_code) = await asyncio.gather(
        confirmations_until_closed(visitor, "visitor"),
        confirmations_until_closed(counselor_a, "counselor"))
    assert (visitor_code, counselor_code) == (1012, 1012)
    with pytest.raises(OSError):  # it stopped listening before it closed the sockets
        await open_socket(a, "/ws/chat")
    assert await asyncio.to_thread(a.process.wait, SHUTDOWN_SECONDS + 5) == 0
    log = a.log_text()
    assert '"server.stopping"' in log and '"app.stopped"' in log  # the lifespan's shutdown ran

    # What the process stored it had confirmed before closing, and announced: the counselor's
    # console on the other process received it with nothing else to wake it.
    stored = [texts[client_id] for client_id in texts if client_id in confirmed]
    assert stored == [f"visitor {n}" for n in range(len(stored))], "stored in the order sent"
    assert [(await counselor_b.until(is_entry("msg", "visitor")))["text"] for _ in stored] == stored
    await counselor_b.send({"type": "msg", "conv": conv, "text": "marker", "client_id": "c1"})
    visitor = await visitor_socket(b, token)  # as the page does: reconnect, to the other process
    entries = await history(visitor, lambda e: e.get("text") == "marker")
    assert [e["text"] for e in entries if e["kind"] == "msg"] == [*stored, "marker"]

    # ... and send again, in order, what was not confirmed: each message is then stored once.
    for client_id in [client_id for client_id in texts if client_id not in confirmed]:
        await visitor.send({"type": "msg", "text": texts[client_id], "client_id": client_id})
    rest = [(await counselor_b.until(is_entry("msg", "visitor")))["text"] for _ in range(BURST - len(stored))]
    assert stored + rest == [f"visitor {n}" for n in range(BURST)]
    await counselor_b.send({"type": "msg", "conv": conv, "text": "end", "client_id": "c2"})
    reader = await visitor_socket(b, token)
    entries = await history(reader, lambda e: e.get("text") == "end")
    assert [e["text"] for e in entries if e["kind"] == "msg" and e["from"] == "visitor"] == \
        [f"visitor {n}" for n in range(BURST)]
    for socket in (visitor, reader, counselor_b):
        await socket.close()


async def test_readyz_says_not_ready_once_stopping():
    """A load balancer that still asks (on a kept-alive connection) is told to send nothing new."""
    app = create_app(load_settings({"APP_ENV": "development"}))  # its routes, not its lifespan
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nexus") as http:
        await app.state.shutdown.stop(1)  # what the server does on SIGTERM, with no socket open
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "reason": "shutting down"}
