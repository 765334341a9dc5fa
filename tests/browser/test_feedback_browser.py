"""The feedback survey on a phone in headless Chromium: offered when the chat ends, answered, thanked,
and nothing leaves the origin."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, NewContext, Traffic, open_visitor_chat, screenshot
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser


def violations(page: Page) -> list[str]:
    return [f"{v['id']}: {v['help']}" for v in Axe().run(page).response["violations"]]


def test_a_visitor_answers_the_survey_after_the_chat(server: ServerProcess, new_context: NewContext):
    context = new_context(**PHONE)
    traffic = Traffic()
    traffic.watch(context)
    page = context.new_page()

    open_visitor_chat(page, server.url)
    offer = page.locator("#feedback-offer")
    expect(offer).to_be_hidden()
    page.locator("#end-chat").tap()
    page.locator("#end-yes").tap()
    expect(offer).to_be_visible()
    expect(offer).to_have_text("Berätta hur det gick (anonymt)")

    offer.locator("a").tap()
    page.wait_for_url(server.url + "/feedback?kind=chat")
    expect(page.locator("h1")).to_have_text("Hur gick det?")
    expect(page.locator("#quick-exit")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "it fits the phone"
    assert violations(page) == []
    page.get_by_role("radio", name="Delvis").check()
    page.get_by_role("group", name="Skulle du kontakta oss igen?").get_by_role("radio", name="Ja").check()
    page.locator("#better").fill("Det tog lite tid att komma fram, men det var bra.")
    screenshot(page, "feedback-form.png")
    page.locator("#feedback-send").tap()

    expect(page.locator("#feedback-thanks")).to_have_text("Tack för dina svar")
    expect(page.locator('a[href="tel:112"]')).to_be_visible()
    expect(page.locator('a[href="tel:020505050"]')).to_be_visible()
    assert violations(page) == []
    screenshot(page, "feedback-thanks.png")
    assert traffic.foreign(server.url) == [], "the survey went past its own origin"
