"""Real server processes for the tests: `python -m app serve --port 0`, started and stopped."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import httpx

START_SECONDS = 30.0
ROOT = Path(__file__).resolve().parent.parent


class ServerProcess:
    """One `python -m app serve` process; its stderr (the JSON log) goes to a file."""

    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1"]
    """Started with `--port`: 0 (any free one) the first time, the same port again after a `stop`."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.command, "--port", str(self.port)], cwd=ROOT, env=self.env, stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_text()}")
            self.port = self.port or self._port_from_log()
            if self.port and self._ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become ready:\n{self.log_text()}")

    def _port_from_log(self) -> int:
        for line in self.log_text().splitlines():
            if '"server.listening"' in line:
                return int(json.loads(line)["port"])
        return 0

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def closed_now() -> str:
    """Opening hours that are closed now and for the next days: one minute, three days from now."""
    day = (datetime.now(ZoneInfo("Europe/Stockholm")) + timedelta(days=3)).strftime("%a").lower()
    return f"{day} 00:00-00:01"


CLOSED = closed_now()


def server_env(redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of a test server: its own key prefix, always open, fast enough limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "KEY_PREFIX"))}
    env.update({
        "APP_ENV": "development",
        "REDIS_URL": redis_url,
        "KEY_PREFIX": f"t{secrets.token_hex(4)}:",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "OPENING_HOURS": "always",
        "LOG_LEVEL": "INFO",
    })
    env.update(settings)
    return env
