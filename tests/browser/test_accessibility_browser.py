"""WCAG 2.2 AA in headless Chromium: axe-core finds nothing on any visitor or staff page, in Swedish,
English and Arabic (right to left); phones at 320 px and desktops at 200 % zoom need no sideways
scrolling; touch targets are at least 44 px; the text-size control works."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, NewContext, log_in_over_http
from tests.callbacks import open_times
from tests.clients import add_staff
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser

AXE = Axe()
LANGUAGES = ("sv", "en", "ar")
VISITOR_PAGES = ("/", "/safety", "/callback", "/callback/change", "/for/young", "/for/older", "/feedback")
SUPERVISOR_PAGES = (
    "/staff",
    "/staff/callbacks",
    "/staff/callbacks/slots",
    "/staff/canned",
    "/staff/hours",
    "/staff/audit",
    "/staff/intakes",
    "/staff/referrals",
    "/staff/translations",
    "/staff/statistics",
    "/staff/statistics/report?period=2026",
    "/staff/feedback",
)
SMALL = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}
ZOOMED = {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2}
"""A 1280 x 800 window at 200 % zoom: half the CSS pixels, each drawn twice as large."""


def violations(page: Page) -> list[str]:
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in found
    ]


def in_language(context: BrowserContext, server: ServerProcess, lang: str) -> BrowserContext:
    context.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
    return context


@pytest.fixture
def site(server: ServerProcess) -> Iterator[ServerProcess]:
    """A server with call times open (so the booking form shows) and a referral page to land on."""
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API keeps this thread's event loop
        assert pool.submit(asyncio.run, open_times(server, "10:00", "11:00")).result().status_code == 303
    yield server


@pytest.mark.parametrize("lang", LANGUAGES)
def test_visitor_pages_have_no_accessibility_violations(
    site: ServerProcess, new_context: NewContext, lang: str
):
    page = in_language(new_context(**PHONE), site, lang).new_page()
    for path in VISITOR_PAGES:
        page.goto(site.url + path)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "ar" else "ltr")
        assert violations(page) == [], (lang, path)
    page.goto(site.url + "/callback")  # a booking's confirmation, then the booking opened with its code
    page.locator("#slot").select_option(index=1)
    page.locator("#phone").fill("070-123 45 67")
    page.locator("#book").tap()
    expect(page.locator("#booking-code")).to_be_visible()
    assert violations(page) == [], (lang, "booked")
    reference, code = (
        page.locator("#booking-reference").inner_text(),
        page.locator("#booking-code").inner_text(),
    )
    page.goto(site.url + "/callback/change")
    page.locator("#reference").fill(reference)
    page.locator("#code").fill(code)
    page.locator("#open-booking").tap()
    expect(page.locator("#cancel-call")).to_be_visible()
    assert violations(page) == [], (lang, "booking opened")
    page.goto(site.url + "/")
    page.locator("#start-chat").tap()  # the chat view, waiting
    expect(page.locator("#chat")).to_be_visible()
    page.locator("#message").fill("hej")
    page.locator("#composer button[type=submit]").tap()
    expect(page.locator("#log li")).to_have_count(1)
    page.locator('a[href="/safety"]').first.tap()  # the safety text read in place
    expect(page.locator("#safety-title")).to_be_visible()
    assert violations(page) == [], (lang, "chat and safety view")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_staff_pages_have_no_accessibility_violations(
    site: ServerProcess, new_context: NewContext, lang: str
):
    login = in_language(new_context(**DESKTOP), site, lang).new_page()
    login.goto(site.url + "/staff")
    assert violations(login) == [], (lang, "login")
    for role, paths in (("supervisor", SUPERVISOR_PAGES), ("admin", ("/staff/accounts",))):
        context = in_language(new_context(**DESKTOP), site, lang)
        username, password = add_staff(site.env, role=role)
        log_in_over_http(context, site, username, password)
        page = context.new_page()
        for path in paths:
            page.goto(site.url + path)
            expect(page.locator("#me")).to_be_visible()
            assert violations(page) == [], (lang, role, path)


@pytest.mark.parametrize("options", [SMALL, ZOOMED], ids=["320px", "200%"])
@pytest.mark.parametrize("lang", ["sv", "ar"])
def test_no_sideways_scrolling_and_the_start_and_exit_stay_in_reach(
    site: ServerProcess, new_context: NewContext, options: dict[str, object], lang: str
):
    page = in_language(new_context(**options), site, lang).new_page()
    for path in VISITOR_PAGES:
        page.goto(site.url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (path, options)
        expect(page.locator("#quick-exit")).to_be_in_viewport()
    page.goto(site.url + "/")
    expect(page.locator("#start-chat")).to_be_visible()
    box = page.locator("#start-chat").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]


def test_touch_targets_are_at_least_44_px(site: ServerProcess, new_context: NewContext):
    page = new_context(**PHONE).new_page()
    for path in VISITOR_PAGES:
        page.goto(site.url + path)
        small = page.evaluate("""() => Array.from(document.querySelectorAll(
              'button, select, input:not([type=hidden]), textarea, summary, .call, .quick-exit, .topbar a'))
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el, el.closest('label') || el])
            .filter(([el, target]) => { const r = target.getBoundingClientRect(); return r.height < 44 ||
                r.width < 44; })
            .map(([el]) => el.outerHTML.slice(0, 80))""")
        assert small == [], (path, small)


def test_the_text_size_control_makes_the_text_larger_and_is_remembered(
    site: ServerProcess, new_context: NewContext
):
    page = new_context(**PHONE).new_page()
    page.goto(site.url + "/")
    before = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    page.locator("form.text-size button[value=larger]").tap()
    expect(page.locator("html")).to_have_class("text-larger")
    expect(page.locator("form.text-size button[value=larger]")).to_have_attribute("aria-pressed", "true")
    after = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert after >= before * 1.3
    assert page.evaluate("history.length") == 2  # replaced in place: no entry added (about:blank, /)
    page.goto(site.url + "/callback")
    expect(page.locator("html")).to_have_class("text-larger")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
