"""`python -m app …`: serve the application, manage staff accounts."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import socket
import sys
from contextlib import ExitStack

import uvicorn

from app import log
from app.config import ConfigError, Settings, load_settings
from app.errors import BadInput
from app.keys import Keys
from app.redis import connect, embedded_redis
from app.staff.accounts import ROLES, Accounts

WS_MAX_BYTES = 64 * 1024
"""Largest WebSocket frame accepted: a 4,000-character message fits several times over."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, host: str, port: int) -> None:
    from app.main import create_app

    with ExitStack() as stack:
        if not settings.redis_url:
            url = stack.enter_context(embedded_redis())
            log.event("redis.embedded", note="no REDIS_URL: private redis-server started")
            settings = dataclasses.replace(settings, redis_url=url)
        sock = _bind(host, port)
        log.event("server.listening", port=sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(settings),
            access_log=False,  # it would record every client's address
            log_config=None,  # keep our JSON logging
            ws_max_size=WS_MAX_BYTES,
            ws_ping_interval=20,
            ws_ping_timeout=20,
            lifespan="on",
            server_header=False,
            proxy_headers=True,
        )
        uvicorn.Server(config).run(sockets=[sock])


async def _staff_add(settings: Settings, username: str, role: str, name: str, password: str) -> int:
    durable = connect(settings.durable_url, 4)
    try:
        accounts = Accounts(durable, Keys.from_settings(settings))
        if not await accounts.add(username, password, role, name):
            print(f"an account named {username!r} already exists", file=sys.stderr)
            return 1
    finally:
        await durable.aclose()
    print(f"created {role} account {username!r}")
    return 0


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
    password = sys.stdin.readline().rstrip("\n")
    try:
        return asyncio.run(_staff_add(settings, args.username, args.role,
                                      args.name or args.username, password))
    except BadInput as error:
        print(f"refused: {error.detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
