"""Fixtures: a real Redis for the whole run, and real server processes per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from app.chat.store import ConversationStore
from app.config import load_settings
from app.keys import Keys
from app.redis import embedded_redis
from tests.redis_servers import RedisServer
from tests.servers import ServerProcess, server_env

StartServer = Callable[..., ServerProcess]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TEST_REDIS_URL when given, else a private embedded redis-server for this run."""
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    with embedded_redis() as url:
        yield url


@pytest.fixture
def ephemeral(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a loopback port (tests/redis_servers.py), for a test that
    stops, restarts, freezes or cuts the ephemeral Redis: never the run's shared one."""
    server = RedisServer(tmp_path / "ephemeral").start()
    yield server
    server.stop()


@pytest.fixture
def start_server(redis_url: str, tmp_path: Path) -> Iterator[StartServer]:
    """Start servers with the given settings; they share a key prefix unless told otherwise.

    `start_server()` then `start_server(env=first.env)` gives two processes on one Redis.
    """
    started: list[ServerProcess] = []

    def start(env: dict[str, str] | None = None, **settings: str) -> ServerProcess:
        environment = dict(env) if env else server_env(redis_url, **settings)
        environment.update(settings)
        server = ServerProcess(environment, tmp_path / f"server{len(started)}.log")
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    return start_server()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[ConversationStore]:
    """A conversation store on the shared Redis, under a key prefix of its own."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    keys = Keys.from_settings(load_settings({"KEY_PREFIX": f"t{secrets.token_hex(4)}:"}))
    yield ConversationStore(client, keys, secrets.token_urlsafe(40))
    await client.aclose()
