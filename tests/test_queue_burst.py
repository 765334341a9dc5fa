"""A burst of new visitors beyond QUEUE_MAX: exactly the cap gets in, everyone else a calm "full, here
are your alternatives" in their language, and the service goes on working."""

import asyncio

import httpx
import pytest

from tests.clients import Socket, counselor, first_waiting, is_entry, visitor_socket
from tests.conftest import StartServer
from tests.servers import ServerProcess

pytestmark = pytest.mark.anyio

QUEUE_MAX = 20
BURST = 200
HELPLINE = "020-50 50 50"
"""Kvinnofridslinjen's number, the alternative the landing page shows in its header."""


async def start(server: ServerProcess, n: int, lang: str | None) -> httpx.Response:
    """One visitor tapping "Starta chatt", from its own address; `lang` None: no language chosen."""
    headers = {"Origin": server.url, "X-Forwarded-For": f"10.0.{n // 250}.{n % 250 + 1}"}
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": lang} if lang else {},
                                 timeout=30) as http:
        return await http.post("/api/chat", json={}, headers=headers)


async def taken_by_one_counselor(server: ServerProcess, tokens: list[str]) -> tuple[Socket, Socket, str]:
    """Every admitted visitor connects; a counselor takes the first waiting chat. Returns (the visitor
    whose chat it is, the counselor, the conversation); the other visitors' sockets are closed."""
    visitors = [await visitor_socket(server, token) for token in tokens]
    staff, _ = await counselor(server)
    conv = await first_waiting(staff)
    await staff.send({"type": "take", "conv": conv})
    await staff.until(lambda f: f["type"] == "taken")

    async def becomes_active(visitor: Socket) -> Socket:
        await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active", timeout=15)
        return visitor

    waits = [asyncio.create_task(becomes_active(visitor)) for visitor in visitors]
    done, pending = await asyncio.wait(waits, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    for wait in pending:
        wait.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    assert len(done) == 1, "exactly one visitor's chat was taken"
    chosen = done.pop().result()
    for visitor in visitors:
        if visitor is not chosen:
            await visitor.close()
    return chosen, staff, conv


async def test_a_burst_beyond_the_cap_is_refused_calmly_and_the_service_goes_on(
        start_server: StartServer) -> None:
    server = start_server(QUEUE_MAX=str(QUEUE_MAX))
    langs = [(None, "en")[n % 2] for n in range(BURST)]
    responses = await asyncio.gather(*(start(server, n, lang) for n, lang in enumerate(langs)))

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 503}, sorted(set(statuses))  # never a 500, never a dropped request
    admitted = [response.json()["token"] for response in responses if response.status_code == 200]
    assert len(admitted) == QUEUE_MAX
    for lang, response in zip(langs, responses, strict=True):
        if response.status_code == 503:
            body = response.json()
            assert body["error"] == "queue_full" and body["letter"] is True  # may leave a message instead
            assert "Kvinnofridslinjen" in body["message"] and HELPLINE in body["message"]
            if lang == "en":
                assert body["message"].startswith("Too many people are waiting right now.")
            else:
                assert body["message"].startswith("Det är för många som väntar just nu.")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/readyz")).status_code == 200
        assert HELPLINE in (await http.get("/")).text  # the alternative named is the one the page shows
        again = await http.post("/api/chat", json={}, headers={"Origin": server.url})
    assert again.status_code == 503 and again.json()["error"] == "queue_full"  # still exactly full

    visitor, staff, conv = await taken_by_one_counselor(server, admitted)
    try:
        await visitor.send({"type": "msg", "text": "hej", "client_id": "v1"})
        assert (await staff.until(is_entry("msg", "visitor")))["text"] == "hej"
        await staff.send({"type": "msg", "conv": conv, "text": "hej, jag heter Anna", "client_id": "c1"})
        assert (await visitor.until(is_entry("msg", "counselor")))["text"] == "hej, jag heter Anna"
        async with httpx.AsyncClient(base_url=server.url) as http:
            freed = await http.post("/api/chat", json={}, headers={"Origin": server.url})
        assert freed.status_code == 200  # taking a chat freed one place in the queue
    finally:
        await visitor.close()
        await staff.close()
