"""Screening as people see it, in headless Chromium: a visitor writing that he is on his way to kill her
sees "Ring 112" at once, and the counselor's queue puts that chat first with the words behind it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, NewContext, log_in_over_http, screenshot, visitor_writes
from tests.clients import add_staff
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser


def test_danger_shows_the_visitor_112_and_moves_the_chat_first_in_the_console(
    server: ServerProcess, new_context: NewContext
):
    desk = new_context(**DESKTOP)
    username, password = add_staff(server.env, name="Anna")
    log_in_over_http(desk, server, username, password)
    console = desk.new_page()
    console.goto(server.url + "/staff")
    expect(console.locator("#me")).to_be_visible()

    calm, scared = new_context(**PHONE).new_page(), new_context(**PHONE).new_page()
    for page in (calm, scared):
        page.goto(server.url + "/")
        page.locator("#start-chat").tap()
        expect(page.locator("#chat")).to_be_visible()
    expect(console.locator("#queue li")).to_have_count(2)
    expect(scared.locator("#chat-status")).to_contain_text("nummer 2")
    expect(scared.locator("#urgent")).to_be_hidden()

    visitor_writes(scared, "snälla hjälp han är på väg hem nu och han sa att han ska döda mig")
    expect(scared.locator("#urgent")).to_be_visible()
    expect(scared.locator("#urgent a.urgent-call[href='tel:112']")).to_be_visible()
    expect(scared.locator("#urgent-text")).to_contain_text("112")
    expect(scared.locator("#chat-status")).to_contain_text("nummer 1")
    expect(calm.locator("#urgent")).to_be_hidden()
    first = console.locator("#queue li").first
    expect(first).to_have_class(re.compile(r"\bat-risk\b"))
    expect(first.locator(".risk")).to_contain_text("fara nu")
    expect(first.locator(".evidence")).to_contain_text("döda mig")
    screenshot(scared, "urgent-112.png")
    screenshot(console, "queue-at-risk.png")
