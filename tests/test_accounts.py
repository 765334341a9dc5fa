"""Managing staff accounts: the admins' page, the command line, and the password policy."""

import re

import httpx
import pytest

from app.errors import BadInput
from app.staff.accounts import check_password
from tests.clients import TOTP_SECRETS, add_staff, form_csrf, staff_login, totp_secret_of
from tests.redis_scan import audit_log
from tests.test_login import Login
from tests.test_sessions import admin_page, status
from tests.test_staff import cli

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("password", [
    "short one",  # under 12 characters
    "password1234", "qwertyuiopas", "123456789012", "iloveyou2024",  # common or keyboard runs
    "lenalenalena", "Lena Andersson 1990",  # the person's own name
])
def test_the_password_policy_refuses_short_common_and_personal_passwords(password):
    with pytest.raises(BadInput):
        check_password(password, "lena", "Lena Andersson")


def test_the_password_policy_accepts_a_long_unusual_phrase():
    check_password("cloudberry tram at half past nine", "lena", "Lena")
    check_password("x" * 8 + "Vq3#mT9!zR", "lena", "Lena")


def test_the_cli_adds_lists_disables_enables_and_resets(server):
    added = cli(server.env, "add", "maja", "--role", "supervisor", "--name", "Maja")
    assert added.returncode == 0 and "otpauth://totp/" in added.stdout
    TOTP_SECRETS["maja"] = totp_secret_of(added.stdout)
    weak = cli(server.env, "add", "kalle", password="password1234")
    assert weak.returncode == 2 and "too easy to guess" in weak.stderr
    assert "maja\tsupervisor\tactive\ttotp\tMaja" in cli(server.env, "list").stdout.splitlines()
    assert cli(server.env, "disable", "maja").returncode == 0
    assert Login(server).password("maja", "a long enough password").status_code == 401
    assert "\tdisabled\t" in cli(server.env, "list").stdout
    assert cli(server.env, "enable", "maja").returncode == 0
    assert Login(server).password("maja", "a long enough password").status_code == 303
    assert cli(server.env, "reset", "maja", password="qwerty123456").returncode == 2, "the policy holds"
    assert cli(server.env, "reset", "maja", password="a different long password").returncode == 0
    assert "maja\tsupervisor\tactive\tno-totp\tMaja" in cli(server.env, "list").stdout.splitlines()
    assert cli(server.env, "disable", "nobody").returncode == 1


async def test_an_admin_lands_on_the_accounts_page_and_has_no_console(server):
    username, password = add_staff(server.env, role="admin")
    cookie = await staff_login(server, username, password)
    response = httpx.get(server.url + "/staff", cookies={"nexus_staff": cookie})
    assert response.status_code == 303 and response.headers["location"] == "/staff/accounts"


async def test_an_admin_creates_an_account_that_enrols_at_its_first_login(server, redis_url):
    http, csrf, _ = await admin_page(server)
    created = http.post("/staff/accounts", data={"csrf": csrf, "username": "nora", "display_name": "Nora",
                                                 "role": "counselor"})
    assert created.status_code == 200
    password = re.search(r"<code>([^<]+)</code>", created.text.split('id="temporary-password"')[1]).group(1)
    assert 'id="temporary-password"' not in http.get("/staff/accounts").text, "shown once"
    row = re.search(r'<tr data-username="nora">.*?</tr>', http.get("/staff/accounts").text, re.S).group(0)
    assert "Aktivt" in row and "Inte konfigurerad" in row
    taken = http.post("/staff/accounts", data={"csrf": csrf, "username": "nora", "display_name": "N",
                                               "role": "counselor"})
    assert taken.status_code == 409
    assert Login(server).password("nora", password).headers["location"] == "/staff/login/enrol"
    log = audit_log(redis_url, server.env["KEY_PREFIX"])
    entries = [(e["actor"], e["action"], e.get("target")) for e in log]
    admin = next(actor for actor, action, _ in entries if action == "login")
    assert (admin, "account_add", "nora") in entries
    assert not [e for e in log if password in repr(e)]
    http.close()


async def test_reset_and_role_change_on_the_page_end_the_sessions(server, redis_url):
    username, password = add_staff(server.env)
    http, csrf, _ = await admin_page(server)
    cookie = await staff_login(server, username, password)
    reset = http.post(f"/staff/accounts/{username}/reset", data={"csrf": csrf})
    assert reset.status_code == 200 and 'id="temporary-password"' in reset.text
    assert status(server, cookie).status_code == 401
    temporary = re.search(r"<code>([^<]+)</code>", reset.text.split('id="temporary-password"')[1]).group(1)
    assert Login(server).password(username, password).status_code == 401
    assert Login(server).password(username, temporary).headers["location"] == "/staff/login/enrol"

    other, other_password = add_staff(server.env)
    cookie = await staff_login(server, other, other_password)
    promoted = http.post(f"/staff/accounts/{other}/role", data={"csrf": csrf, "role": "supervisor"})
    assert promoted.status_code == 200
    assert status(server, cookie).status_code == 401, "a session carries its role: a new one is needed"
    assert http.post(f"/staff/accounts/{other}/role", data={"csrf": csrf, "role": "king"}).status_code == 400
    actions = [(e["action"], e.get("target"), e.get("other")) for e in
               audit_log(redis_url, server.env["KEY_PREFIX"])]
    assert ("account_reset", username, None) in actions and ("account_role", other, "supervisor") in actions
    http.close()


async def test_an_admin_cannot_lock_themselves_out(server):
    http, csrf, own = await admin_page(server)
    assert http.post(f"/staff/accounts/{own}/disable", data={"csrf": csrf}).status_code == 400
    demoted = http.post(f"/staff/accounts/{own}/role", data={"csrf": csrf, "role": "counselor"})
    assert demoted.status_code == 400
    http.close()


@pytest.mark.parametrize("path", ["/staff/accounts", *(f"/staff/accounts/{{u}}/{action}" for action in
                                                       ("disable", "enable", "reset", "role"))])
async def test_account_changes_need_the_sessions_csrf_token(server, path):
    username, _ = add_staff(server.env)
    http, csrf, _ = await admin_page(server)
    url = path.format(u=username)
    data = {"username": "zed", "display_name": "Zed", "role": "admin"}
    assert http.post(url, data=data).status_code == 403
    assert http.post(url, data={**data, "csrf": "forged"}).status_code == 403
    foreign = http.post(url, data={**data, "csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert form_csrf(http.get("/staff/accounts").text) == csrf
    assert "zed" not in http.get("/staff/accounts").text
    http.close()
