"""A referral link on a phone in headless Chromium: the landing shows, and no trace of the code in the tab."""

from __future__ import annotations

import ast
import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, NewContext, Traffic, screenshot
from tests.clients import staff_http
from tests.redis_scan import dump
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser


async def make_referrals(server: ServerProcess, *referrals: tuple[str, str, str]) -> list[int]:
    """As a supervisor on /staff/referrals: (name, audience, code) each; returns the answers' statuses."""
    async with staff_http(server) as (http, _, csrf):
        return [(await http.post("/staff/referrals", data={"csrf": csrf, "name": name, "audience": audience,
                                                           "code": code})).status_code
                for name, audience, code in referrals]


def visited(page: Page) -> list[str]:
    """The URLs of the tab's history entries, as the browser keeps them (Chromium's DevTools protocol)."""
    history = page.context.new_cdp_session(page).send("Page.getNavigationHistory")
    return [entry["url"] for entry in history["entries"]]


def test_a_referral_link_lands_on_its_page_without_the_code(server: ServerProcess, new_context: NewContext):
    # Playwright's sync API keeps an event loop in this thread: the supervisor's client runs in another.
    with ThreadPoolExecutor(1) as pool:
        referrals = (("Gottsunda skola, elevhälsan", "young", "gottsunda"),
                     ("Träffpunkt Ekeby", "older", "ekeby"))
        made = pool.submit(asyncio.run, make_referrals(server, *referrals))
        assert made.result() == [303, 303]
    context = new_context(**PHONE)
    traffic = Traffic()
    traffic.watch(context)
    page = context.new_page()
    blank = page.evaluate("history.length")  # a new tab's about:blank is an entry of its own

    page.goto(server.url + "/r/gottsunda")
    assert page.url == server.url + "/for/young"
    assert page.evaluate("history.length") - blank == 1, "the landing is the one entry the visit made"
    assert visited(page) == ["about:blank", server.url + "/for/young"], "no entry holds the code"
    expect(page.locator("#quick-exit")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Är det någon som gör dig illa eller skrämmer dig?")
    expect(page.locator("main")).to_contain_text("socialtjänsten")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "it fits the phone"
    assert context.cookies() == [], "the link set no cookie"
    screenshot(page, "referral-young.png")

    page.locator("#go-chat").tap()
    expect(page.locator("#start-chat")).to_be_visible()
    assert visited(page) == ["about:blank", server.url + "/"], "the way on to the chat replaces the page"

    older = context.new_page()
    older.goto(server.url + "/r/ekeby")
    assert older.url == server.url + "/for/older"
    expect(older.locator("#quick-exit")).to_be_visible()
    sizes = older.evaluate("[getComputedStyle(document.querySelector('main')).fontSize,"
                           " getComputedStyle(document.body).fontSize].map(parseFloat)")
    assert sizes[0] > sizes[1], "the page for older people has larger text"
    first_link = older.locator("main a.landing-action").first
    expect(first_link).to_have_attribute("href", "/callback")
    screenshot(older, "referral-older.png")

    prefix = server.env["KEY_PREFIX"]
    counters = {key: value for key, value in dump(server.env["REDIS_URL"], prefix).items()
                if key.startswith(prefix + "stats:d:")}
    assert [ast.literal_eval(value) for value in counters.values()] == [{
        "referral.visit": "2", "referral.visit|ref=gottsunda": "1", "referral.visit|audience=young": "1",
        "referral.visit|ref=ekeby": "1", "referral.visit|audience=older": "1"}]
    assert traffic.foreign(server.url) == [], "the landing went past its own origin"
