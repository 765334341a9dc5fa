"""The landing page and the security headers, over real HTTP."""

import re

import httpx
import pytest

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}


def test_the_landing_page_is_swedish_by_default(server):
    page = httpx.get(server.url + "/")
    assert page.status_code == 200
    assert '<html lang="sv"' in page.text
    assert "Chatta anonymt med Nexus" in page.text
    assert "Uppsala kommuns resurscentrum" in page.text
    assert "Starta chatt" in page.text
    assert 'href="tel:112"' in page.text and 'href="tel:020505050"' in page.text
    assert "Öppettider" in page.text


def test_english_is_one_form_post_away_and_kept_for_the_session(server):
    with httpx.Client(base_url=server.url) as http:
        switched = http.post("/lang", data={"lang": "en"})
        assert switched.status_code == 303 and switched.headers["location"] == "/"
        cookie = switched.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "expires" not in cookie
        page = http.get("/")
    assert '<html lang="en"' in page.text and "Talk anonymously with Nexus" in page.text


def test_an_unknown_language_falls_back_to_swedish(server):
    page = httpx.get(server.url + "/", cookies={"lang": "xx"})
    assert '<html lang="sv"' in page.text


def test_availability_is_shown_honestly(server):
    page = httpx.get(server.url + "/")
    assert "ingen kurator är inloggad just nu" in page.text


def test_opening_hours_are_listed(start_server):
    server = start_server(OPENING_HOURS="mon-fri 08:00-16:00; sat 10:00-14:00")
    page = httpx.get(server.url + "/")
    assert "mån–fre 08:00–16:00" in page.text and "lör 10:00–14:00" in page.text


@pytest.mark.parametrize("path", ["/", "/staff", "/healthz"])
def test_every_page_carries_the_security_headers(server, path):
    response = httpx.get(server.url + path)
    for name, value in SECURITY_HEADERS.items():
        assert value in response.headers[name]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain HTTP here


def test_static_assets_are_hashed_and_cached_for_long(server):
    page = httpx.get(server.url + "/").text
    paths = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert paths
    for path in paths:
        asset = httpx.get(server.url + path)
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
    assert httpx.get(server.url + "/static/nothing.js").status_code == 404


def test_pages_reference_no_other_origin(server):
    for path in ("/", "/staff"):
        html = httpx.get(server.url + path).text
        for url in re.findall(r'(?:src|href|action)="([^"]+)"', html):
            assert url.startswith(("/", "tel:")), url


def test_an_oversized_form_is_refused_before_it_is_read(server):
    too_big = httpx.post(server.url + "/lang", content=b"lang=en&x=" + b"a" * 10_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413 and too_big.json() == {"error": "too_large"}
    login = httpx.post(server.url + "/staff/login", content=b"a" * 10_000,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert login.status_code == 413 and "Formuläret var för stort." in login.text
