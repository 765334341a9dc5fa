"""Two-step staff login over real HTTP: password, then a one-time code; enrolment; throttling; rehash."""

import re
import time

import httpx
import pyotp
import pytest
import redis
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from app.config import ConfigError, load_settings
from app.staff.login_throttle import FAILURES_PER_CLIENT, FAILURES_PER_NAME
from tests.clients import TOTP_SECRETS, add_staff, form_csrf, next_code, staff_login
from tests.redis_scan import audit_log
from tests.test_staff import cli

pytestmark = pytest.mark.anyio


OPEN: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def close_clients():
    yield
    while OPEN:
        OPEN.pop().close()


def wrong_code(username: str, secret: str | None = None) -> str:
    """A code the server accepts at no step near now."""
    totp = pyotp.TOTP(secret or TOTP_SECRETS[username])
    now = totp.timecode(time.time())
    accepted = {totp.generate_otp(now + offset) for offset in (-1, 0, 1, 2)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444") if code not in accepted)


class Login:
    """One browser's way through the login forms (cookies kept between the steps)."""

    def __init__(self, server, address: str | None = None) -> None:
        headers = {"Origin": server.url}
        if address:  # another client: the test server trusts X-Forwarded-For from 127.0.0.1
            headers["X-Forwarded-For"] = address
        self.http = httpx.Client(base_url=server.url, headers=headers)
        OPEN.append(self.http)

    def password(self, username: str, password: str) -> httpx.Response:
        csrf = form_csrf(self.http.get("/staff").text)
        return self.http.post("/staff/login", data={"csrf": csrf, "username": username, "password": password})

    def code(self, code: str, step: str = "code") -> httpx.Response:
        csrf = form_csrf(self.http.get(f"/staff/login/{step}").text)
        return self.http.post(f"/staff/login/{step}", data={"csrf": csrf, "code": code})


def test_the_password_alone_gives_no_session_the_code_does(server):
    username, password = add_staff(server.env)
    login = Login(server)
    first = login.password(username, password)
    assert first.status_code == 303 and first.headers["location"] == "/staff/login/code"
    assert "nexus_staff" not in first.headers.get("set-cookie", "")
    wrong = login.code(wrong_code(username))
    assert wrong.status_code == 401 and "Fel kod" in wrong.text
    right = login.code(next_code(username))
    assert right.status_code == 303 and right.headers["location"] == "/staff"
    assert "nexus_staff=" in right.headers.get("set-cookie", "")


def test_a_code_works_only_once(server):
    username, password = add_staff(server.env)
    code = next_code(username)
    first = Login(server)
    first.password(username, password)
    assert first.code(code).status_code == 303
    again = Login(server)
    again.password(username, password)
    reused = again.code(code)
    assert reused.status_code == 401 and "nexus_staff=" not in reused.headers.get("set-cookie", "")


def test_the_code_step_needs_the_password_step_first(server):
    http = Login(server).http
    assert http.get("/staff/login/code").headers["location"] == "/staff"
    csrf = form_csrf(http.get("/staff").text)
    response = http.post("/staff/login/code", data={"csrf": csrf, "code": "123456"})
    assert response.status_code == 303 and response.headers["location"] == "/staff"


def test_an_account_without_an_authenticator_enrols_one_after_the_password(server, redis_url):
    username, password = add_staff(server.env)
    new_password = "a fresh password for the reset"
    assert cli(server.env, "reset", username, password=new_password).returncode == 0
    login = Login(server)
    assert login.password(username, password).status_code == 401, "the old password is gone"
    first = login.password(username, new_password)
    assert first.headers["location"] == "/staff/login/enrol"
    page = login.http.get("/staff/login/enrol")
    assert "<svg" in page.text and "http://" not in page.text.split("<svg", 1)[1].split("</svg>")[0] \
        .replace("http://www.w3.org/", ""), "the QR code is drawn here, from no other service"
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1).replace(" ", "")
    assert login.code(wrong_code(username, secret), "enrol").status_code == 401
    done = login.code(pyotp.TOTP(secret).now(), "enrol")
    assert done.status_code == 303 and "nexus_staff=" in done.headers.get("set-cookie", "")
    TOTP_SECRETS[username] = secret
    log = audit_log(redis_url, server.env["KEY_PREFIX"])
    assert [e for e in log if e["action"] == "totp_enrol" and e["actor"] == username]
    assert not [e for e in log if secret in repr(e)]


def test_without_required_totp_a_password_is_enough_but_never_in_production(start_server):
    server = start_server(STAFF_TOTP_REQUIRED="false")
    username, password = add_staff(server.env)
    cli(server.env, "reset", username, password="a fresh password for the reset")
    response = Login(server).password(username, "a fresh password for the reset")
    assert response.status_code == 303 and "nexus_staff=" in response.headers.get("set-cookie", "")
    with pytest.raises(ConfigError, match="STAFF_TOTP_REQUIRED"):
        load_settings({"APP_ENV": "production", "SECRET_KEY": "k" * 40, "OPENING_HOURS": "always",
                       "INTAKE_KEYS": Fernet.generate_key().decode(),
                       "CALLBACK_KEYS": Fernet.generate_key().decode(), "STAFF_TOTP_REQUIRED": "false"})


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", html)


def test_lockout_after_repeated_failures_looks_the_same_for_known_and_unknown_names(server, redis_url):
    username, password = add_staff(server.env)
    answers = {}
    for name, address in ((username, "198.51.100.1"), ("nobody-here", "198.51.100.2")):
        login = Login(server, address)
        for _ in range(FAILURES_PER_NAME - 1):
            assert login.password(name, "wrong password, many times").status_code == 401
        assert login.password(name, "wrong password, many times").status_code == 429
        locked = login.password(name, password)  # even the right password, while locked
        assert locked.status_code == 429
        assert "För många försök. Försök igen om 15 minuter." in locked.text
        assert not re.search(r"nexus_(staff|login_pending)=[^\";]", locked.headers.get("set-cookie", ""))
        answers[name] = without_csrf(locked.text)
        # From another client too: the lock is on the name.
        assert Login(server, "198.51.100.3").password(name, password).status_code == 429
    assert answers[username] == answers["nobody-here"], "the answer does not tell who has an account"
    locks = [e for e in audit_log(redis_url, server.env["KEY_PREFIX"]) if e["action"] == "login_locked"]
    assert [e.get("actor", "") for e in locks] == [username, ""]


def test_one_client_trying_many_names_is_locked_out(server):
    username, password = add_staff(server.env)
    login = Login(server, "203.0.113.9")
    for i in range(FAILURES_PER_CLIENT - 1):
        assert login.password(f"guess{i}", "wrong password, many times").status_code == 401
    assert login.password("guess-last", "wrong password, many times").status_code == 429
    assert login.password(username, password).status_code == 429
    assert Login(server, "203.0.113.10").password(username, password).status_code == 303


def test_wrong_codes_count_towards_the_lockout(server):
    username, password = add_staff(server.env)
    login = Login(server, "192.0.2.7")
    login.password(username, password)
    statuses = [login.code(wrong_code(username)).status_code for _ in range(FAILURES_PER_NAME)]
    assert statuses == [401] * (FAILURES_PER_NAME - 1) + [429]
    assert login.http.get("/staff/login/code").headers["location"] == "/staff", "the pending login is gone"


async def test_login_rehashes_a_password_hashed_with_old_parameters(server, redis_url):
    username, password = add_staff(server.env)
    key = server.env["KEY_PREFIX"] + f"staff:u:{username}"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password)
    client.hset(key, "password_hash", old)
    assert await staff_login(server, username, password)
    new = client.hget(key, "password_hash")
    assert new != old and new.startswith("$argon2id$") and PasswordHasher().verify(new, password)
    assert not PasswordHasher().check_needs_rehash(new)
