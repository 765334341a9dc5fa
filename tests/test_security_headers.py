"""Each security header on each visitor and staff page, and templates that need no inline code."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.security import PERMISSIONS_POLICY
from tests.clients import add_staff, counselor, form_csrf, next_code, open_socket
from tests.servers import ServerProcess

TEMPLATES = Path(__file__).resolve().parent.parent / "frontend" / "templates"
# (name, path, whether a counselor is logged in, a piece of the page that proves which page it is)
PAGES = [
    ("landing", "/", False, 'id="start-chat"'),
    ("safety", "/safety", False, 'id="safety-title"'),
    ("callback booking", "/callback", False, 'href="/callback/change"'),
    ("callback change", "/callback/change", False, 'id="open-booking"'),
    ("staff login", "/staff", False, 'id="password"'),
    ("staff console", "/staff", True, 'id="me"'),
    ("exit", "/exit", False, ""),
]


def logged_in(server: ServerProcess, http: httpx.Client) -> None:
    username, password = add_staff(server.env)
    form = http.get("/staff")
    match = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert match
    response = http.post("/staff/login", data={"csrf": match.group(1), "username": username,
                                               "password": password}, headers={"Origin": server.url})
    assert response.status_code == 303
    response = http.post("/staff/login/code", headers={"Origin": server.url}, data={
        "csrf": form_csrf(http.get("/staff/login/code").text), "code": next_code(username)})
    assert response.status_code == 303


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


@pytest.mark.parametrize(("name", "path", "staff", "marker"), PAGES, ids=[p[0] for p in PAGES])
def test_each_security_header_on_each_page(server, name, path, staff, marker):
    with httpx.Client(base_url=server.url) as http:
        if staff:
            logged_in(server, http)
        response = http.get(path)
    assert response.status_code == (303 if path == "/exit" else 200)
    assert marker in response.text
    headers = response.headers

    csp = directives(headers["content-security-policy"])
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["object-src"] == "'none'"
    for directive in ("script-src", "style-src"):
        assert csp[directive] == "'self'", f"{directive} allows more than this origin"
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "unsafe-eval" not in headers["content-security-policy"]

    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["permissions-policy"] == PERMISSIONS_POLICY
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in headers["permissions-policy"]
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in headers  # plain HTTP in the test


def test_hsts_when_the_request_came_over_tls(start_server):
    server = start_server()
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as it would from a local proxy.
    response = httpx.get(server.url + "/safety", headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in response.headers["strict-transport-security"]


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("template", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_style_or_script(template):
    """The CSP has no 'unsafe-inline': inline code would silently not run, so none is written."""
    html = template.read_text()
    assert not re.search(r"\sstyle\s*=", html, re.I), "inline style attribute"
    assert not re.search(r"<style", html, re.I), "inline <style> element"
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "inline event handler attribute"
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script: {tag}"
    assert "javascript:" not in html.lower()


@pytest.mark.anyio
async def test_sockets_are_not_compressed_even_when_the_browser_offers_it(server: ServerProcess):
    # One deflate context over what the visitor wrote and what staff wrote is a length side channel
    # (CRIME/BREACH); pages are never compressed with secrets either.
    visitor = await open_socket(server, "/ws/chat")  # the client offers permessage-deflate
    staff, _ = await counselor(server)
    try:
        for socket in (visitor, staff):
            assert "permessage-deflate" in socket.connection.request.headers["Sec-WebSocket-Extensions"]
            assert "Sec-WebSocket-Extensions" not in socket.connection.response.headers
    finally:
        await visitor.close()
        await staff.close()
