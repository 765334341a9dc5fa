"""Referral links: supervisors make them; `/r/{code}` counts a visit in aggregate, lands without the code."""

from __future__ import annotations

import ast
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.referrals import CODE
from tests.clients import is_stored, staff_http, visitor_socket
from tests.redis_scan import audit_log, dump
from tests.servers import ServerProcess

pytestmark = pytest.mark.anyio

SCHOOL = "Gottsunda skola, elevhälsan"


def today() -> str:
    return datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()


def stored(server: ServerProcess) -> dict[str, str]:
    return dump(server.env["REDIS_URL"], server.env["KEY_PREFIX"])


def today_counted(server: ServerProcess) -> dict[str, str]:
    """Today's counters as Redis holds them."""
    return ast.literal_eval(stored(server).get(f"{server.env['KEY_PREFIX']}stats:d:{today()}", "{}"))


def counts(server: ServerProcess) -> dict[str, str]:
    """Today's visit counters per referral code (none when nothing was counted)."""
    return {name.removeprefix("referral.visit|ref="): n for name, n in today_counted(server).items()
            if name.startswith("referral.visit|ref=")}


async def make(http: httpx.AsyncClient, csrf: str, name: str, audience: str, code: str = ""
               ) -> httpx.Response:
    form = {"csrf": csrf, "name": name, "audience": audience, "code": code}
    return await http.post("/staff/referrals", data=form)


async def visit(server: ServerProcess, code: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.get(f"/r/{code}")


async def test_a_supervisor_makes_referrals_and_a_counselor_cannot(server):
    async with staff_http(server) as (http, username, csrf):
        made = await make(http, csrf, SCHOOL, "young", "gottsunda")
        assert made.status_code == 303 and made.headers["location"] == "/staff/referrals?notice=added"
        generated = await make(http, csrf, "Träffpunkt Ekeby", "older")
        assert generated.status_code == 303
        page = await http.get("/staff/referrals")
        assert 'href="/staff/referrals"' in page.text, "the menu offers the page"
        assert (await make(http, csrf, "Annan skola", "young", "gottsunda")).status_code == 409
        assert (await make(http, csrf, "Fel", "young", "AB")).status_code == 400
        assert (await make(http, csrf, "Fel", "nobody")).status_code == 400
    assert page.status_code == 200
    assert SCHOOL in page.text and f"{server.url}/r/gottsunda" in page.text
    codes = re.findall(r'data-referral="([^"]+)"', page.text)
    assert len(codes) == 2 and "gottsunda" in codes
    assert all(CODE.match(code) for code in codes), "a made-up code is 4-12 lowercase letters and digits"
    added = [e for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
             if e["action"] == "referral_change"]
    assert [(e["actor"], e["other"]) for e in added] == [(username, "add:young"), (username, "add:older")]
    assert SCHOOL not in repr(added), "the audit log holds the code, never the name"

    async with staff_http(server, role="counselor") as (http, _, csrf):
        assert (await http.get("/staff/referrals")).status_code == 403
        assert (await make(http, csrf, "Smygskola", "young", "smyg")).status_code == 403
        assert (await http.get("/staff/referrals/gottsunda/poster")).status_code == 403
        assert 'href="/staff/referrals"' not in (await http.get("/staff")).text
    assert "smyg" not in repr(stored(server)).lower(), "a refused referral is not made"


async def test_the_poster_has_the_link_and_an_inline_qr_code(server):
    async with staff_http(server) as (http, _, csrf):
        await make(http, csrf, SCHOOL, "young", "gottsunda")
        poster = await http.get("/staff/referrals/gottsunda/poster")
        missing = await http.get("/staff/referrals/nosuch/poster")
    assert poster.status_code == 200
    assert "<svg" in poster.text and "</svg>" in poster.text and "<img" not in poster.text
    host = server.url.split("://", 1)[1]
    assert f"{host}/r/gottsunda" in poster.text, "the short address, large, to type"
    assert "poster." in poster.text and ".css" in poster.text, "the print stylesheet is linked"
    assert "Är det någon som gör dig illa eller skrämmer dig?" in poster.text, "the young audience's text"
    outside = set(re.findall(r'(?:src|href)="(https?://[^"]+)"', poster.text))
    assert outside <= {f"{server.url}/r/gottsunda"}, "nothing is loaded from another service"
    assert missing.status_code == 303 and missing.headers["location"] == "/staff/referrals?notice=gone"


async def test_a_visit_is_counted_and_lands_without_the_code(server):
    async with staff_http(server) as (http, _, csrf):
        for name, audience, code in ((SCHOOL, "young", "gottsunda"), ("Träffpunkt", "older", "ekeby"),
                                     ("Vårdcentralen", "general", "vc2026")):
            await make(http, csrf, name, audience, code)
        landings = {}
        for code in ("gottsunda", "ekeby", "vc2026"):
            response = await visit(server, code)
            assert response.status_code == 303
            assert "set-cookie" not in response.headers, "the link sets no cookie"
            assert code not in response.headers["location"]
            landings[code] = response.headers["location"]
        assert landings == {"gottsunda": "/for/young", "ekeby": "/for/older", "vc2026": "/"}
        for _ in range(2):
            assert (await visit(server, "GOTTSUNDA")).headers["location"] == "/for/young"  # typed in capitals
        page = await http.get("/staff/referrals")
    assert counts(server) == {"gottsunda": "3", "ekeby": "1", "vc2026": "1"}
    visits = {name: n for name, n in today_counted(server).items() if name.startswith("referral.visit")}
    assert visits == {"referral.visit": "5", "referral.visit|ref=gottsunda": "3",
                      "referral.visit|ref=ekeby": "1", "referral.visit|ref=vc2026": "1",
                      "referral.visit|audience=young": "3", "referral.visit|audience=older": "1",
                      "referral.visit|audience=general": "1"}
    row = re.search(r'data-referral="gottsunda">.*?class="visits">(\d+)<', page.text, flags=re.DOTALL)
    assert row and row.group(1) == "3", "the page shows the visits of the last 30 days"
    async with httpx.AsyncClient(base_url=server.url) as http:
        for path in ("/for/young", "/for/older"):
            landing = await http.get(path)
            assert landing.status_code == 200 and 'id="quick-exit"' in landing.text
            assert 'href="/callback" data-replace' in landing.text and 'href="/" data-replace' in landing.text
    assert 'class="for-older larger-text"' in landing.text


async def test_an_unknown_code_goes_to_the_start_page_and_counts_nothing(server):
    for code in ("nosuch", "x", "a" * 40, "%2e%2e"):
        response = await visit(server, code)
        assert response.status_code == 303 and response.headers["location"] == "/", code
        assert "set-cookie" not in response.headers
    assert counts(server) == {}
    assert not any("referral" in text for key, text in stored(server).items() if ":stats:" in key)


async def test_a_chat_after_a_referral_visit_carries_nothing_of_the_referral(server):
    async with staff_http(server) as (http, _, csrf):
        await make(http, csrf, SCHOOL, "young", "gottsunda")
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as browser:
        landed = await browser.get("/r/gottsunda", follow_redirects=True)
        assert str(landed.url) == f"{server.url}/for/young"
        token = (await browser.post("/api/chat", json={})).json()["token"]
        assert not browser.cookies, "nothing was left in the browser to carry the code along"
    visitor = await visitor_socket(server, token)
    await visitor.until(lambda f: f["type"] == "state")
    await visitor.send({"type": "msg", "text": "hej, jag behöver prata", "client_id": "a"})
    await visitor.until(is_stored("visitor", "a"))
    await visitor.close()

    prefix = server.env["KEY_PREFIX"]
    everything = stored(server)
    conversation = {key: value for key, value in everything.items()
                    if key.startswith((f"{prefix}c:", f"{prefix}v:")) or key == f"{prefix}queue"}
    assert any(key.endswith(":m") for key in conversation), "the conversation is there to look at"
    for key, value in conversation.items():
        for secret in ("gottsunda", SCHOOL, "young", "/r/"):
            assert secret not in key and secret not in value, f"{secret!r} is in {key}"
    # The code is in the referral itself and as a counter's field name; the audit log names it as
    # the object a supervisor changed (staff's record, nothing of any visitor).
    holding = {key for key, value in everything.items() if "gottsunda" in key or "gottsunda" in value}
    assert holding == {f"{prefix}referrals", f"{prefix}stats:d:{today()}", f"{prefix}audit"}
    counted = {"referral.visit": "1", "referral.visit|ref=gottsunda": "1",
               "referral.visit|audience=young": "1", "chat.started": "1", "chat.started|lang=sv": "1"}
    assert ast.literal_eval(everything[f"{prefix}stats:d:{today()}"]) == counted
    # Per hour only the load, no breakdown: the visit and the chat are never side by side there.
    [hour] = [key for key in everything if key.startswith(f"{prefix}stats:h:")]
    assert ast.literal_eval(everything[hour]) == {"chat.started": "1"}
    assert [e for e in audit_log(server.env["REDIS_URL"], prefix) if "gottsunda" in repr(e)] == \
        [e for e in audit_log(server.env["REDIS_URL"], prefix) if e["action"] == "referral_change"]


async def test_removing_a_referral_is_audited_and_its_link_leads_to_the_start_page(server):
    async with staff_http(server) as (http, username, csrf):
        await make(http, csrf, SCHOOL, "young", "gottsunda")
        assert (await visit(server, "gottsunda")).headers["location"] == "/for/young"
        removed = await http.post("/staff/referrals/remove", data={"csrf": csrf, "code": "gottsunda"})
        again = await http.post("/staff/referrals/remove", data={"csrf": csrf, "code": "gottsunda"})
        page = await http.get("/staff/referrals")
    assert removed.status_code == 303 and removed.headers["location"] == "/staff/referrals?notice=removed"
    assert again.headers["location"] == "/staff/referrals?notice=gone"
    assert "gottsunda" not in page.text and 'id="no-referrals"' in page.text
    assert (await visit(server, "gottsunda")).headers["location"] == "/"
    assert counts(server) == {"gottsunda": "1"}, "a removed code counts no more visits"
    changes = [(e["actor"], e["role"], e["target"], e["other"])
               for e in audit_log(server.env["REDIS_URL"], server.env["KEY_PREFIX"])
               if e["action"] == "referral_change"]
    assert changes == [(username, "supervisor", "gottsunda", "add:young"),
                       (username, "supervisor", "gottsunda", "remove")]
