"""Coming back in headless Chromium: a return code on another server process, wrong and
expired codes, throttled guessing, and a message left while closed, answered and read later."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    NewContext,
    counselor_takes_first,
    log_in_over_http,
    open_visitor_chat,
    visitor_writes,
)
from tests.clients import add_staff
from tests.servers import CLOSED, ServerProcess

pytestmark = pytest.mark.browser

CODE = re.compile(r"^\d{4} \d{4} \d{4} \d{4}$")
UNKNOWN = "Koden öppnar inget samtal."
THROTTLED = "För många försök."
LETTER = "Jag vågar inte vara hemma. Vad kan jag göra?"


def console(new_context: NewContext, server: ServerProcess, name: str) -> Page:
    desk = new_context(**DESKTOP)
    username, password = add_staff(server.env, name=name)
    log_in_over_http(desk, server, username, password)
    page = desk.new_page()
    page.goto(server.url + "/staff")
    expect(page.locator("#me")).to_be_visible()
    return page


def read_code_once(page: Page) -> str:
    """Read the code from its card, then dismiss it as the visitor does."""
    card = page.locator("#code-card")
    expect(card).to_be_visible()
    expect(page.locator("#code-value")).to_have_text(CODE)
    code = page.locator("#code-value").inner_text()
    page.locator("#code-done").tap()
    expect(card).to_be_hidden()
    assert code not in page.content(), "the code stays on the page after it was written down"
    return code


def kept_in_the_browser(page: Page, context: BrowserContext) -> str:
    """Everything the service's origin keeps in this browser, as one string."""
    storage = page.evaluate("JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])")
    return storage + repr(context.cookies())


def enter_code(page: Page, code: str) -> None:
    page.locator("#return-code").fill(code)
    page.locator("#return-form button[type=submit]").tap()


def test_a_return_code_restores_the_conversation_on_another_process(start_server, new_context):
    first = start_server()
    second = start_server(env=first.env)
    phone = new_context(**PHONE)
    page = phone.new_page()
    open_visitor_chat(page, first.url)
    counselor = console(new_context, second, "Anna")
    pane = counselor_takes_first(counselor)
    visitor_writes(page, "Jag måste gå nu.")
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_text(["Jag måste gå nu."])
    pane.locator("form.composer textarea").fill("Ta en kod så kan du komma tillbaka.")
    pane.locator("form.composer button[type=submit]").click()
    expect(page.locator("#log li.entry-theirs .text")).to_have_text(["Ta en kod så kan du komma tillbaka."])

    page.locator("#get-code").tap()
    code = read_code_once(page)
    digits = code.replace(" ", "")
    assert digits not in kept_in_the_browser(page, phone), "the code is kept in the browser"
    page.locator("#end-chat").tap()
    page.locator("#end-yes").tap()
    expect(page.locator("#chat-status")).to_contain_text("Chatten är avslutad")
    phone.close()

    later = new_context(**PHONE).new_page()  # another day, another tab, the other process
    later.goto(second.url + "/")
    enter_code(later, code.replace(" ", "-"))  # written down with dashes: still the code
    expect(later.locator("#chat")).to_be_visible()
    expect(later.locator("#log li.entry-mine .text")).to_have_text(["Jag måste gå nu."])
    expect(later.locator("#log li.entry-theirs .text")).to_have_text(["Ta en kod så kan du komma tillbaka."])
    expect(later.locator("#log li.entry-event").last).to_have_text("Du är tillbaka i samtalet.")
    expect(later.locator("#composer")).to_be_visible()
    expect(later.locator("#return-code")).to_have_value("")

    # Back in the queue, offered first to Anna, who is told it is a returning visitor.
    expect(counselor.locator("#queue li.for-you")).to_contain_text("Återkommande besökare")
    counselor.locator("#queue li button.take").click()
    expect(later.locator("#chat-status")).to_have_text("Du chattar med Anna.")
    visitor_writes(later, "Nu är det lugnt igen.")
    new_pane = counselor.locator("#panes article.pane[data-conv]:visible")
    expect(new_pane.locator("ol.log li.entry-theirs .text").last).to_have_text("Nu är det lugnt igen.")


def test_a_wrong_and_an_expired_code_are_refused_alike_and_guessing_is_throttled(start_server, new_context):
    server = start_server(CONVERSATION_IDLE_SECONDS="2", CONVERSATION_RETENTION_SECONDS="2",
                          RETURN_CODE_RETENTION_SECONDS="3")
    page = new_context(**PHONE).new_page()
    open_visitor_chat(page, server.url)
    page.locator("#get-code").tap()
    expired = read_code_once(page)
    page.locator("#end-chat").tap()
    page.locator("#end-yes").tap()
    expect(page.locator("#chat-status")).to_contain_text("Chatten är avslutad")
    page.context.close()
    time.sleep(4)  # past the code's retention: the conversation is gone

    guesser = new_context(**PHONE).new_page()
    guesser.goto(server.url + "/")
    error = guesser.locator("#return-error")
    enter_code(guesser, expired)
    expect(error).to_contain_text(UNKNOWN)
    expired_message = error.inner_text()
    wrong = "0000 0000 0000 000"
    for last in range(9):  # ten attempts in all, the expired one included
        enter_code(guesser, wrong + str(last))
        expect(error).to_contain_text(UNKNOWN)
        assert error.inner_text() == expired_message
    enter_code(guesser, wrong + "9")
    expect(error).to_contain_text(THROTTLED)
    expect(guesser.locator("#chat")).to_be_hidden()


def test_a_message_left_while_closed_is_answered_and_read_with_the_code_elsewhere(start_server, new_context):
    first = start_server(OPENING_HOURS=CLOSED)
    second = start_server(env=first.env)
    page = new_context(**PHONE).new_page()
    page.goto(first.url + "/")
    expect(page.locator("#availability")).to_have_text("Chatten är stängd just nu.")
    expect(page.locator("#start-chat")).to_have_count(0)
    page.locator("#letter-text").fill(LETTER)
    page.locator("#letter-form button[type=submit]").tap()
    code = read_code_once(page)
    expect(page.locator("#chat-status")).to_contain_text("svarar inom 2 arbetsdagar")
    expect(page.locator("#log li.entry-mine .text")).to_have_text([LETTER])
    page.context.close()

    counselor = console(new_context, second, "Sara")
    expect(counselor.locator("#letters-count")).to_have_text("1")
    counselor.locator("#letters li button").click()
    pane = counselor.locator("#panes article.pane[data-conv]")
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_text([LETTER])
    pane.locator("form.composer textarea").fill(
        "Du kan ringa 112 om det är akut. Vi kan också ordna skyddat boende.")
    pane.locator("form.composer button[type=submit]").click()
    expect(counselor.locator("#letters-count")).to_have_text("0")

    later = new_context(**PHONE).new_page()
    later.goto(second.url + "/")
    enter_code(later, code)
    expect(later.locator("#log li.entry-theirs .text")).to_have_text(
        ["Du kan ringa 112 om det är akut. Vi kan också ordna skyddat boende."])
    expect(later.locator("#chat-status")).to_contain_text("Sara har svarat.")
    expect(later.locator("#end-chat")).to_be_hidden()
    visitor_writes(later, "Tack. Hur gör jag då?")
    expect(counselor.locator("#letters-count")).to_have_text("1")  # the follow-up waits for an answer
