"""A staff member in a real browser: enrolling an authenticator, the idle warning, and being signed out."""

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, NewContext, screenshot
from tests.clients import add_staff
from tests.test_staff import cli

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a fresh password after the reset"


def test_enrol_then_the_idle_warning_then_back_to_the_login_form(new_context: NewContext, start_server):
    server = start_server(STAFF_SESSION_IDLE_SECONDS="6")
    username, _ = add_staff(server.env, role="admin")
    assert cli(server.env, "reset", username, password=NEW_PASSWORD).returncode == 0
    page = new_context(**DESKTOP).new_page()
    page.goto(server.url + "/staff")
    page.locator("#username").fill(username)
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()

    expect(page.locator("#totp-qr svg"), "the QR code is drawn in the page").to_be_visible()
    screenshot(page, "totp-enrol.png")
    secret = (page.locator("#totp-secret").text_content() or "").replace(" ", "")
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#me"), "logged in, on the accounts page").to_be_visible()
    expect(page.locator(f'tr[data-username="{username}"] .totp')).to_have_text("Konfigurerad")

    dialog = page.locator("#session-timeout")
    expect(dialog, "warned before the idle timeout").to_be_visible()
    screenshot(page, "session-timeout.png")
    page.locator("#session-timeout .stay").click()
    expect(dialog, "staying signed in puts the warning away").to_be_hidden()
    expect(page.locator("#password"), "left alone, the session ends: the login form").to_be_visible(
        timeout=20_000)
