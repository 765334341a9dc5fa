"""Staff accounts from the command line, login, logout and CSRF, over real HTTP."""

import re
import subprocess
import sys

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    TOTP_SECRETS,
    add_staff,
    form_csrf,
    next_code,
    open_socket,
    staff_http,
    staff_login,
    staff_socket,
    totp_secret_of,
)
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
    """Log in the way a browser sends our own forms: our no-referrer policy makes Origin null."""
    username, password = add_staff(server.env)
    with httpx.Client(base_url=server.url) as http:
        csrf = form_csrf(http.get("/staff").text)
        response = http.post("/staff/login", data={"csrf": csrf, "username": username, "password": password},
                             headers=headers)
        if response.status_code != 303:
            return response
        csrf = form_csrf(http.get("/staff/login/code").text)
        return http.post("/staff/login/code", data={"csrf": csrf, "code": next_code(username)},
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
    response = login_with_browser_headers(server, {"Origin": server.url})
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("nexus_staff=")][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/;" in cookie + ";"
    assert "Secure" not in cookie, "plain http in development"


def test_under_tls_the_cookie_is_a_secure_host_cookie(start_server):
    server = start_server(COOKIE_SECURE="true")
    username, password = add_staff(server.env)
    jar = {}  # httpx keeps Secure cookies off plain http: carried by hand, as a browser would over TLS

    def cookies():
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}

    def step(form_page, path, data):
        page = httpx.get(server.url + form_page, headers=cookies())
        jar.update(page.cookies)
        response = httpx.post(server.url + path, data={"csrf": form_csrf(page.text), **data},
                              headers={"Origin": server.url, **cookies()})
        jar.update(response.cookies)
        return response

    assert step("/staff", "/staff/login", {"username": username, "password": password}).status_code == 303
    response = step("/staff/login/code", "/staff/login/code", {"code": next_code(username)})
    assert response.status_code == 303
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-nexus_staff=")][0]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/;" in cookie + ";" and "Domain" not in cookie


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


async def test_development_creates_a_first_account_and_prints_it_once(server):
    log = server.log_text()
    assert log.count("Development account created") == 1
    username, password = re.search(r"as '(\w+)' with password '([^']+)'", log).groups()
    TOTP_SECRETS[username] = totp_secret_of(log)
    assert await staff_login(server, username, password)


async def test_the_console_is_swedish_with_english_one_tap_away(server):
    async with staff_http(server, role="counselor") as (http, _, _):
        swedish = await http.get("/staff")
        assert '<html lang="sv"' in swedish.text and "Logga ut" in swedish.text
        switched = await http.post("/lang", data={"lang": "en", "next": "/staff"})
        assert (switched.status_code, switched.headers["location"]) == (303, "/staff")
        http.cookies.set("lang", switched.cookies["lang"])
        english = await http.get("/staff")
        assert '<html lang="en"' in english.text and "Log out" in english.text and "Queue" in english.text
