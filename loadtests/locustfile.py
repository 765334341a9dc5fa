"""Locust load test: visitors and counselors speaking the chat's real HTTP + WebSocket protocol.

    LOCUST_STAFF=anna:pw1:SECRET1,bo:pw2:SECRET2 \\
        locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8000

Any base URL works (https:// gives wss://). Counselors log in like a browser (password, then a
TOTP code made with pyotp), so they need real counselor accounts: LOCUST_STAFF holds
comma-separated `username:password:totp_secret` triples (the secret is the one in the account's
otpauth:// URI). Each code is accepted once, so every counselor user has an account of its own:
there are exactly as many counselor users as triples (`fixed_count`), and the rest of `-u` are
visitors. Without LOCUST_STAFF only visitors run (they then wait for someone else to take them).
With locust's distributed mode, give each worker its own LOCUST_STAFF.

Visitor: POST /api/chat, open /ws/chat, hello, wait to be taken, send LOCUST_MESSAGES messages at
a human pace (LOCUST_VISITOR_PAUSE seconds apart), check that each is acknowledged (its own entry
comes back) and answered, then end the chat and start another.
Counselor: log in, open /staff/ws, take waiting chats (up to LOCUST_CHATS_PER_COUNSELOR at once)
and answer each visitor message after LOCUST_REPLY_PAUSE seconds.

Every measurement is a locust request of type "ws" (response time = the latency in ms):

    visitor socket opened / counselor socket opened   the WebSocket handshake
    visitor chat taken        hello -> the chat is active (time waiting in the queue)
    counselor chat taken      take -> taken
    visitor message acked     msg -> its entry, on the visitor's socket
    visitor message delivered visitor's send -> the entry on the counselor's socket
    counselor reply acked     msg -> its entry, on the counselor's socket
    counselor reply delivered counselor's send -> the entry on the visitor's socket
    visitor chat ended        end -> the chat's end entry

Failures are reported under the same names: no acknowledgement within LOCUST_ACK_TIMEOUT seconds, a
message answered or delivered twice, a reply missing LOCUST_REPLY_TIMEOUT seconds after the last
message, `error` frames, sockets closed by the server. Cross-socket latencies use the send time
carried in the message's client id (wall clock): exact within one load-generator machine.
Messages still in flight when the run stops are not counted either way.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import secrets
import time
from typing import Any

import pyotp
from locust import HttpUser, between, task
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect


def _number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _range(name: str, default: str) -> tuple[float, float]:
    """"2-6" -> (2.0, 6.0); "1" -> (1.0, 1.0)."""
    low, _, high = os.environ.get(name, default).partition("-")
    return float(low), float(high or low)


MESSAGES = int(_number("LOCUST_MESSAGES", 3))
VISITOR_PAUSE = _range("LOCUST_VISITOR_PAUSE", "2-6")
REPLY_PAUSE = _range("LOCUST_REPLY_PAUSE", "1-3")
CHATS_PER_COUNSELOR = int(_number("LOCUST_CHATS_PER_COUNSELOR", 5))
ACK_TIMEOUT = _number("LOCUST_ACK_TIMEOUT", 10)
REPLY_TIMEOUT = _number("LOCUST_REPLY_TIMEOUT", 30)
TAKE_TIMEOUT = _number("LOCUST_TAKE_TIMEOUT", 120)
OPEN_TIMEOUT = 10.0
TICK = 0.5
"""Longest a socket loop blocks in recv before it checks its timers."""


def _staff_accounts() -> list[tuple[str, str, str]]:
    accounts = []
    for triple in filter(None, (t.strip() for t in os.environ.get("LOCUST_STAFF", "").split(","))):
        username, _, rest = triple.partition(":")
        password, _, secret = rest.rpartition(":")
        if not (username and password and secret):
            raise SystemExit("LOCUST_STAFF: expected comma-separated username:password:totp_secret")
        accounts.append((username, password, secret))
    return accounts


STAFF = _staff_accounts()
"""The counselor accounts not in use; each counselor user takes one (TOTP codes are single-use)."""
STAFF_COUNT = len(STAFF)

VISITOR_TEXTS = (
    "Hej. Jag vet inte riktigt hur jag ska börja.",
    "Det har varit svårt hemma ett tag nu.",
    "Jag vill mest prata med någon om hur det är.",
    "Kan man få råd utan att säga vem man är?",
    "Tack, det känns lite lättare att skriva det.",
    "Jag undrar vad jag kan göra härnäst.",
)
COUNSELOR_TEXTS = (
    "Hej, vad bra att du skriver. Berätta gärna mer.",
    "Det låter tungt. Du får ta den tid du behöver.",
    "Du kan vara helt anonym här.",
    "Vi kan fundera tillsammans på vad som skulle hjälpa dig.",
)

log = logging.getLogger("locustfile")
if not STAFF:
    log.warning("LOCUST_STAFF is empty: no counselor users, visitors wait for someone else to take them")


class LoadFailure(Exception):
    """A failure reported to locust (its text groups the failures in the statistics)."""


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def stamp(prefix: str, seq: int) -> str:
    """A client id that carries its send time: `{prefix}-{seq}-{wall clock ns}`."""
    return f"{prefix}-{seq}-{time.time_ns()}"


def parse_stamp(client_id: str) -> tuple[str, int, float] | None:
    """(prefix, seq, ms since it was sent) of a client id made by `stamp`, else None."""
    match = re.fullmatch(r"([A-Za-z0-9_]+)-(\d+)-(\d+)", client_id or "")
    if not match:
        return None
    return match.group(1), int(match.group(2)), max(0.0, (time.time_ns() - int(match.group(3))) / 1e6)


class Socket:
    """A JSON WebSocket (the `websockets` sync client; gevent makes its thread a greenlet), used
    in a `with` block that closes it."""

    def __init__(self, url: str, origin: str, headers: dict[str, str] | None = None) -> None:
        self.ws: ClientConnection = connect(url, origin=origin, additional_headers=headers,  # type: ignore[arg-type]
                                            open_timeout=OPEN_TIMEOUT, close_timeout=2)

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next frame, or None when none came within `timeout` seconds."""
        try:
            raw = self.ws.recv(timeout=max(0.0, timeout))
        except TimeoutError:
            return None
        frame: dict[str, Any] = json.loads(raw)
        return frame

    def __enter__(self) -> Socket:
        self.ws.__enter__()
        return self

    def __exit__(self, *_: object) -> None:
        self.ws.close()


class ChatUser(HttpUser):
    abstract = True
    unacked: dict[str, float]
    """client id -> perf_counter at send, until it is acknowledged."""

    def on_start(self) -> None:
        self.origin = self.host.rstrip("/")
        self.client.headers["Origin"] = self.origin

    def ws_url(self, path: str) -> str:
        return re.sub(r"^http", "ws", self.origin) + path

    def report(self, name: str, ms: float, error: Exception | str | None = None) -> None:
        if isinstance(error, str):
            error = LoadFailure(error)
        self.environment.events.request.fire(request_type="ws", name=name, response_time=ms,
                                             response_length=0, exception=error, context={})

    def acknowledged(self, frame: dict[str, Any], side: str, name: str) -> None:
        """Report it when a frame acknowledges one of this user's messages (its own entry on the
        socket of the side that sent it, or `sent`: a re-send of one stored before)."""
        if not (frame["type"] == "sent" or (frame["type"] == "entry" and frame.get("kind") == "msg"
                                            and frame.get("from") == side)):
            return
        sent_at = self.unacked.pop(str(frame.get("client_id", "")), None)
        if sent_at is None:
            self.report(name, 0, "acknowledged twice or never sent")
        else:
            self.report(name, ms_since(sent_at))

    def open_socket(self, side: str, path: str, headers: dict[str, str] | None = None) -> Socket | None:
        started = time.perf_counter()
        try:
            socket = Socket(self.ws_url(path), self.origin, headers)
        except (OSError, TimeoutError, WebSocketException) as error:
            self.report(f"{side} socket opened", ms_since(started), error)
            return None
        self.report(f"{side} socket opened", ms_since(started))
        return socket

    def closed(self, side: str, error: ConnectionClosed) -> None:
        code = error.rcvd.code if error.rcvd else None
        self.report(f"{side} socket closed", 0, f"closed by the server (code {code})")


class Visitor(ChatUser):
    """One anonymous chat after another: start, wait, a few messages, check the answers, end."""

    wait_time = between(1, 5)
    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.unacked = {}
        self.unanswered: dict[int, float] = {}
        """seq -> perf_counter at send, until the counselor's reply to it arrives."""

    def on_stop(self) -> None:
        self.overdue(stopping=True)

    @task
    def chat(self) -> None:
        self.unacked.clear()
        self.unanswered.clear()
        response = self.client.post("/api/chat", json={}, name="/api/chat")
        if not response.ok:  # refused (closed, queue full): already a failure in the statistics
            return
        token = response.json()["token"]
        socket = self.open_socket("visitor", "/ws/chat")
        if socket is None:
            return
        with socket:
            try:
                socket.send({"type": "hello", "token": token, "last_id": "0-0"})
                if self.taken(socket):
                    self.converse(socket)
            except ConnectionClosed as error:
                self.closed("visitor", error)

    def taken(self, socket: Socket) -> bool:
        started = time.perf_counter()
        while time.perf_counter() - started < TAKE_TIMEOUT:
            frame = socket.receive(TICK)
            if frame is None:
                continue
            if frame["type"] == "state" and frame["state"] == "active":
                self.report("visitor chat taken", ms_since(started))
                return True
            if frame["type"] == "state" and frame["state"] in ("ended", "gone", "letter"):
                self.report("visitor chat taken", ms_since(started), f"chat became {frame['state']}")
                return False
            self.check(frame, "")
        self.report("visitor chat taken", ms_since(started), f"not taken within {TAKE_TIMEOUT:g} s")
        socket.send({"type": "end"})
        return False

    def converse(self, socket: Socket) -> None:
        uid = secrets.token_hex(4)
        seq = 0
        next_at = time.perf_counter() + random.uniform(*VISITOR_PAUSE)
        last_sent = 0.0
        while True:
            now = time.perf_counter()
            if seq < MESSAGES and now >= next_at:
                client_id = stamp(f"v{uid}", seq)
                socket.send({"type": "msg", "text": VISITOR_TEXTS[seq % len(VISITOR_TEXTS)],
                             "client_id": client_id})
                self.unacked[client_id] = self.unanswered[seq] = last_sent = now
                seq += 1
                next_at = now + random.uniform(*VISITOR_PAUSE)
            elif seq >= MESSAGES and (not self.unanswered and not self.unacked
                                       or now - last_sent > REPLY_TIMEOUT):
                break
            frame = socket.receive(min(TICK, max(0.0, next_at - now)) if seq < MESSAGES else TICK)
            if frame is not None and not self.check(frame, uid, socket):
                return  # the chat ended or went away
            self.overdue()
        self.overdue(stopping=True)
        self.end(socket)

    def check(self, frame: dict[str, Any], uid: str, socket: Socket | None = None) -> bool:
        """Account for one frame; False when the chat is over."""
        kind = frame["type"]
        self.acknowledged(frame, "visitor", "visitor message acked")
        if kind == "entry" and frame["kind"] == "msg" and frame["from"] == "counselor":
            stamped = parse_stamp(frame.get("client_id", ""))
            if stamped is not None and stamped[0] == f"c{uid}":
                if self.unanswered.pop(stamped[1], None) is None:
                    self.report("counselor reply delivered", stamped[2], "reply delivered twice or unasked")
                else:
                    self.report("counselor reply delivered", stamped[2])
            if socket is not None:
                socket.send({"type": "seen", "id": frame["id"]})
        elif kind == "entry" and frame["kind"] == "end":
            self.report("visitor chat ended", 0, "the chat was ended by someone else")
            return False
        elif kind == "state" and frame["state"] in ("ended", "gone"):
            self.report("visitor chat ended", 0, f"the chat became {frame['state']}")
            return False
        elif kind == "error":
            self.report("visitor error frame", 0, f"{frame.get('code')}: {frame.get('message')}")
        return True

    def overdue(self, stopping: bool = False) -> None:
        """Fail messages not acknowledged or answered in time (when stopping: only those past it)."""
        now = time.perf_counter()
        for client_id, sent_at in list(self.unacked.items()):
            if now - sent_at > ACK_TIMEOUT:
                del self.unacked[client_id]
                self.report("visitor message acked", ms_since(sent_at), f"no ack in {ACK_TIMEOUT:g} s")
        for seq, sent_at in list(self.unanswered.items()):
            if now - sent_at > REPLY_TIMEOUT:
                del self.unanswered[seq]
                self.report("counselor reply delivered", ms_since(sent_at),
                            f"no reply within {REPLY_TIMEOUT:g} s")
        if stopping:  # still in flight: counted neither way
            self.unacked.clear()
            self.unanswered.clear()

    def end(self, socket: Socket) -> None:
        socket.send({"type": "end"})
        started = time.perf_counter()
        while time.perf_counter() - started < ACK_TIMEOUT:
            frame = socket.receive(TICK)
            if frame is not None and (frame["type"] == "entry" and frame["kind"] == "end"
                                      or frame["type"] == "state" and frame["state"] == "ended"):
                self.report("visitor chat ended", ms_since(started))
                return
        self.report("visitor chat ended", ms_since(started), f"not ended within {ACK_TIMEOUT:g} s")


class Counselor(ChatUser):
    """One logged-in console: takes waiting chats and answers every visitor message."""

    fixed_count = STAFF_COUNT
    abstract = not STAFF
    wait_time = between(1, 3)

    def on_start(self) -> None:
        super().on_start()
        self.account = STAFF.pop() if STAFF else None
        self.last_step = -1
        self.cookie = ""
        self.held: dict[str, str] = {}
        """conv -> last entry id, for the chats this counselor holds."""
        self.queue: list[str] = []
        self.tried: set[str] = set()
        self.taking: dict[str, float] = {}
        self.replies: list[tuple[float, str, int, str]] = []
        """(due perf_counter, conv, seq, visitor prefix): answers to send."""
        self.seen: dict[str, set[str]] = {}
        """conv -> client ids of the visitor messages it delivered."""
        self.unacked = {}

    def on_stop(self) -> None:
        if self.account is not None:
            STAFF.append(self.account)
            self.account = None

    def login(self) -> bool:
        """The browser's two steps, password then code; keeps the session cookie."""
        if self.account is None:
            self.report("counselor login", 0, "more counselor users than LOCUST_STAFF accounts")
            return False
        username, password, secret = self.account
        self.client.cookies.clear()
        form = self.client.get("/staff", name="/staff (login form)")
        response = self.client.post("/staff/login", name="/staff/login", allow_redirects=False,
                                    data={"csrf": csrf_of(form.text), "username": username,
                                          "password": password})
        if response.status_code != 303:
            self.report("counselor login", 0, f"password refused ({response.status_code})")
            return False
        page = self.client.get("/staff/login/code", name="/staff/login/code (form)").text
        totp = pyotp.TOTP(secret)
        for _ in range(3):  # each code is accepted once: a code used already (an earlier run) is refused
            step = max(totp.timecode(time.time()), self.last_step + 1)
            while step > totp.timecode(time.time()) + 1:
                time.sleep(1)
            self.last_step = step
            with self.client.post("/staff/login/code", name="/staff/login/code", allow_redirects=False,
                                  data={"csrf": csrf_of(page), "code": totp.generate_otp(step)},
                                  catch_response=True) as response:
                if response.status_code == 303:
                    for name in ("__Host-nexus_staff", "nexus_staff"):
                        if name in response.cookies:
                            self.cookie = f"{name}={response.cookies[name]}"
                            return True
                    response.failure("no session cookie")
                    return False
                if response.status_code != 401:
                    response.failure(f"code refused ({response.status_code})")
                    return False
                response.success()  # a code already used: try the next one
                page = response.text
        self.report("counselor login", 0, "three codes refused")
        return False

    @task
    def console(self) -> None:
        if not self.cookie and not self.login():
            return
        socket = self.open_socket("counselor", "/staff/ws", {"Cookie": self.cookie})
        if socket is None:
            return
        with socket:
            try:
                socket.send({"type": "hello", "chats": dict(self.held)})
                while True:
                    frame = socket.receive(self.until_next_reply())
                    if frame is not None:
                        self.check(frame, socket)
                    self.send_replies(socket)
                    self.take(socket)
                    self.overdue()
            except ConnectionClosed as error:
                self.closed("counselor", error)
                if error.rcvd is not None and error.rcvd.code == 4401:  # the session ended: log in again
                    self.cookie = ""

    def until_next_reply(self) -> float:
        if not self.replies:
            return TICK
        return min(TICK, max(0.0, min(r[0] for r in self.replies) - time.perf_counter()))

    def check(self, frame: dict[str, Any], socket: Socket) -> None:
        kind, conv = frame["type"], frame.get("conv", "")
        self.acknowledged(frame, "counselor", "counselor reply acked")
        if kind == "queue":
            self.queue = [item["conv"] for item in frame["items"]]
        elif kind == "chats":  # on (re)connecting: what the server says this counselor holds
            self.held = {item["conv"]: self.held.get(item["conv"], "0-0") for item in frame["items"]
                         if item["state"] == "active"}
        elif kind == "taken":
            started = self.taking.pop(conv, None)
            self.held.setdefault(conv, "0-0")
            self.seen.setdefault(conv, set())
            self.report("counselor chat taken", ms_since(started) if started else 0)
        elif kind == "take_failed":  # another counselor was quicker: not a failure
            self.taking.pop(conv, None)
        elif kind == "entry" and conv in self.held:
            self.held[conv] = frame["id"]
            if frame["kind"] == "msg" and frame["from"] == "visitor":
                self.visitor_message(frame, socket)
            elif frame["kind"] == "end":
                self.let_go(conv)
        elif kind == "state" and conv and frame.get("state") in ("ended", "gone"):
            self.let_go(conv)
        elif kind == "error" and frame.get("code") != "gone":  # "gone": the visitor just left
            self.report("counselor error frame", 0, f"{frame.get('code')}: {frame.get('message')}")

    def visitor_message(self, frame: dict[str, Any], socket: Socket) -> None:
        conv, client_id = frame["conv"], frame.get("client_id", "")
        seen = self.seen.setdefault(conv, set())
        stamped = parse_stamp(client_id)
        if client_id in seen:
            self.report("visitor message delivered", stamped[2] if stamped else 0, "delivered twice")
            return
        seen.add(client_id)
        if stamped is not None:
            self.report("visitor message delivered", stamped[2])
        socket.send({"type": "seen", "id": frame["id"], "conv": conv})
        prefix, seq = (stamped[0], stamped[1]) if stamped else ("x", len(seen))
        self.replies.append((time.perf_counter() + random.uniform(*REPLY_PAUSE), conv, seq, prefix))

    def let_go(self, conv: str) -> None:
        self.held.pop(conv, None)
        self.seen.pop(conv, None)
        self.replies = [r for r in self.replies if r[1] != conv]

    def send_replies(self, socket: Socket) -> None:
        now = time.perf_counter()
        due = [r for r in self.replies if r[0] <= now]
        self.replies = [r for r in self.replies if r[0] > now]
        for _, conv, seq, prefix in due:
            # The visitor's prefix `v<uid>` answered as `c<uid>`, with the same seq.
            client_id = stamp("c" + prefix[1:], seq)
            socket.send({"type": "msg", "conv": conv, "client_id": client_id,
                         "text": COUNSELOR_TEXTS[seq % len(COUNSELOR_TEXTS)]})
            self.unacked[client_id] = time.perf_counter()

    def take(self, socket: Socket) -> None:
        """Take waiting chats (a random one of those not tried yet) up to the limit."""
        waiting = [conv for conv in self.queue if conv not in self.tried]
        while waiting and len(self.held) + len(self.taking) < CHATS_PER_COUNSELOR:
            conv = waiting.pop(random.randrange(len(waiting)))
            self.tried.add(conv)
            self.taking[conv] = time.perf_counter()
            socket.send({"type": "take", "conv": conv})

    def overdue(self) -> None:
        now = time.perf_counter()
        for client_id, sent_at in list(self.unacked.items()):
            if now - sent_at > ACK_TIMEOUT:
                del self.unacked[client_id]
                self.report("counselor reply acked", ms_since(sent_at), f"no ack in {ACK_TIMEOUT:g} s")
        for conv, started in list(self.taking.items()):
            if now - started > ACK_TIMEOUT:
                del self.taking[conv]
                self.report("counselor chat taken", ms_since(started), f"no answer within {ACK_TIMEOUT:g} s")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    if not match:
        raise LoadFailure("the login form carries no CSRF token")
    return match.group(1)
