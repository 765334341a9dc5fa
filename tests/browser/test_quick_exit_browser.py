"""Leaving safely in headless Chromium: the quick exit, no history entries, the safety text.

The neutral site is `https://vader.test/`, answered by Playwright inside the browser, so no
request leaves the machine. (NEUTRAL_SITE_URL must be https in every mode, so a plain
http://127.0.0.1 server cannot stand in for it.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.browser.conftest import (
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    NewContext,
    anna_takes_the_chat,
    chromium_path,
    open_visitor_chat,
    visitor_writes,
)
from tests.servers import ServerProcess

pytestmark = pytest.mark.browser

NEUTRAL = "https://vader.test/"
BEFORE = NEUTRAL + "sok"  # where the visitor came from: Back may lead here, never to the service
TWO_MORE = "Tryck på Skift två gånger till för att lämna sidan."
ONE_MORE = "Tryck på Skift en gång till för att lämna sidan."
# Words that only the service's pages show: none may be on screen after leaving.
SERVICE_WORDS = ("Nexus", "Lämna sidan snabbt", "Starta chatt", "kurator", "Kvinnofridslinjen", "Skift")


def neutral_page(route) -> None:
    title = "Sök" if route.request.url == BEFORE else "Väder"
    route.fulfill(status=200, content_type="text/html; charset=utf-8",
                  body=f"<!doctype html><html lang=sv><title>{title}</title><h1>{title} i Uppsala</h1>")


def with_neutral_site(context: BrowserContext) -> BrowserContext:
    context.route(NEUTRAL + "**", neutral_page)
    return context


@pytest.fixture
def site(start_server) -> ServerProcess:
    return start_server(NEUTRAL_SITE_URL=NEUTRAL)


def visitor_context(new_context: NewContext, **options) -> BrowserContext:
    return with_neutral_site(new_context(**{**PHONE, **options}))


def arrive(page: Page, site: ServerProcess) -> None:
    """Come to the service from another page, as a visitor does (so that Back has somewhere to go)."""
    page.goto(BEFORE)
    page.goto(site.url + "/")
    expect(page.locator("#quick-exit")).to_be_visible()


def press_shift(page: Page, times: int) -> None:
    for _ in range(times):
        page.keyboard.press("Shift")


def quick_exit(page: Page, how: str) -> None:
    if how == "tap":
        page.locator("#quick-exit").tap()
    else:
        press_shift(page, 2)
        expect(page.locator("#quick-exit-status")).to_have_text(ONE_MORE)
        page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL)
    expect(page.locator("h1")).to_have_text("Väder i Uppsala")


def assert_nothing_of_the_service(page: Page, site: ServerProcess) -> None:
    assert not page.url.startswith(site.url), page.url
    text = page.evaluate("document.documentElement ? document.documentElement.innerText : ''")
    for word in SERVICE_WORDS:
        assert word not in text, f"{word!r} still shows at {page.url}"


def assert_back_shows_nothing(page: Page, site: ServerProcess, presses: int = 4) -> None:
    assert_nothing_of_the_service(page, site)
    for _ in range(presses):
        page.go_back(wait_until="load")
        assert_nothing_of_the_service(page, site)


def assert_nothing_kept(page: Page, site: ServerProcess) -> None:
    """Look in this same tab (sessionStorage belongs to the tab) at the service's origin.

    /healthz runs no script and sends no Clear-Site-Data, so it shows what was left.
    """
    page.goto(site.url + "/healthz")
    kept = page.evaluate("[sessionStorage.length, localStorage.length]")
    assert kept == [0, 0], f"sessionStorage, localStorage items left: {kept}"
    assert page.context.cookies(site.url) == [], "the service's cookies are gone too"


def leave_traces(page: Page) -> None:
    """What a visit can leave in the browser: the language cookie, the discreet-tab setting,
    and (as if some script had) an item in localStorage."""
    page.locator("button[name=lang][value=en]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("button[name=lang][value=sv]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.locator("#discreet").tap()
    page.evaluate("localStorage.setItem('probe', '1')")
    assert page.evaluate("[sessionStorage.length, localStorage.length]") == [1, 1]
    assert [c["name"] for c in page.context.cookies(page.url)] == ["lang"]


def test_the_storage_check_would_see_what_was_left(site, new_context):
    """The check above is honest: storage left by a page that simply navigates away is found."""
    page = visitor_context(new_context).new_page()
    arrive(page, site)
    page.evaluate("sessionStorage.setItem('probe', '1'); localStorage.setItem('probe', '1')")
    page.evaluate(f"location.replace({NEUTRAL!r})")
    page.wait_for_url(NEUTRAL)
    page.goto(site.url + "/healthz")
    assert page.evaluate("[sessionStorage.length, localStorage.length]") == [1, 1]


@pytest.mark.parametrize("how", ["tap", "shift"])
def test_quick_exit_from_the_landing_page(site, new_context, how):
    page = visitor_context(new_context).new_page()
    arrive(page, site)
    leave_traces(page)
    quick_exit(page, how)
    assert_back_shows_nothing(page, site)
    assert_nothing_kept(page, site)


@pytest.mark.parametrize("how", ["tap", "shift"])
def test_quick_exit_in_an_active_chat(site, new_context, how):
    page = visitor_context(new_context).new_page()
    page.goto(BEFORE)
    open_visitor_chat(page, site.url)
    _, pane = anna_takes_the_chat(new_context, site, page)
    visitor_writes(page, "Han kommer hem nu.")
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_text(["Han kommer hem nu."])

    quick_exit(page, how)
    expect(pane.locator("ol.log li.entry-event").last).to_have_text("Besökaren lämnade sidan.")
    expect(pane.locator("form.composer")).to_be_hidden()
    assert_back_shows_nothing(page, site)
    assert_nothing_kept(page, site)


def test_shift_counts_only_when_pressed_on_its_own(site, new_context):
    page = visitor_context(new_context, **DESKTOP).new_page()
    arrive(page, site)
    status = page.locator("#quick-exit-status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_text("")

    page.keyboard.press("Shift")
    expect(status).to_have_text(TWO_MORE)
    page.keyboard.press("Shift+A")  # Shift as a modifier: the count starts again
    expect(status).to_have_text("")
    press_shift(page, 2)
    expect(status).to_have_text(ONE_MORE)

    page.keyboard.press("a")  # any other key starts it again too
    expect(status).to_have_text("")
    page.keyboard.press("Shift")
    expect(status).to_have_text(TWO_MORE)
    page.keyboard.press("Shift")
    expect(status).to_have_text(ONE_MORE)
    page.keyboard.press("Control")
    expect(status).to_have_text("")

    page.wait_for_timeout(300)
    assert page.url == site.url + "/"
    expect(page.locator("#intro-title")).to_be_visible()
    page.keyboard.press("Shift")  # the count really restarted: this is one, not three
    expect(status).to_have_text(TWO_MORE)
    assert page.url == site.url + "/"


def test_shift_presses_more_than_five_seconds_apart_do_not_add_up(site, new_context):
    context = visitor_context(new_context, **DESKTOP)
    page = context.new_page()
    page.clock.install()
    arrive(page, site)
    status = page.locator("#quick-exit-status")
    press_shift(page, 2)
    expect(status).to_have_text(ONE_MORE)
    page.clock.run_for(5_100)
    expect(status).to_have_text("")  # told that the count is over
    page.keyboard.press("Shift")
    expect(status).to_have_text(TWO_MORE)
    page.clock.run_for(4_900)  # within five seconds of the last press: still counting
    press_shift(page, 2)
    page.wait_for_url(NEUTRAL)


def test_the_exit_works_without_javascript_and_comes_first(site, new_context):
    context = visitor_context(new_context, java_script_enabled=False)
    page = context.new_page()
    for path in ("/", "/callback", "/safety"):  # the safety page last: its language switch follows
        page.goto(site.url + path)
        page.keyboard.press("Tab")
        expect(page.locator("#quick-exit")).to_be_focused()
        expect(page.locator("#quick-exit")).to_have_text("Lämna sidan snabbt")
        expect(page.locator('.emergency a[href="tel:112"]')).to_be_visible()
        expect(page.locator('.emergency a[href="tel:020505050"]')).to_be_visible()

    expect(page.locator("h1")).to_have_text("Så skyddar du dig när du chattar")
    page.locator("button[name=lang][value=en]").click()  # the plain form, back to the same page
    expect(page).to_have_url(site.url + "/safety")
    expect(page.locator("h1")).to_have_text("Staying safe when you use the chat")
    assert [c["name"] for c in context.cookies(site.url)] == ["lang"]

    page.locator("#quick-exit").click()  # GET /exit: Clear-Site-Data, then the neutral site
    page.wait_for_url(NEUTRAL)
    assert context.cookies(site.url) == []


def test_the_safety_page_is_complete(site, new_context):
    page = visitor_context(new_context).new_page()
    page.goto(site.url + "/safety")
    expect(page).to_have_title("Information")
    main = page.locator("main")
    for text in ("Webbläsarens historik", "Öppna flikar", "Delade eller övervakade enheter",
                 "inga aviseringar", "telefonräkningen", "Chrome", "Samsung Internet", "Safari",
                 "Firefox", "Vi sparar inte din IP-adress.", "30 minuter efter", "ring 112"):
        expect(main).to_contain_text(text)
    before = page.evaluate("history.length")
    page.locator("a.back-link").tap()  # with JavaScript: in place, no new history entry
    expect(page).to_have_url(site.url + "/")
    expect(page.locator("#intro-title")).to_be_visible()
    assert page.evaluate("history.length") == before


def test_the_language_switch_adds_no_history_entry(site, new_context):
    page = visitor_context(new_context).new_page()
    arrive(page, site)
    before = page.evaluate("history.length")
    page.locator("button[name=lang][value=en]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#intro-title")).to_have_text("Talk anonymously with Nexus")
    expect(page.locator("#quick-exit")).to_have_text("Leave this page quickly")
    assert page.url == site.url + "/"
    assert page.evaluate("history.length") == before


def test_the_whole_journey_adds_no_history_entry(site, new_context):
    page = visitor_context(new_context).new_page()
    arrive(page, site)
    before = page.evaluate("history.length")
    page.locator("button[name=lang][value=en]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("button[name=lang][value=sv]").tap()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    page.locator(".prechat a.safety-link").tap()
    expect(page.locator("#safety")).to_be_visible()
    page.locator("#safety .safety-close").first.tap()
    page.locator("#start-chat").tap()
    expect(page.locator("#chat-status")).to_contain_text("Du är nummer 1 i kön.")
    visitor_writes(page, "Hej")
    expect(page.locator("#log li.entry-mine .tick")).to_have_text("Skickat")
    page.locator(".topbar a.safety-link").tap()
    page.locator("#safety .safety-close").last.tap()
    assert page.url == site.url + "/"
    assert page.evaluate("history.length") == before
    page.go_back(wait_until="load")  # one step back is where the visitor came from
    assert page.url == BEFORE


def test_the_safety_text_opens_in_place_and_the_chat_goes_on(site, new_context):
    page = visitor_context(new_context).new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_visitor_chat(page, site.url)
    _, pane = anna_takes_the_chat(new_context, site, page)
    visitor_writes(page, "Jag väntar.")
    expect(pane.locator("ol.log li.entry-theirs .text")).to_have_text(["Jag väntar."])
    history = page.evaluate("history.length")

    page.locator(".topbar a.safety-link").tap()
    expect(page.locator("#safety")).to_be_visible()
    expect(page.locator("#chat")).to_be_hidden()
    expect(page.locator("#safety-title")).to_be_focused()
    expect(page.locator("#safety")).to_contain_text("Så lämnar du färre spår")
    expect(page.locator("#quick-exit")).to_be_visible()
    expect(page.locator('.emergency a[href="tel:112"]')).to_be_visible()

    pane.locator("form.composer textarea").fill("Läs i lugn och ro.")
    pane.locator("form.composer button[type=submit]").click()
    back = page.locator("#safety .safety-close").first
    expect(back).to_have_text("Tillbaka till chatten – du har fått ett nytt meddelande")
    back.tap()

    expect(page.locator("#safety")).to_be_hidden()
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#log li.entry-mine .text")).to_have_text(["Jag väntar."])
    expect(page.locator("#log li.entry-theirs .text")).to_have_text(["Läs i lugn och ro."])
    expect(page.locator("#connection")).to_be_hidden()
    assert page.url == site.url + "/"
    assert page.evaluate("history.length") == history
    assert len(sockets) == 1, f"the chat reconnected: {sockets}"


def test_the_discreet_tab_is_remembered_only_in_this_tab(site, new_context):
    context = visitor_context(new_context)
    page = context.new_page()
    arrive(page, site)
    expect(page).to_have_title("Chatt")
    toggle = page.locator("#discreet")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.tap()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_title("Anteckningar")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"/static/notes\."))
    page.locator("#start-chat").tap()  # still neutral while chatting, and after a reload
    expect(page.locator("#chat-status")).to_contain_text("Du är nummer 1 i kön.")
    page.reload()
    expect(page.locator("#chat")).to_be_visible()
    expect(page).to_have_title("Anteckningar")
    assert page.evaluate("localStorage.length") == 0

    other = context.new_page()  # another tab knows nothing of it
    other.goto(site.url + "/")
    expect(other.locator("#discreet")).to_have_attribute("aria-pressed", "false")
    expect(other).to_have_title("Chatt")

    toggle.tap()
    expect(page).to_have_title("Chatt")
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"/static/icon\."))


def test_a_page_shown_again_from_the_back_forward_cache_is_wiped(site, new_context):
    """Playwright's Chromium runs without the back/forward cache; the event it would fire is sent
    by hand here (the real cache is tried in the test below)."""
    page = visitor_context(new_context).new_page()
    open_visitor_chat(page, site.url)
    hidden = page.evaluate("""() => {
        window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true }));
        return document.body.hidden;
    }""")
    assert hidden is True
    page.wait_for_url(NEUTRAL)


def test_an_ordinary_pageshow_changes_nothing(site, new_context):
    page = visitor_context(new_context).new_page()
    arrive(page, site)
    page.evaluate('window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: false }))')
    page.wait_for_timeout(300)
    assert page.url == site.url + "/"
    expect(page.locator("#intro-title")).to_be_visible()


@pytest.fixture
def bfcache_context(playwright_driver: Playwright) -> Iterator[Callable[..., BrowserContext]]:
    """A Chromium with the back/forward cache on (Playwright turns it off by default)."""
    browser = playwright_driver.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    try:
        yield lambda **options: with_neutral_site(browser.new_context(**{**PHONE, **options}))
    finally:
        browser.close()


def test_a_page_the_browser_keeps_for_back_is_not_shown_again(site, bfcache_context):
    """Chromium keeps even `no-store` pages for Back in some cases: such a page must not show."""
    context = bfcache_context()
    context.add_init_script(
        "addEventListener('pageshow', (e) => console.log('pageshow persisted=' + e.persisted))")
    page = context.new_page()
    shown: list[str] = []
    page.on("console", lambda message: shown.append(message.text))
    arrive(page, site)
    page.goto(BEFORE)  # the visitor goes somewhere else without the quick exit
    page.go_back(wait_until="load")
    if "pageshow persisted=true" in shown:  # restored from the cache: wiped and sent on at once
        page.wait_for_url(NEUTRAL)
        assert_nothing_of_the_service(page, site)
    else:  # not kept: the landing page was loaded afresh from the server
        assert page.url == site.url + "/"
        expect(page.locator("#intro-title")).to_be_visible()
