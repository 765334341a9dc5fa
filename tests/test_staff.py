"""Staff accounts from the command line, login, logout and CSRF, over real HTTP."""

import re
import subprocess
import sys

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from tests.clients import add_staff, open_socket, staff_login, staff_socket
from tests.servers import ROOT

pytestmark = pytest.mark.anyio


def cli(env, *args, password="a long enough password"):
    return subprocess.run([sys.executable, "-m", "app", "staff", *args], input=password + "\n",
                          text=True, cwd=ROOT, env=env, capture_output=True)


def test_staff_add_stores_an_argon2id_hash_never_the_password(server, redis_url):
    result = cli(server.env, "add", "lena", "--role", "counselor", "--name", "Lena")
    assert result.returncode == 0, result.stderr
    stored = redis.Redis.from_url(redis_url, decode_responses=True).hgetall(
        server.env["KEY_PREFIX"] + "staff:u:lena")
    assert stored["password_hash"].startswith("$argon2id$")
    assert "a long enough password" not in repr(stored)
    assert (stored["role"], stored["display_name"]) == ("counselor", "Lena")


def test_staff_add_refuses_short_passwords_bad_names_and_duplicates(server):
    assert cli(server.env, "add", "kim", password="short").returncode == 2
    assert cli(server.env, "add", "Not Valid!").returncode == 2
    assert cli(server.env, "add", "kim").returncode == 0
    duplicate = cli(server.env, "add", "kim")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr


async def test_login_with_the_right_password_only(server):
    username, password = add_staff(server.env)
    assert await staff_login(server, username, password)
    with httpx.Client(base_url=server.url) as http:
        form = http.get("/staff")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        wrong = http.post("/staff/login", data={"csrf": csrf, "username": username,
                                                "password": "wrong password!!"},
                          headers={"Origin": server.url})
        csrf = re.search(r'name="csrf" value="([^"]+)"', wrong.text).group(1)  # a fresh one
        unknown = http.post("/staff/login", data={"csrf": csrf, "username": "nobody",
                                                  "password": password},
                            headers={"Origin": server.url})
    assert wrong.status_code == unknown.status_code == 401
    assert "Fel användarnamn eller lösenord." in wrong.text
    assert "nexus_staff" not in wrong.headers.get("set-cookie", "")


def test_login_without_the_csrf_token_is_refused(server):
    username, password = add_staff(server.env)
    response = httpx.post(server.url + "/staff/login",
                          data={"username": username, "password": password, "csrf": "forged"},
                          headers={"Origin": server.url}, cookies={"nexus_login_csrf": "other"})
    assert response.status_code == 403 and "nexus_staff=" not in response.headers.get("set-cookie", "")


def login_with_browser_headers(server, headers):
    """Log in the way a browser sends our own form: our no-referrer policy makes Origin null."""
    username, password = add_staff(server.env)
    with httpx.Client(base_url=server.url) as http:
        csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/staff").text).group(1)
        return http.post("/staff/login", data={"csrf": csrf, "username": username, "password": password},
                         headers=headers)


def test_login_from_our_own_form_with_a_null_origin_works(server):
    response = login_with_browser_headers(server, {"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 303 and "nexus_staff=" in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("headers", [
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "null"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    {},
])
def test_login_from_elsewhere_is_refused(server, headers):
    response = login_with_browser_headers(server, headers)
    assert response.status_code == 403 and "nexus_staff=" not in response.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_and_strict(server):
    username, password = add_staff(server.env)
    with httpx.Client(base_url=server.url) as http:
        form = http.get("/staff")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        response = http.post("/staff/login", data={"csrf": csrf, "username": username,
                                                   "password": password},
                             headers={"Origin": server.url})
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("nexus_staff=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/staff" in cookie


async def test_logout_ends_the_session_on_the_server(server):
    username, password = add_staff(server.env)
    cookie = await staff_login(server, username, password)
    with httpx.Client(base_url=server.url, cookies={"nexus_staff": cookie},
                      headers={"Origin": server.url}) as http:
        console = http.get("/staff")
        assert "Logga ut" in console.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', console.text).group(1)
        assert http.post("/staff/logout", data={"csrf": "wrong"}).status_code == 403
        assert http.post("/staff/logout", data={"csrf": csrf}).status_code == 303
    # The old cookie is worthless now, on every route and on the socket.
    assert "Logga in" in httpx.get(server.url + "/staff", cookies={"nexus_staff": cookie}).text
    socket = await open_socket(server, "/staff/ws", headers={"Cookie": f"nexus_staff={cookie}"})
    with pytest.raises(ConnectionClosed):
        for _ in range(5):
            await socket.receive()
    assert socket.connection.close_code == 4401


async def test_the_console_socket_refuses_a_foreign_origin(server):
    username, password = add_staff(server.env)
    cookie = await staff_login(server, username, password)
    socket = await open_socket(server, "/staff/ws", headers={"Cookie": f"nexus_staff={cookie}"},
                               origin="https://evil.example")
    with pytest.raises(ConnectionClosed):
        for _ in range(5):
            await socket.receive()
    assert socket.connection.close_code == 4403
    good = await staff_socket(server, cookie)
    assert (await good.until(lambda f: f["type"] == "queue"))["items"] == []
    await good.close()


def test_development_creates_a_first_account_and_prints_it_once(server):
    log = server.log_text()
    assert log.count("Development account created") == 1
    username, password = re.search(r"as '(\w+)' with password '([^']+)'", log).groups()
    with httpx.Client(base_url=server.url) as http:
        csrf = re.search(r'name="csrf" value="([^"]+)"', http.get("/staff").text).group(1)
        response = http.post("/staff/login", data={"csrf": csrf, "username": username,
                                                   "password": password},
                             headers={"Origin": server.url})
    assert response.status_code == 303
