"""Headless Chromium for the browser tests, and helpers to drive the visitor page and the console.

Chromium is the system one (CHROMIUM_PATH, else `chromium` on PATH, else /usr/bin/chromium);
Playwright never downloads a browser here. A missing Chromium fails the run: CI must run these.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.clients import add_staff, form_csrf, next_code
from tests.servers import ServerProcess

# The machine has no outside network, and the service must not cause any outside request:
# these flags stop Chromium's own background traffic so that everything recorded is the page's.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}

expect.set_options(timeout=10_000)


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


# Package scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, which would break the async tests that run after this package.
@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path}: set CHROMIUM_PATH, put `chromium` on PATH or install "
            "it at /usr/bin/chromium. Browser tests must run; they are never skipped.",
            pytrace=False,
        )
    browser = playwright_driver.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    """Open browser contexts (each its own cookies and storage); all closed after the test."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


class Traffic:
    """Every request and WebSocket URL the watched contexts' pages make."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def watch(self, context: BrowserContext) -> None:
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", lambda page: page.on("websocket", lambda ws: self.urls.append(ws.url)))

    def foreign(self, origin: str) -> list[str]:
        """URLs not on `origin` (http://host:port); ws:// to the same host and port counts."""
        own = urlsplit(origin)
        allowed = {(own.scheme, own.netloc), ("ws" if own.scheme == "http" else "wss", own.netloc)}
        return [url for url in self.urls if (urlsplit(url).scheme, urlsplit(url).netloc) not in allowed]


def screenshot(page: Page, name: str) -> None:
    """Keep a picture for a reviewer, only when SCREENSHOT_DIR is set."""
    directory = os.environ.get("SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / name), full_page=True)


def open_visitor_chat(page: Page, origin: str) -> None:
    """Open the landing page and tap "Starta chatt"; wait until the queue position shows."""
    page.goto(origin + "/")
    page.locator("#start-chat").tap()
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#chat-status")).to_contain_text("Du är nummer 1 i kön.")


def visitor_writes(page: Page, text: str) -> None:
    page.locator("#message").fill(text)
    page.locator("#composer button[type=submit]").tap()


def log_in_with_the_form(page: Page, server: ServerProcess, username: str, password: str) -> None:
    """What a counselor does: open /staff, fill in the login form, submit it."""
    page.goto(server.url + "/staff")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.locator("#code").fill(next_code(username))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#me"), "the console shows after logging in").to_be_visible()


def log_in_over_http(context: BrowserContext, server: ServerProcess, username: str, password: str) -> None:
    """Log the context in with the real endpoint the way tests/clients.py does (explicit Origin).

    For tests about something else than logging in: the session cookie lands in the context.
    """
    form = context.request.get(server.url + "/staff")
    response = context.request.post(
        server.url + "/staff/login",
        form={"csrf": form_csrf(form.text()), "username": username, "password": password},
        headers={"Origin": server.url}, max_redirects=0,
    )
    assert response.status == 303, response.text()
    form = context.request.get(server.url + "/staff/login/code")
    response = context.request.post(
        server.url + "/staff/login/code",
        form={"csrf": form_csrf(form.text()), "code": next_code(username)},
        headers={"Origin": server.url}, max_redirects=0,
    )
    assert response.status == 303, response.text()


def counselor_takes_first(page: Page) -> Any:
    """Take the one waiting chat from the console queue; return its pane."""
    expect(page.locator("#queue-count")).to_have_text("1")
    page.locator("#queue li button.take").click()
    pane = page.locator("#panes article.pane[data-conv]")
    expect(pane).to_have_count(1)
    expect(pane).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("0")
    return pane


def anna_takes_the_chat(new_context: NewContext, server: ServerProcess, visitor: Page) -> tuple[Page, Any]:
    """Counselor Anna logs in over HTTP on `server`, on a desktop, and takes the visitor's waiting chat.

    Returns (her console page, the chat's pane) once the visitor's page says she is there.
    """
    desk = new_context(**DESKTOP)
    username, password = add_staff(server.env, name="Anna")
    log_in_over_http(desk, server, username, password)
    console = desk.new_page()
    console.goto(server.url + "/staff")
    pane = counselor_takes_first(console)
    expect(visitor.locator("#chat-status")).to_have_text("Du chattar med Anna.")
    return console, pane
