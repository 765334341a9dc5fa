"""Every staff route and socket message is refused to anonymous clients and to roles without the right.

The routes are walked from the application itself, so a new staff route without a rule
fails here before anyone can forget it.
"""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed

from app.chat.protocol import TYPES, VISITOR_ONLY
from app.config import load_settings
from app.main import create_app
from app.staff import access
from app.staff.accounts import ROLES
from tests.clients import add_staff, open_socket, staff_login
from tests.redis_scan import audit_log
from tests.servers import ServerProcess

PUBLIC = {("/staff", "GET"), ("/staff", "HEAD"), ("/staff/login", "POST")} | {
    (f"/staff/login/{step}", method) for step in ("code", "enrol") for method in ("GET", "HEAD", "POST")}
"""The login steps (password, code, enrolment): the only staff routes without a session."""
SOCKETS = {"/staff/ws"}
"""Staff WebSocket routes: checked per message type (MESSAGE_PERMISSIONS) and below."""


def staff_routes() -> list[tuple[str, str, object]]:
    """(path, method, endpoint) for every staff HTTP route of the real application."""
    app = create_app(load_settings({"APP_ENV": "development"}))  # never started: only its routes
    found = []
    for route in app.routes:
        if isinstance(route, WebSocketRoute) and route.path.startswith("/staff"):
            assert route.path in SOCKETS, f"a staff socket without a rule: {route.path}"
        elif isinstance(route, Route) and route.path.startswith("/staff"):
            found += [(route.path, method, route.endpoint) for method in sorted(route.methods or ())]
    return found


PROTECTED = [(path, method, getattr(endpoint, "permission", None))
             for path, method, endpoint in staff_routes() if (path, method) not in PUBLIC]


def test_every_staff_route_has_a_rule():
    assert PROTECTED, "the walk found no staff routes"
    known = set().union(*access.PERMISSIONS.values())
    for path, method, permission in PROTECTED:
        assert permission in known, f"{method} {path} is not wrapped by access.staff_endpoint"


def test_every_staff_message_type_has_a_rule():
    for message_type in TYPES - VISITOR_ONLY - {"ping"}:
        assert message_type in access.MESSAGE_PERMISSIONS, message_type
    assert not access.message_allowed("counselor", "no-such-type"), "an unknown type must be refused"


def test_least_privilege():
    assert set(access.PERMISSIONS) == set(ROLES)
    assert not access.allowed("admin", access.CHAT), "an admin never reads a conversation"
    assert not access.allowed("counselor", access.ACCOUNTS_MANAGE)
    assert not access.allowed("counselor", access.AUDIT_READ)
    assert access.PERMISSIONS["counselor"] < access.PERMISSIONS["supervisor"]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def csrf_of(server: ServerProcess, cookie: str) -> str:
    page = httpx.get(server.url + "/staff", cookies={"nexus_staff": cookie}, follow_redirects=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "a logged-in page carries the session's CSRF token"
    return match.group(1)


def call(server: ServerProcess, method: str, path: str, cookie: str = "", csrf: str = "") -> httpx.Response:
    headers = {"Origin": server.url, "Accept": "text/html"}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    cookies = {"nexus_staff": cookie} if cookie else {}
    return httpx.request(method, server.url + concrete(path), headers=headers, cookies=cookies,
                         follow_redirects=False)


@pytest.fixture
async def sessions(server) -> dict[str, tuple[str, str, str]]:
    """A logged-in session of each role: (username, cookie, csrf)."""
    found = {}
    for role in ROLES:
        username, password = add_staff(server.env, role=role)
        cookie = await staff_login(server, username, password)
        found[role] = (username, cookie, csrf_of(server, cookie))
    return found


def test_every_protected_route_refuses_anonymous_clients(server):
    for path, method, _ in PROTECTED:
        response = call(server, method, path)
        expected = {303} if method in access.SAFE_METHODS else {401}
        assert response.status_code in expected, f"{method} {path}: {response.status_code}"
        if response.status_code == 303:
            assert response.headers["location"] == "/staff"


@pytest.mark.anyio
async def test_every_protected_route_refuses_roles_without_the_right(server, sessions, redis_url):
    refused = []
    for path, method, permission in PROTECTED:
        for role, (username, cookie, csrf) in sessions.items():
            if access.allowed(role, permission):
                continue
            response = call(server, method, path, cookie, csrf)
            assert response.status_code == 403, f"{role}: {method} {path}: {response.status_code}"
            refused.append((username, permission))
    denied = [(e["actor"], e["target"]) for e in audit_log(redis_url, server.env["KEY_PREFIX"])
              if e["action"] == "denied"]
    assert denied == refused, "every refusal is in the audit log"


@pytest.mark.anyio
async def test_state_changes_need_the_sessions_csrf_token(server, sessions):
    _, cookie, csrf = sessions["counselor"]
    for path, method, permission in PROTECTED:
        if method in access.SAFE_METHODS or not access.allowed("counselor", permission):
            continue
        assert call(server, method, path, cookie).status_code == 403, f"{method} {path} without a token"
        assert call(server, method, path, cookie, "wrong").status_code == 403, f"{method} {path}"


@pytest.mark.anyio
async def test_an_admin_has_no_console_socket(server):
    username, password = add_staff(server.env, role="admin")
    cookie = await staff_login(server, username, password)
    socket = await open_socket(server, "/staff/ws", headers={"Cookie": f"nexus_staff={cookie}"})
    with pytest.raises(ConnectionClosed):  # refused before or just after its hello
        await socket.send({"type": "hello", "chats": {}})
        for _ in range(5):
            await socket.receive()
    assert socket.connection.close_code == 4405
