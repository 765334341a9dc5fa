"""The floor the chat is measured against: a minimal Starlette + Redis relay (issue 10).

What any chat relayed across processes must do at least, and nothing more: one WebSocket in,
PUBLISH, one pub/sub connection per process fanned out to its sockets, one WebSocket out. No
storage, no screening, no acknowledgement, no queue. Served by the same uvicorn with the same
WebSocket settings as the app, so the difference is the app's own work.

    REDIS_URL=redis://127.0.0.1:6379 python -m loadtests.baseline_relay --port 8100

A socket connects to /ws?side=visitor&rooms=7 or /ws?side=counselor&rooms=1,2,3. A visitor's
frame goes to its room's counselor; a counselor's frame names its room in "conv". A frame is
relayed as it came. `loadtests/bench_chat.py` drives it with the same clients as the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

OTHER = {"visitor": "counselor", "counselor": "visitor"}


class Fanout:
    """One pub/sub connection for the process; each message handed to the local sockets on its channel."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.local: dict[str, set[WebSocket]] = {}

    async def add(self, channel: str, websocket: WebSocket) -> None:
        self.local.setdefault(channel, set()).add(websocket)
        await self.pubsub.subscribe(channel)

    async def remove(self, channel: str, websocket: WebSocket) -> None:
        self.local.get(channel, set()).discard(websocket)
        if not self.local.get(channel):
            self.local.pop(channel, None)
            await self.pubsub.unsubscribe(channel)

    async def run(self) -> None:
        await self.pubsub.subscribe("baseline:alive")  # listen() needs one subscription to start
        async for message in self.pubsub.listen():
            if message["type"] == "message":
                for websocket in list(self.local.get(message["channel"], ())):
                    await websocket.send_text(message["data"])


def channel(room: str, side: str) -> str:
    return f"baseline:{room}:{side}"


async def relay(websocket: WebSocket) -> None:
    fanout: Fanout = websocket.app.state.fanout
    side = websocket.query_params.get("side", "visitor")
    rooms = websocket.query_params.get("rooms", "").split(",")
    await websocket.accept()
    for room in rooms:
        await fanout.add(channel(room, side), websocket)
    try:
        while True:
            text = await websocket.receive_text()
            room = rooms[0] if side == "visitor" else json.loads(text)["conv"]
            await fanout.redis.publish(channel(room, OTHER[side]), text)
    except WebSocketDisconnect:
        pass
    finally:
        for room in rooms:
            await fanout.remove(channel(room, side), websocket)


async def readyz(request: Request) -> Response:
    return JSONResponse({"ready": True})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    redis = aioredis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
                                    decode_responses=True)
    app.state.fanout = Fanout(redis)
    listening = asyncio.create_task(app.state.fanout.run())
    yield
    listening.cancel()
    await redis.aclose()


app = Starlette(routes=[Route("/readyz", readyz), WebSocketRoute("/ws", relay)], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    from app.__main__ import UVICORN_OPTIONS, listening_socket, tune_gc
    sock = listening_socket(args.host, args.port)  # the app's, Nagle's algorithm off alike
    # The same line the app logs, so that the benchmark finds the port the same way.
    listening = {"event": "server.listening", "port": sock.getsockname()[1]}
    print(json.dumps(listening), file=sys.stderr, flush=True)

    tune_gc()  # as the app's processes do
    uvicorn.Server(uvicorn.Config(app, access_log=False, log_config=None, server_header=False,
                                  **UVICORN_OPTIONS)).run(sockets=[sock])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
