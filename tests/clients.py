"""Test clients that speak to a real server the way the browser does: HTTP, then a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pyotp
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import ROOT, ServerProcess

FRAME_SECONDS = 10.0


class Socket:
    """A WebSocket with helpers to wait for a particular frame."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def receive(self, timeout: float = FRAME_SECONDS) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        return frame

    async def until(self, match: Callable[[dict[str, Any]], bool],
                    timeout: float = FRAME_SECONDS) -> dict[str, Any]:
        """Skip frames until one matches."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.receive(timeout)
                if match(frame):
                    return frame

    async def close(self) -> None:
        await self.connection.close()


async def open_socket(server: ServerProcess, path: str, headers: dict[str, str] | None = None,
                      origin: str | None = None) -> Socket:
    connection = await connect(
        server.ws_url + path,
        origin=origin or server.url,  # type: ignore[arg-type]
        additional_headers=headers or {},
        open_timeout=FRAME_SECONDS,
    )
    return Socket(connection)


async def start_chat(server: ServerProcess, lang: str = "sv") -> str:
    """Start an anonymous chat over HTTP as the landing page does; return the visitor token."""
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": lang}) as http:
        response = await http.post("/api/chat", json={}, headers={"Origin": server.url})
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


async def visitor_socket(server: ServerProcess, token: str, last_id: str = "0-0") -> Socket:
    socket = await open_socket(server, "/ws/chat")
    await socket.send({"type": "hello", "token": token, "last_id": last_id})
    return socket


TOTP_SECRETS: dict[str, str] = {}
"""Each account's authenticator secret, as `add_staff` read it from the CLI's otpauth:// URI."""
_LAST_STEP: dict[str, int] = {}


def totp_secret_of(cli_output: str) -> str:
    match = re.search(r"otpauth://\S+", cli_output)
    assert match, "the CLI prints the otpauth:// URI"
    secret: str = pyotp.parse_uri(match.group(0)).secret
    return secret


def add_staff(env: dict[str, str], role: str = "counselor", name: str = "Anna") -> tuple[str, str]:
    """Create a staff account with the real CLI; return (username, password). Its TOTP secret is
    kept in TOTP_SECRETS for `staff_login` and `next_code`."""
    username = f"c{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    result = subprocess.run(
        [sys.executable, "-m", "app", "staff", "add", username, "--role", role, "--name", name],
        input=password + "\n", text=True, cwd=ROOT, env=env, check=True, capture_output=True,
    )
    TOTP_SECRETS[username] = totp_secret_of(result.stdout)
    return username, password


def next_code(username: str, secret: str | None = None) -> str:
    """A code the server has not accepted yet: each is accepted once, and the one of the next
    time step is accepted too (clock drift); past that, wait for the next step."""
    totp = pyotp.TOTP(secret or TOTP_SECRETS[username])
    step = max(totp.timecode(time.time()), _LAST_STEP.get(username, -1) + 1)
    while step > totp.timecode(time.time()) + 1:
        time.sleep(1)
    _LAST_STEP[username] = step
    return totp.generate_otp(step)


def form_csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def staff_login(server: ServerProcess, username: str, password: str) -> str:
    """Log in through the real forms (password, then the code); return the staff session cookie value."""
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
        form = await http.get("/staff")
        response = await http.post(
            "/staff/login", data={"csrf": form_csrf(form.text), "username": username, "password": password})
        assert response.status_code == 303 and response.headers["location"] == "/staff/login/code", \
            response.text
        form = await http.get("/staff/login/code")
        response = await http.post(
            "/staff/login/code", data={"csrf": form_csrf(form.text), "code": next_code(username)})
        assert response.status_code == 303, response.text
        cookie: str = response.cookies["nexus_staff"]
        return cookie


async def staff_socket(server: ServerProcess, cookie: str,
                       chats: dict[str, str] | None = None) -> Socket:
    socket = await open_socket(server, "/staff/ws", headers={"Cookie": f"nexus_staff={cookie}"})
    await socket.send({"type": "hello", "chats": chats or {}})
    return socket


async def first_waiting(staff: Socket, exclude: set[str] | None = None) -> str:
    """Wait until the queue shows a conversation (not in `exclude`); return its id."""
    exclude = exclude or set()
    frame = await staff.until(
        lambda f: f["type"] == "queue" and any(i["conv"] not in exclude for i in f["items"]))
    conv: str = next(i["conv"] for i in frame["items"] if i["conv"] not in exclude)
    return conv


def is_entry(kind: str = "msg", sender: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["type"] == "entry" and f["kind"] == kind and sender in (None, f["from"])


def is_stored(side: str, client_id: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """Matches the confirmation that a message `side` sent (with `client_id`, or any) is stored: its
    entry (which carries the client id), or "sent" when it had been stored before (a re-send)."""
    return lambda f: client_id in (None, f.get("client_id")) and (
        f["type"] == "sent" or (f["type"] == "entry" and f["kind"] == "msg" and f["from"] == side))


def is_answer(side: str, client_id: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the answer to a message `side` sent: its confirmation (see `is_stored`) or its refusal."""
    confirms = is_stored(side, client_id)
    return lambda f: confirms(f) or (f["type"] == "error" and f.get("client_id") == client_id)


async def taken_chat(server: ServerProcess, name: str = "Anna", token: str | None = None,
                     cookie: str | None = None) -> tuple[Socket, Socket, str]:
    """A visitor whose chat a counselor (a new one, or the one logged in with `cookie`) has taken;
    returns (visitor, counselor, conv)."""
    token = token or await start_chat(server)
    visitor = await visitor_socket(server, token)
    if cookie is None:
        username, password = add_staff(server.env, name=name)
        cookie = await staff_login(server, username, password)
    counselor = await staff_socket(server, cookie)
    conv = await first_waiting(counselor)
    await counselor.send({"type": "take", "conv": conv})
    await counselor.until(lambda f: f["type"] == "taken")
    await visitor.until(lambda f: f["type"] == "state" and f["state"] == "active")
    return visitor, counselor, conv


async def ask_code(visitor: Socket) -> str:
    """Ask for a return code on the visitor's socket, as the chat page does; return it as shown."""
    await visitor.send({"type": "code"})
    frame = await visitor.until(lambda f: f["type"] == "code")
    code: str = frame["code"]
    return code


async def post_json(server: ServerProcess, path: str, body: Any, address: str | None = None,
                    lang: str = "sv") -> httpx.Response:
    """POST JSON from the service's own page; `address` poses as another client (the test server
    trusts X-Forwarded-For from 127.0.0.1, as it would from a local reverse proxy)."""
    headers = {"Origin": server.url}
    if address:
        headers["X-Forwarded-For"] = address
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": lang}) as http:
        return await http.post(path, json=body, headers=headers)


async def return_with(server: ServerProcess, code: str, address: str | None = None) -> httpx.Response:
    return await post_json(server, "/api/return", {"code": code}, address)


async def counselor(server: ServerProcess, name: str = "Anna") -> tuple[Socket, str]:
    """A new counselor's console, logged in; returns (socket, username)."""
    username, password = add_staff(server.env, name=name)
    return await staff_socket(server, await staff_login(server, username, password)), username


async def history(socket: Socket, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The entries a socket receives up to and including the first that matches `until`."""
    entries: list[dict[str, Any]] = []
    while not entries or not until(entries[-1]):
        entries.append(await socket.until(lambda f: f["type"] == "entry"))
    return entries


def code_pattern(code: str) -> re.Pattern[str]:
    """A return code's digits in any grouping: up to three other characters between any two."""
    return re.compile(r"\D{0,3}".join(re.sub(r"\D", "", code)))


@contextlib.asynccontextmanager
async def staff_http(server: ServerProcess, role: str = "supervisor"
                     ) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    """A new staff member's logged-in, same-origin HTTP client; yields (client, username, csrf)."""
    username, password = add_staff(server.env, role=role)
    cookie = await staff_login(server, username, password)
    async with httpx.AsyncClient(base_url=server.url, cookies={"nexus_staff": cookie},
                                 headers={"Origin": server.url}) as http:
        page = await http.get("/staff", follow_redirects=True)  # an admin is sent to their own page
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, "a logged-in page carries the session's CSRF token"
        yield http, username, match.group(1)


def visitor_message(client_id: str, text: str) -> dict[str, Any]:
    return {"type": "msg", "text": text, "client_id": client_id}


class ResumingClient:
    """One side of a chat that behaves like the page or the console: after a reconnect it resumes
    after the last entry it has, and sends again (same client id) what was not confirmed stored."""

    def __init__(self, side: str, open_socket: Callable[[str], Awaitable[Socket]],
                 frame: Callable[[str, str], dict[str, Any]]) -> None:
        self.side = side
        self._open_socket = open_socket
        self.frame = frame
        self.socket: Socket | None = None
        self.last_id = "0-0"
        self.unconfirmed: dict[str, str] = {}
        self.received: list[str] = []
        self.sent = 0
        self.reconnects = 0

    async def open(self) -> Socket:
        """A new socket that resumes after `last_id`."""
        return await self._open_socket(self.last_id)

    async def connect(self) -> None:
        self.socket = await self.open()
        for client_id, text in list(self.unconfirmed.items()):
            await self.socket.send(self.frame(client_id, text))

    async def send(self, n: int) -> None:
        client_id, text = f"{self.side}-{n}", f"{self.side} {n}"
        self.unconfirmed[client_id] = text
        self.sent += 1
        assert self.socket is not None
        await self.socket.send(self.frame(client_id, text))

    def handle(self, frame: dict[str, Any]) -> None:
        """Note a frame: a confirmation or one of this side's own entries clears it from the resend list."""
        if frame["type"] == "sent":
            self.unconfirmed.pop(frame["client_id"], None)
        elif frame["type"] == "entry":
            self.last_id = frame["id"]
            if frame["kind"] == "msg" and frame["from"] == self.side:
                self.unconfirmed.pop(frame.get("client_id", ""), None)
            elif frame["kind"] == "msg":
                self.received.append(frame["text"])
