"""The console while its server is away: a counselor's action is never dropped without a word.

Chat messages wait in the console and go out on reconnect; other actions (a note, ending the chat, a
status) cannot, so the console says they were not done and keeps what was typed for another try.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, NewContext, anna_takes_the_chat, open_visitor_chat, screenshot
from tests.conftest import StartServer

pytestmark = pytest.mark.browser

NOT_CONNECTED = "Ingen anslutning just nu, så det blev inte gjort. Försök igen om en stund."
RECONNECTING = "Anslutningen bröts. Ansluter igen…"
NOTE = "Hon ringer tillbaka i morgon."
RECONNECT_TIMEOUT_MS = 30_000
"""The console waits up to 12 s between tries to reconnect: long enough for the try after the restart."""


def test_actions_while_reconnecting_are_refused_aloud_and_the_kept_note_goes_when_back(
        start_server: StartServer, new_context: NewContext):
    server = start_server()
    visitor = new_context(**PHONE).new_page()
    open_visitor_chat(visitor, server.url)
    console, pane = anna_takes_the_chat(new_context, server, visitor)
    errors: list[str] = []
    console.on("pageerror", lambda error: errors.append(str(error)))
    status = console.locator("#my-status")
    expect(status).to_have_value("available")

    server.stop()
    expect(console.locator("#connection")).to_have_text(RECONNECTING)

    notice = console.locator("#notice")
    note_box = pane.locator("form.note-form textarea")
    note_box.fill(NOTE)
    pane.locator("form.note-form button[type=submit]").click()
    expect(notice).to_be_visible()
    expect(notice).to_have_text(NOT_CONNECTED)
    expect(note_box, "the note is kept to send again").to_have_value(NOTE)
    expect(pane.locator(".note-list li")).to_have_count(0)
    screenshot(console, "console-not-connected.png")

    expect(notice).to_be_hidden()  # it goes by itself, so that the next refusal shows anew
    pane.locator("button.end-chat").click()
    expect(notice).to_be_visible()
    expect(notice).to_have_text(NOT_CONNECTED)
    expect(pane, "the chat is still there").to_be_visible()
    expect(pane.locator("button.end-chat")).to_be_visible()

    status.select_option("busy")
    expect(status, "the status the service has, not the one that was not sent").to_have_value("available")

    server.start()  # the same settings on the same port, as after a restart
    expect(console.locator("#connection")).to_have_text("", timeout=RECONNECT_TIMEOUT_MS)
    pane.locator("form.note-form button[type=submit]").click()
    expect(pane.locator(".note-list li .text")).to_have_text([NOTE])
    expect(note_box).to_have_value("")
    expect(pane.locator("form.composer"), "the chat was not ended").to_be_visible()
    assert not errors
