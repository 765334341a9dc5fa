"""Languages and text size over real HTTP: eight languages with the right direction, the translation
status page for supervisors, and the text-size preference (a session cookie, nothing else)."""

from __future__ import annotations

import re

import httpx
import pytest

from app import i18n
from tests.clients import staff_http

pytestmark = pytest.mark.anyio


async def test_every_language_is_served_with_its_own_lang_and_direction(server):
    for code, language in i18n.LANGUAGES.items():
        async with httpx.AsyncClient(base_url=server.url, cookies={"lang": code}) as http:
            page = (await http.get("/")).text
            assert f'<html lang="{language.tag}" dir="{language.direction}"' in page, code
            others = re.findall(r'<button type="submit" name="lang" value="(\w+)"', page)
            assert sorted(others) == sorted(set(i18n.LANGUAGES) - {code}), code  # every other one offered
    async with httpx.AsyncClient(base_url=server.url, cookies={"lang": "ar"}) as http:
        arabic = (await http.get("/")).text
    assert "ابدأ" in arabic or "دردشة" in arabic or "محادثة" in arabic  # the page is in Arabic


async def test_the_language_and_the_text_size_are_only_session_cookies_and_only_ours(server):
    async with httpx.AsyncClient(base_url=server.url, headers={"Origin": server.url}) as http:
        chosen = await http.post("/lang", data={"lang": "fa", "next": "/callback"})
        assert chosen.status_code == 303 and chosen.headers["location"] == "/callback"
        sized = await http.post("/text-size", data={"size": "large", "next": "https://evil.example/"})
        assert sized.status_code == 303 and sized.headers["location"] == "/"
        for response in (chosen, sized):
            cookie = response.headers["set-cookie"].lower()
            assert "max-age" not in cookie and "expires" not in cookie and "httponly" in cookie
        page = (await http.get("/callback")).text
        assert 'lang="fa" dir="rtl" class="text-large"' in page
        await http.post("/text-size", data={"size": "huge", "next": "/"})
        assert 'class="text-normal"' in (await http.get("/")).text


async def test_supervisors_see_how_far_each_translation_is_and_counselors_do_not(server):
    async with staff_http(server, "supervisor") as (http, _, _):
        page = (await http.get("/staff/translations")).text
    rows = re.findall(r'<tr data-lang="(\w+)">(.*?)</tr>', page, re.S)
    assert [code for code, _ in rows] == [code for code in i18n.LANGUAGES if code != "en"]
    total = len(i18n.source_messages())
    for code, row in rows:
        assert f"{total} / {total}" in row, code
        assert 'class="unreviewed"' in row  # nobody has checked them yet: Nexus sees what to have checked
    async with staff_http(server, "counselor") as (http, _, _):
        assert (await http.get("/staff/translations")).status_code == 403
