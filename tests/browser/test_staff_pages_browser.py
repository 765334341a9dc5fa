"""A supervisor in headless Chromium: edits the opening hours (a mistake, then a fix) and reviews the log."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, NewContext, log_in_over_http, screenshot
from tests.clients import add_staff
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser


def test_a_supervisor_edits_the_hours_and_reviews_the_log(new_context: NewContext, server: ServerProcess):
    desk = new_context(**DESKTOP)
    username, password = add_staff(server.env, role="supervisor")
    log_in_over_http(desk, server, username, password)
    page = desk.new_page()
    page.goto(server.url + "/staff")
    page.get_by_role("link", name="Öppettider").click()
    for day in ("mon", "tue", "wed", "thu", "fri"):
        page.locator(f"#day-{day}").fill("08:00-16:00")
    page.locator("#day-sat").fill("22:00-02:00")
    page.locator("#day-sun").fill("")
    exceptions = "2099-12-24 stängt Julafton\n2099-12-31 10:00-14:00 Nyårsafton"
    page.locator("#exceptions").fill(exceptions)
    page.get_by_role("button", name="Spara öppettiderna").click()
    expect(page.locator("#hours-error")).to_contain_text("Inget sparades.")
    expect(page.locator("#error-sat")).to_contain_text("midnatt")
    expect(page.locator("#day-mon")).to_have_value("08:00-16:00")  # nothing typed is lost
    expect(page.locator("#exceptions")).to_have_value(exceptions)
    screenshot(page, "hours-error.png")

    page.locator("#day-sat").fill("10:00-14:00")
    page.get_by_role("button", name="Spara öppettiderna").click()
    expect(page.locator("#hours-notice")).to_have_text("Öppettiderna är sparade.")
    expect(page.locator("#day-sat")).to_have_value("10:00-14:00")
    expect(page.locator("#day-sun")).to_have_value("stängt")
    screenshot(page, "hours-saved.png")

    visitor = new_context(**PHONE).new_page()
    visitor.goto(server.url + "/")
    expect(visitor.locator("ul.hours").first).to_contain_text("mån–fre 08:00–16:00")
    expect(visitor.locator("ul.hours").first).to_contain_text("lör 10:00–14:00")

    page.get_by_role("link", name="Granskningslogg").click()
    page.locator("#action").select_option("hours_change")
    page.get_by_role("button", name="Visa").click()
    expect(page.locator("#audit-count")).to_contain_text("Visar 1–1 av 1 händelser")
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    expect(page.locator("table.audit tbody")).to_contain_text("Ändrade öppettiderna")
    expect(page.locator("table.audit tbody")).to_contain_text(username)
    screenshot(page, "audit.png")
