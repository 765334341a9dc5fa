"""The visitor page and the counselor console in headless Chromium, against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.balancer import LoopbackProxy
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    Traffic,
    anna_takes_the_chat,
    counselor_takes_first,
    log_in_over_http,
    log_in_with_the_form,
    open_visitor_chat,
    screenshot,
    visitor_writes,
)
from tests.clients import add_staff

pytestmark = pytest.mark.browser


def assert_can_be_typed_in(box) -> None:
    """A message box a person can see and tap, not one only a script can fill (fill() would)."""
    expect(box).to_be_visible()
    expect(box).to_be_editable()
    box.scroll_into_view_if_needed()
    size = box.bounding_box()
    on_top = box.evaluate("""(e) => {
        const r = e.getBoundingClientRect();
        return e.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
    }""")
    assert size is not None and size["width"] >= 200 and size["height"] >= 40 and on_top, (
        f"the message box cannot be seen or tapped: {size}, under the pointer: {on_top}")


def test_visitor_and_counselor_chat_on_a_phone(server, new_context):
    traffic = Traffic()
    phone = new_context(**PHONE)
    desk = new_context(**DESKTOP)
    traffic.watch(phone)
    traffic.watch(desk)
    visitor = phone.new_page()
    counselor = desk.new_page()

    open_visitor_chat(visitor, server.url)
    assert_can_be_typed_in(visitor.locator("#message"))
    visitor_writes(visitor, "Hej, jag behöver prata med någon.")
    mine = visitor.locator("#log li.entry-mine")
    expect(mine).to_have_count(1)
    expect(mine.locator(".tick")).to_have_text("Skickat")  # stored while waiting in the queue

    username, password = add_staff(server.env, name="Anna")
    log_in_with_the_form(counselor, server, username, password)
    pane = counselor_takes_first(counselor)
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_text(["Hej, jag behöver prata med någon."])

    assert_can_be_typed_in(pane.locator("form.composer textarea"))
    answer = "Hej! Jag heter Anna. Berätta gärna."
    pane.locator("form.composer textarea").fill(answer)
    pane.locator("form.composer button[type=submit]").click()

    expect(visitor.locator("#log li.entry-event")).to_contain_text(["Anna har kommit in i chatten."])
    expect(visitor.locator("#log li.entry-theirs .text")).to_have_text([answer])
    expect(visitor.locator("#chat-status")).to_have_text("Du chattar med Anna.")
    expect(mine.locator(".tick")).to_have_text("Levererat")  # the counselor has seen it
    expect(pane.locator("ol.log li.entry-mine .tick")).to_have_text("Levererat")
    screenshot(visitor, "visitor-phone-chat.png")
    screenshot(counselor, "counselor-console.png")

    visitor.locator("#end-chat").tap()
    visitor.locator("#end-yes").tap()
    expect(visitor.locator("#log li.entry-event").last).to_have_text("Du avslutade chatten.")
    expect(visitor.locator("#composer")).to_be_hidden()
    expect(pane.locator("ol.log li.entry-event").last).to_have_text("Besökaren avslutade chatten.")
    expect(pane.locator("form.composer")).to_be_hidden()

    assert any(url.endswith("/ws/chat") for url in traffic.urls), traffic.urls
    assert any(url.endswith("/staff/ws") for url in traffic.urls), traffic.urls
    assert traffic.foreign(server.url) == [], "requests left the service's own origin"


def page_width(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_landing_page_fits_a_320px_screen(server, new_context):
    page = new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True).new_page()
    page.goto(server.url + "/")
    expect(page.locator("#start-chat")).to_be_visible()
    assert page_width(page) <= 320

    open_visitor_chat(page, server.url)
    visitor_writes(page, "https://example.invalid/" + "ettlångtordutanmellanslag" * 6)
    expect(page.locator("#log li.entry-mine .tick")).to_have_text("Skickat")
    assert page_width(page) <= 320


def test_landing_page_is_readable_without_javascript(server, new_context):
    page = new_context(java_script_enabled=False, **PHONE).new_page()
    page.goto(server.url + "/")
    expect(page.locator("h1#intro-title")).to_be_visible()
    expect(page.locator("h1#intro-title")).to_have_text("Chatta anonymt med Nexus")
    expect(page.get_by_role("heading", name="Öppettider")).to_be_visible()
    expect(page.locator('.emergency a[href="tel:112"]')).to_be_visible()
    expect(page.locator('a[href="tel:020505050"]')).to_be_visible()
    expect(page.locator("#start-chat")).to_be_hidden()
    # Playwright's text locators skip <noscript>, so the notice is found by its element.
    notice = page.locator("noscript p.notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Chatten behöver JavaScript, som är avstängt i den här webbläsaren.")


def test_english_is_one_tap_away(server, new_context):
    page = new_context(**PHONE).new_page()
    page.goto(server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.locator("button[name=lang][value=en]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1#intro-title")).to_have_text("Talk anonymously with Nexus")

    page.locator("#start-chat").tap()
    expect(page.locator("#chat-status")).to_contain_text("You are number 1 in the queue.")
    expect(page.locator("#chat-status")).to_contain_text("You can start writing now.")


class DroppingProxy(LoopbackProxy):
    """A TCP forwarder on 127.0.0.1 to a local port, which can cut every connection on demand.

    `cut()` aborts all open connections and refuses new ones (accepts, then aborts at once)
    until `restore()`.
    """

    def __init__(self, target_port: int) -> None:
        super().__init__("dropping-proxy")
        self.target_port = target_port
        self.refusing = False

    async def _route(self, reader: asyncio.StreamReader) -> tuple[bytes, list[int]]:
        return b"", ([] if self.refusing else [self.target_port])

    def cut(self) -> None:
        def cut_now() -> None:
            self.refusing = True
            self._abort_all()

        self._call(cut_now)

    def restore(self) -> None:
        self._call(lambda: setattr(self, "refusing", False))


@pytest.fixture
def proxy(server) -> Iterator[DroppingProxy]:
    forwarder = DroppingProxy(server.port).start()
    try:
        yield forwarder
    finally:
        forwarder.close()


def test_visitor_reconnects_by_itself(server, proxy, new_context):
    traffic = Traffic()
    phone = new_context(**PHONE)
    traffic.watch(phone)
    visitor = phone.new_page()
    open_visitor_chat(visitor, proxy.url)
    _, pane = anna_takes_the_chat(new_context, server, visitor)
    theirs = pane.locator("ol.log li.entry-theirs .text")

    visitor_writes(visitor, "Innan avbrottet")
    expect(theirs).to_have_text(["Innan avbrottet"])

    connection = visitor.locator("#connection")
    expect(connection).to_be_hidden()
    proxy.cut()
    expect(connection).to_be_visible()
    expect(connection).to_have_text("Anslutningen bröts. Ansluter igen…")
    visitor_writes(visitor, "Under avbrottet")  # kept and sent again once the page is back
    expect(visitor.locator("#log li.entry-mine .tick").last).to_have_text("Skickar…")
    proxy.restore()
    expect(connection).to_be_hidden(timeout=20_000)

    visitor_writes(visitor, "Efter återanslutningen")
    expect(theirs).to_have_text(["Innan avbrottet", "Under avbrottet", "Efter återanslutningen"])
    expect(visitor.locator("#log li.entry-mine .tick")).to_have_text(["Levererat"] * 3)
    # A later round trip: anything sent twice would have arrived before this answer.
    pane.locator("form.composer textarea").fill("Jag ser dina meddelanden.")
    pane.locator("form.composer button[type=submit]").click()
    expect(visitor.locator("#log li.entry-theirs .text")).to_have_text(["Jag ser dina meddelanden."])
    expect(theirs).to_have_count(3)
    expect(visitor.locator("#log li.entry-mine")).to_have_count(3)

    sockets = [url for url in traffic.urls if url == proxy.ws_url + "/ws/chat"]
    assert len(sockets) >= 2, f"the page opened a new socket after the cut: {sockets}"
    assert traffic.foreign(proxy.url) == [], "the visitor page went past its own origin"


def test_switching_language_mid_chat_keeps_the_chat_and_the_counselor_sees_it(server, new_context):
    username, password = add_staff(server.env, name="Anna")
    desk = new_context(**DESKTOP)
    log_in_over_http(desk, server, username, password)
    console = desk.new_page()
    console.goto(server.url + "/staff")
    phone = new_context(**PHONE).new_page()
    open_visitor_chat(phone, server.url)
    visitor_writes(phone, "Hej, jag vill prata")
    pane = counselor_takes_first(console)
    expect(pane.locator(".log")).to_contain_text("Hej, jag vill prata")
    tab = console.locator("#chats button.tab").first
    expect(tab).to_contain_text("SV")

    phone.locator("button[name=lang][value=en]").tap()  # the page is replaced; the chat resumes
    expect(phone.locator("#chat")).to_be_visible()
    expect(phone.locator("#log")).to_contain_text("Hej, jag vill prata")
    expect(phone.locator("#composer button[type=submit]")).to_have_text("Send")
    expect(tab).to_contain_text("EN")
    visitor_writes(phone, "Still here")
    expect(pane.locator(".log")).to_contain_text("Still here")
    assert phone.evaluate("history.length") == 2  # about:blank and the chat: the switch added nothing
