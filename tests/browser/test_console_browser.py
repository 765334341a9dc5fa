"""A counselor's working day in headless Chromium: two chats at once from visitors on two server
processes, a canned response edited before sending, a hand-over to a colleague, a classification."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    log_in_over_http,
    open_visitor_chat,
    screenshot,
    visitor_writes,
)
from tests.clients import add_staff

pytestmark = pytest.mark.browser

CANNED = "Hej, jag heter Anna och arbetar på Nexus."
NOTE = "Hon har två barn, pratar om att flytta."
HANDOVER = "Hon vill prata om boende."


def take_next(console: Page, count: int) -> str:
    """Take the one waiting chat; return its conversation id once its pane shows."""
    expect(console.locator("#queue-count")).to_have_text("1")
    console.locator("#queue li button.take").click()
    expect(console.locator("#panes article.pane[data-conv]")).to_have_count(count)
    expect(console.locator("#queue-count")).to_have_text("0")
    return str(console.locator("#panes article.pane:visible").get_attribute("data-conv"))


def pane(console: Page, conv: str):  # type: ignore[no-untyped-def]
    return console.locator(f'#panes article.pane[data-conv="{conv}"]')


def tab(console: Page, conv: str):  # type: ignore[no-untyped-def]
    return console.locator(f'#chats button.tab[data-conv="{conv}"]')


def test_a_counselor_handles_two_chats_hands_one_over_and_classifies_the_other(start_server, new_context):
    first = start_server()
    second = start_server(env=first.env)
    anna_name, anna_password = add_staff(first.env, role="supervisor", name="Anna")
    bo_name, bo_password = add_staff(first.env, name="Bo")

    # A supervisor's canned response, added on its page.
    anna_context = new_context(**DESKTOP)
    log_in_over_http(anna_context, first, anna_name, anna_password)
    anna = anna_context.new_page()
    errors: list[str] = []
    anna.on("pageerror", lambda error: errors.append(str(error)))
    anna.goto(first.url + "/staff/canned")
    anna.locator("#new-lang").select_option("sv")
    anna.locator("#new-title").fill("Hälsning")
    anna.locator("#new-text").fill(CANNED)
    anna.locator("#canned-new button[type=submit]").click()
    expect(anna.locator("ul.canned-list summary")).to_have_text(["Hälsning"])
    screenshot(anna, "canned-responses.png")

    anna.goto(first.url + "/staff")
    expect(anna.locator("#my-status")).to_have_value("available")
    bo_context = new_context(**DESKTOP)
    log_in_over_http(bo_context, second, bo_name, bo_password)
    bo = bo_context.new_page()
    bo.on("pageerror", lambda error: errors.append(str(error)))
    bo.goto(second.url + "/staff")
    expect(bo.locator("#my-status")).to_have_value("available")

    # Two visitors, each on another server process.
    one = new_context(**PHONE).new_page()
    open_visitor_chat(one, first.url)
    visitor_writes(one, "Jag behöver prata.")
    first_conv = take_next(anna, 1)
    theirs = "ol.log li.entry-theirs .text"
    expect(pane(anna, first_conv).locator(theirs)).to_have_text(["Jag behöver prata."])

    two = new_context(**PHONE).new_page()
    open_visitor_chat(two, second.url)
    second_conv = take_next(anna, 2)
    expect(tab(anna, second_conv)).to_have_attribute("aria-pressed", "true")

    # A message in the chat not shown: a badge on its tab and a count in the title.
    visitor_writes(one, "Är du kvar?")
    expect(tab(anna, first_conv).locator(".badge")).to_have_text("1")
    expect(anna).to_have_title(re.compile(r"^\(1\) "))

    # A canned response, inserted in the chat's message box, edited, then sent.
    composer = pane(anna, second_conv).locator("form.composer")
    composer.locator("select.canned").select_option(label="SV · Hälsning")
    expect(composer.locator("textarea")).to_have_value(CANNED)
    composer.locator("textarea").press("End")
    composer.locator("textarea").press_sequentially(" Vad vill du prata om?")
    composer.locator("button[type=submit]").click()
    expect(two.locator("#log li.entry-theirs .text")).to_have_text([CANNED + " Vad vill du prata om?"])

    # Back to the first chat: read, a private note, then handed to Bo on the other process.
    tab(anna, first_conv).click()
    expect(tab(anna, first_conv).locator(".badge")).to_have_count(0)
    expect(anna).not_to_have_title(re.compile(r"^\("))
    first_pane = pane(anna, first_conv)
    first_pane.locator("form.note-form textarea").fill(NOTE)
    first_pane.locator("form.note-form button[type=submit]").click()
    expect(first_pane.locator(".note-list li")).to_have_count(1)
    expect(first_pane.locator("select.handover-to option", has_text="Bo")).to_have_count(1)
    first_pane.locator("select.handover-to").select_option(label="Bo")
    first_pane.locator("input.handover-note").fill(HANDOVER)
    first_pane.locator("form.handover button[type=submit]").click()
    expect(pane(anna, first_conv)).to_have_count(0)
    expect(anna.locator("#notice")).to_have_text("Chatten lämnades över till Bo.")

    bo_pane = pane(bo, first_conv)
    expect(bo_pane).to_be_visible()
    expect(bo_pane.locator(theirs)).to_have_text(["Jag behöver prata.", "Är du kvar?"])
    expect(bo_pane.locator(".note-list li .text")).to_have_text([NOTE, HANDOVER])
    expect(one.locator("#log li.entry-event")).to_contain_text(["Bo har kommit in i chatten."])
    expect(one.locator("#chat-status")).to_have_text("Du chattar med Bo.")
    bo_pane.locator("form.composer textarea").fill("Hej, jag heter Bo.")
    bo_pane.locator("form.composer button[type=submit]").click()
    expect(one.locator("#log li.entry-theirs .text").last).to_have_text("Hej, jag heter Bo.")
    visitor_page = one.content()
    assert NOTE not in visitor_page and HANDOVER not in visitor_page
    screenshot(bo, "console-after-handover.png")

    # The second chat ends; the classification is filled in and saved once.
    second_pane = pane(anna, second_conv)
    tab(anna, second_conv).click()
    second_pane.locator("button.end-chat").click()
    classify = second_pane.locator("form.classify")
    expect(classify).to_be_visible()
    classify.locator('input[name="who"][value="relative"]').check()
    classify.locator('input[name="forms"][value="psychological"]').check()
    classify.locator('input[name="forms"][value="economic"]').check()
    classify.locator('input[name="age"][value="18-25"]').check()
    classify.locator('input[name="found"][value="school"]').check()
    screenshot(anna, "console-classification.png")
    classify.locator("button[type=submit]").click()
    expect(second_pane.locator(".classified")).to_have_text("Klassificeringen är sparad. Tack.")
    expect(classify).to_be_hidden()

    # Own status and the sound: both the counselor's own choice.
    anna.locator("#my-status").select_option("busy")
    expect(anna.locator("#mute")).to_have_text("Ljud på")
    anna.locator("#mute").click()
    expect(anna.locator("#mute")).to_have_text("Ljud av")
    anna.reload()
    expect(anna.locator("#mute")).to_have_text("Ljud av")
    expect(anna.locator("#my-status")).to_have_value("busy")
    assert errors == [], errors
