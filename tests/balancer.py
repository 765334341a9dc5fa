"""TCP forwarders on 127.0.0.1 for the fault tests, such as a load balancer in front of server processes."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Self


class LoopbackProxy:
    """A TCP forwarder on 127.0.0.1 with its own event loop in a thread, for async and browser tests.

    Each connection goes to the first of the ports `_route` names that accepts it; `close()` stops
    the forwarder within seconds.
    """

    STEP_SECONDS = 5.0

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()
        """Both ends of every open connection, aborted when the proxy stops."""
        self.loop = asyncio.new_event_loop()
        self.stopped: asyncio.Event | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _route(self, reader: asyncio.StreamReader) -> tuple[bytes, list[int]]:
        """(Bytes already read, ports to try in order) for a new connection; no ports closes it."""
        raise NotImplementedError

    def _forwarded(self, first: bytes, port: int) -> None:
        """Called when a connection whose first bytes were `first` has been forwarded to `port`."""

    def start(self) -> Self:
        self.thread.start()
        assert self.ready.wait(self.STEP_SECONDS), f"the {self.name} did not start"
        return self

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        self.stopped = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        async with server:
            await self.stopped.wait()
            server.close()
            self._abort_all()
            await server.wait_closed()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        self.writers.add(client)
        upstream: asyncio.StreamWriter | None = None
        try:
            first, ports = await self._route(reader)
            for port in ports:
                try:
                    upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    continue  # refused: that process is gone
                self.writers.add(upstream)
                self._forwarded(first, port)
                upstream.write(first)
                await asyncio.gather(self._pipe(reader, upstream), self._pipe(upstream_reader, client))
                break
        except OSError:
            pass
        finally:
            for writer in (client, upstream):
                if writer is not None:
                    self.writers.discard(writer)
                    writer.transport.abort()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await writer.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()  # one side gone: the other goes too

    def _abort_all(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()

    def _call(self, function: Callable[[], None]) -> None:
        """Run `function` on the proxy's loop and wait for it."""
        done = threading.Event()

        def run() -> None:
            function()
            done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(self.STEP_SECONDS), f"the {self.name} did not answer"

    def close(self) -> None:
        if self.thread.is_alive() and self.stopped is not None:
            self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(self.STEP_SECONDS)
        assert not self.thread.is_alive(), f"the {self.name} did not stop"


class Balancer(LoopbackProxy):
    """Forwards each new connection to the first backend that accepts it, trying them in round-robin
    order, as a load balancer skips a process that is gone. Remembers which backend each connection
    went to, by its first request line. `hold()` closes new connections at once (nothing reachable)
    until `release()`."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__("balancer")
        self.ports = ports
        self.turn = 0
        self.holding = False
        self.routes: list[tuple[str, int]] = []
        """(first request line, backend index) of every connection forwarded, oldest first."""

    def backend_of(self, request: str) -> int:
        """The backend of the latest connection whose request line starts with `request`."""
        return next(index for line, index in reversed(self.routes) if line.startswith(request))

    async def _route(self, reader: asyncio.StreamReader) -> tuple[bytes, list[int]]:
        first = b"" if self.holding else await reader.read(65536)
        start, self.turn = self.turn, self.turn + 1
        if not first:
            return first, []
        return first, [self.ports[(start + step) % len(self.ports)] for step in range(len(self.ports))]

    def _forwarded(self, first: bytes, port: int) -> None:
        self.routes.append((first.split(b"\r\n", 1)[0].decode("latin-1"), self.ports.index(port)))

    def hold(self) -> None:
        self._call(lambda: setattr(self, "holding", True))

    def release(self) -> None:
        self._call(lambda: setattr(self, "holding", False))
