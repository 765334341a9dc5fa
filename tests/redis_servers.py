"""Private redis-server processes on loopback TCP ports, for tests that stop, restart or fail over Redis.

Each is the embedded binary (`redis_server_binary()`), never the machine's or the test run's shared
server, so stopping one disturbs nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from app.redis import redis_server_binary

START_SECONDS = 10.0
STOP_SECONDS = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server on 127.0.0.1:`port`, with its files in `directory`; it can be stopped and
    started again on the same port."""

    def __init__(self, directory: Path, port: int | None = None, *args: str) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True)

    def command(self, *args: str) -> list[str]:
        """Non-persistent unless `args` say otherwise."""
        return [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.directory), *self.args, *args]

    def start(self, *args: str) -> RedisServer:
        """Start it and wait until it answers."""
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(self.command(*args), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{self.log_text()}")
            try:
                with self.client() as client:
                    client.ping()
                    return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self, save: bool = False) -> None:
        """Shut it down; with `save`, write its data to a file first, which the next start loads."""
        if self.process is None or self.process.poll() is not None:
            return
        if save:
            with self.client() as client:
                client.shutdown(save=True)  # redis-py takes the dropped connection as the answer
        else:
            self.process.terminate()
        self.process.wait(timeout=STOP_SECONDS)

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze it (SIGSTOP): connections open, but nothing is answered until the block ends."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def log_text(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


class SentinelServer(RedisServer):
    """One Sentinel (the same binary with --sentinel) watching `master_port` as `service`, quick to
    act: down after a second without answers; it can fail over on its own (quorum 1)."""

    def __init__(self, directory: Path, master_port: int, service: str) -> None:
        super().__init__(directory)
        self.service = service
        config = directory / "sentinel.conf"  # Sentinel rewrites its file: it must be writable
        config.write_text("\n".join([
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {directory}",
            f"sentinel monitor {service} 127.0.0.1 {master_port} 1",
            f"sentinel down-after-milliseconds {service} 1000",
            f"sentinel failover-timeout {service} 5000",
            f"sentinel parallel-syncs {service} 1",
        ]) + "\n")
        self.config = config

    def command(self, *args: str) -> list[str]:
        return [redis_server_binary(), str(self.config), "--sentinel", *args]

    def master_port(self) -> int:
        with self.client() as client:
            _, port = client.sentinel_get_master_addr_by_name(self.service)
            return int(port)

    def replicas_seen(self) -> int:
        """Replicas this Sentinel knows and considers up."""
        with self.client() as client:
            replicas = client.sentinel_slaves(self.service)
        return sum(1 for r in replicas if not r["is_sdown"] and not r["is_odown"]
                   and r.get("master-link-status") == "ok")
