"""A small real HTTP receiver standing in for the case system, and intakes queued as consent does.

The receiver gives scripted answers and keeps every request. It deduplicates by
`Idempotency-Key` as the README asks of a real receiver, and counts the intakes it
accepted, so a test can tell "sent twice" from "accepted twice".
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from app.config import load_settings
from app.intake.records import Consent, IntakeRecords, intake_sealing
from app.keys import Keys
from tests.servers import ServerProcess

DOCUMENT: dict[str, Any] = {
    "person": {"address_as": "Sara", "personnummer": "19811218-9876", "contact": "phone 10-12"},
    "transcript": [{"from": "visitor", "text": "Han slår mig när han dricker."}],
    "summary": "Wants to talk to a social worker.",
}
WAIT_SECONDS = 60.0


def intake_settings(**more: str) -> dict[str, str]:
    """Server settings under which a test can seal intakes itself, with short retries."""
    return {"INTAKE_KEYS": Fernet.generate_key().decode(), "INTAKE_RETRY_BASE_SECONDS": "1",
            "INTAKE_RETRY_MAX_SECONDS": "1", "INTAKE_TIMEOUT_SECONDS": "5", **more}


def records_of(server: ServerProcess, client: aioredis.Redis) -> IntakeRecords:
    """The intake records the server works on (its key prefix and sealing keys)."""
    settings = load_settings(server.env)
    return IntakeRecords(client, Keys.from_settings(settings),
                         intake_sealing(settings.intake_keys, settings.secret_key))


async def queue_intake(records: IntakeRecords, document: dict[str, Any] | None = None) -> str:
    """An intake as the visitor's consent creates it: queued for delivery at once."""
    consent = Consent(int(time.time() * 1000), "consent-v1", hashlib.sha256(b"shown").hexdigest(), "sv")
    return await records.create(document or DOCUMENT, consent, kind="assessment", counselor="anna",
                                proposal_id="p1")


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for something the servers do in their own time (generously: CI machines are slow)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        await anyio.sleep(0.05)


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and the status it got."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


HANG = 0
"""A scripted answer: hold the request unanswered until `release` (as a stuck receiver would)."""


class Receiver:
    """Answers POSTs with the next scripted status (200 once the script runs out)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.accepted: dict[str, bytes] = {}
        """Idempotency key -> body of the request that first got a 2xx."""
        self.script: list[int] = []
        self.port = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/intakes"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self.script.pop(0) if self.script else 200
            key = headers.get("idempotency-key", "")
            if 200 <= status < 300 and key not in self.accepted:
                self.accepted[key] = body
            self.requests.append(Received(path, headers, body, status))
            return status

    def start(self, *script: int) -> Receiver:
        """Listen (on the same port as before after a `stop`), answering with `script` first."""
        self.script = list(script)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver.answer(self.path, headers, body)
                if status == HANG:
                    receiver._released.wait(WAIT_SECONDS)
                    status = 503
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet test output

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def release(self) -> None:
        """Let held requests go (with a 503, to whoever still listens)."""
        self._released.set()

    def stop(self) -> None:
        """Stop listening: from now on a connection is refused."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
