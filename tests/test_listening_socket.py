"""The socket the server listens on: connections accepted on it send each frame at once."""

import asyncio
import socket

import pytest

from app.__main__ import listening_socket

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[False, True], ids=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    """asyncio's own loop, and uvloop, which the server runs on (app/__main__.py)."""
    return "asyncio", {"use_uvloop": request.param}


async def test_accepted_connections_have_nagles_algorithm_off():
    """Accepted the way uvicorn accepts on the socket it is given (`create_server(sock=...)`). With
    Nagle's algorithm on, a frame written right after another waited for the client's delayed ACK:
    up to 40 ms on a chat message, measured with the benchmark before this was fixed."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            connection = transport.get_extra_info("socket")
            accepted.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Accepted, sock=listening_socket("127.0.0.1", 0))
    async with server:
        host, port = server.sockets[0].getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            assert await asyncio.wait_for(accepted, 5) != 0
        finally:
            writer.close()
