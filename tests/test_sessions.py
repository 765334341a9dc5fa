"""Staff sessions: idle and absolute expiry, staying signed in, and ending them everywhere at once."""

import asyncio
import hashlib
import hmac
import time

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from tests.clients import Socket, add_staff, form_csrf, staff_login, staff_socket
from tests.redis_scan import audit_log
from tests.test_staff import cli

pytestmark = pytest.mark.anyio


def session_key(server, cookie: str) -> str:
    """The session's Redis key: a keyed hash of the cookie, as the server names it."""
    digest = hmac.new(server.env["SECRET_KEY"].encode(), cookie.encode(), hashlib.sha256).hexdigest()[:40]
    return server.env["KEY_PREFIX"] + "ss:" + digest


def backdate(redis_url: str, server, cookie: str, field: str, seconds: float) -> None:
    """Make the session look `seconds` older in one respect (last use, or login): no waiting."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.hset(session_key(server, cookie), field, str(time.time() - seconds))
    client.close()


def status(server, cookie: str) -> httpx.Response:
    return httpx.get(server.url + "/staff/session", cookies={"nexus_staff": cookie},
                     headers={"Accept": "application/json"})


async def closed_with(socket: Socket) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed):
        for _ in range(100):
            await socket.receive()
    return socket.connection.close_code


async def counselor_session(server) -> tuple[str, str]:
    username, password = add_staff(server.env)
    return username, await staff_login(server, username, password)


async def test_a_session_ends_after_the_idle_time_and_it_is_audited(start_server, redis_url):
    server = start_server(STAFF_SESSION_IDLE_SECONDS="60")
    username, cookie = await counselor_session(server)
    left = status(server, cookie).json()["seconds_left"]
    assert 55 <= left <= 60
    backdate(redis_url, server, cookie, "seen", 61)
    assert status(server, cookie).status_code == 401
    assert not redis.Redis.from_url(redis_url).exists(session_key(server, cookie))
    expired = [e for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "session_expired"]
    assert [(e["actor"], e["other"]) for e in expired] == [(username, "idle")]


async def test_a_session_ends_at_the_absolute_timeout_however_busy(start_server, redis_url):
    server = start_server(STAFF_SESSION_MAX_SECONDS="120")
    username, cookie = await counselor_session(server)
    assert status(server, cookie).json()["seconds_left"] <= 120, "the idle time never outlasts the maximum"
    assert redis.Redis.from_url(redis_url).ttl(session_key(server, cookie)) <= 120
    backdate(redis_url, server, cookie, "created", 121)
    assert status(server, cookie).status_code == 401
    expired = [e for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "session_expired"]
    assert [(e["actor"], e["other"]) for e in expired] == [(username, "max")]


async def test_asking_the_time_left_is_not_use_staying_signed_in_is(server, redis_url):
    _, cookie = await counselor_session(server)
    backdate(redis_url, server, cookie, "seen", 300)
    before = status(server, cookie).json()["seconds_left"]
    assert before <= 600 and status(server, cookie).json()["seconds_left"] <= before
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    csrf = client.hget(session_key(server, cookie), "csrf")
    client.close()
    keepalive = server.url + "/staff/session/keepalive"
    headers = {"Origin": server.url, "Accept": "application/json"}
    assert httpx.post(keepalive, cookies={"nexus_staff": cookie}, headers=headers).status_code == 403
    response = httpx.post(keepalive, cookies={"nexus_staff": cookie},
                          headers={**headers, "X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.json()["seconds_left"] > 890


async def test_logout_ends_the_session_and_closes_its_socket(server, redis_url):
    _, cookie = await counselor_session(server)
    socket = await staff_socket(server, cookie)
    await socket.until(lambda f: f["type"] == "queue")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    csrf = client.hget(session_key(server, cookie), "csrf")
    response = httpx.post(server.url + "/staff/logout", data={"csrf": csrf}, cookies={"nexus_staff": cookie},
                          headers={"Origin": server.url})
    assert response.status_code == 303
    assert await closed_with(socket) == 4401
    assert status(server, cookie).status_code == 401
    assert not client.exists(session_key(server, cookie))
    client.close()


async def test_an_idle_session_closes_its_socket(start_server, redis_url):
    server = start_server(CONVERSATION_IDLE_SECONDS="3")  # the console checks its session every second
    _, cookie = await counselor_session(server)
    socket = await staff_socket(server, cookie)
    await socket.until(lambda f: f["type"] == "queue")
    backdate(redis_url, server, cookie, "seen", 10_000)
    assert await closed_with(socket) == 4401


async def test_working_in_the_console_is_use_of_the_session(start_server, redis_url):
    # The console reads its session only now and then as the counselor works: often enough, for any
    # idle time, that the work keeps the session alive.
    server = start_server(STAFF_SESSION_IDLE_SECONDS="4")
    _, cookie = await counselor_session(server)
    socket = await staff_socket(server, cookie)
    await socket.until(lambda f: f["type"] == "queue")
    for _ in range(7):  # longer than the idle time, never idle for long
        await socket.send({"type": "status", "status": "available"})
        await asyncio.sleep(1)
    assert status(server, cookie).status_code == 200
    await socket.close()


async def admin_page(server) -> tuple[httpx.Client, str, str]:
    """An admin logged in on the accounts page: (client, the session's CSRF token, username)."""
    username, password = add_staff(server.env, role="admin")
    cookie = await staff_login(server, username, password)
    http = httpx.Client(base_url=server.url, cookies={"nexus_staff": cookie}, headers={"Origin": server.url})
    return http, form_csrf(http.get("/staff/accounts").text), username


@pytest.mark.parametrize("how", ["page", "cli"])
async def test_disabling_an_account_ends_all_its_sessions_and_closes_its_sockets(server, redis_url, how):
    username, password = add_staff(server.env)
    cookies = [await staff_login(server, username, password) for _ in range(2)]
    sockets = [await staff_socket(server, cookie) for cookie in cookies]
    for socket in sockets:
        await socket.until(lambda f: f["type"] == "queue")
    if how == "page":
        http, csrf, _ = await admin_page(server)
        assert http.post(f"/staff/accounts/{username}/disable", data={"csrf": csrf}).status_code == 200
        http.close()
    else:
        assert cli(server.env, "disable", username).returncode == 0
    for socket in sockets:
        assert await closed_with(socket) == 4401
    for cookie in cookies:
        assert status(server, cookie).status_code == 401
    actions = [(e.get("target"), e["action"]) for e in audit_log(redis_url, server.env["KEY_PREFIX"])]
    assert (username, "account_disable") in actions
