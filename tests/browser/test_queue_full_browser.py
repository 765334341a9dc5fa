"""A visitor who taps "Starta chatt" while the queue is full sees why and where else to turn."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, NewContext, screenshot
from tests.conftest import StartServer

pytestmark = pytest.mark.browser

QUEUE_MAX = 2


def fill_the_queue(server_url: str) -> None:
    with httpx.Client(base_url=server_url, headers={"Origin": server_url}) as http:
        for _ in range(QUEUE_MAX):
            assert http.post("/api/chat", json={}).status_code == 200


def test_a_full_queue_shows_the_alternatives_in_the_visitors_language(start_server: StartServer,
                                                                       new_context: NewContext) -> None:
    server = start_server(QUEUE_MAX=str(QUEUE_MAX))
    fill_the_queue(server.url)

    page = new_context(**PHONE).new_page()
    page.goto(server.url + "/")
    page.locator("#start-chat").tap()
    refusal = page.locator("#start-error")
    expect(refusal).to_have_text("Det är för många som väntar just nu. Försök igen om en stund, "
                                 "eller ring Kvinnofridslinjen på 020-50 50 50.")
    expect(page.locator("#letter")).to_be_visible()  # leaving a message instead is offered
    expect(page.locator("#chat")).to_be_hidden()
    expect(page.locator("#start-chat")).to_be_enabled()  # trying again later is one tap
    screenshot(page, "queue-full.png")

    english = new_context(**PHONE)
    english.add_cookies([{"name": "lang", "value": "en", "url": server.url}])
    page = english.new_page()
    page.goto(server.url + "/")
    page.locator("#start-chat").tap()
    expect(page.locator("#start-error")).to_have_text(
        "Too many people are waiting right now. Please try again in a little while, "
        "or call Kvinnofridslinjen on 020-50 50 50.")
