"""`python -m app …`: serve the application, manage staff accounts."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import math
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

import uvicorn

from app import log
from app.audit import Audit
from app.config import ConfigError, Settings, load_settings
from app.errors import BadInput
from app.keys import Keys
from app.redis import connect, embedded_redis
from app.shutdown import Shutdown
from app.staff import totp
from app.staff.accounts import ROLES, Accounts
from app.staff.sessions import StaffSessions
from app.staff.totp import Sealer

UVICORN_OPTIONS = {
    # libuv's event loop (what uvicorn[standard] installs): 10-15 % less CPU per chat message than
    # asyncio's own loop, and a lower p99 (loadtests/bench_chat.py at 10 and 1,000 visitors).
    "loop": "uvloop",
    # Largest frame accepted: a 4,000-character message fits several times over.
    "ws_max_size": 64 * 1024,
    "ws_ping_interval": 20,
    "ws_ping_timeout": 20,
    # No compression: a chat's frames are small, and one deflate context per socket over what the
    # visitor wrote and what the counselor (and, on the console, the notes) wrote together is the
    # length side channel we refuse for pages too (CRIME/BREACH). It also costs CPU on every frame
    # and tens of KiB of memory per socket.
    "ws_per_message_deflate": False,
}
"""uvicorn's event loop and WebSocket settings (the benchmark's baseline relay uses the same)."""
GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700). With
thousands of sockets, objects that live a few milliseconds (frames, events, awaiting coroutines)
outlived the default's collections and were promoted, so full collections of every object came
every few seconds, each stopping the process for hundreds of milliseconds (the benchmark at 5,000
visitors: p99 0.5 s). Reference counting frees such objects long before 50,000 allocations."""


def tune_gc() -> None:
    """Collect the youngest objects less often, and never scan again what start-up made."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
LIFESPAN_STOP_SECONDS = 5
"""Longest the lifespan's shutdown (background tasks, Redis connections) may take after
SHUTDOWN_SECONDS: past it the process exits all the same."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port, for uvicorn to listen on (inherited by its workers)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio's loop turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say they are TCP, and accepted ones inherit this one's (uvloop turns it off on all).
    # With Nagle on, a frame written just after another waits for the client's delayed ACK: up to
    # 40 ms on a chat message.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server; on SIGTERM it first stops listening and closes the chat sockets itself."""

    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self.app_shutdown = shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting at once; close every WebSocket with 1012 between two frames; then uvicorn
        finishes the requests in flight and runs the lifespan's shutdown, all in bounded time."""
        for server in self.servers:
            server.close()
        loop = asyncio.get_running_loop()
        seconds = self.config.timeout_graceful_shutdown or 1
        deadline = loop.time() + seconds
        await self.app_shutdown.stop(seconds)
        # uvicorn reads this only now: what the sockets took comes out of its own wait.
        self.config.timeout_graceful_shutdown = max(1, math.ceil(deadline - loop.time()))
        try:
            async with asyncio.timeout_at(deadline + LIFESPAN_STOP_SECONDS):
                await super().shutdown(sockets)
        except TimeoutError:
            log.event("server.shutdown_overran", level=logging.WARNING)


def _exit_cleanly(signum: int, frame: object) -> None:
    """uvicorn handles SIGTERM while it runs and raises it again once it has shut down: then, or
    before it started, the process exits (status 0) through the cleanups of `serve`."""
    raise SystemExit(0)


def serve(settings: Settings, host: str, port: int) -> None:
    from app.main import create_app

    signal.signal(signal.SIGTERM, _exit_cleanly)
    with ExitStack() as stack:
        if not settings.redis_url:
            url = stack.enter_context(embedded_redis())
            log.event("redis.embedded", note="no REDIS_URL: private redis-server started")
            settings = dataclasses.replace(settings, redis_url=url)
        sock = listening_socket(host, port)
        log.event("server.listening", port=sock.getsockname()[1])
        app = create_app(settings)
        tune_gc()
        config = uvicorn.Config(
            app,
            access_log=False,  # it would record every client's address
            log_config=None,  # keep our JSON logging
            **UVICORN_OPTIONS,  # type: ignore[arg-type]  # uvicorn.Config's keywords, spelled out above
            lifespan="on",
            server_header=False,
            proxy_headers=True,
            timeout_graceful_shutdown=settings.shutdown_seconds,
        )
        _Server(config, app.state.shutdown).run(sockets=[sock])


@dataclasses.dataclass
class _Staff:
    """What the staff commands work with: accounts (durable Redis), sessions (ephemeral), the log."""

    accounts: Accounts
    sessions: StaffSessions | None
    audit: Audit


@asynccontextmanager
async def _staff_services(settings: Settings) -> AsyncIterator[_Staff]:
    from app.main import secret_key

    keys = Keys.from_settings(settings)
    durable = connect(settings.durable_url, 4)
    redis = connect(settings.redis_url, 4) if settings.redis_url else None
    try:
        secret = await secret_key(settings, keys, durable)
        audit = Audit(durable, keys, settings.audit_retention_days)
        sessions = None if redis is None else StaffSessions(
            redis, keys, secret, idle_seconds=settings.staff_session_idle_seconds,
            max_seconds=settings.staff_session_max_seconds, secure=settings.secure_cookies, audit=audit)
        yield _Staff(Accounts(durable, keys, Sealer(secret)), sessions, audit)
    finally:
        await durable.aclose()
        if redis is not None:
            await redis.aclose()


async def _end_sessions(staff: _Staff, username: str) -> None:
    if staff.sessions is None:
        print("REDIS_URL is not set: the account's open sessions were not ended", file=sys.stderr)
        return
    print(f"ended {await staff.sessions.end_all(username)} session(s)")


async def _staff_command(settings: Settings, args: argparse.Namespace) -> int:
    """One `staff` subcommand; the actor in the audit log is `cli` (whoever runs it on the server)."""
    async with _staff_services(settings) as staff:
        username = getattr(args, "username", "")
        if args.staff_command == "list":
            for account in await staff.accounts.all():
                status = "disabled" if account.disabled else "active"
                totp_state = "totp" if account.totp_enrolled else "no-totp"
                print(f"{account.username}\t{account.role}\t{status}\t{totp_state}\t{account.display_name}")
            return 0
        if args.staff_command == "add":
            totp_secret = totp.new_secret()
            if not await staff.accounts.add(username, _read_password(), args.role, args.name or username,
                                            totp_secret):
                print(f"an account named {username!r} already exists", file=sys.stderr)
                return 1
            await staff.audit.record("cli", "", "account_add", target=username, other=args.role)
            print(f"created {args.role} account {username!r}")
            print("authenticator app (shown only now): " + totp.uri(totp_secret, username))
            return 0
        if args.staff_command == "reset":
            done = await staff.accounts.reset(username, _read_password())
        else:
            done = await staff.accounts.set_disabled(username, args.staff_command == "disable")
        if not done:
            print(f"no account named {username!r}", file=sys.stderr)
            return 1
        if args.staff_command != "enable":
            await _end_sessions(staff, username)
        await staff.audit.record("cli", "", f"account_{args.staff_command}", target=username)
        print(f"{args.staff_command}: {username}"
              + (" (the next login sets up a new authenticator)" if args.staff_command == "reset" else ""))
        return 0


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the server")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    staff = commands.add_parser("staff", help="manage staff accounts").add_subparsers(
        dest="staff_command", required=True)
    add = staff.add_parser("add", help="create an account; the password is read from stdin")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="counselor")
    add.add_argument("--name", help="first name or alias shown to visitors (default: username)")
    for name, text in (("disable", "disable an account and end its sessions"),
                       ("enable", "enable a disabled account"),
                       ("reset", "new password from stdin; the next login sets up a new authenticator; "
                                 "ends the account's sessions")):
        staff.add_parser(name, help=text).add_argument("username")
    staff.add_parser("list", help="every account: username, role, status, authenticator, name")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    log.configure(settings.log_level)

    if args.command == "serve":
        serve(settings, args.host, args.port)
        return 0
    if not settings.durable_url:
        print("set REDIS_DURABLE_URL or REDIS_URL: accounts live in the durable Redis",
              file=sys.stderr)
        return 2
    try:
        return asyncio.run(_staff_command(settings, args))
    except BadInput as error:
        print(f"refused: {error.detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
