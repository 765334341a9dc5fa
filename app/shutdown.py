"""Graceful shutdown of one process: every WebSocket is closed with 1012 between two frames.

On SIGTERM the process stops listening at once (`app/__main__.py`), `/readyz` answers 503, and
each open socket is closed with 1012 ("service restart"), so that the browser and the console
reconnect, through the load balancer, to another process. A socket whose handler is busy with
a frame (storing and announcing a message, taking a chat) is closed as soon as the handler asks
for the next frame: what it was doing is finished first. Frames that were still on their way
are never read; the client sends them again after reconnecting, and each message is stored
once per client id.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import log

CLOSE_RESTART = 1012
_GONE: Message = {"type": "websocket.disconnect", "code": CLOSE_RESTART}
CANCEL_AGAIN_SECONDS = 1.0
"""Time a cancelled task has to end (its own clean-up, e.g. a shielded write) before it is
cancelled again, in case the cancellation was lost."""


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel the tasks and wait until they have ended, cancelling again any that went on.

    On Python 3.11 `asyncio.wait_for` (redis-py writes to Redis with it; the socket pumps waited for
    events with it) returns normally when its task is cancelled just as what it waits for completes:
    the cancellation is lost, and a task stopped once could run for ever, and whatever waits for it.
    """
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=CANCEL_AGAIN_SECONDS)
    await asyncio.gather(*tasks, return_exceptions=True)  # their errors are theirs: retrieved


class _Socket:
    """One WebSocket as the application sees it: closed with 1012 when the process stops."""

    def __init__(self, shutdown: Shutdown, receive: Receive, send: Send) -> None:
        self.shutdown = shutdown
        self._receive = receive
        self._send = send
        self.accepted = False
        self.waiting = False
        """The handler waits for the next frame: it is between two, and may be closed now."""
        self.closed = False

    async def receive(self) -> Message:
        if self.closed:
            return _GONE
        if self.shutdown.stopping and self.accepted:
            await self.close()
            return _GONE
        self.waiting = True
        try:
            message = await self._receive()
        finally:
            self.waiting = False
        # Closed while this frame was on its way to the handler: it is not handled (the client was
        # not told it is stored, and sends it again), so that every frame handled was answered first.
        return _GONE if self.closed else message

    async def send(self, message: Message) -> None:
        if self.closed:  # as when the client has gone: the handler's sending stops there
            raise OSError("closed for the shutdown")
        if message["type"] == "websocket.accept":
            self.accepted = True
        await self._send(message)

    async def close(self) -> None:
        """Close with 1012; a handler waiting for a frame is told the client has gone."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):  # the client has gone already
            await self._send({"type": "websocket.close", "code": CLOSE_RESTART})


class Shutdown:
    """This process's open WebSockets, and whether it is shutting down."""

    def __init__(self) -> None:
        self.stopping = False
        self.sockets: set[_Socket] = set()
        self._none_left = asyncio.Event()

    async def stop(self, seconds: float) -> None:
        """Close every WebSocket (each between two frames) and wait until their handlers have
        ended, at most `seconds`."""
        self.stopping = True
        log.event("server.stopping", sockets=len(self.sockets))
        idle = [socket.close() for socket in self.sockets if socket.accepted and socket.waiting]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.gather(*idle)  # together: one slow client must not hold up the rest
                if self.sockets:
                    await self._none_left.wait()
        log.event("server.sockets_closed", left=len(self.sockets))

    def ended(self, socket: _Socket) -> None:
        self.sockets.discard(socket)
        if self.stopping and not self.sockets:
            self._none_left.set()


class CloseOnShutdown:
    """ASGI middleware: every WebSocket goes through a `_Socket` of the process's `Shutdown`."""

    def __init__(self, app: ASGIApp, shutdown: Shutdown) -> None:
        self.app = app
        self.shutdown = shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        socket = _Socket(self.shutdown, receive, send)
        self.shutdown.sockets.add(socket)
        try:
            await self.app(scope, socket.receive, socket.send)
        finally:
            self.shutdown.ended(socket)
