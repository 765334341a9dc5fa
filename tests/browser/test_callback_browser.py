"""Booking a callback on a phone in headless Chromium: choose a time, answer, see the codes once, cancel."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, NewContext, Traffic, screenshot
from tests.callbacks import open_times
from tests.redis_scan import dump
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser


def bookings(server: ServerProcess) -> list[str]:
    prefix = server.env["KEY_PREFIX"]
    return [key for key in dump(server.env["REDIS_URL"], prefix) if key.startswith(prefix + "cb:b:")]


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_visitor_books_a_call_on_a_phone_and_cancels_it_with_the_code(
    server: ServerProcess, new_context: NewContext
):
    # Playwright's sync API keeps an event loop in this thread: the supervisor's client runs in another.
    with ThreadPoolExecutor(1) as pool:
        assert (
            pool.submit(asyncio.run, open_times(server, "10:00", "11:00", places=2)).result().status_code
            == 303
        )
    context = new_context(**PHONE)
    traffic = Traffic()
    traffic.watch(context)
    page = context.new_page()
    page.goto(server.url + "/")
    page.locator("#book-callback").tap()
    expect(page.locator("h1")).to_have_text("Boka ett samtal från Nexus")
    expect(page.locator("main")).to_contain_text("dolt nummer")
    assert fits_the_screen(page)

    page.locator("#slot").select_option(label="10:30–11:00")
    page.locator("#phone").fill("070 123 45 67")
    page.locator('input[name="say_where"][value="yes"]').check()
    expect(page.locator('input[name="voicemail"][value="no"]')).to_be_checked()  # the safe default
    page.locator("#safe_word").fill("Solros")
    page.locator("#call_name").fill("Sam")
    page.locator("#language").select_option("en")
    page.locator("#topic").fill("Jag vill prata om min pappa")
    page.locator("#book").tap()

    expect(page.locator("#booked-title")).to_have_text("Ditt samtal är bokat")
    expect(page.locator("#booked-when")).to_contain_text("10:30–11:00")
    reference = page.locator("#booking-reference").inner_text()
    code = page.locator("#booking-code").inner_text()
    expect(page.locator(".languages")).to_have_count(0)  # switching language would lose the codes
    assert fits_the_screen(page)
    screenshot(page, "callback-booked.png")
    assert len(bookings(server)) == 1

    page.locator('main a[href="/callback/change"]').tap()
    page.locator("#reference").fill(reference.lower())
    page.locator("#code").fill(code)
    page.locator("#open-booking").tap()
    expect(page.locator("#change-when")).to_contain_text("10:30–11:00")
    page.locator("#cancel-call").tap()
    expect(page.locator("#change-done")).to_contain_text("Ditt samtal är avbokat")
    assert bookings(server) == []
    assert traffic.foreign(server.url) == [], "the booking pages went past their own origin"
