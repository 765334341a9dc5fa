"""Plumbing shared by the visitor's and the counselor's sockets: sending, receiving, errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app import log, metrics
from app.chat.protocol import Frame, parse
from app.chat.relay import Subscription
from app.config import Settings
from app.errors import (
    CLOSE_HELLO_TIMEOUT,
    CLOSE_MALFORMED,
    CLOSE_TRY_LATER,
    BadInput,
    Malformed,
    ServiceError,
)
from app.redis import UNAVAILABLE
from app.shutdown import cancel_and_wait

HELLO_SECONDS = 10.0
HEARTBEAT_SECONDS = 20.0
MAX_BAD_FRAMES = 20
"""Refused frames one connection may send before it is closed with 4400."""


class Closing(Exception):
    """Close the socket with this code (raised by handlers, caught by `serve`)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Peer:
    """One accepted socket: serialised sends, checked receives."""

    def __init__(self, websocket: WebSocket, settings: Settings, staff: bool) -> None:
        self.websocket = websocket
        self.max_chars = settings.message_max_chars
        self.send_timeout = settings.send_timeout_seconds
        self.staff = staff
        self._lock = asyncio.Lock()
        self.bad_frames = 0
        self.explain: Callable[[ServiceError], str] = lambda error: ""
        """Words for a refusal, in the client's language (set once the session is known)."""

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame; drop the socket if the client takes none for SEND_TIMEOUT_SECONDS (stalled)."""
        # What a stalled client costs is bounded: uvicorn writes a frame only while its transport
        # buffer is under the high-water mark (64 KiB), so at most that plus one frame waits in this
        # process (the kernel's socket buffers aside); the sender waiting here holds at most one batch
        # of entries (link.CATCH_UP_BATCH), and events that arrive meanwhile are capped by the
        # subscription's queue (relay.QUEUE_SIZE; they are only hints). Checked by
        # tests/test_stalled_client.py.
        try:
            async with asyncio.timeout(self.send_timeout), self._lock:
                await self.websocket.send_text(json.dumps(frame, ensure_ascii=False))
        except TimeoutError:
            side = "staff" if self.staff else "visitor"
            log.event("socket.stalled", side=side)
            metrics.of(self.websocket).dropped_stalled(side)
            # Treated as gone: a close frame would wait behind the unread data, and the socket is
            # left to uvicorn to close. The client reconnects with its last id and misses nothing.
            raise WebSocketDisconnect(code=1006) from None

    async def receive(self) -> Frame | None:
        """The next well-formed frame; None when the client has gone."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            try:
                raw = message.get("text")
                if raw is None:
                    raise Malformed("binary frame")
                return parse(raw, self.max_chars, staff=self.staff)
            except BadInput as error:
                await self.refuse(error)

    async def hello(self) -> Frame:
        try:
            frame = await asyncio.wait_for(self.receive(), HELLO_SECONDS)
        except TimeoutError:
            raise Closing(CLOSE_HELLO_TIMEOUT) from None
        if frame is None:
            raise WebSocketDisconnect()
        if frame.type != "hello":
            raise Closing(CLOSE_MALFORMED)
        return frame

    async def refuse(self, error: ServiceError, message: str = "", client_id: str = "") -> None:
        """Tell the client what was refused (and which message, so it can keep the text);
        close after too many malformed frames."""
        if isinstance(error, BadInput):
            self.bad_frames += 1
            if self.bad_frames > MAX_BAD_FRAMES:
                raise Closing(CLOSE_MALFORMED)
        frame = {"type": "error", "code": error.code, "message": message or self.explain(error)}
        if client_id:
            frame["client_id"] = client_id
        await self.send(frame)


async def events(subscription: Subscription, heartbeat_seconds: float,
                 heartbeat: Callable[[], Awaitable[None]]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A socket's events as they come, with `heartbeat` awaited every `heartbeat_seconds` however
    many come: a heartbeat left for a quiet moment never came on a socket that the queue's
    refresh wakes every few seconds (the counselor dropped off duty, the waiting visitor's
    conversation expired). The first beat comes at a random point of the first period, so that
    sockets opened together (a reconnect after a restart) do not all beat at once."""
    due = time.monotonic() + heartbeat_seconds * random.uniform(0.1, 1)
    while True:
        left = due - time.monotonic()
        if left <= 0:
            await heartbeat()
            due = time.monotonic() + heartbeat_seconds
            continue
        try:
            # Not wait_for: on Python 3.11 it makes a task of every wait, and can lose a cancellation.
            async with asyncio.timeout(left):
                event = await subscription.next()
        except TimeoutError:
            continue
        yield event


async def serve(
    peer: Peer,
    handle: Callable[[Frame], Awaitable[None]],
    *loops: Callable[[], Coroutine[Any, Any, None]],
) -> None:
    """Run the read loop and the socket's other `loops` (its event pump, a watch) together until one
    ends; stop the others, then re-raise its error (nothing is sent once the socket closes)."""

    async def read() -> None:
        while (frame := await peer.receive()) is not None:
            if frame.type == "ping":
                await peer.send({"type": "pong"})
            else:
                await handle(frame)

    tasks = [asyncio.create_task(read()), *(asyncio.create_task(loop()) for loop in loops)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        await cancel_and_wait(*tasks)


async def close(websocket: WebSocket, code: int) -> None:
    if websocket.client_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):  # the peer may already be gone; nothing to do
            await websocket.close(code)


async def guarded(websocket: WebSocket, body: Callable[[], Awaitable[None]], side: str) -> None:
    """Run a socket's body, counted as connected meanwhile; map `Closing` to its close code and
    Redis being away to 1013 (try again later); log (without content) and count the rest."""
    counted = metrics.of(websocket)
    with counted.connected(side):
        try:
            await body()
        except Closing as closing:
            log.event("socket.closed", side=side, code=closing.code)
            await close(websocket, closing.code)
        except WebSocketDisconnect:
            pass
        except UNAVAILABLE:
            # An outage, not a bug: /readyz reports it; the client keeps reconnecting until it is over.
            log.event("socket.redis_unavailable", side=side)
            await close(websocket, CLOSE_TRY_LATER)
        except Exception:
            log.failure("socket.failed", side=side)
            counted.failed("socket")
            await close(websocket, 1011)
        else:
            await close(websocket, 1000)
