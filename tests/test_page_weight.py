"""The visitor's first page view stays light for slow connections, and compression never touches a
page with a secret in it."""

from __future__ import annotations

import httpx
import pytest

from app.i18n import LANGUAGES
from loadtests.page_weight import BUDGET_BYTES, first_view


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_first_page_view_weighs_at_most_60_kb_in_every_language(server, lang):
    sizes = first_view(server.url, lang)
    paths = [path for path, _, _ in sizes]
    assert (
        paths[0] == "/" and any(p.endswith(".css") for p in paths) and any(p.endswith(".js") for p in paths)
    )
    assert sum(raw for _, raw, _ in sizes) <= BUDGET_BYTES, sizes


def test_public_pages_and_assets_are_compressed_but_staff_pages_and_answers_to_posts_are_not(server):
    gzip = {"Accept-Encoding": "gzip"}
    landing = httpx.get(server.url + "/", headers=gzip)
    assert landing.headers.get("content-encoding") == "gzip"
    stylesheet = next(path for path, _, _ in first_view(server.url, "sv") if path.endswith(".css"))
    assert httpx.get(server.url + stylesheet, headers=gzip).headers.get("content-encoding") == "gzip"
    login = httpx.get(server.url + "/staff", headers=gzip)  # carries a CSRF token
    assert login.status_code == 200 and "content-encoding" not in login.headers
    posted = httpx.post(server.url + "/callback", data={"slot": "x"}, headers={**gzip, "Origin": server.url})
    assert posted.status_code == 400 and "content-encoding" not in posted.headers
