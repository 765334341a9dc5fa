"""Every visitor page: the quick exit first, the emergency numbers, a neutral title; the safety page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

VISITOR_PAGES = ["/", "/safety", "/callback", "/callback/change", "/feedback"]
# Words that would tell someone glancing at the tab list or the history what the page is about.
REVEALING = ("nexus", "våld", "violence", "kvinnofrid", "abuse", "hjälp", "help", "safety", "säkerhet",
             "skydd", "kris", "crisis", "hot", "threat")


class Focusable(HTMLParser):
    """The elements a keyboard reaches, in document order (enough of the rules for our pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.in_body = True
        if not self.in_body or "hidden" in attributes:
            return
        if (tag == "a" and attributes.get("href")) or tag in ("button", "select", "textarea") \
                or (tag == "input" and attributes.get("type") != "hidden") \
                or attributes.get("tabindex", "-1") != "-1":
            self.found.append({"tag": tag, **attributes})


def focusable(html: str) -> list[dict[str, str | None]]:
    parser = Focusable()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("path", VISITOR_PAGES)
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_visitor_page_starts_with_the_quick_exit(server, path, lang):
    page = httpx.get(server.url + path, cookies={"lang": lang})
    assert page.status_code == 200
    first = focusable(page.text)[0]
    assert first["tag"] == "a" and first["href"] == "/exit" and first["id"] == "quick-exit", first
    label = "Lämna sidan snabbt" if lang == "sv" else "Leave this page quickly"
    assert f">{label}</a>" in page.text
    assert 'data-neutral="https://www.smhi.se/"' in page.text
    assert 'href="tel:112"' in page.text and 'href="tel:020505050"' in page.text
    assert 'role="status"' in page.text  # where the Shift count is announced
    for script in ("quick-exit", "in-place", "discreet"):
        assert re.search(rf'<script src="/static/{script}\.[0-9a-f]+\.js" defer>', page.text), script


@pytest.mark.parametrize("path", VISITOR_PAGES)
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_titles_reveal_nothing(server, path, lang):
    page = httpx.get(server.url + path, cookies={"lang": lang})
    title = re.search(r"<title>([^<]*)</title>", page.text)
    assert title is not None
    assert not [word for word in REVEALING if word in title.group(1).lower()], title.group(1)


def test_the_safety_page_explains_traces_and_what_to_do(server):
    page = httpx.get(server.url + "/safety")
    assert page.status_code == 200 and '<html lang="sv"' in page.text
    for text in ("Så skyddar du dig när du chattar", "Webbläsarens historik", "Öppna flikar",
                 "Delade eller övervakade enheter", "telefonräkningen", "Ny inkognitoflik",
                 "Hemligt läge", "Safari", "masksymbolen", "Vi sparar inte din IP-adress.",
                 "30 minuter efter att den har avslutats", "Är du i fara just nu: ring 112."):
        assert text in page.text, text
    english = httpx.get(server.url + "/safety", cookies={"lang": "en"})
    assert "What can show that you have been here" in english.text


def test_the_safety_page_gives_the_configured_retention(start_server):
    server = start_server(CONVERSATION_RETENTION_SECONDS="3600")
    assert "60 minuter efter" in httpx.get(server.url + "/safety").text


def test_the_landing_page_has_a_place_to_read_the_safety_text_during_a_chat(server):
    page = httpx.get(server.url + "/").text
    assert re.search(r'<section id="safety"[^>]*\bhidden\b', page)
    # The text itself is fetched from /safety when first opened (the browser tests read it there):
    # the first page view stays light.
    assert 'id="safety-title"' not in page and 'id="safety-title"' in httpx.get(server.url + "/safety").text
    assert 'href="/safety"' in page  # without JavaScript the links open the page instead


def test_the_pre_chat_notice(server):
    page = httpx.get(server.url + "/").text
    notice = page[page.index('class="notice prechat"'):page.index('id="availability"')]
    assert "Lämna sidan snabbt" in notice and "Skift-tangenten" in notice
    assert "raderas besöket inte från webbläsarens historik" in notice
    assert 'href="/safety"' in notice
    assert "måste vi enligt lag berätta det för socialtjänsten" in notice


@pytest.mark.parametrize(("asked", "sent_to"), [
    ("/safety", "/safety"), ("/", "/"), (None, "/"),
    ("https://evil.example/", "/"), ("//evil.example", "/"), ("/staff", "/staff"),
    ("/staff/hours", "/staff/hours"), ("/staff/ws", "/"), ("/exit", "/"),
])
def test_the_language_switch_returns_only_to_our_own_pages(server, asked, sent_to):
    form = {"lang": "en"} | ({"next": asked} if asked is not None else {})
    response = httpx.post(server.url + "/lang", data=form)
    assert response.status_code == 303 and response.headers["location"] == sent_to
