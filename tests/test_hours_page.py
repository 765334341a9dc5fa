"""Supervisors edit the opening hours on /staff/hours; every process and the visitor site follow at once."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date, format_datetime

from tests.clients import staff_http
from tests.redis_scan import audit_log

pytestmark = pytest.mark.anyio

ALL_DAY = {f"day-{day}": "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CLOSED_WEEK = {name: "" for name in ALL_DAY}


def version_of(page: str) -> str:
    match = re.search(r'name="version" value="([^"]*)"', page)
    assert match, "the editor names the version it edits"
    return match.group(1)


async def save(http: httpx.AsyncClient, csrf: str, week: dict[str, str], exceptions: str = "",
               version: str | None = None) -> httpx.Response:
    if version is None:
        version = version_of((await http.get("/staff/hours")).text)
    return await http.post("/staff/hours", data={"csrf": csrf, "version": version, "exceptions": exceptions,
                                                 **week})


async def test_the_editor_starts_from_the_setting(start_server):
    server = start_server(OPENING_HOURS="mon-fri 08:00-16:00; sat 10:00-14:00")
    async with staff_http(server) as (http, _, _):
        page = await http.get("/staff/hours")
    assert page.status_code == 200
    assert 'name="day-mon" value="08:00-16:00"' in page.text
    assert 'name="day-sat" value="10:00-14:00"' in page.text
    assert 'name="day-sun" value="stängt"' in page.text  # the console speaks Swedish


async def test_a_change_on_one_process_is_followed_by_another_at_once(start_server, redis_url):
    first = start_server()  # always open
    second = start_server(env=first.env)
    in_three_days = datetime.now(ZoneInfo("Europe/Stockholm")).date() + timedelta(days=3)
    in_five_days = in_three_days + timedelta(days=2)
    async with staff_http(first) as (http, username, csrf):
        saved = await save(http, csrf, CLOSED_WEEK, f"{in_three_days} closed hemlig-personalnotis\n"
                                                    f"{in_five_days} 10:00-12:00\n")
        assert saved.status_code == 303 and saved.headers["location"] == "/staff/hours?saved=1"
        assert "Öppettiderna är sparade." in (await http.get(saved.headers["location"])).text
        async with httpx.AsyncClient(base_url=second.url) as visitor:
            refused = await visitor.post("/api/chat", json={}, headers={"Origin": second.url})
            landing = (await visitor.get("/")).text
        assert refused.status_code == 503 and refused.json()["error"] == "closed"
        assert "Chatten är stängd just nu." in landing
        assert f"Stängt {format_date(in_three_days, 'd MMM', locale='sv')}" in landing
        assert f"{format_date(in_five_days, 'd MMM', locale='sv')}: öppet 10:00–12:00" in landing
        opens = datetime.combine(in_five_days, time(10), tzinfo=ZoneInfo("Europe/Stockholm"))
        assert f"Chatten öppnar igen {format_datetime(opens, 'EEEE d MMMM HH:mm', locale='sv')}." in landing
        assert "hemlig-personalnotis" not in landing, "the note is for staff only"

        assert (await save(http, csrf, ALL_DAY)).status_code == 303
        async with httpx.AsyncClient(base_url=second.url) as visitor:
            started = await visitor.post("/api/chat", json={}, headers={"Origin": second.url})
            landing = (await visitor.get("/")).text
        assert started.status_code == 200
        assert "Chatten är öppen alla dagar, hela dagen." in landing
    changes = [e for e in audit_log(redis_url, first.env["KEY_PREFIX"]) if e["action"] == "hours_change"]
    assert [(e["actor"], e["role"], e["target"]) for e in changes] == [
        (username, "supervisor", "opening_hours")] * 2


async def test_the_weekly_hours_are_shown_to_visitors(server):
    async with staff_http(server) as (http, _, csrf):
        week = {**CLOSED_WEEK, "day-mon": "08:00-12:00, 13:00-16:00", "day-tue": "08:00-12:00, 13:00-16:00",
                "day-sat": "10.00-14.00"}
        assert (await save(http, csrf, week)).status_code == 303
    landing = httpx.get(server.url + "/").text
    assert "mån–tis 08:00–12:00, 13:00–16:00" in landing and "lör 10:00–14:00" in landing


async def test_wrong_input_is_explained_and_nothing_typed_is_lost(server):
    async with staff_http(server) as (http, _, csrf):
        typed = {**ALL_DAY, "day-tue": "22:00-02:00"}
        response = await save(http, csrf, typed, "2026-12-24 stängt Julafton\n2026-12-31 kanske")
        assert response.status_code == 400
        assert "Inget sparades." in response.text
        assert "kan inte gå över midnatt" in response.text  # next to Tuesday
        assert "Rad 2:" in response.text  # which exception line is wrong
        assert 'value="22:00-02:00"' in response.text and "2026-12-31 kanske" in response.text
        assert "Julafton" in response.text
        assert 'name="day-mon" value="00:00-24:00"' in response.text
        page = await http.get("/staff/hours")
    assert 'name="day-tue" value="00:00-24:00"' in page.text, "nothing was saved"


async def test_a_save_from_an_old_version_does_not_overwrite_a_colleagues(server):
    async with staff_http(server) as (first, _, first_csrf), staff_http(server) as (second, _, second_csrf):
        old = version_of((await second.get("/staff/hours")).text)
        assert (await save(first, first_csrf, {**ALL_DAY, "day-sun": ""})).status_code == 303
        refused = await save(second, second_csrf, {**ALL_DAY, "day-mon": "09:00-10:00"}, version=old)
        assert refused.status_code == 409
        assert "Någon annan sparade öppettiderna" in refused.text
        assert 'name="day-mon" value="09:00-10:00"' in refused.text, "the typed change is kept"
        page = (await second.get("/staff/hours")).text
        assert 'name="day-sun" value="stängt"' in page and 'name="day-mon" value="00:00-24:00"' in page
        # Saving again from the page that said so is the supervisor's informed choice.
        assert (await save(second, second_csrf, ALL_DAY, version=version_of(refused.text))).status_code == 303


async def test_only_supervisors_edit_and_only_with_the_csrf_token(server):
    async with staff_http(server, role="counselor") as (http, _, csrf):
        assert (await http.get("/staff/hours")).status_code == 403
        assert (await save(http, csrf, ALL_DAY, version="")).status_code == 403
        assert "Öppettider" not in (await http.get("/staff")).text, "no menu entry for a counselor"
    async with staff_http(server) as (http, _, csrf):
        assert 'href="/staff/hours"' in (await http.get("/staff")).text
        version = version_of((await http.get("/staff/hours")).text)
        assert (await save(http, "wrong", CLOSED_WEEK, version=version)).status_code == 403
        foreign = await http.post("/staff/hours", data={"csrf": csrf, "version": version, **CLOSED_WEEK},
                                  headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
    assert httpx.post(server.url + "/api/chat", json={}, headers={"Origin": server.url}).status_code == 200
