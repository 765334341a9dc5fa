"""Redis away for a while: the visitor page and the console say so calmly and come back by themselves.

The ephemeral Redis is a private redis-server (tests/redis_servers.py), stopped with its data saved
and started again, as after a failover to a replica: the chat then goes on where it was.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, anna_takes_the_chat, open_visitor_chat, screenshot, visitor_writes

pytestmark = pytest.mark.browser

VISITOR_NOTICE = ("Chatten har ett kort avbrott. Vi försöker igen hela tiden, och det du skriver skickas "
                  "när vi är tillbaka.")
STAFF_NOTICE = "Tjänsten har ett kort avbrott"
OUTAGE_MS = 30_000
"""Bounds: a write fails after redis-py's short retries; the page retries with backoff up to 8 s."""


def test_the_visitor_is_told_calmly_and_the_chat_goes_on_when_redis_is_back(
        start_server, redis_url, ephemeral, new_context):
    server = start_server(REDIS_URL=ephemeral.url, REDIS_DURABLE_URL=redis_url)
    visitor = new_context(**PHONE).new_page()
    open_visitor_chat(visitor, server.url)
    counselor, pane = anna_takes_the_chat(new_context, server, visitor)

    ephemeral.stop(save=True)  # kept in a file of this test's own, loaded again below
    visitor_writes(visitor, "Är du kvar?")
    connection = visitor.locator("#connection")
    expect(connection).to_have_text(VISITOR_NOTICE, timeout=OUTAGE_MS)
    mine = visitor.locator("#log li.entry-mine")
    expect(mine.locator(".text")).to_have_text(["Är du kvar?"])
    expect(mine.locator(".tick")).to_have_text("Skickar…")  # kept, to be sent when the chat is back
    pane.locator("form.composer textarea").fill("Jag är här.")
    pane.locator("form.composer button[type=submit]").click()
    expect(counselor.locator("#connection")).to_contain_text(STAFF_NOTICE, timeout=OUTAGE_MS)
    screenshot(visitor, "visitor-redis-outage.png")

    ephemeral.start()
    expect(connection).to_be_hidden(timeout=OUTAGE_MS)
    expect(mine.locator(".tick")).not_to_have_text("Skickar…", timeout=OUTAGE_MS)
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_text(["Är du kvar?"], timeout=OUTAGE_MS)
    expect(visitor.locator("#log li.entry-theirs .text")).to_have_text(["Jag är här."], timeout=OUTAGE_MS)
    expect(counselor.locator("#connection")).to_have_text("", timeout=OUTAGE_MS)
    expect(visitor.locator("#chat-status")).to_have_text("Du chattar med Anna.")


def test_after_a_cold_restart_the_visitor_is_told_the_chat_could_not_be_kept(
        start_server, redis_url, ephemeral, new_context):
    server = start_server(REDIS_URL=ephemeral.url, REDIS_DURABLE_URL=redis_url)
    visitor = new_context(**PHONE).new_page()
    open_visitor_chat(visitor, server.url)

    ephemeral.stop()
    visitor_writes(visitor, "Hallå?")
    expect(visitor.locator("#connection")).to_have_text(VISITOR_NOTICE, timeout=OUTAGE_MS)
    ephemeral.start()  # empty: the conversation is gone, and the page says so plainly
    expect(visitor.locator("#chat-status")).to_have_text(
        "Den här chatten finns inte längre: den har avslutats, eller så gick den inte att behålla efter "
        "ett avbrott. Du är välkommen att starta en ny.", timeout=OUTAGE_MS)
    expect(visitor.locator("#connection")).to_be_hidden()
    screenshot(visitor, "visitor-redis-cold-restart.png")
